"""JSON-layout loaders (SA-Text full, Real-Text, RealIR) on tiny fixtures built here in
the real schemas, and a corpus of malformed annotations/images: each bad record is
skipped with a message naming file, record id and field, and the good ones still load."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.data import open_dataset
from bench.data.annotations import load_annotation_json, resolve_inside
from bench.errors import DataError
from bench.suite import DatasetSpec, DegradationSpec

SIZE = 64
PRESET = DegradationSpec(kind="preset", preset="level2", seed=0, scale=4)
PROVIDED = DegradationSpec(kind="provided", level=1, scale=4)
GOOD_IDS = ["img_a", "img_b", "img_c"]


def picture(size=(SIZE, SIZE), seed=0) -> np.ndarray:
    """A light image with one dark word-like bar (so the fake spotter finds something)."""
    w, h = size
    rng = np.random.default_rng(seed)
    arr = np.full((h, w, 3), 220, np.uint8) + rng.integers(0, 20, (h, w, 3), dtype=np.uint8)
    arr[h // 3: h // 2, w // 4: 3 * w // 4] = 30
    return arr


def instance(text="OPEN", x0=10.0, y0=10.0, x1=50.0, y1=30.0) -> dict:
    """One SA-Text instance: a 16-point polygon (8 top points, 8 bottom) and its bbox."""
    top = [[x0 + (x1 - x0) * i / 7, y0] for i in range(8)]
    bottom = [[x1 - (x1 - x0) * i / 7, y1] for i in range(8)]
    return {"text": text, "bbox": [x0, y0, x1, y1], "polygon": top + bottom}


def entry(*instances) -> dict:
    return {"0": {"text_instances": list(instances or [instance()])}}


def write_json(path: Path, pairs: list[tuple[str, object]]) -> Path:
    """Write an object from key/value pairs (so a test can repeat a key)."""
    body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs)
    path.write_text("{\n" + body + "\n}\n")
    return path


def save(arr: np.ndarray, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=95) if path.suffix == ".jpg" else Image.fromarray(arr).save(path)
    return path


def satext_full(root: Path, extra: list[tuple[str, object]] = (), size=SIZE) -> Path:
    """``images/<id>.jpg`` + ``restoration_dataset.json`` with the three good records."""
    for i, rid in enumerate(GOOD_IDS):
        save(picture((size, size), i), root / "images" / f"{rid}.jpg")
    write_json(root / "restoration_dataset.json", [(rid, entry()) for rid in GOOD_IDS] + list(extra))
    return root


def load(kind: str, root: Path, degradation=PRESET, **options):
    ds = open_dataset(DatasetSpec(kind=kind, path=str(root), options=options), degradation)
    return ds, {s.id: s for s in ds}


# ------------------------------------------------------------------ good data
def test_satext_full_loads_hq_and_instances(tmp_path):
    """The real layout loads: HQ from images/<id>.jpg, 16-point polygons, no LQ."""
    ds, samples = load("satext-full", satext_full(tmp_path))
    assert sorted(samples) == GOOD_IDS and ds.skipped == [] and ds.preflight() == []
    s = samples["img_a"]
    assert s.hq.shape == (SIZE, SIZE, 3) and s.lq is None and s.has_annotations
    assert [i.text for i in s.instances] == ["OPEN"] and len(s.instances[0].polygon) == 16


def test_satext_full_with_provided_degradation_is_a_preflight_error(tmp_path):
    """SA-Text full has no LQ images: the problem names the suite key and the fix."""
    ds = open_dataset(DatasetSpec(kind="satext-full", path=str(satext_full(tmp_path))), PROVIDED)
    [problem] = ds.preflight()
    assert problem.startswith("degradation.kind: provided") and "kind: preset" in problem


def test_tair_filter_is_off_by_default_and_recorded(tmp_path):
    """tair_filter turns non-ASCII and >25-character words into don't-care, and says so."""
    words = [instance("naïve"), instance("x" * 26, y0=32, y1=50), instance("OK", x1=30)]
    root = satext_full(tmp_path, [("img_f", entry(*words))])
    save(picture(), root / "images" / "img_f.jpg")
    ds, off = load("satext-full", root)
    assert [i.text for i in off["img_f"].instances] == ["naïve", "x" * 26, "OK"]
    assert ds.describe()["tair_filter"]["enabled"] is False
    ds, on = load("satext-full", root, tair_filter=True)
    assert [i.text for i in on["img_f"].instances] == ["###", "###", "OK"]
    assert ds.describe()["tair_filter"]["enabled"] is True and ds.describe()["counts"]["tair_filtered"] == 2


