"""The benchmark section (bench.pipeline.benchmark): a run's section and the one derived
from its document agree (what a merge of shards rebuilds), metric definition texts are
strict between current files and a note against an older file."""

from __future__ import annotations

import copy

from bench.io.provenance import inputs_digest
from bench.pipeline.benchmark import differences, section_for_document, section_for_items
from bench.records import ImageItem, TextInstance

BOX = ((0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0))
DOC = {"protocol_version": "testr-1", "data": {"kind": "synthetic", "split": "test"},
       "degradation": {"kind": "preset", "preset": "level2", "seed": 0, "note": "x"},
       "spotter": {"name": "hand", "version": "v1", "config": {"min_score": 0.5, "python": "/usr/bin/python"},
                   "min_score": 0.5},
       "text_eval": {"compat": "testr"}, "metrics": {"psnr": {"kind": "image", "definition": "PSNR"}}}


def _items(words: list[str]) -> list[ImageItem]:
    return [ImageItem(id=f"img{k}", hq=f"h{k}", lq=f"l{k}", lq_up="", size=(10, 5),
                      instances=[TextInstance(BOX, w)]) for k, w in enumerate(words)]


def _doc(items: list[ImageItem]) -> dict:
    doc = {**copy.deepcopy(DOC), "inputs": inputs_digest(items)}
    doc["benchmark"] = section_for_items(doc, items)
    return doc


def test_section_is_derivable_from_the_document_and_rebuilt_after_a_merge():
    """The section of all images equals the one rebuilt from a shard template's sections
    with the union of the shards' inputs and GT digests; the shard's own section differs."""
    items = _items(["OPEN", "EXIT", "SALE"])
    full = _doc(items)
    assert section_for_document(full) == full["benchmark"]
    shards = [_doc(items[:2]), _doc(items[2:])]
    merged = {**copy.deepcopy(shards[0]), "inputs": inputs_digest(items)}
    assert merged["benchmark"]["hash"] != full["benchmark"]["hash"]  # copied from the template shard
    gt = {k: v for s in shards for k, v in s["benchmark"]["gt"].items()}
    assert section_for_document(merged, gt)["hash"] == full["benchmark"]["hash"]


def test_no_paths_and_gt_enters_the_hash():
    """No interpreter path in the definition; another GT word gives another hash and a digests.gt line."""
    a, b = _doc(_items(["OPEN"])), _doc(_items(["0PEN"]))
    assert "python" not in a["benchmark"]["definition"]["spotter"]["config"]
    assert a["benchmark"]["hash"] != b["benchmark"]["hash"]
    assert [line.split(":")[0] for line in differences(a, b).lines] == ["digests.gt"]


def test_metric_definition_text_is_strict_except_against_an_older_file():
    """A reworded metric definition refuses two current files; against a file without a
    benchmark section (and so without GT digests) it is a note."""
    a = _doc(_items(["OPEN"]))
    b = copy.deepcopy(a)
    b["metrics"]["psnr"]["definition"] = "PSNR, reworded"
    b["benchmark"] = section_for_items(b, _items(["OPEN"]))
    assert differences(a, b).lines == [f"metrics.psnr.definition_sha256: "
                                       f"{a['benchmark']['definition']['metrics']['psnr']['definition_sha256']!r} vs "
                                       f"{b['benchmark']['definition']['metrics']['psnr']['definition_sha256']!r}"]
    del b["benchmark"]
    result = differences(a, b)
    assert result.comparable and set(result.notes) == {"metrics", "digests.gt"}
