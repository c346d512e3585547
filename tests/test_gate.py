"""Regression gate (bench.report.gate): pass on identical results, fail beyond tolerance
naming the metric and the move, exit 2 on files that cannot be compared."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bench.cli.report import add_commands as add_report_commands
from bench.report.gate import GateUsageError, load_tolerances, run_gate


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    from tests.report_synth import make_run

    root = tmp_path_factory.mktemp("gate")
    return make_run(root / "run", root / "cache") / "results.json"


def _variant(baseline: Path, tmp_path: Path, edit) -> Path:
    doc = json.loads(baseline.read_text())
    edit(doc)
    p = tmp_path / "current.json"
    p.write_text(json.dumps(doc))
    return p


def test_identical_results_pass(baseline):
    """The unmodified file against itself: every check ok, exit 0."""
    status, text = run_gate(baseline, baseline)
    assert status == 0 and "gate: PASS" in text


def test_lowered_e2e_f1_fails_and_says_by_how_much(baseline, tmp_path):
    """E2E F1 of 'good' lowered by 0.05 (> default tolerance 0.02): exit 1, and the
    summary names the metric, the row and the move 0.0500."""
    def lower(doc):
        doc["results"]["good"]["e2e_none_hmean"] -= 0.05
    status, text = run_gate(_variant(baseline, tmp_path, lower), baseline)
    assert status == 1
    assert "gate: FAIL" in text
    assert "e2e_none_hmean of good fell by 0.0500" in text
    assert "REGRESSION" in text.split("gate: FAIL")[0]  # in the diff table too


def test_small_move_within_tolerance_passes(baseline, tmp_path):
    """A 0.01 drop is inside the 0.02 tolerance."""
    def lower(doc):
        doc["results"]["good"]["e2e_none_hmean"] -= 0.01
    assert run_gate(_variant(baseline, tmp_path, lower), baseline)[0] == 0


def test_lower_is_better_metric_rising_fails(baseline, tmp_path):
    """rec_cer is lower-is-better: a rise of 0.1 is a regression ('rose by')."""
    def raise_cer(doc):
        doc["results"]["bad"]["rec_cer"] = (doc["results"]["bad"]["rec_cer"] or 0) + 0.1
    status, text = run_gate(_variant(baseline, tmp_path, raise_cer), baseline)
    assert status == 1 and "rec_cer of bad rose by 0.1000" in text


def test_improvement_passes_and_is_reported(baseline, tmp_path):
    def better(doc):
        doc["results"]["bad"]["psnr"] += 1.0
    status, text = run_gate(_variant(baseline, tmp_path, better), baseline)
    assert status == 0 and "improved" in text


def test_metric_now_null_fails(baseline, tmp_path):
    """A metric that had a value in the baseline and is null now is a failure."""
    def drop(doc):
        doc["results"]["good"]["psnr"] = None
    status, text = run_gate(_variant(baseline, tmp_path, drop), baseline)
    assert status == 1 and "psnr of good: now null" in text


def test_other_suite_hash_on_the_same_benchmark_is_compared(baseline, tmp_path):
    """The suite hash covers the restorers: another suite on the same benchmark passes."""
    def change(doc):
        doc["suite"] = {"hash": "0" * 64, "name": "mine"}
    assert run_gate(_variant(baseline, tmp_path, change), baseline)[0] == 0


@pytest.mark.parametrize("key,value,line", [
    ("spotter", {"name": "hand", "version": "hand/v1", "config": {"min_score": 0.45}, "min_score": 0.45},
     "spotter.min_score: 0.45 vs 0.5"),
    ("protocol_version", "testr-0", "protocol_version: 'testr-0' vs 'testr-"),
])
def test_other_benchmark_is_a_usage_error_with_one_line_per_key(baseline, tmp_path, key, value, line):
    """Another spotter setting or protocol: GateUsageError (exit 2) naming the key path and both values."""
    def change(doc):
        doc[key] = value
    with pytest.raises(GateUsageError, match="different benchmarks") as err:
        run_gate(_variant(baseline, tmp_path, change), baseline)
    assert line in str(err.value)


def test_limit_run_is_refused_with_the_images_line(baseline, tmp_path):
    """A --limit 1 run against a baseline of 2 images: 'images: 1 vs 2 (a --limit run)'."""
    base = _with_images(baseline, tmp_path, "preset")
    def limit(doc):
        doc["inputs"]["images"].pop("img_b")
        doc["suite"]["definition"]["dataset"] = {"limit": 1}
    with pytest.raises(GateUsageError) as err:
        run_gate(_variant(base, tmp_path, limit), base)
    assert "images: 1 vs 2 (a --limit run)" in str(err.value)
    assert "digests" not in str(err.value)  # implied by the images line


def _drop_bad(doc):
    """Another suite on the same benchmark: only restorer 'good'."""
    doc["suite"] = {"hash": "0" * 64, "name": "mine"}
    doc["rows"] = ["HQ", "LQ", "good"]
    del doc["results"]["bad"]


def test_different_restorer_sets_compare_the_shared_rows(baseline, tmp_path):
    """The current run lacks 'bad': exit 0 over the shared rows, 'bad' listed as missing."""
    status, text = run_gate(_variant(baseline, tmp_path, _drop_bad), baseline, show_all=True)
    assert status == 0 and "gate: PASS" in text
    assert "rows of the baseline missing from this run: bad" in text
    assert " bad " not in text.split("rows of the baseline")[0]  # no check of 'bad' in the table


def test_require_rows_fails_on_a_missing_baseline_row(baseline, tmp_path, capsys):
    """--require-rows turns the missing row into a failure (exit 1), through the CLI."""
    parser = argparse.ArgumentParser()
    add_report_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["gate", str(_variant(baseline, tmp_path, _drop_bad)), "--baseline", str(baseline),
                              "--require-rows"])
    assert args.handler(args) == 1
    assert "gate: FAIL: 1 baseline row(s) missing (--require-rows): bad" in capsys.readouterr().out


def test_missing_file_is_usage_error(baseline, tmp_path):
    with pytest.raises(GateUsageError, match="no such file"):
        run_gate(tmp_path / "nope.json", baseline)


def test_tolerance_file_overrides_defaults_and_rejects_unknown_keys(baseline, tmp_path):
    """A looser E2E tolerance turns the 0.05 drop into a pass; a typo'd key is an error."""
    def lower(doc):
        doc["results"]["good"]["e2e_none_hmean"] -= 0.05
    current = _variant(baseline, tmp_path, lower)
    tol = tmp_path / "tol.yaml"
    tol.write_text("tolerances:\n  e2e_none_hmean: 0.1\n")
    assert run_gate(current, baseline, tol)[0] == 0
    assert load_tolerances(tol).tolerance("det_hmean") == 0.02  # default pattern *_hmean still applies
    tol.write_text("tolerance: {psnr: 1}\n")
    with pytest.raises(GateUsageError, match="unknown key"):
        load_tolerances(tol)


