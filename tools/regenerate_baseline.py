"""Regenerate the committed regression baseline of a suite, on purpose only.

    python tools/regenerate_baseline.py            # quickstart
    python tools/regenerate_baseline.py SUITE OUT  # any suite / baseline path

Runs the suite in a fresh output folder and writes the stable part of its
results.json (everything but the volatile ``run`` section) to the baseline file.
Commit the new baseline with a message saying why the numbers moved.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    suite = sys.argv[1] if len(sys.argv) > 1 else "suites/quickstart.yaml"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else "suites/baselines/quickstart.json")
    run_dir = Path(tempfile.mkdtemp(prefix="tair-bench-baseline-"))
    subprocess.run([sys.executable, "-m", "bench", "run", suite, "--out", str(run_dir), "--quiet"], cwd=ROOT,
                   check=True)
    sys.path.insert(0, str(ROOT))
    from bench.io.runfiles import stable, write_json

    write_json(ROOT / out, stable(json.loads((run_dir / "results.json").read_text())))
    print(f"wrote {out} from {run_dir / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
