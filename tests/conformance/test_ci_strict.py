"""CI carries every pinned upstream snapshot, TESTR included: under ``CI=true`` a test whose
snapshot is missing fails instead of skipping (tests/conformance/conftest.py,
tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.upstream import PINNED_COMMITS
from tests.conformance.conftest import SHARED_SNAPSHOTS

ROOT = Path(__file__).resolve().parents[2]
#: a TESTR test that needs nothing but the snapshot
TESTR_TEST = "tests/conformance/test_testr.py::test_testr_default_config_is_a_16_point_polygon_model"


def test_every_pinned_snapshot_is_one_ci_must_have():
    """No pinned repository is exempt from the CI rule (TESTR was, while the shared folder lacked it)."""
    assert set(PINNED_COMMITS) == set(SHARED_SNAPSHOTS)


def _pytest_summary(upstream: Path, ci: bool) -> tuple[int, str]:
    """Run the TESTR test in a fresh pytest with ``$TAIR_BENCH_UPSTREAM=upstream``: (exit code, last line)."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update({"TAIR_BENCH_UPSTREAM": str(upstream), **({"CI": "true"} if ci else {})})
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", TESTR_TEST],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout.strip().splitlines()[-1]


def test_missing_testr_snapshot_fails_in_ci_and_skips_elsewhere(tmp_path):
    """An upstream folder without TESTR/: with CI=true the TESTR test fails (saying CI must
    have the snapshot); without CI it skips."""
    (tmp_path / "TAIR").mkdir()  # a snapshot folder, but not TESTR's
    rc, summary = _pytest_summary(tmp_path, ci=True)
    assert rc == 1 and "1 failed" in summary and "skipped" not in summary, summary
    rc, summary = _pytest_summary(tmp_path, ci=False)
    assert rc == 0 and "1 skipped" in summary, summary
