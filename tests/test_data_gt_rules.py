"""No image dropped that the official evaluator keeps, and provided LQ images checked per record.

What the official TESTR evaluator does with each GT polygon (read in
``upstream/TAIR/testr/adet/evaluation/``, rule in :mod:`bench.textmetrics.gtcheck`):

* it evaluates, as they are, GT polygons partly or wholly outside the image (its bounds
  check never runs: ``text_eval_script.py:54`` passes no image size), duplicated ones,
  ones with repeated vertices and tiny ones: we keep them and count them (``kept``);
* it aborts the whole evaluation on self-intersecting, zero-area and < 3-point polygons
  (``validate_clockwise_points``, ``rrc_evaluation_funcs.py:322-329``): no official
  answer, so we keep the image and make that instance don't care (``dont_care``);
* it also aborts on shapely-counter-clockwise rings (:330-332), but orientation changes
  no area, so we evaluate them as they are and count them (``kept.counter_clockwise``;
  SA-Text's top-edge-then-bottom-edge polygons are all of this kind);
* only what cannot be read is skipped: no image, a polygon that is not a list of [x, y]
  numbers, NaN, a text that is not a string, text/poly lists of different lengths.
"""

from __future__ import annotations

import io
import json
import math
import textwrap
from pathlib import Path

from PIL import Image

from bench.cli import main
from bench.data import open_dataset
from bench.suite import DatasetSpec

from .test_data_json import PRESET, entry, picture, save, write_json

SIZE = 128
BOWTIE = [[10, 10], [50, 30], [50, 10], [10, 30]]


def quad(x0, y0, x1, y1):
    """A 4-point box, top edge then bottom edge (shapely-ccw, like SA-Text's polygons)."""
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def inst(polygon, text="OPEN") -> dict:
    return {"text": text, "polygon": polygon}


#: record id -> its instances, with what the official evaluator does and our verdict
MESSY = {
    "clean": [inst(quad(10, 10, 60, 30))],
    "partly_outside": [inst(quad(100, 10, 160, 30))],              # kept: outside_partly
    "wholly_outside": [inst(quad(200, 10, 260, 30))],              # kept: outside_wholly
    "duplicate": [inst(quad(10, 10, 60, 30)), inst(quad(10, 10, 60, 30))],  # kept: 1 duplicate
    "repeated_vertex": [inst([[10, 10], [10, 10], [60, 10], [60, 30], [10, 30]])],
    "tiny": [inst(quad(10, 10, 10.5, 10.5))],                       # kept: tiny_area
    "clockwise": [inst([[10, 10], [10, 30], [60, 30], [60, 10]])],  # the one orientation official accepts
    "bowtie": [inst(BOWTIE), inst(quad(70, 40, 120, 60))],          # dont_care: self_intersecting
    "flat": [inst([[1, 1], [5, 5], [9, 9]])],                       # dont_care: zero_area
    "two_points": [inst([[1, 1], [5, 5]])],                          # dont_care: too_few_points
    "texts": [inst(quad(10, 10, 60, 30), '"###"'), inst(quad(10, 40, 60, 60), "   "),
              inst(quad(10, 70, 60, 90), "")],                       # read as ###, "", ""
}
#: record id -> its (unreadable) record, and the skipped kind
UNREADABLE = {
    "nan": ({"0": {"text_instances": [inst([[math.nan, 1], [5, 5], [9, 1]])]}}, "not_finite"),
    "not_polygon": ({"0": {"text_instances": [inst("10,10,50,30")]}}, "polygon"),
    "text_number": ({"0": {"text_instances": [inst(quad(1, 1, 9, 9), 7)]}}, "text"),
    "no_image": (entry(), "image"),
}
KEPT = {"outside_partly": 1, "outside_wholly": 1, "duplicate": 1, "repeated_vertex": 1, "tiny_area": 1,
        "counter_clockwise": 11}  # 15 instances, 3 refused, and of the 12 accepted all but "clockwise" are ccw
DONT_CARE = {"too_few_points": 1, "zero_area": 1, "self_intersecting": 1, "not_finite": 0}


