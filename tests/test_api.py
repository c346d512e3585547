"""The Python API: ``bench.evaluate`` (the README example, run as written) and ``bench.results_table``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import bench
from bench.api import _load, _outputs_override, record_overrides
from bench.errors import BenchError, SuiteError
from bench.report.columns import summary_columns

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "suites" / "baselines" / "quickstart.json"


def readme_example() -> str:
    """The code block of the README's "Use it from Python" section."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### Use it from Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs_as_written(tmp_path, monkeypatch, capsys):
    """In a folder of its own (the suite and data linked in, the cache there too), so the
    example's relative ``runs/qs`` and the stage cache stay in ``tmp_path``."""
    for name in ("suites", "data"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAIR_BENCH_CACHE", str(tmp_path / "cache"))
    namespace: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    doc, table = namespace["doc"], namespace["table"]
    assert json.loads((tmp_path / "runs" / "qs" / "results.json").read_text())["suite"]["hash"] == doc["suite"]["hash"]
    assert doc["data"]["n_images"] == 2 and list(table.index) == doc["rows"]
    assert "e2e_none_hmean_high" in capsys.readouterr().out


def test_results_table_shape_and_columns():
    doc = json.loads(BASELINE.read_text(encoding="utf-8"))
    table = bench.results_table(doc)
    keys = [key for key, _, _ in summary_columns(doc)]
    assert table.shape == (len(doc["rows"]), 3 * len(keys)) and table.index.name == "row"
    assert list(table.columns[:3]) == [keys[0], f"{keys[0]}_low", f"{keys[0]}_high"]
    row, key = doc["rows"][-1], "e2e_none_hmean"
    assert table.loc[row, key] == doc["results"][row][key]
    assert table.loc[row, f"{key}_low"] == doc["intervals"]["rows"][row][key]["low"]
    assert table.attrs["interval_level"] == 0.95 and table.attrs["headers"][key]


def test_import_bench_stays_light():
    code = "import sys, bench; print(sorted(m for m in ('pandas', 'bench.pipeline', 'bench.api') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_outputs_become_folder_restorers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    suite = _load(ROOT / "suites" / "quickstart.yaml", _outputs_override({"mine": "outs"}))
    assert [(r.name, r.adapter, r.args) for r in suite.restorers] == [("mine", "folder", {"path": str(tmp_path / "outs")})]
    with pytest.raises(SuiteError, match=r"restorers\[0\].name: 'HQ' is reserved"):
        _load(ROOT / "suites" / "quickstart.yaml", _outputs_override({"HQ": "outs"}))


@pytest.mark.parametrize("kwargs,message", [
    ({"limit": 0}, "evaluate: limit: expected a positive integer"),
    ({"workers": -1}, "evaluate: workers: expected 0"),
    ({"outputs": {}}, "evaluate: outputs: expected a non-empty mapping"),
])
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(BenchError, match=message):
        bench.evaluate(str(ROOT / "suites" / "quickstart.yaml"), **kwargs)


def test_overrides_are_recorded_in_results_json(tmp_path):
    path = tmp_path / "results.json"
    doc = {"suite": {"name": "q", "hash": "h", "path": "s.yaml", "definition": {}}}
    assert record_overrides(doc, path, []) is doc and not path.exists()
    record_overrides(doc, path, ["dataset.path=~/photos"])
    assert json.loads(path.read_text())["suite"]["overrides"] == ["dataset.path=~/photos"]
