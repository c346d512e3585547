"""Prompt sources (bench.prompts): what each puts into the prompt and records."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import SuiteError
from bench.prompts import (
    DEFAULT_TEMPLATE,
    TEREDIFF_CAPTION_TEMPLATE,
    format_words,
    make_prompt_source,
)
from bench.records import Detection, Sample, TextInstance
from bench.spotters.base import Spotter

SQUARE = ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0))


class StubSpotter(Spotter):
    """Returns fixed detections and remembers what it was asked to read."""

    def __init__(self, detections, **kw):
        super().__init__(**kw)
        self.detections, self.seen, self.loaded = detections, [], False

    def load(self):
        self.loaded = True

    def spot(self, image, image_id=None):
        self.seen.append((image.shape, image_id))
        return list(self.detections)


def _sample(*words):
    return Sample(id="img1", hq=None, instances=[TextInstance(SQUARE, w) for w in words])


LQ = np.zeros((16, 16, 3), np.uint8)


def test_format_words_definition():
    """Words are double-quoted and comma-joined inside the template; none -> empty."""
    assert format_words(["OPEN", "24h"]) == 'A photo with the text: "OPEN", "24h"'
    assert format_words([], empty="") == ""
    assert format_words([]) is None
    assert format_words(["A"], TEREDIFF_CAPTION_TEMPLATE).startswith('A realistic scene where the texts "A" appear')


def test_oracle_uses_gt_words_without_dont_care():
    """GT words in annotation order; '###' instances are left out."""
    src = make_prompt_source({"type": "oracle"})
    prompt, info = src.prompt(_sample("CAFE", "###", "Bar"), LQ)
    assert prompt == DEFAULT_TEMPLATE.format(words='"CAFE", "Bar"')
    assert info == {"words": ["CAFE", "Bar"]}
    assert src.prompt(_sample("###"), LQ) == (None, {"words": []})


def test_spotted_prompt_contains_exactly_what_was_read():
    """The prompt holds the stub spotter's words in its order (and only them,
    not the GT), the spotter reads the LQ image it is given, and the info
    records the words and scores."""
    dets = [Detection(SQUARE, "EXIT", 0.9), Detection(SQUARE, "Rm 12", 0.6)]
    spotter = StubSpotter(dets)
    src = make_prompt_source({"type": "spotted", "spotter": spotter})
    prompt, info = src.prompt(_sample("GT-ONLY"), LQ)
    assert prompt == 'A photo with the text: "EXIT", "Rm 12"'
    assert "GT-ONLY" not in prompt
    assert info == {"words": ["EXIT", "Rm 12"], "scores": [0.9, 0.6]}
    assert spotter.loaded and spotter.seen == [((16, 16, 3), "img1")]


def test_spotted_min_score_and_version():
    """min_score drops low-confidence words; the version names the spotter and template."""
    dets = [Detection(SQUARE, "EXIT", 0.9), Detection(SQUARE, "noise", 0.2)]
    src = make_prompt_source({"type": "spotted", "spotter": StubSpotter(dets), "min_score": 0.5,
                              "template": "{words}"})
    assert src.prompt(_sample(), LQ)[0] == '"EXIT"'
    other = make_prompt_source({"type": "spotted", "spotter": StubSpotter(dets)})
    assert "StubSpotter" in src.version() and src.version() != other.version()


def test_none_and_errors(tmp_path):
    """'none' gives no prompt; unknown types and options are suite errors;
    a missing captioner is a preflight message naming the path and the fix."""
    assert make_prompt_source({"type": "none"}).prompt(_sample("A"), LQ) == (None, {})
    assert make_prompt_source(None).name == "none"
    with pytest.raises(SuiteError, match="did you mean 'oracle'"):
        make_prompt_source({"type": "oracl"})
    with pytest.raises(SuiteError):
        make_prompt_source({"type": "oracle", "bogus": 1})
    cap = make_prompt_source({"type": "caption", "path": str(tmp_path / "blip")})
    (msg,) = cap.preflight()
    assert str(tmp_path / "blip") in msg and "huggingface-cli download" in msg
