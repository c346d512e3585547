"""Line-level wrapper (adapters.line_sr) and its DiffTSR use, with fake inner models."""

from __future__ import annotations

import textwrap

import cv2
import numpy as np

from tair_bench_adapters.difftsr import DiffTSR
from tair_bench_adapters.line_sr import feather_mask, oriented_quad, quad_aspect, restore_lines


def _textured(h=120, w=200, seed=0):
    """A smooth random image (interpolation error stays small on smooth content)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


# a slanted 4-point word box: tl, tr, br, bl (reading direction left -> right)
SLANTED = [(40, 50), (150, 35), (155, 70), (45, 85)]


def test_oriented_quad_follows_reading_direction():
    """tl/tr lie along the top edge in reading order and the aspect is width/height."""
    quad = oriented_quad(SLANTED)
    assert quad[1][0] > quad[0][0] and quad[3][1] > quad[0][1]
    assert 2.5 < quad_aspect(quad) < 4.0
    # a 16-point SA-Text polygon: top edge 8 points left->right, bottom right->left
    top = [(10 + 10 * i, 20) for i in range(8)]
    bottom = [(80 - 10 * i, 40) for i in range(8)]
    q16 = oriented_quad(top + bottom)
    assert np.allclose(q16, [(10, 20), (80, 20), (80, 40), (10, 40)], atol=1)


def test_identity_paste_back_leaves_image_nearly_unchanged():
    """Rectify -> unchanged crop -> warp back: only interpolation error remains."""
    img = _textured()
    out, report = restore_lines(img, [SLANTED], inner=lambda crops: crops, size=(512, 128), feather=3)
    assert report.restored == 1
    diff = np.abs(out.astype(int) - img.astype(int))
    assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 12


def test_constant_inner_changes_only_polygon_and_feather_band():
    """A constant-colour model: pixels inside the polygon become that colour,
    pixels farther than `feather` from it are untouched, and the band between
    is a blend of the two."""
    img = _textured()
    feather = 4
    out, _ = restore_lines(img, [SLANTED], inner=lambda crops: [np.full_like(c, 255) for c in crops],
                           size=(512, 128), feather=feather)
    alpha = feather_mask(img.shape[:2], SLANTED, feather)
    outside = alpha == 0
    assert np.array_equal(out[outside], img[outside])
    inside = cv2.erode((alpha == 1).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert (out[inside] >= 250).all()
    band = (alpha > 0) & (alpha < 1)
    assert band.any() and (out[band].astype(int) >= img[band].astype(int)).all()


def test_aspect_filter_skips_lines():
    """Lines outside the aspect range (DiffTSR: 1-8) are left unchanged and counted."""
    img = _textured()
    tall = [(10, 10), (20, 10), (20, 100), (10, 100)]  # reading direction along x: aspect 1/9
    out, report = restore_lines(img, [tall], inner=lambda c: [np.zeros_like(x) for x in c],
                                aspect_range=(1.0, 8.0))
    assert report.skipped_aspect == 1 and report.restored == 0 and np.array_equal(out, img)


FAKE_DIFFTSR = textwrap.dedent('''
    import argparse
    from pathlib import Path
    import numpy as np
    from PIL import Image
    ap = argparse.ArgumentParser()
    for a in ("inputs", "outputs", "prompts", "steps", "seed", "device"):
        ap.add_argument("--" + a)
    a = ap.parse_args()
    for p in sorted(Path(a.inputs).glob("*.png")):
        im = Image.open(p)
        assert im.size == (512, 128), im.size
        Image.fromarray(np.full((128, 512, 3), 255, np.uint8)).save(Path(a.outputs) / p.name)
''')


def test_difftsr_batch_through_fake_repo(tmp_path):
    """DiffTSR crops every line of every image, runs the (fake) repo once on all
    512x128 crops and pastes the results back per image; an image without
    lines comes back unchanged."""
    (tmp_path / "run.py").write_text(FAKE_DIFFTSR)
    r = DiffTSR(repo=str(tmp_path), command=["{python}", "run.py", "--inputs", "{inputs}", "--outputs",
                                             "{outputs}", "--prompts", "{prompts}"])
    a, b = _textured(seed=1), _textured(seed=2)
    outs = r.restore_batch([a, b], ids=["a", "b"], polygons=[[SLANTED], []])
    assert np.array_equal(outs[1], b)
    alpha = feather_mask(a.shape[:2], SLANTED, r.feather)
    assert np.array_equal(outs[0][alpha == 0], a[alpha == 0]) and (outs[0][alpha == 1] >= 250).mean() > 0.95
