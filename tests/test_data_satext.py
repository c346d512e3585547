"""SA-Text-test parquet loading (offline, through `datasets`), and `bench data fetch/verify`.

The parquet fixtures are written in the real schema (bench.synth, the `datasets`
features of Min-Jaewon/SA-Text-test) and read through the same code path as the
real files. The network is never used: hub calls are replaced by stubs that fail
the test if reached."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli.data import add_commands as add_data_command
from bench.data import fetch as fetch_mod
from bench.data import open_dataset
from bench.errors import DataError
from bench.io.images import decode_image
from bench.suite import DatasetSpec, DegradationSpec

HUB = "Min-Jaewon/SA-Text-test"


@pytest.fixture()
def offline(monkeypatch, tmp_path):
    """HF offline mode, an empty data root and HF cache, and any hub request is a failure."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TAIR_BENCH_DATA", str(tmp_path / "data_root"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf_cache"))

    def no_network(*a, **k):
        raise AssertionError("the network was used in offline mode")

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", no_network)
    monkeypatch.setattr("bench.data.satext._in_hf_cache", lambda repo: False)
    return tmp_path


def provided(level: int) -> DegradationSpec:
    return DegradationSpec(kind="provided", level=level, scale=4)


def test_local_parquet_loads_the_provided_level(tiny_set, offline):
    """`degradation: provided, level: 2` takes lq_img_lv2 from the parquet, unchanged."""
    import pyarrow.parquet as pq

    ds = open_dataset(DatasetSpec(kind="satext-test", path=str(tiny_set)), provided(2))
    assert ds.preflight() == []
    samples = list(ds)
    assert [s.id for s in samples] == ["synth_0000", "synth_0001", "synth_0002"] and ds.skipped == []
    raw = pq.read_table(tiny_set).to_pylist()[0]
    assert np.array_equal(samples[0].lq, decode_image(raw["lq_img_lv2"]["bytes"], "lv2"))
    assert samples[0].hq.shape == (512, 512, 3) and samples[0].lq.shape == (128, 128, 3)
    assert [i.text for i in samples[0].instances] == list(raw["text"])
    assert ds.describe()["lq_field"] == "lq_img_lv2"


def test_missing_level_column_is_a_clear_preflight_problem(tiny_set, offline, tmp_path):
    """A copy holding only level 1: asking for level 3 names the column and the levels present."""
    import datasets

    only_lv1 = datasets.Dataset.from_parquet(str(tiny_set)).remove_columns(["lq_img_lv2", "lq_img_lv3"])
    out = tmp_path / "lv1" / "test-00000-of-00001.parquet"
    out.parent.mkdir()
    only_lv1.to_parquet(str(out))
    [problem] = open_dataset(DatasetSpec(kind="satext-test", path=str(out.parent)), provided(3)).preflight()
    assert "no column lq_img_lv3 for degradation.level 3 (levels present: 1)" in problem
    assert open_dataset(DatasetSpec(kind="satext-test", path=str(out.parent)), provided(1)).preflight() == []


def test_hub_source_offline_without_a_copy_names_the_fix(offline):
    """No local copy, no HF cache, offline: one problem with the fetch command; no network."""
    ds = open_dataset(DatasetSpec(kind="satext-test", source=HUB), provided(2))
    [problem] = ds.preflight()
    assert "not found offline" in problem and "python -m bench data fetch satext-test" in problem


def _stub_hub(monkeypatch, tiny_set):
    """Replace datasets.load_dataset for the hub id by the fixture (no network)."""
    import datasets

    real_load = datasets.load_dataset

    def fake_load(name, *a, **k):
        if name != HUB:  # local parquet: the real code path
            return real_load(name, *a, **k)
        return datasets.DatasetDict({"test": datasets.Dataset.from_parquet(str(tiny_set))})

    monkeypatch.setattr(datasets, "load_dataset", fake_load)


def test_fetch_writes_parquet_and_manifest_then_verify_and_load(tiny_set, offline, monkeypatch):
    """fetch saves parquet + manifest (count, schema, sha256); verify passes; the loader
    then finds the copy for `source: Min-Jaewon/SA-Text-test` while offline."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    _stub_hub(monkeypatch, tiny_set)
    lines = fetch_mod.fetch("satext-test")
    dest = offline / "data_root" / "satext-test"
    assert "3 rows" in lines[0] and (dest / "test-00000-of-00001.parquet").is_file()
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["n_files"] == 1 and manifest["source"] == HUB and "lq_img_lv2" in manifest["columns"]
    assert len(manifest["files"][0]["sha256"]) == 64
    ok, report = fetch_mod.verify("satext-test")
    assert ok and report[-1].startswith("satext-test at") and "OK" in report[-1]

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ds = open_dataset(DatasetSpec(kind="satext-test", source=HUB), provided(1))
    assert ds.preflight() == [] and len(list(ds)) == 3
    assert ds.describe()["resolved_path"] == str(dest)


def test_verify_reports_changed_missing_and_extra_files(tiny_set, offline, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    _stub_hub(monkeypatch, tiny_set)
    dest = offline / "copy"
    fetch_mod.fetch("satext-test", dest)
    part = dest / "test-00000-of-00001.parquet"
    part.write_bytes(part.read_bytes()[:-10] + b"0123456789")  # same size, different content
    ok, report = fetch_mod.verify("satext-test", dest)
    assert not ok and any("CHECKSUM MISMATCH" in line for line in report)
    (dest / "extra.parquet").write_bytes(b"x")
    part.unlink()
    ok, report = fetch_mod.verify("satext-test", dest)
    text = "\n".join(report)
    assert not ok and "MISSING" in text and "extra.parquet: not in the manifest" in text


def test_offline_fetch_fails_with_a_clear_message(offline):
    with pytest.raises(DataError, match="offline .* on a machine with internet"):
        fetch_mod.fetch("satext-test")


def test_manual_data_sets_explain_where_to_get_them_and_verify_checks_layout(offline, tmp_path):
    """Real-Text has no hub source: fetch points at the TAIR README; verify checks the layout."""
    lines = fetch_mod.fetch("realtext")
    assert "cvlab-kaist/TAIR" in lines[0] and "bench data verify realtext" in lines[1]
    root = tmp_path / "rt"
    (root / "HQ").mkdir(parents=True)
    (root / "LQ").mkdir()
    (root / "real_benchmark_dataset.json").write_text(json.dumps({"a": {"0": {"text_instances": []}}}))
    ok, report = fetch_mod.verify("realtext", root)
    assert not ok and "2 annotated image(s) missing: HQ/a, LQ/a" in "\n".join(report)
    for sub in ("HQ", "LQ"):
        from PIL import Image

        Image.new("RGB", (8, 8)).save(root / sub / "a.png")
    assert fetch_mod.verify("realtext", root)[0]


def test_data_command_parses_and_returns_status(offline, tmp_path, capsys):
    """The CLI piece the lead wires in: `data verify NAME --path P` exits 1 on problems."""
    import argparse

    parser = argparse.ArgumentParser()
    add_data_command(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["data", "verify", "satext-test", "--path", str(tmp_path)])
    assert args.handler(args) == 1
    assert "no manifest.json" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args(["data", "fetch", "satext-tset"])


def test_a_run_never_downloads_the_data_set(offline, monkeypatch):
    """Online too, a hub source without a local copy is a preflight problem naming
    `bench data fetch` (the only command that downloads), and no hub request is made:
    the offline fixture turns any HfApi.dataset_info call into a failure."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    import datasets

    def no_download(*a, **k):
        raise AssertionError("bench run tried to download the data set")

    monkeypatch.setattr(datasets, "load_dataset", no_download)
    ds = open_dataset(DatasetSpec(kind="satext-test", source=HUB), DegradationSpec(kind="preset", preset="level2"))
    [problem] = ds.preflight()
    assert "python -m bench data fetch satext-test" in problem
