"""Messy ground truth through every stage (issue 29, item 2), property-based.

The loader keeps, and the official evaluator evaluates as given, GT polygons that are
partly or wholly outside their image, duplicated, tiny or huge; polygons it refuses
(fewer than 3 points, zero area, self-intersecting) stay as don't-care instances
(:mod:`bench.textmetrics.gtcheck`, tests/test_data_gt_rules.py). Hypothesis writes such
annotations into a tiny SA-Text-full data set and runs the whole pipeline on it
(``bench run``: degrade, bicubic, a blob spotter with a blank recognizer, so the
recognition crops run too; psnr and text_psnr; the HTML report) in this process; the
text-region metrics and the rectified crops are also checked directly, where the
properties are exact:

* text_psnr's region is the union of the cared polygons (duplicates and overlaps add
  nothing), a polygon outside the image adds no pixel (an image whose words all lie
  outside scores None with the reason), and coordinates of any size are rasterized
  without integer overflow;
* a text_lpips crop exists only for a word with pixels inside the image;
* every rectified crop is a non-empty image no larger than the image's diagonal allows.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.cli import main
from bench.records import TextInstance

from .test_data_json import picture, save, write_json

SIZE = 64  # HQ side; preset level2 (x4) makes a 16 x 16 LQ
IDS = ("img_0", "img_1")
TEXTS = ("OPEN", "SHOP", "###", "")
#: where the test images' dark bar is (tests.test_data_json.picture): the blob spotter finds it
BAR = (16.0, 21.0, 48.0, 32.0)


# -- strategies -------------------------------------------------------------------------------

def quad(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def sixteen(x0, y0, x1, y1):
    """SA-Text's 16-point layout: 8 top points left to right, 8 bottom right to left."""
    top = [[x0 + (x1 - x0) * i / 7, y0] for i in range(8)]
    return top + [[x1 - (x1 - x0) * i / 7, y1] for i in range(8)]


finite = st.floats(-3.0 * SIZE, 4.0 * SIZE, allow_nan=False, allow_infinity=False)
extent = st.floats(0.05, 2.0 * SIZE, allow_nan=False)
big = st.floats(1e3, 1e13, allow_nan=False)


@st.composite
def box_polygon(draw):
    """An accepted box anywhere around the image: inside, partly or wholly outside, tiny."""
    x0, y0, w, h = draw(finite), draw(finite), draw(extent), draw(extent)
    shape = draw(st.sampled_from([quad, sixteen]))
    return shape(x0, y0, x0 + w, y0 + h)


@st.composite
def on_word(draw):
    """A box near the dark bar, so some GT word is found and paired."""
    j = st.floats(-3, 3, allow_nan=False)
    x0, y0, x1, y1 = BAR
    return draw(st.sampled_from([quad, sixteen]))(x0 + draw(j), y0 + draw(j), x1 + draw(j), y1 + draw(j))


@st.composite
def huge_polygon(draw):
    """A box with at least one coordinate far away (up to 1e13): containing the image,
    beside it, or a long strip across it."""
    a, b = draw(big), draw(big)
    kind = draw(st.sampled_from(["around", "beside", "strip"]))
    if kind == "around":
        return quad(-a, -b, SIZE + b, SIZE + a)
    if kind == "beside":
        return quad(SIZE + 1, 0, SIZE + 1 + a, b)
    y = draw(st.floats(0, SIZE, allow_nan=False))
    return quad(-a, y, b, y + draw(st.floats(0.5, 20, allow_nan=False)))


@st.composite
def degenerate_polygon(draw):
    """What the official validator refuses (don't care here): < 3 points, all on one line,
    self-intersecting; anywhere, inside or out."""
    kind = draw(st.sampled_from(["points", "line", "bowtie"]))
    x, y = draw(finite), draw(finite)
    if kind == "points":
        n = draw(st.integers(0, 2))
        return [[x + 7 * i, y + 3 * i] for i in range(n)]
    if kind == "line":
        n = draw(st.integers(3, 6))
        dx, dy = draw(st.floats(-20, 20, allow_nan=False)), draw(st.floats(-20, 20, allow_nan=False))
        return [[x + dx * i, y + dy * i] for i in range(n)]
    w, h = draw(extent), draw(extent)
    return [[x, y], [x + w, y + h], [x + w, y], [x, y + h]]


polygons = st.one_of(box_polygon(), on_word(), huge_polygon(), degenerate_polygon())


