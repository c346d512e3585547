"""Shared fixtures: a tiny synthetic data set and suite files for pipeline tests."""

from __future__ import annotations

import os
import socket
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# a relative $TAIR_BENCH_UPSTREAM (e.g. ../shared/upstream) means: from where pytest started, whatever
# folder a test later runs in
if os.environ.get("TAIR_BENCH_UPSTREAM"):
    os.environ["TAIR_BENCH_UPSTREAM"] = os.path.abspath(os.path.expanduser(os.environ["TAIR_BENCH_UPSTREAM"]))

#: CI (``.ci/run``, with CI=true) installs every tool the tests use and carries every upstream
#: snapshot, so a skip there is a missing install step, not a choice: it is turned into a failure.
IN_CI = os.environ.get("CI") == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not (IN_CI and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped in CI ({reason}): CI installs everything the tests need, so this must run"


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory) -> Path:
    """Three synthetic 512x512 images in the SA-Text-test parquet schema."""
    from bench.synth import bicubic_degrade, make_dataset

    out = tmp_path_factory.mktemp("tinyset") / "test-00000-of-00001.parquet"
    return make_dataset(3, 7, out, degrade=bicubic_degrade)


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test on any socket connection, and tell Hugging Face libraries to stay offline."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def venv_python(tmp_path_factory) -> str:
    """A real second interpreter: a fresh virtual environment with no third-party package
    (``python -m venv --without-pip``), for the ``python:`` tests."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("env") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    return str(root / "bin" / "python")


def register_blob() -> str:
    """Register the fast fake spotter (tests/fakes.py) as 'blob' (once per process)."""
    from bench.components import SPOTTERS

    if "blob" not in SPOTTERS:
        SPOTTERS.add("blob", "tests.fakes:BlobSpotter", "fake spotter for tests")
    return "blob"


@pytest.fixture()
def blob_spotter():
    """The fast fake spotter, registered as 'blob'."""
    return register_blob()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_set):
    """One clean run of the tiny suite (:func:`write_suite`) with a cache of its own, for the
    tests that damage a copy of that cache or fault its writes: ``(suite, cache, out, doc)``.
    Tests copy the cache before changing anything."""
    from bench.pipeline.runner import RunOptions, run_suite
    from bench.suite import load_suite

    register_blob()
    base = tmp_path_factory.mktemp("tinyrun")
    suite = write_suite(base, tiny_set)
    doc, _ = run_suite(load_suite(suite), RunOptions(out_dir=base / "out", cache_dir=base / "cache", quiet=True,
                                                      workers=0))
    assert doc["run"]["cache"]["corrupt_recomputed"] == 0
    return suite, base / "cache", base / "out", doc


@pytest.fixture
def fid_standin(monkeypatch):
    """``imagemetrics.create_metric`` hands out FID with a stand-in feature extractor,
    :func:`tests.fakes.channel_means` unless the test passes another to the returned
    ``use(extractor)`` (module level, so that workers can unpickle it). Preflight, the score
    stage and merge all call ``create_metric`` through the module, so the whole run sees it."""
    import bench.imagemetrics as imagemetrics
    from tests.fakes import channel_means

    real = imagemetrics.create_metric

    def use(extractor=channel_means) -> None:
        def with_standin(name, **options):
            if name == "fid":
                return real("fid", extractor=extractor, extractor_id="channel-means-test")
            return real(name, **options)

        monkeypatch.setattr(imagemetrics, "create_metric", with_standin)

    use()
    return use


def write_suite(tmp_path: Path, data: Path, restorers: str = "", extra: str = "", name: str = "suite.yaml") -> Path:
    """A suite over ``data`` with bicubic + unsharp (plus ``restorers`` lines), blob spotter, psnr (pyiqa SSIM runs in float64: slow on CPU, tested in its own file)."""
    text = f"""
    version: 1
    name: tiny
    dataset: {{kind: satext-test, path: {data}}}
    degradation: {{kind: preset, preset: level2, seed: 5}}
    restorers:
      - {{adapter: bicubic}}
      - {{adapter: unsharp}}
    {restorers}
    spotter: {{name: blob, min_score: 0.5}}
    metrics: {{image: [psnr]}}
    {extra}
    """
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p
