"""Prompt sources inside a real run: what a restorer was told is written to the
per-image results, and it is exactly what the spotter read (spotted) or the GT
words (oracle)."""

from __future__ import annotations

import json

from bench.components import RESTORERS
from bench.io.cache import Cache
from bench.pipeline.runner import RunOptions, run_suite
from bench.prompts import DEFAULT_TEMPLATE
from bench.suite import load_suite
from tests.fakes import BlobSpotter

from .conftest import write_suite


def test_spotted_and_oracle_prompts_are_recorded(tmp_path, tiny_set, blob_spotter):
    RESTORERS.add("echo", "tests.fakes:PromptEcho", "test")
    restorers = ("  - {name: echo-spotted, adapter: echo, prompt: {source: spotted}}\n"
                 "      - {name: echo-oracle, adapter: echo, prompt: oracle}")
    suite = load_suite(write_suite(tmp_path, tiny_set, restorers=restorers))
    doc, path = run_suite(suite, RunOptions(out_dir=tmp_path / "out", cache_dir=tmp_path / "c", quiet=True))
    details = [json.loads(line) for line in (path.parent / "text_details.jsonl").read_text().splitlines()]
    cache = Cache(tmp_path / "c")
    spotter = BlobSpotter(min_score=0.5)
    from bench.data import open_dataset

    gt = {s.id: [i.text for i in s.instances if i.text != "###"] for s in open_dataset(suite.dataset, suite.degradation)}
    seen = 0
    for rec in details:
        lq = cache.get_image(doc["inputs"]["images"][rec["image_id"]]["lq"])
        if rec["row"] == "echo-spotted":
            read = [d.text for d in spotter.spot(lq)]
            assert rec.get("prompt_info", {"words": []})["words"] == read
            if read:
                assert rec["prompt"] == DEFAULT_TEMPLATE.format(words=", ".join(f'"{w}"' for w in read))
            seen += 1
        if rec["row"] == "echo-oracle":
            assert rec["prompt_info"]["words"] == gt[rec["image_id"]]
            seen += 1
    assert seen == 6  # 3 images x 2 prompted rows
    assert doc["restorers"]["echo-spotted"]["prompt"] == {"source": "spotted"}
