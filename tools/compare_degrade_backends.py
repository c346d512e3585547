"""How far apart the two degradation backends are: PSNR between their LQ images.

    python tools/compare_degrade_backends.py                      # suites/quickstart.yaml
    python tools/compare_degrade_backends.py SUITE [--preset P]   # another suite / preset

Degrades every HQ image of the suite's data set (its ``limit`` applies) with the
suite's preset, seed and scale twice, with ``backend: torch`` and ``backend: cv2``
(same plan, same random draws), and prints the PSNR in dB between the two uint8 LQ
images per image and their mean. docs/suites.md quotes its output for the quickstart set.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from bench.data import open_dataset
    from bench.degrade import degrade_image
    from bench.imagemetrics.psnr_exact import psnr_rgb  # pyiqa psnr, peak 1 on /255 data
    from bench.suite import load_suite

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suite", nargs="?", default=str(ROOT / "suites" / "quickstart.yaml"))
    ap.add_argument("--preset", help="degradation preset (default: the suite's)")
    args = ap.parse_args(argv)

    suite = load_suite(args.suite)
    d = suite.degradation
    if d.kind != "preset":
        raise SystemExit(f"{args.suite}: degradation.kind is '{d.kind}'; this compares preset degradations only")
    preset = args.preset or d.preset
    values = []
    for sample in open_dataset(suite.dataset, dataclasses.replace(d, preset=preset)):
        lq = {b: degrade_image(sample.hq, preset, d.seed, sample.id, d.scale, backend=b) for b in ("torch", "cv2")}
        values.append(psnr_rgb(lq["torch"], lq["cv2"]))
        print(f"{sample.id}: {values[-1]:.2f} dB")
    print(f"{len(values)} images, preset {preset}, seed {d.seed}, x{d.scale}: PSNR(torch LQ, cv2 LQ) "
          f"mean {np.mean(values):.2f} dB, min {np.min(values):.2f}, max {np.max(values):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
