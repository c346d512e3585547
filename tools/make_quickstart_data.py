"""Regenerate the bundled quickstart data set (``data/quickstart/``).

Synthetic scene-text images in the SA-Text-test parquet schema, made by
:mod:`bench.synth` from a fixed master seed, with LQ images from our degradation
presets (``bench.degrade``, levels 1-3). Run from the repository root::

    python tools/make_quickstart_data.py            # writes the checked-in file
    python tools/make_quickstart_data.py --check    # regenerate to a temp file, compare

The output is a pure function of (seed, count, code, library versions): PNG is
lossless, and every random draw comes from a generator seeded by (seed, index).
Different FreeType/OpenCV builds may rasterize a pixel differently, so ``--check``
reports a byte mismatch rather than treating it as corruption.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "data" / "quickstart" / "test-00000-of-00001.parquet"
DEFAULT_COUNT = 24


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _summary(path: Path) -> str:
    """Counts that show the set covers what it should (read back from the file)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["id", "text"]).to_pydict()
    texts = [t for row in table["text"] for t in row]
    dont_care = sum(t == "###" for t in texts)
    non_ascii = sorted({t for t in texts if any(ord(c) > 126 for c in t)})
    return (f"{len(table['id'])} images, {len(texts)} instances "
            f"({dont_care} don't-care), non-ASCII words: {non_ascii}")


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))  # run as a script from a checkout
    from bench.synth import DEFAULT_SEED, bicubic_degrade, make_dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="parquet file to write")
    ap.add_argument("--count", type=int, default=DEFAULT_COUNT, help="number of images")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="master seed")
    ap.add_argument("--stand-in-degrade", action="store_true",
                    help="bicubic x4 downscale instead of bench.degrade (development only)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp file and compare bytes with --out")
    args = ap.parse_args(argv)

    degrade = bicubic_degrade if args.stand_in_degrade else None
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = make_dataset(args.count, args.seed, Path(tmp) / "fresh.parquet", degrade)
            same = fresh.read_bytes() == args.out.read_bytes()
        print(f"{args.out}: {'identical to' if same else 'DIFFERS from'} a fresh generation")
        return 0 if same else 1

    out = make_dataset(args.count, args.seed, args.out, degrade)
    print(f"wrote {out} ({out.stat().st_size} bytes, sha256 {_sha256(out)})")
    print(_summary(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
