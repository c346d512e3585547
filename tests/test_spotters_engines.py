"""Real OCR engines on rendered text (slow: each loads a model).

The image is 'Main Street 1492' drawn with PIL in matplotlib's bundled
DejaVuSans, black on white, 40 px, on a 512 x 512 canvas; the true word boxes
are PIL's ink boxes of each word. A word counts as found when the spotter reads
it exactly and its polygon overlaps the true box with IoU > 0.5 (the matching
rule of the TESTR evaluator, docs/protocol.md "Matching"). Rotated versions are made by
rotating the image about its centre and the true boxes with the same map.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from shapely.geometry import Polygon as ShapelyPolygon

WORDS = ["Main", "Street", "1492"]
SIZE = 512


def render(angle: float = 0.0):
    """The test image rotated counter-clockwise by ``angle`` degrees, and the true
    word quads under the same rotation."""
    import matplotlib

    font = ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf"), 40)
    img = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    x, y, boxes = 40.0, 200.0, []
    space = draw.textlength(" ", font=font)
    for word in WORDS:
        left, t, r, b = draw.textbbox((x, y), word, font=font)
        draw.text((x, y), word, font=font, fill=(0, 0, 0))
        boxes.append([(left, t), (r, t), (r, b), (left, b)])
        x = r + space
    img = img.rotate(angle, resample=Image.BICUBIC, fillcolor=(255, 255, 255))
    c, th = SIZE / 2, math.radians(angle)

    def turn(p):  # PIL rotates counter-clockwise on screen (y down)
        dx, dy = p[0] - c, p[1] - c
        return (c + dx * math.cos(th) + dy * math.sin(th), c - dx * math.sin(th) + dy * math.cos(th))

    return np.asarray(img), [[turn(p) for p in box] for box in boxes]


def iou(a, b) -> float:
    pa, pb = ShapelyPolygon(a), ShapelyPolygon(b)
    return pa.intersection(pb).area / pa.union(pb).area


def assert_words_found(dets, truth):
    assert [d.text for d in dets] == WORDS
    for det, box in zip(dets, truth):
        assert iou(det.polygon, box) > 0.5, (det, box)
        assert 0.5 <= det.score <= 1.0


needs_rapidocr = pytest.mark.skipif(importlib.util.find_spec("rapidocr") is None, reason="rapidocr not installed")


@pytest.fixture(scope="module")
def rapid():
    from bench.spotters.rapidocr import RapidOCRSpotter

    s = RapidOCRSpotter()
    assert s.preflight() == []
    s.load()
    return s


@pytest.mark.slow
@needs_rapidocr
@pytest.mark.parametrize("angle", [0, 15, 90, 180])
def test_rapidocr_reads_words_with_word_polygons(rapid, angle):
    """Upright, slanted, vertical (read bottom to top) and upside down: the three
    words come back as three word polygons on their true boxes."""
    image, truth = render(angle)
    assert_words_found(rapid.spot(image), truth)


@pytest.mark.slow
@needs_rapidocr
def test_rapidocr_is_deterministic_and_versioned(rapid):
    image, _ = render(0)
    assert rapid.spot(image) == rapid.spot(image)
    v = rapid.version()
    assert "rapidocr=3.10.0" in v and "PP-OCRv6_det_small.onnx" in v and "PP-OCRv6_rec_small.onnx" in v


@pytest.mark.slow
@needs_rapidocr
def test_rapidocr_blank_image_has_no_words(rapid):
    assert rapid.spot(np.full((128, 128, 3), 255, np.uint8)) == []


@pytest.mark.slow
@needs_rapidocr
def test_rapidocr_recognizes_ground_truth_crops(rapid):
    """Crops of the true boxes (4 px margin) read with the recognition model only."""
    image, truth = render(0)
    crops = [image[int(b[0][1]) - 4 : int(b[2][1]) + 4, int(b[0][0]) - 4 : int(b[2][0]) + 4] for b in truth]
    reads = rapid.recognize(crops + [image[:0, :0]])
    assert [t for t, _ in reads] == WORDS + [""]
    assert all(score > 0.9 for _, score in reads[:3])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract binary not installed")
def test_tesseract_reads_words():
    from bench.spotters.tesseract import TesseractSpotter

    s = TesseractSpotter()
    assert s.preflight() == []
    image, truth = render(0)
    assert_words_found(s.spot(image), truth)
    assert "tesseract=5" in s.version()


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("easyocr") is None, reason="easyocr not installed")
def test_easyocr_reads_words():
    """EasyOCR joins the three words into one line; it is cut by character count."""
    from bench.spotters.easyocr import EasyOCRSpotter

    s = EasyOCRSpotter()
    if s.preflight():
        pytest.skip("; ".join(s.preflight()))
    image, truth = render(0)
    assert_words_found(s.spot(image), truth)