@st.composite
def annotations(draw):
    """Per image, 0-4 instances, each possibly duplicated right after itself."""
    out = {}
    for rid in IDS:
        insts = []
        for _ in range(draw(st.integers(0, 4))):
            inst = {"text": draw(st.sampled_from(TEXTS)), "polygon": draw(polygons)}
            insts.append(inst)
            if draw(st.booleans()):
                insts.append({"text": draw(st.sampled_from(TEXTS)), "polygon": [list(p) for p in inst["polygon"]]})
        out[rid] = insts
    return out


# -- the whole pipeline and the report --------------------------------------------------------

@pytest.fixture(scope="module")
def blind_spotter():
    """BlobSpotter with a recognizer that reads every crop as "" (tests/fakes.py): the
    recognize stage cuts the rectified crop of every cared GT word."""
    from bench.components import SPOTTERS

    if "blind" not in SPOTTERS:
        SPOTTERS.add("blind", "tests.fakes:BlindReader", "test")
    return "blind"


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """One stage cache for all examples: the images never change, so degrade, restore and
    spot run once; only the scores (which depend on the GT) are recomputed."""
    return tmp_path_factory.mktemp("messy-cache")


def _data_set(root: Path, annots: dict) -> Path:
    for i, rid in enumerate(IDS):
        save(picture((SIZE, SIZE), i), root / "images" / f"{rid}.jpg")
    write_json(root / "restoration_dataset.json", [(rid, {"0": {"text_instances": annots[rid]}}) for rid in IDS])
    return root


def _suite(path: Path, root: Path, spotter: str) -> Path:
    path.write_text(textwrap.dedent(f"""
        version: 1
        name: messy
        dataset: {{kind: satext-full, path: {root}}}
        degradation: {{kind: preset, preset: level2, seed: 1}}
        restorers: [{{adapter: bicubic}}]
        spotter: {{name: {spotter}, min_score: 0.5}}
        metrics: {{image: [psnr, text_psnr]}}
    """))
    return path


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(annots=annotations())
# the first failures hypothesis found on the old code: a tiny word just below the image (the
# gallery's crop was empty: "ValueError: cannot write empty image" after results.json was
# written), and a word reaching far outside it (its rectified crop allocated 2 GB)
@example(annots={"img_0": [], "img_1": [{"text": "OPEN", "polygon": [[0.0, 68.0], [1.0, 68.0], [1.0, 69.0],
                                                                     [0.0, 69.0]]}]})
@example(annots={"img_0": [], "img_1": [{"text": "OPEN", "polygon": [[-1000.0, -25260.0], [25324.0, -25260.0],
                                                                     [25324.0, 1064.0], [-1000.0, 1064.0]]}]})
