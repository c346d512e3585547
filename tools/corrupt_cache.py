"""Corrupt a stage cache IN PLACE with one entry of every kind of damage (run it on a copy).

    python tools/corrupt_cache.py CACHE_DIR

Damages, each on a different entry (picked in sorted order, so the same cache gets the
same damage): a truncated PNG, a PNG with one flipped byte, a PNG whose pixels do not
hash to its name, a record of garbage JSON, a record of the wrong shape (a good key and
checksum over a body no stage wrote), an empty record, and a valid record copied under
another key of its stage. The next ``bench run`` must recompute each of them (and say
so), and ``bench cache verify`` must name each of them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.io.cache import Cache
from bench.io.images import decode_image, encode_png

#: the body a "wrong shape" record gets, per stage (types a stage would trip over)
WRONG_SHAPES = {
    "spot": {"detections": [{"polygon": 5, "text": None, "score": "high"}], "seconds": "x"},
    "metric": {"value": "0.5"},
    "recognize": {"reads": [["word"]]},
    "restore": {"image": 7, "prompt": None, "prompt_info": {}, "seconds": 1.0},
    "degrade": {"hq": None, "lq": 1, "lq_up": None},
    "features": {"features": "none"},
}


def _records(root: Path, stage: str) -> list[Path]:
    return sorted(p for p in (root / "stages" / stage).rglob("*.json") if not p.name.startswith("."))


class _Picker:
    """Distinct entries of a cache, in sorted order (the same cache gets the same damage)."""

    def __init__(self, root: Path):
        self.root = root
        self.images = sorted((root / "images").rglob("*.png"))
        self.stages = sorted(p.name for p in (root / "stages").iterdir() if p.is_dir()) \
            if (root / "stages").is_dir() else []
        self.used: set[Path] = set()

    def image(self) -> Path:
        for p in self.images:
            if p not in self.used:
                self.used.add(p)
                return p
        raise SystemExit(f"{self.root}: not enough images to damage")

    def records(self, preferred: str, count: int = 1) -> tuple[str, list[Path]]:
        for stage in [s for s in [preferred] if s in self.stages] + self.stages:
            free = [p for p in _records(self.root, stage) if p not in self.used]
            if len(free) >= count:
                self.used.update(free[:count])
                return stage, free[:count]
        raise SystemExit(f"{self.root}: not enough stage records to damage")


def _truncated_png(pick: _Picker) -> Path:
    p = pick.image()
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return p


def _flipped_byte(pick: _Picker) -> Path:
    p = pick.image()
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF  # in the middle of the pixel data
    p.write_bytes(bytes(data))
    return p


def _wrong_pixels(pick: _Picker) -> Path:
    p = pick.image()
    arr = decode_image(p.read_bytes(), str(p)).copy()
    arr[0, 0] = 255 - arr[0, 0]  # one pixel: a valid PNG that no longer hashes to its name
    p.write_bytes(encode_png(arr))
    return p


def _garbage_json(pick: _Picker) -> Path:
    _, (p,) = pick.records("degrade")
    p.write_bytes(b'{"hq": "35d7", "lq": [1, 2')
    return p


def _wrong_shape(pick: _Picker) -> Path:
    stage, (p,) = pick.records("spot")
    Cache(pick.root).put(stage, p.stem, WRONG_SHAPES.get(stage, ["not", "a", "record"]))
    return p


def _empty_record(pick: _Picker) -> Path:
    _, (p,) = pick.records("restore")
    p.write_bytes(b"")
    return p


def _copied_record(pick: _Picker) -> Path:
    _, (src, dst) = pick.records("metric", 2)
    dst.write_bytes(src.read_bytes())
    return dst


#: every kind of damage: {name: function(picker) -> the damaged file}
KINDS = {
    "truncated PNG": _truncated_png,
    "flipped byte in a PNG": _flipped_byte,
    "PNG whose pixels do not match its name": _wrong_pixels,
    "garbage JSON": _garbage_json,
    "JSON of the wrong shape (good key and checksum)": _wrong_shape,
    "empty record": _empty_record,
    "valid record copied under another key": _copied_record,
}


def corrupt(root: Path, kinds: list[str] | None = None) -> list[tuple[str, str]]:
    """Damage the cache under ``root`` with each of ``kinds`` (default: all of :data:`KINDS`),
    each on its own entry; ``[(kind, relative path), ...]``."""
    root = Path(root)
    pick = _Picker(root)
    if not pick.images or not pick.stages:
        raise SystemExit(f"{root}: expected a cache with images and stage records")
    return [(kind, KINDS[kind](pick).relative_to(root).as_posix()) for kind in (kinds or list(KINDS))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cache_dir", help="a local stage cache (it is damaged in place: use a copy)")
    args = parser.parse_args(argv)
    root = Path(args.cache_dir)
    if not (root / "images").is_dir():
        print(f"{root}: not a stage cache (no images/ folder)", file=sys.stderr)
        return 2
    for kind, path in corrupt(root):
        print(f"{kind}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
