"""Write the messy-data fixtures of the tests as folders and suites that `bench run` takes.

    python tools/make_protocol_fixtures.py OUT
    python -m bench run OUT/messy.yaml      # GT polygons of every kind: results.json data.gt_checks
    python -m bench run OUT/wronglq.yaml    # one provided LQ of the wrong size: listed, the others scored

``OUT/messy`` is the SA-Text-full layout of ``tests/test_data_gt_rules.py`` (``MESSY``:
one image per polygon kind the official evaluator keeps, refuses or cannot read, and GT
words that its reader changes); ``OUT/wronglq`` is three synthetic SA-Text-test records
whose second ``lq_img_lv1`` is 100x100 instead of 128x128. The fixtures are the tests'
own (imported from ``tests/``), so what this writes is what the tests check; the suites
use the real RapidOCR spotter instead of the tests' fake one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SUITE = """\
version: 1
name: {name}
dataset: {dataset}
degradation: {degradation}
restorers: [{{adapter: bicubic}}]
spotter: {{name: rapidocr, min_score: 0.5}}
metrics: {{image: [psnr]}}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="folder to write (created; must not exist)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from bench.synth import bicubic_degrade, make_dataset
    from tests.test_data_gt_rules import _with_wrong_lq, messy_root

    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=False)
    messy_root(out / "messy")
    tiny = make_dataset(3, 7, out / "tiny" / "test-00000-of-00001.parquet", degrade=bicubic_degrade)
    wrong = _with_wrong_lq(tiny, out / "wronglq")
    (out / "messy.yaml").write_text(SUITE.format(
        name="messy", dataset=f"{{kind: satext-full, path: {out / 'messy'}}}",
        degradation="{kind: preset, preset: level2, seed: 1}"))
    (out / "wronglq.yaml").write_text(SUITE.format(
        name="wronglq", dataset=f"{{kind: satext-test, path: {wrong.parent}}}",
        degradation="{kind: provided, level: 1, scale: 4}"))
    print(f"wrote {out}/messy ({out}/messy.yaml) and {out}/wronglq ({out}/wronglq.yaml)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