def test_unknown_option_is_named_with_a_suggestion(tmp_path):
    ds = open_dataset(DatasetSpec(kind="satext-full", path=str(satext_full(tmp_path)),
                                  options={"tair_filtr": True}), PRESET)
    assert any("dataset.options.tair_filtr" in p and "did you mean 'tair_filter'" in p for p in ds.preflight())


def realtext(root: Path, pairs: dict[str, tuple[tuple[int, int], tuple[int, int]]]) -> Path:
    """HQ/ + LQ/ + real_benchmark_dataset.json; ``pairs`` maps id -> (HQ size, LQ size)."""
    for i, (rid, (hq_size, lq_size)) in enumerate(pairs.items()):
        hq = picture(hq_size, i)
        save(hq, root / "HQ" / f"{rid}.png")
        save(np.asarray(Image.fromarray(hq).resize(lq_size, Image.Resampling.BICUBIC)), root / "LQ" / f"{rid}.png")
    write_json(root / "real_benchmark_dataset.json", [(rid, entry()) for rid in pairs])
    return root


def test_realtext_pairs_are_aligned_so_lq_times_scale_is_hq(tmp_path):
    """x4 pairs load as they are; an LQ at HQ size is bicubic-resized to HQ/4; an HQ
    that is not a multiple of 4 is cropped; a pair of different shapes is skipped."""
    root = realtext(tmp_path, {"exact": ((64, 64), (16, 16)), "same_size": ((64, 48), (64, 48)),
                               "odd": ((66, 65), (16, 16)), "wrong": ((64, 64), (32, 8))})
    ds, samples = load("realtext", root, PROVIDED)
    for s in samples.values():
        assert (s.lq.shape[1] * 4, s.lq.shape[0] * 4) == (s.hq.shape[1], s.hq.shape[0])
    assert samples["same_size"].lq.shape == (12, 16, 3) and samples["odd"].hq.shape == (64, 64, 3)
    assert [(r.record_id, r.field) for r in ds.skipped] == [("wrong", "lq")]
    assert "different aspect ratios" in ds.skipped[0].reason
    d = ds.describe()
    assert d["counts"]["lq_resized"] == 1 and d["counts"]["hq_cropped"] == 1 and "bicubic" in d["alignment"]["rule"]


def test_realtext_with_a_preset_is_a_preflight_error(tmp_path):
    ds = open_dataset(DatasetSpec(kind="realtext", path=str(realtext(tmp_path, {"a": ((64, 64), (16, 16))}))),
                      PRESET)
    assert any(p.startswith("degradation.kind: preset") for p in ds.preflight())


def test_realir_folder_has_no_reference_and_optional_annotations(tmp_path):
    """Every image is an LQ with hq=None; only annotated ones have has_annotations, and
    their LQ-pixel polygons are scaled x4 into the restored frame."""
    save(picture((32, 32), 0), tmp_path / "a.png")
    save(picture((32, 24), 1), tmp_path / "street" / "b.jpg")
    write_json(tmp_path / "ann.json", [("street/b", entry(instance(x0=2, y0=2, x1=20, y1=10)))])
    ds, samples = load("realir", tmp_path, PROVIDED, annotations="ann.json")
    assert sorted(samples) == ["a", "street/b"] and ds.preflight() == []
    assert all(s.hq is None and s.lq is not None for s in samples.values())
    assert not samples["a"].has_annotations and samples["street/b"].has_annotations
    assert samples["street/b"].instances[0].polygon[0] == (8.0, 8.0)
    assert "not applicable" in ds.describe()["reference"]


def test_realir_needs_provided_degradation(tmp_path):
    save(picture((32, 32)), tmp_path / "a.png")
    ds = open_dataset(DatasetSpec(kind="realir", path=str(tmp_path)), PRESET)
    assert any("RealIR has none" in p for p in ds.preflight())


# ------------------------------------------------------------ malformed corpus
BOWTIE = [[10, 10], [50, 30], [50, 10], [10, 30]]


def _with_instance(**changes) -> dict:
    inst = instance()
    inst.update(changes)
    return entry(inst)


