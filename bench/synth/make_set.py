"""Build a synthetic set and write it as parquet in the SA-Text-test schema.

The schema is the one of the Hugging Face data set ``Min-Jaewon/SA-Text-test`` (its
card's ``dataset_info``): ``id`` string; ``hq_img``, ``lq_img_lv1..3`` images (stored
as ``{bytes, path}`` structs holding PNG bytes); ``text`` list of strings; ``bbox``
list of 2x2 int32; ``poly`` list of 16x2 int32. The file is written through
``datasets`` so its feature metadata is embedded and one loader reads both sets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from bench.io.images import bicubic_resize, encode_png

from ..degrade import degrade_image
from .scene import Scene, make_scene

#: Signature of a degradation: ``(hq, preset, seed, image_id, scale) -> lq``.
Degrade = Callable[..., np.ndarray]

#: Our degradation preset used for each LQ column.
LQ_LEVELS: dict[str, str] = {
    "lq_img_lv1": "level1",
    "lq_img_lv2": "level2",
    "lq_img_lv3": "level3",
}
COLUMNS: tuple[str, ...] = ("id", "hq_img", *LQ_LEVELS, "text", "bbox", "poly")
DEFAULT_SEED = 20250611
IMAGE_SIZE = 512
SCALE = 4


def sa_text_features():
    """The ``datasets.Features`` of SA-Text-test (imported lazily: ``datasets`` is heavy)."""
    import datasets

    img = datasets.Image()
    return datasets.Features({
        "id": datasets.Value("string"),
        "hq_img": img,
        **{col: img for col in LQ_LEVELS},
        "text": datasets.Sequence(datasets.Value("string")),
        "bbox": datasets.Sequence(datasets.Array2D(shape=(2, 2), dtype="int32")),
        "poly": datasets.Sequence(datasets.Array2D(shape=(16, 2), dtype="int32")),
    })


def bicubic_degrade(hq: np.ndarray, preset: str, seed: int, image_id: str,
                    scale: int = SCALE) -> np.ndarray:
    """Stand-in degradation: plain bicubic downscale (ignores preset and seed).

    For tests and for development when :mod:`bench.degrade` is not available.
    """
    h, w = hq.shape[:2]
    return bicubic_resize(hq, (w // scale, h // scale))


def default_degrade() -> Degrade:
    """The project's degradation presets (:func:`bench.degrade.degrade_image`)."""

    return degrade_image


def _png_cell(arr: np.ndarray) -> dict:
    return {"bytes": encode_png(arr), "path": None}


def scene_row(scene: Scene, seed: int, degrade: Degrade) -> dict:
    """One parquet row (plain Python values) for a finished scene."""
    row = {"id": scene.id, "hq_img": _png_cell(scene.image)}
    for col, preset in LQ_LEVELS.items():
        lq = degrade(scene.image, preset, seed, scene.id, SCALE)
        row[col] = _png_cell(np.asarray(lq, dtype=np.uint8))
    row["text"] = [it.text for it in scene.items]
    row["bbox"] = [it.bbox.tolist() for it in scene.items]
    row["poly"] = [it.poly.tolist() for it in scene.items]
    return row


def iter_scenes(n: int, seed: int, size: int = IMAGE_SIZE) -> Iterable[Scene]:
    """Scenes ``0 .. n-1`` of the set with master ``seed``."""
    for index in range(n):
        yield make_scene(seed, index, size)


def write_rows(rows: list[dict], out_path: Path) -> Path:
    """Write rows to ``out_path`` as parquet with the SA-Text feature metadata."""
    import datasets

    columns = {c: [r[c] for r in rows] for c in COLUMNS}
    ds = datasets.Dataset.from_dict(columns, features=sa_text_features())
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    ds.to_parquet(str(tmp))
    tmp.replace(out_path)
    return out_path


def make_dataset(n: int, seed: int, out_path: Path,
                 degrade: Degrade | None = None) -> Path:
    """Generate ``n`` synthetic images with master ``seed`` and write the parquet.

    ``degrade`` makes the three LQ images (signature of
    :func:`bench.degrade.degrade_image`); ``None`` uses the project's presets, and
    :func:`bicubic_degrade` is a fast stand-in. Returns ``out_path``.
    """
    deg = degrade if degrade is not None else default_degrade()
    rows = [scene_row(scene, seed, deg) for scene in iter_scenes(n, seed)]
    return write_rows(rows, Path(out_path))