def test_require_significance_uses_the_interval(baseline, tmp_path):
    """With require_significance, a drop beyond tolerance whose baseline value still lies
    inside the current run's 95% interval is 'within-ci' (pass)."""
    def lower(doc):
        doc["results"]["good"]["psnr"] -= 0.5
        doc["intervals"]["rows"]["good"]["psnr"] = {"low": doc["results"]["good"]["psnr"] - 2,
                                                    "high": doc["results"]["good"]["psnr"] + 2}
    current = _variant(baseline, tmp_path, lower)
    assert run_gate(current, baseline)[0] == 1
    tol = tmp_path / "tol.yaml"
    tol.write_text("require_significance: true\n")
    status, text = run_gate(current, baseline, tol)
    assert status == 0 and "within-ci" in text


def test_cli_handler_exit_status(baseline, tmp_path, capsys):
    """The 'gate' command handler returns 1 on a regression and prints the table."""
    parser = argparse.ArgumentParser()
    add_report_commands(parser.add_subparsers(dest="command"))
    def lower(doc):
        doc["results"]["good"]["e2e_none_hmean"] -= 0.05
    args = parser.parse_args(["gate", str(_variant(baseline, tmp_path, lower)), "--baseline", str(baseline)])
    assert args.handler(args) == 1
    out = capsys.readouterr().out
    assert "metric" in out and "tolerance" in out and "e2e_none_hmean" in out


def _inputs_edit(field: str, kind: str):
    """An edit giving the current run one image whose ``field`` hash differs, under a
    degradation of ``kind`` (the digest changes with it, as a real run's would)."""
    def edit(doc):
        images = doc["inputs"]["images"]
        images["img_a"] = {**images["img_a"], field: "f" * 64}
        doc["inputs"]["digest"] = "e" * 64
        doc["suite"]["definition"]["degradation"]["kind"] = kind
    return edit


def _with_images(baseline: Path, tmp_path: Path, kind: str) -> Path:
    """The baseline with two recorded input images and a degradation of ``kind``."""
    doc = json.loads(baseline.read_text())
    doc["inputs"]["images"] = {"img_a": {"hq": "1" * 64, "lq": "2" * 64}, "img_b": {"hq": "3" * 64, "lq": "4" * 64}}
    doc["suite"].setdefault("definition", {}).setdefault("degradation", {})["kind"] = kind
    doc["degradation"]["kind"] = kind
    p = tmp_path / "base.json"
    p.write_text(json.dumps(doc))
    return p


def test_generated_lq_differing_between_machines_is_compared_with_a_note(baseline, tmp_path):
    """Same suite and HQ images, one LQ image the run degraded itself not bit-identical (a
    CPU's floating-point arithmetic): compared within tolerances, and the output says how
    many LQ images differ and which."""
    base = _with_images(baseline, tmp_path, "preset")
    status, text = run_gate(_variant(base, tmp_path, _inputs_edit("lq", "preset")), base)
    assert status == 0 and "gate: PASS" in text
    assert "note: 1 of 2 generated LQ images differ from the baseline's (img_a)" in text


@pytest.mark.parametrize("field,kind", [("lq", "provided"), ("hq", "preset")])
def test_provided_lq_or_hq_differing_is_a_usage_error(baseline, tmp_path, field, kind):
    """A provided LQ image (data, not computed) or an HQ image that differs: not comparable."""
    base = _with_images(baseline, tmp_path, kind)
    with pytest.raises(GateUsageError, match=f"digests.{field}: "):
        run_gate(_variant(base, tmp_path, _inputs_edit(field, kind)), base)