# (case id, record written for id "bad", how its image is made, expected field, expected text)
CORPUS = [
    ("nan", _with_instance(polygon=[[math.nan, 1], [5, 5], [9, 1]]), "ok", "polygon", "NaN or infinite"),
    ("text_not_str", _with_instance(text=5), "ok", "text", "expected a string, got a number (5)"),
    ("poly_not_list", _with_instance(polygon="10,10,50,30"), "ok", "polygon", "expected a list of [x, y]"),
    ("poly_strings", _with_instance(polygon=[["a", "b"], ["c", "d"], ["e", "f"]]), "ok", "polygon",
     "not a list of [x, y] number pairs"),
    ("poly_3d", _with_instance(polygon=[[1, 2, 3], [4, 5, 6], [7, 8, 9]]), "ok", "polygon", "N x 2"),
    ("poly_missing", {"0": {"text_instances": [{"text": "A"}]}}, "ok", "0.text_instances[0].polygon", "missing key"),
    ("no_zero_key", {"1": {"text_instances": []}}, "ok", "0", "missing key \"0\""),
    ("instances_not_list", {"0": {"text_instances": {"text": "A"}}}, "ok", "0.text_instances",
     "expected a list, got an object"),
    ("instance_not_object", {"0": {"text_instances": ["OPEN"]}}, "ok", "0.text_instances[0]",
     "expected an object, got a string"),
    ("record_not_object", [1, 2], "ok", "(record)", "expected an object"),
    ("image_missing", entry(), "none", "images", "image file missing"),
    ("image_truncated", entry(), "truncated", "images", "truncated or not an image"),
    ("image_not_image", entry(), "text", "images", "truncated or not an image"),
    ("duplicate_id", entry(), "ok", "id", "duplicate id"),
]


def _make_image(root: Path, rid: str, how: str) -> None:
    path = root / "images" / f"{rid}.jpg"
    if how == "ok":
        save(picture(), path)
    elif how == "truncated":
        data = save(picture(), path).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "text":
        path.write_text("this is not a JPEG")


@pytest.mark.parametrize("case,record,image,field,expected", CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_record_is_skipped_with_its_reason(tmp_path, case, record, image, field, expected):
    """One bad record among three good ones: it is listed with file, id, field and the
    specific reason; the good records still load."""
    bad_id = "img_a" if case == "duplicate_id" else "bad"
    root = satext_full(tmp_path, [(bad_id, record)])
    if bad_id == "bad":
        _make_image(root, "bad", image)
    ds, samples = load("satext-full", root)
    assert sorted(samples) == GOOD_IDS
    [skipped] = ds.skipped
    assert skipped.record_id == bad_id and skipped.field.endswith(field) and expected in skipped.reason
    message = skipped.message()
    assert f"record '{bad_id}'" in message and "restoration_dataset.json" in message


def test_image_path_escaping_the_root_is_refused(tmp_path):
    """An id such as ../secret would read outside the data root: refused, not read."""
    save(picture(), tmp_path / "secret.jpg")  # exists, so only the check can stop it
    root = satext_full(tmp_path / "data", [("../../secret", entry())])
    ds, samples = load("satext-full", root)
    assert sorted(samples) == GOOD_IDS
    assert ds.skipped[0].record_id == "../../secret" and "escapes the data root" in ds.skipped[0].reason
    assert resolve_inside(root, "images/../../x") is None and resolve_inside(root, "/etc/passwd") is None


def test_malformed_json_is_one_error_with_line_and_column(tmp_path):
    """A file that is not JSON at all stops the data set with one message (in preflight)."""
    root = satext_full(tmp_path)
    (root / "restoration_dataset.json").write_text('{\n  "img_a": {"0": \n  {"text_instances": [}\n')
    with pytest.raises(DataError, match=r"restoration_dataset.json: not valid JSON \(line 3, column"):
        load_annotation_json(root / "restoration_dataset.json")
    ds = open_dataset(DatasetSpec(kind="satext-full", path=str(root)), PRESET)
    assert any("not valid JSON (line 3" in p for p in ds.preflight())


def test_missing_folder_and_annotation_file_are_listed_in_preflight(tmp_path):
    (tmp_path / "empty").mkdir()
    ds = open_dataset(DatasetSpec(kind="realtext", path=str(tmp_path / "empty")), PROVIDED)
    problems = ds.preflight()
    assert len(problems) == 3  # annotation file, HQ/, LQ/
    assert all("bench data fetch realtext" in p for p in problems)


def test_realir_bad_images_and_unmatched_annotations_are_skipped(tmp_path):
    """A broken image, an annotation for an image that is not there, and a bad polygon."""
    save(picture((32, 32)), tmp_path / "good.png")
    save(picture((32, 32)), tmp_path / "badpoly.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    write_json(tmp_path / "ann.json", [("ghost", entry()), ("badpoly", _with_instance(polygon=BOWTIE))])
    ds, samples = load("realir", tmp_path, PROVIDED, annotations="ann.json")
    assert sorted(samples) == ["badpoly", "good"]  # a self-intersecting polygon does not drop its image
    assert [i.no_official_answer for i in samples["badpoly"].instances] == ["self_intersecting"]
    reasons = {r.record_id: r.reason for r in ds.skipped}
    assert "image file missing" in reasons["ghost"] and "truncated or not an image" in reasons["broken"]
    assert "0x" not in reasons["broken"]  # no memory address of a buffer in the message
    assert {r.record_id: r.kind for r in ds.skipped} == {"ghost": "image", "broken": "image"}