def test_messy_gt_runs_through_pipeline_and_report(annots, blind_spotter, shared_cache, capsys):
    """Whatever GT geometry the loader keeps, ``bench run`` (workers 0) exits 0, writes
    results.json and the report, every image of the page exists, and every text_psnr
    value is a number or None (never NaN)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = _data_set(tmp / "data", annots)
        out = tmp / "out"
        code = main(["run", str(_suite(tmp / "suite.yaml", root, blind_spotter)), "--out", str(out),
                     "--cache-dir", str(shared_cache), "--quiet", "--workers", "0"])
        capsys.readouterr()
        assert code == 0
        doc = json.loads((out / "results.json").read_text())
        assert doc["data"]["n_images"] == len(IDS)
        for row in doc["rows"]:
            v = doc["results"][row].get("text_psnr")
            assert v is None or math.isfinite(v), (row, v)
        html = (out / "report.html").read_text()
        for src in re.findall(r'<img src="([^"]+)"', html):
            assert (out / src).is_file(), src


# -- text_psnr, text_lpips, rectified crops, directly -----------------------------------------

def _instances(draw_list) -> list[TextInstance]:
    from bench.data.base import gt_instance

    return [gt_instance(p, t) for p, t in draw_list]


instance_lists = st.lists(st.tuples(polygons, st.sampled_from(TEXTS)), max_size=6).map(_instances)


def _inside(inst: TextInstance) -> bool:
    """Whether the polygon overlaps the image frame with some area."""
    from shapely.geometry import Polygon, box

    return Polygon(inst.polygon).intersection(box(0, 0, SIZE, SIZE)).area > 0


def _one_mask(inst: TextInstance) -> np.ndarray:
    from bench.imagemetrics.textregion import text_mask

    return text_mask((SIZE, SIZE), [inst])


@settings(max_examples=200, deadline=None)
@given(words=instance_lists)
def test_text_mask_is_the_union_and_outside_adds_nothing(words):
    """The text_psnr region is the union of the cared polygons' own masks (a duplicate or
    an overlap removes nothing), a polygon wholly outside the image covers no pixel, and
    a polygon around the whole image covers all of it, at any coordinate size."""
    from bench.imagemetrics.textregion import cared, text_mask

    words = cared(words)
    mask = text_mask((SIZE, SIZE), words)
    union = np.zeros((SIZE, SIZE), bool)
    for w in words:
        one = _one_mask(w)
        union |= one
        xs, ys = [p[0] for p in w.polygon], [p[1] for p in w.polygon]
        if min(xs) > SIZE or min(ys) > SIZE or max(xs) < -1 or max(ys) < -1:
            assert not one.any(), w.polygon
        if min(xs) <= 0 and min(ys) <= 0 and max(xs) >= SIZE and max(ys) >= SIZE and len(w.polygon) == 4:
            assert one.all(), w.polygon  # an axis-aligned box around the frame
    assert np.array_equal(mask, union)
    assert np.array_equal(text_mask((SIZE, SIZE), words + words), mask)


@settings(max_examples=100, deadline=None)
@given(words=instance_lists, extra=instance_lists)
def test_text_psnr_outside_words_are_skipped_others_unchanged(words, extra):
    """Adding words wholly outside the image, and don't-care words, leaves text_psnr as it
    was; an image whose cared words all lie outside scores None with the reason."""
    from bench.imagemetrics import create_metric
    from bench.imagemetrics.textregion import NO_PIXELS, NO_TEXT, cared

    ref, pred = picture((SIZE, SIZE), 0), picture((SIZE, SIZE), 3)
    outside = [w for w in extra if w.dont_care or not _inside(w)]
    tp = create_metric("text_psnr")
    base = tp.score_batch([pred], [ref], [words])[0]
    reason = tp.last_reasons[0]
    got = tp.score_batch([pred], [ref], [words + outside])[0]
    if base is not None or reason == NO_PIXELS:
        assert got == base
    if base is not None:
        assert math.isfinite(base)
    elif not cared(words + outside):
        assert tp.last_reasons[0] == NO_TEXT
    if cared(words + outside) and not any(_inside(w) for w in cared(words + outside)):
        assert got is None and tp.last_reasons[0] == NO_PIXELS


@settings(max_examples=100, deadline=None)
@given(words=instance_lists)
def test_text_lpips_crops_only_words_with_pixels(words, monkeypatch_module):
    """text_lpips's code path with a stand-in distance (mean absolute difference; real
    LPIPS needs AlexNet weights): one crop per cared word with pixels in the image, each
    non-empty; None with the reason when there is none."""
    from bench.imagemetrics import textregion
    from bench.imagemetrics.textregion import NO_PIXELS, NO_TEXT, TextLpips, cared

    seen = []

    def standin(model, preds, refs, device):
        seen.append(preds[0].shape)
        return [float(np.mean(np.abs(preds[0].astype(float) - refs[0].astype(float))))]

    monkeypatch_module.setattr(textregion, "lpips_distance", standin)
    ref, pred = picture((SIZE, SIZE), 0), picture((SIZE, SIZE), 3)
    m = TextLpips()
    m.last_reasons = [None]  # as score_batch sets it (score_batch would load the real network)
    got = m._score([pred], [ref], [words])
    boxes = [textregion.word_box(w, (SIZE, SIZE)) for w in cared(words)]
    assert len(seen) == sum(b is not None for b in boxes)
    assert all(s[0] == 64 and s[1] >= 64 for s in seen)
    if not seen:
        assert got == [None] and m.last_reasons[0] == (NO_PIXELS if cared(words) else NO_TEXT)
    else:
        assert math.isfinite(got[0])


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@settings(max_examples=200, deadline=None)
@given(poly=polygons.filter(lambda p: len(p) >= 3))
def test_rectified_crop_of_any_polygon_is_a_bounded_image(poly):
    """Every polygon of 3 or more points gives a crop of at least 1 x 1 and at most the
    image diagonal on each side (a huge polygon is not a huge allocation)."""
    from bench.textmetrics.crop import rectified_crop

    img = picture((SIZE, SIZE), 2)
    crop = rectified_crop(img, poly)
    bound = math.ceil(math.hypot(SIZE, SIZE)) + 1
    assert crop.dtype == np.uint8 and crop.ndim == 3 and crop.shape[2] == 3
    assert 1 <= crop.shape[0] <= bound and 1 <= crop.shape[1] <= bound, crop.shape
