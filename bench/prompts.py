"""Prompt sources for prompt-capable restorers (``Restorer.accepts_prompt``).

A suite names one per restorer; :func:`make_prompt_source` builds it from a dict
``{"type": ..., ...}``. Types:

* ``none``: no prompt (``None``); the restorer runs unconditioned.
* ``spotted``: read the LQ image with a text spotter and format the words with a
  template. This is the fair, deployable setting: nothing from the ground truth.
* ``caption``: a BLIP-class captioning model from a local folder (no download).
* ``oracle``: the ground-truth words (``###`` excluded). An upper bound only:
  it leaks the answer into the restorer, so never a headline number.

Prompt format (our definition; the papers do not fix one for every model): each
word in double quotes, joined by ``", "``, put into the template, by default
:data:`DEFAULT_TEMPLATE`: ``A photo with the text: "OPEN", "CAFE"``. TeReDiff's
own CAPTION style is available as :data:`TEREDIFF_CAPTION_TEMPLATE`. Zero words
give ``empty`` (default ``None``: no prompt rather than a prompt about nothing).

``prompt(sample, lq_image)`` returns ``(prompt, info)``; ``info`` records what
was used (the words, their scores, the caption) for the per-image results.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .components import PROMPT_SOURCES, SPOTTERS
from .errors import BenchError, SuiteError
from .records import DONT_CARE, Sample
from .registry import declared_arguments

DEFAULT_TEMPLATE = "A photo with the text: {words}"
#: TeReDiff's ``prompt_style: CAPTION`` sentence (TAIR ``val.py``)
TEREDIFF_CAPTION_TEMPLATE = ("A realistic scene where the texts {words} appear clearly on signs, "
                             "boards, buildings, or other objects.")
#: TeReDiff's ``prompt_style: TAG``: the quoted words alone
TAG_TEMPLATE = "{words}"


def format_words(words: Sequence[str], template: str = DEFAULT_TEMPLATE, empty: str | None = None) -> str | None:
    """Quote each word, join with ``", "`` and fill ``{words}`` of ``template``."""
    if not words:
        return empty
    return template.format(words=", ".join(f'"{w}"' for w in words))


class PromptSource:
    """Base class: a named, versioned way to make one prompt per image."""

    name = "base"

    @classmethod
    def declared_args(cls) -> frozenset[str]:
        """The options a suite may give this source (``restorers[i].prompt``): its constructor's
        keyword parameters, less ``device``, which the harness sets."""
        return declared_arguments(cls, PromptSource, frozenset({"device"}))

    def version(self) -> str:
        return self.name

    def preflight(self) -> list[str]:
        return []

    def prompt(self, sample: Sample, lq_image: np.ndarray) -> tuple[str | None, dict]:
        raise NotImplementedError


class NoPrompt(PromptSource):
    """No prompt (None): the restorer runs unconditioned."""

    name = "none"

    def prompt(self, sample: Sample, lq_image: np.ndarray) -> tuple[str | None, dict]:
        return None, {}


class _Templated(PromptSource):
    def __init__(self, template: str = DEFAULT_TEMPLATE, empty: str | None = None, max_words: int | None = None):
        if "{words}" not in template:
            raise SuiteError(f"prompt template '{template}' must contain '{{words}}'")
        self.template, self.empty, self.max_words = template, empty, max_words

    def _settings(self) -> str:
        return json.dumps({"template": self.template, "empty": self.empty, "max_words": self.max_words}, sort_keys=True)

    def _format(self, words: list[str]) -> str | None:
        return format_words(words[: self.max_words] if self.max_words else words, self.template, self.empty)


class OraclePrompt(_Templated):
    """Ground-truth words (``###`` left out): an upper bound only, it leaks the answer.

    The words are in annotation order."""

    name = "oracle"

    def version(self) -> str:
        return f"oracle/v1:{self._settings()}"

    def prompt(self, sample: Sample, lq_image: np.ndarray) -> tuple[str | None, dict]:
        words = [t.text for t in sample.instances if t.text != DONT_CARE]
        return self._format(words), {"words": words}


class SpottedPrompt(_Templated):
    """Words a spotter reads in the LQ image, in the spotter's order."""

    name = "spotted"

    def __init__(self, spotter: Any, spotter_args: dict | None = None, min_score: float | None = None, **kw: Any):
        super().__init__(**kw)
        if isinstance(spotter, str):
            spotter = SPOTTERS.load(spotter)(**(spotter_args or {}))
        self.spotter, self.min_score, self._loaded = spotter, min_score, False

    def version(self) -> str:
        cfg = json.dumps(self.spotter.config(), sort_keys=True, default=str)
        return f"spotted/v1:{self.spotter.version()}:{cfg}:{self.min_score}:{self._settings()}"

    def preflight(self) -> list[str]:
        return list(self.spotter.preflight())

    def prompt(self, sample: Sample, lq_image: np.ndarray) -> tuple[str | None, dict]:
        if not self._loaded:
            self.spotter.load()
            self._loaded = True
        dets = self.spotter.spot(lq_image, sample.id)
        kept = [d for d in dets if d.text.strip() and (self.min_score is None or d.score >= self.min_score)]
        words = [d.text.strip() for d in kept]
        return self._format(words), {"words": words, "scores": [round(float(d.score), 4) for d in kept]}


class CaptionPrompt(PromptSource):
    """A BLIP-class captioner loaded from a local folder with transformers."""

    name = "caption"

    def __init__(self, path: str, template: str = "{caption}", max_new_tokens: int = 30, device: str = "cpu"):
        if "{caption}" not in template:
            raise SuiteError(f"caption template '{template}' must contain '{{caption}}'")
        self.path, self.template = Path(path).expanduser(), template
        self.max_new_tokens, self.device = int(max_new_tokens), device
        self._model = self._processor = None

    def preflight(self) -> list[str]:
        if not (self.path / "config.json").is_file():
            return [(f"caption prompts: no captioning model at {self.path} (config.json missing) -- download a "
                     f"BLIP captioner, e.g. Salesforce/blip-image-captioning-large, with "
                     f"`huggingface-cli download Salesforce/blip-image-captioning-large --local-dir {self.path}`")]
        return []

    def version(self) -> str:
        h = hashlib.sha256()
        if self.path.is_dir():
            for f in sorted(p for p in self.path.rglob("*") if p.is_file()):
                h.update(f"{f.relative_to(self.path)}|{f.stat().st_size}".encode())
            cfg = self.path / "config.json"
            if cfg.is_file():
                h.update(cfg.read_bytes())
        return f"caption/v1:{h.hexdigest()[:16]}:{self.template}:{self.max_new_tokens}"

    def _load(self) -> None:
        problems = self.preflight()
        if problems:
            raise BenchError(problems[0])
        from transformers import AutoProcessor, BlipForConditionalGeneration

        self._processor = AutoProcessor.from_pretrained(str(self.path), local_files_only=True)
        self._model = BlipForConditionalGeneration.from_pretrained(str(self.path), local_files_only=True)
        self._model.to(self.device).eval()

    def prompt(self, sample: Sample, lq_image: np.ndarray) -> tuple[str | None, dict]:
        import torch
        from PIL import Image

        if self._model is None:
            self._load()
        inputs = self._processor(images=Image.fromarray(lq_image), return_tensors="pt").to(self.device)
        with torch.no_grad():
            ids = self._model.generate(**inputs, max_new_tokens=self.max_new_tokens)
        caption = self._processor.decode(ids[0], skip_special_tokens=True).strip()
        return self.template.format(caption=caption), {"caption": caption}


def make_prompt_source(spec: dict | None) -> PromptSource:
    """Build a prompt source from ``{"type": name, **options}`` (``None`` = none); the name is
    looked up in :data:`bench.components.PROMPT_SOURCES`."""
    spec = dict(spec or {"type": "none"})
    kind = spec.pop("type", "none")
    try:
        cls = PROMPT_SOURCES.load(kind)
    except BenchError as exc:
        raise SuiteError(f"{exc}; known: {PROMPT_SOURCES.names()}") from None
    try:
        return cls(**spec)
    except TypeError as exc:
        raise SuiteError(f"prompt source '{kind}': bad options {sorted(spec)} ({exc})") from None