def messy_root(root: Path) -> Path:
    """SA-Text full layout: every MESSY record with its image, the UNREADABLE ones too
    (but ``no_image`` has none)."""
    for i, rid in enumerate(list(MESSY) + list(UNREADABLE)):
        if rid != "no_image":
            save(picture((SIZE, SIZE), i), root / "images" / f"{rid}.jpg")
    pairs = [(rid, {"0": {"text_instances": insts}}) for rid, insts in MESSY.items()]
    pairs += [(rid, rec) for rid, (rec, _kind) in UNREADABLE.items()]
    write_json(root / "restoration_dataset.json", pairs)
    return root


def test_loader_keeps_every_readable_image_and_marks_refused_polygons(tmp_path):
    """Every MESSY image loads with all its instances; the three refused polygons are
    don't care with their kind, the others keep their words; the unreadable records are
    skipped with their kind and a message naming the record and the field."""
    ds = open_dataset(DatasetSpec(kind="satext-full", path=str(messy_root(tmp_path))), PRESET)
    samples = {s.id: s for s in ds}
    assert sorted(samples) == sorted(MESSY)
    assert [len(samples[r].instances) for r in MESSY] == [len(v) for v in MESSY.values()]
    flags = {r: [i.no_official_answer for i in s.instances] for r, s in samples.items()}
    assert flags["bowtie"] == ["self_intersecting", ""] and flags["flat"] == ["zero_area"]
    assert flags["two_points"] == ["too_few_points"]
    assert all(not f for r in ("clean", "partly_outside", "wholly_outside", "duplicate", "repeated_vertex",
                               "tiny", "clockwise", "texts") for f in flags[r])
    assert samples["bowtie"].instances[0].dont_care and not samples["bowtie"].instances[1].dont_care
    assert [i.text for i in samples["texts"].instances] == ['"###"', "   ", ""]  # read later, in the evaluator
    kinds = {s.record_id: s.kind for s in ds.skipped}
    assert kinds == {rid: kind for rid, (_rec, kind) in UNREADABLE.items()}
    for s in ds.skipped:
        assert f"record '{s.record_id}'" in s.message() and s.field in s.message()


