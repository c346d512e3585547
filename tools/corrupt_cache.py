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
    return sorted((root / "stages" / stage).rglob("*.json"))


def corrupt(root: Path) -> list[tuple[str, str]]:
    """Damage the cache under ``root``; ``[(kind, relative path), ...]``."""
    root = Path(root)
    images = sorted((root / "images").rglob("*.png"))
    stages = sorted(p.name for p in (root / "stages").iterdir() if p.is_dir())
    if len(images) < 3 or not stages:
        raise SystemExit(f"{root}: expected a cache with at least 3 images and some stage records")
    done: list[tuple[str, str]] = []

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    # images: truncated, one flipped byte (in the middle of the pixel data), pixels not matching the name
    data = images[0].read_bytes()
    images[0].write_bytes(data[: len(data) // 2])
    done.append(("truncated PNG", rel(images[0])))
    data = bytearray(images[1].read_bytes())
    data[len(data) // 2] ^= 0xFF
    images[1].write_bytes(bytes(data))
    done.append(("flipped byte in a PNG", rel(images[1])))
    arr = decode_image(images[2].read_bytes(), str(images[2])).copy()
    arr[0, 0] = 255 - arr[0, 0]
    images[2].write_bytes(encode_png(arr))
    done.append(("PNG whose pixels do not match its name", rel(images[2])))

    # records: one kind of damage per stage, round robin over the stages, distinct entries
    used: set[Path] = set()

    def pick(preferred: list[str], count: int = 1) -> tuple[str, list[Path]]:
        for stage in [s for s in preferred if s in stages] + stages:
            free = [p for p in _records(root, stage) if p not in used]
            if len(free) >= count:
                used.update(free[:count])
                return stage, free[:count]
        raise SystemExit(f"{root}: not enough stage records to damage")

    _, (p,) = pick(["degrade"])
    p.write_bytes(b'{"hq": "35d7", "lq": [1, 2')
    done.append(("garbage JSON", rel(p)))
    stage, (p,) = pick(["spot"])
    Cache(root).put(stage, p.stem, WRONG_SHAPES.get(stage, ["not", "a", "record"]))
    done.append(("JSON of the wrong shape (good key and checksum)", rel(p)))
    _, (p,) = pick(["restore"])
    p.write_bytes(b"")
    done.append(("empty record", rel(p)))
    _, (src, dst) = pick(["metric"], 2)
    dst.write_bytes(src.read_bytes())
    done.append((f"valid record copied under another key (from {src.stem[:12]}...)", rel(dst)))
    return done


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
