"""``bench doctor`` and ``bench run`` agree (issue 29, item 3): on the same suite, doctor
exits 0 exactly when run's preflight lets the run start, its FAIL lines are the very
strings run's PreflightError lists, and a metric that the run will record as unavailable
is a doctor warning with the reason the run records.

Run's side is what ``bench run`` does before any stage: the suite loaded with the same
``--set`` (and ``--outputs``) overrides, ``--limit`` applied, then
:func:`bench.pipeline.preflight.build_components`; nothing is computed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from PIL import Image

from bench.api import outputs_override
from bench.cli import main
from bench.data import open_dataset
from bench.errors import PreflightError, SuiteError
from bench.io import pyenv
from bench.pipeline.preflight import build_components
from bench.suite import load_suite
from tests.conftest import write_suite

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "suites" / "quickstart.yaml"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    pyenv.clear_cache()
    monkeypatch.setenv("TAIR_BENCH_WEIGHTS", str(tmp_path / "no-weights"))  # the same on every machine
    yield
    pyenv.clear_cache()


def run_verdict(suite: Path, sets=(), limit: Optional[int] = None, skip: bool = False,
                outputs: Optional[dict] = None, allow_missing: bool = False):
    """``bench run``'s preflight: (starts?, FAIL lines, {metric: recorded reason})."""
    given = [*sets, *outputs_override(outputs, allow_missing)] if outputs else list(sets)
    try:
        s = load_suite(str(suite), overrides=given)
    except SuiteError as exc:  # bench run stops here, before preflight
        return False, [f"suite: {p}" for p in exc.problems], {}
    if limit is not None:
        s = replace(s, dataset=replace(s.dataset, limit=limit))
    try:
        comps = build_components(s, "cpu", skip)
    except PreflightError as exc:
        return False, list(exc.problems), {}
    return True, [], {m.name: m.unavailable for m in comps.metrics if m.unavailable}


def doctor_verdict(capsys, suite: Path, sets=(), limit: Optional[int] = None, skip: bool = False,
                   outputs: Optional[dict] = None, allow_missing: bool = False):
    """``bench doctor``: (exit 0?, FAIL lines, WARN lines, all output)."""
    argv = ["doctor", str(suite), "--device", "cpu"]
    for s in sets:
        argv += ["--set", s]
    argv += ["--limit", str(limit)] if limit is not None else []
    argv += ["--skip-unavailable"] if skip else []
    for name, folder in (outputs or {}).items():
        argv += ["--outputs", f"{name}={folder}"]
    argv += ["--allow-missing"] if allow_missing else []
    code = main(argv)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert code in (0, 1), out
    return (code == 0, [x[6:] for x in lines if x.startswith("FAIL  ")], [x[6:] for x in lines if x.startswith("WARN  ")],
            out)


def assert_agree(capsys, suite: Path, **kw) -> tuple:
    starts, run_fails, reasons = run_verdict(suite, **kw)
    ready, doctor_fails, warns, out = doctor_verdict(capsys, suite, **kw)
    assert ready == starts, out
    assert sorted(doctor_fails) == sorted(run_fails), out  # the same strings
    for name, reason in reasons.items():  # unavailable metrics: a warning, in the words the run records
        line = reason if reason.startswith(f"metric '{name}': ") else f"metric '{name}': {reason}"
        assert line in warns, out
    return starts, run_fails, warns, out


@pytest.mark.parametrize("sets, limit", [
    ((), None),
    ((), 1),
    (("dataset.limit=2",), None),
    (("restorers=[{adapter: bicubic}, {adapter: lanczos}]",), 1),
    (("metrics.image=[psnr, lpips, musiq]",), 1),  # weights not on disk: unavailable, the run goes on
    (("restorers.0.adapter=bicubc",), None),  # the suite does not load: both stop
    (("metrics.image=[psnr, lpipz]",), None),
])
def test_quickstart_and_set_variants(capsys, sets, limit):
    starts, fails, warns, out = assert_agree(capsys, QUICKSTART, sets=sets, limit=limit)
    bad = any("bicubc" in s or "lpipz" in s for s in sets)
    assert starts is not bad and bool(fails) is bad, out
    if "lpips" in str(sets):
        assert any(w.startswith("metric 'lpips': missing ") for w in warns), out
    if not sets and limit is None:
        assert out.rstrip().endswith("ready: everything can run")


def _outputs(tmp_path: Path, suite: Path, keep: int) -> tuple[Path, list[str]]:
    """A folder with HQ-size outputs for the first ``keep`` images of the suite's data; the ids."""
    s = load_suite(suite)
    samples = [(x.id, x.hq) for x in open_dataset(s.dataset, s.degradation)]
    out = tmp_path / "mine"
    out.mkdir(exist_ok=True)
    for image_id, hq in samples[:keep]:
        Image.fromarray(np.ascontiguousarray(hq)).save(out / f"{image_id}.png")
    return out, [i for i, _ in samples]


def test_folder_restorer_with_a_missing_id(tmp_path, tiny_set, blob_spotter, capsys):
    suite = write_suite(tmp_path, tiny_set)
    out, ids = _outputs(tmp_path, suite, keep=2)
    in_file = write_suite(tmp_path, tiny_set, f"  - {{name: mine, adapter: folder, args: {{path: {out}}}}}",
                          name="folder.yaml")
    for kw in ({"suite": in_file}, {"suite": suite, "outputs": {"mine": out}}):
        starts, fails, _, text = assert_agree(capsys, **kw)
        assert not starts and fails == [f"outputs 'mine' ({out}): 1 missing ({ids[2]})"], text
        assert "--allow-missing" in text  # run's advice, in doctor too
    # every id present within --limit 2: both go ahead
    starts, fails, _, _ = assert_agree(capsys, in_file, limit=2)
    assert starts and not fails
    # --allow-missing: both go ahead, doctor says the row will be incomplete
    starts, _, _, text = assert_agree(capsys, suite, outputs={"mine": out}, allow_missing=True)
    assert starts and "scores the 2 image(s) its folder has" in text
    # with --skip-unavailable the folder is skipped: both go ahead, doctor warns in run's words
    starts, _, warns, _ = assert_agree(capsys, in_file, skip=True)
    assert starts and f"outputs 'mine' ({out}): 1 missing ({ids[2]})" in warns


def test_restorer_with_missing_weights(tmp_path, tiny_set, blob_spotter, capsys):
    missing = tmp_path / "nowhere" / "RealESRGAN_x4plus.pth"
    suite = write_suite(tmp_path, tiny_set, f"  - {{name: resr, adapter: realesrgan, args: {{weights: {missing}}}}}")
    starts, fails, _, text = assert_agree(capsys, suite)
    assert not starts and len(fails) == 1 and fails[0].startswith("restorer 'resr': ") and str(missing) in fails[0]
    assert "--skip-unavailable" in text
    starts, fails, warns, _ = assert_agree(capsys, suite, skip=True)
    assert starts and not fails and any(str(missing) in w for w in warns)


def test_missing_data_set(tmp_path, blob_spotter, capsys):
    suite = write_suite(tmp_path, tmp_path / "no-such-data")
    starts, fails, _, _ = assert_agree(capsys, suite)
    assert not starts and fails and all(f.startswith("data: ") for f in fails)