def _suite(tmp_path: Path, dataset: str, degradation: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(textwrap.dedent(f"""
        version: 1
        name: messy
        dataset: {dataset}
        degradation: {degradation}
        restorers: [{{adapter: bicubic}}]
        spotter: {{name: blob, min_score: 0.5}}
        metrics: {{image: [psnr]}}
    """))
    return p


def _bench_run(suite: Path, tmp_path: Path, capsys) -> tuple[dict, str]:
    out = tmp_path / "out"
    assert main(["run", str(suite), "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--quiet"]) == 0
    return json.loads((out / "results.json").read_text()), capsys.readouterr().out


def test_bench_run_on_messy_polygons_reports_counts_per_kind(tmp_path, blob_spotter, capsys):
    """`bench run` on the messy fixture: every readable image is scored (11 of 15), and
    results.json (data.gt_checks, data.skipped_counts) and the printed summary give the
    counts per kind: what is evaluated as given, what is don't care for want of an
    official answer, what the GT reader changed, and the unreadable records."""
    root = messy_root(tmp_path / "sa_text")
    doc, printed = _bench_run(_suite(tmp_path, f"{{kind: satext-full, path: {root}}}",
                                     "{kind: preset, preset: level2, seed: 1}"), tmp_path, capsys)
    data = doc["data"]
    assert data["n_images"] == len(MESSY) and doc["results"]["bicubic"]["n_images"] == len(MESSY)
    gt = data["gt_checks"]
    assert gt["instances"] == sum(len(v) for v in MESSY.values())
    assert gt["kept"] == KEPT and gt["dont_care"] == DONT_CARE
    reading = gt["text_reading"]
    assert (reading["quotes_removed"], reading["dont_care_after_reading"], reading["empty"]) == (1, 1, 2)
    assert "no official answer" in gt["rule"]
    assert {k: v for k, v in data["skipped_counts"].items() if v} == {"image": 1, "polygon": 1, "not_finite": 1,
                                                                      "text": 1}
    assert len(data["skipped_records"]) == len(UNREADABLE)
    assert "self_intersecting 1" in printed and "outside_wholly 1" in printed and "not_finite 1" in printed
    # the refused polygons and the quoted '###' are don't care: of 15 instances, 4 are don't care
    # in det (bowtie, flat, two_points, '"###"'); the blank and empty words are cared there
    assert doc["results"]["HQ"]["det_n_gt"] == gt["instances"] - 4


def _edited_set(tiny_set: Path, out: Path, edit) -> Path:
    """The tiny SA-Text-test parquet rewritten through ``datasets`` (its real features),
    images left encoded, with ``edit(row, index)`` applied to every row."""
    import datasets

    images = [c for c in ("hq_img", "lq_img_lv1", "lq_img_lv2", "lq_img_lv3")]
    ds = datasets.Dataset.from_parquet(str(tiny_set))
    for c in images:
        ds = ds.cast_column(c, datasets.Image(decode=False))
    ds = ds.map(edit, with_indices=True)
    for c in images:
        ds = ds.cast_column(c, datasets.Image())
    out.mkdir(parents=True)
    path = out / "test-00000-of-00001.parquet"
    ds.to_parquet(str(path))
    return path


def _png(size) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(picture(size)).save(buf, format="PNG")
    return buf.getvalue()


def _with_wrong_lq(tiny_set: Path, out: Path, bad_index: int = 1, size=(100, 100)) -> Path:
    """Record ``bad_index``'s lq_img_lv1 replaced by an image of the wrong size."""
    def swap(row, idx):
        if idx == bad_index:
            row["lq_img_lv1"] = {"bytes": _png(size), "path": None}
        return row

    return _edited_set(tiny_set, out, swap)


def test_parquet_messages_name_the_record_and_the_field(tiny_set, tmp_path):
    """A record with no id, one whose hq_img bytes are not an image and one whose
    transcription is not a string: each skipped with the record id (never a row
    number as its id) and the field, and no memory address in the reason."""
    def spoil(row, idx):
        if idx == 0:
            row["id"] = None
        elif idx == 1:
            row["hq_img"] = {"bytes": b"not an image", "path": None}
        return row

    from bench.suite import DegradationSpec

    path = _edited_set(tiny_set, tmp_path / "data", spoil)
    ds = open_dataset(DatasetSpec(kind="satext-test", path=str(path.parent)),
                      DegradationSpec(kind="provided", level=1, scale=4))
    assert [s.id for s in ds] == ["synth_0002"]
    by_id = {s.record_id: s for s in ds.skipped}
    assert set(by_id) == {"(no id)", "synth_0001"}
    assert by_id["(no id)"].field == "id" and "position 0" in by_id["(no id)"].reason
    assert by_id["synth_0001"].field == "hq_img" and by_id["synth_0001"].kind == "image"
    assert "0x" not in by_id["synth_0001"].message() and "not a readable image" in by_id["synth_0001"].reason


def test_one_wrong_size_provided_lq_is_that_records_problem(tiny_set, tmp_path, blob_spotter, capsys):
    """A provided LQ of 100x100 where HQ 512x512 / scale 4 = 128x128: that record is
    skipped and listed (id, field lq_img_lv1, both sizes, the fix), counted as lq_size;
    the two others are restored and scored, and no restorer error is raised."""
    path = _with_wrong_lq(tiny_set, tmp_path / "data")
    doc, printed = _bench_run(_suite(tmp_path, f"{{kind: satext-test, path: {path.parent}}}",
                                     "{kind: provided, level: 1, scale: 4}"), tmp_path, capsys)
    [skipped] = doc["data"]["skipped_records"]
    assert "record 'synth_0001'" in skipped and "lq_img_lv1" in skipped
    assert "100x100" in skipped and "512x512" in skipped and "128x128" in skipped
    assert doc["data"]["skipped_counts"]["lq_size"] == 1
    assert doc["data"]["n_images"] == 2 and doc["results"]["bicubic"]["n_images"] == 2
    assert doc["results"]["bicubic"]["psnr"] is not None and doc["skipped_restorers"] == {}
    assert "synth_0001" in printed and "lq_size 1" in printed
