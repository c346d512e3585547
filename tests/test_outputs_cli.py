"""``bench run --outputs NAME=DIR [--allow-missing]``: folders of outputs checked before any
compute (every problem of every folder in one list), scored on the ids present with
``--allow-missing`` (the row marked incomplete, refused by gate and leaderboard unless
``--allow-incomplete``), and a folder adapter's relative path resolved against its suite file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.cli import main
from bench.data import open_dataset
from bench.pipeline.preflight import make_restorer
from bench.report.gate import GateUsageError, run_gate
from bench.report.leaderboard import LeaderboardError, write_leaderboard
from bench.suite import load_suite
from tair_bench_adapters.folder import OutputProblems
from tests.conftest import write_suite

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "suites" / "baselines" / "quickstart.json"


def _samples(suite_path: Path) -> list:
    suite = load_suite(suite_path)
    return [(s.id, s.hq) for s in open_dataset(suite.dataset, suite.degradation)]


def _png(path: Path, arr: np.ndarray) -> None:
    Image.fromarray(arr).save(path)


def _per_image(tmp_path: Path, row: str) -> list[dict]:
    with open(tmp_path / "run" / "per_image.csv", newline="") as f:
        return [r for r in csv.DictReader(f) if r["row"] == row]


def _run(suite: Path, tmp_path: Path, *extra: str) -> int:
    return main(["run", str(suite), "--out", str(tmp_path / "run"), "--cache-dir", str(tmp_path / "cache"),
                 "--workers", "0", "--quiet", *extra])


def test_every_problem_of_a_folder_in_one_message_before_compute(tmp_path, tiny_set, blob_spotter, capsys):
    suite = write_suite(tmp_path, tiny_set)
    (a, hq_a), (b, _), (c, _) = _samples(suite)
    out = tmp_path / "mine"
    out.mkdir()
    (out / f"{a}.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")  # corrupt
    _png(out / f"{b}.png", np.zeros((100, 100, 3), np.uint8))  # wrong size; c is missing
    assert _run(suite, tmp_path, "--outputs", f"mine={out}") == 2
    err = capsys.readouterr().err
    h, w = hq_a.shape[:2]
    line = next(x for x in err.splitlines() if "outputs 'mine'" in x)
    assert f"outputs 'mine' ({out}): 1 missing ({c}), 1 unreadable ({a}: not a readable image" in line
    assert f"1 wrong size ({b}: 100x100, expected {w}x{h})" in line
    assert "--allow-missing" in err
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.png"))  # nothing computed
    # unreadable files and wrong sizes are never allowed, --allow-missing or not
    assert _run(suite, tmp_path, "--outputs", f"mine={out}", "--allow-missing") == 2
    assert "1 unreadable" in capsys.readouterr().err


def test_allow_missing_scores_the_ids_present_and_marks_the_row(tmp_path, tiny_set, blob_spotter, capsys):
    suite = write_suite(tmp_path, tiny_set)
    samples = _samples(suite)
    out = tmp_path / "mine"
    out.mkdir()
    for image_id, hq in samples[:2]:  # the third id is missing
        _png(out / f"{image_id}.png", hq)
    assert _run(suite, tmp_path, "--outputs", f"mine={out}") == 2
    assert f"1 missing ({samples[2][0]})" in capsys.readouterr().err
    assert _run(suite, tmp_path, "--outputs", f"mine={out}", "--allow-missing") == 0
    printed = capsys.readouterr().out
    doc = json.loads((tmp_path / "run" / "results.json").read_text())
    assert doc["rows"] == ["HQ", "LQ", "mine"] and doc["data"]["n_images"] == 3
    assert doc["rows_incomplete"] == {"mine": {"n_images": 2, "n_expected": 3}}
    assert doc["n_images_per_metric"]["mine"]["psnr"] == 2 and doc["n_images_per_metric"]["LQ"]["psnr"] == 3
    assert doc["results"]["mine"]["psnr"] > doc["results"]["LQ"]["psnr"]  # HQ copies
    assert sorted(r["image_id"] for r in _per_image(tmp_path, "mine")) == sorted(i for i, _ in samples[:2])
    assert "mine (2 of 3)" in printed
    # not compared with the reference rows, which are over all 3 images: no headroom, no paired difference
    assert doc["headroom"]["mine"]["e2e_none_hmean"] is None
    assert "scored on 2 of 3 images" in doc["headroom"]["mine"]["e2e_none_hmean_reason"]
    assert "mine" not in doc["intervals"]["differences"] and "differences.mine" in doc["intervals"]["skipped"]
    assert doc["intervals"]["rows"]["mine"]["psnr"]["low"] is not None  # its own interval stays
    # leaderboard and gate refuse the incomplete row unless asked
    with pytest.raises(LeaderboardError, match=f"row 'mine' of {tmp_path / 'run'} is incomplete: scored on 2 of 3"):
        write_leaderboard([tmp_path / "run"], tmp_path / "board")
    assert write_leaderboard([tmp_path / "run"], tmp_path / "board", allow_incomplete=True)
    assert "mine (2 of 3)" in (tmp_path / "board" / "leaderboard.md").read_text()


def test_folder_path_is_relative_to_the_suite_file(tmp_path, tiny_set, monkeypatch):
    sub = tmp_path / "suites"
    sub.mkdir()
    suite_path = write_suite(sub, tiny_set, "  - {name: mine, adapter: folder, args: {path: outs}}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    suite = load_suite(suite_path)
    index = [r.name for r in suite.restorers].index("mine")
    assert make_restorer(suite, index, "cpu").path == sub / "outs"


def test_outputs_folder_relative_to_the_current_folder(tmp_path, tiny_set, blob_spotter, monkeypatch, capsys):
    suite = write_suite(tmp_path, tiny_set)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rel").mkdir()
    assert _run(suite, tmp_path, "--outputs", "mine=rel") == 2
    assert f"outputs 'mine' ({tmp_path / 'rel'}): 3 missing" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--outputs", "mine"], "expected NAME=DIR"),
    (["--outputs", "a=x", "--outputs", "a=y"], "row 'a' is given twice"),
    (["--allow-missing"], "--allow-missing: only with --outputs"),
])
def test_outputs_argument_errors(tmp_path, tiny_set, args, message, capsys):
    assert _run(write_suite(tmp_path, tiny_set), tmp_path, *args) == 2
    assert message in capsys.readouterr().err


def _incomplete_baseline(tmp_path: Path) -> Path:
    doc = json.loads(BASELINE.read_text(encoding="utf-8"))
    row = [r for r in doc["rows"] if r not in doc["reference_rows"]][0]
    doc["rows_incomplete"] = {row: {"n_images": 7, "n_expected": 8}}
    run = tmp_path / "partial"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(doc))
    return run


def test_gate_refuses_an_incomplete_row_unless_asked(tmp_path):
    run = _incomplete_baseline(tmp_path)
    row = next(iter(json.loads((run / "results.json").read_text())["rows_incomplete"]))
    with pytest.raises(GateUsageError, match=f"(?s)row '{row}' of {run / 'results.json'} is incomplete: "
                                             f"scored on 7 of 8 images.*--allow-incomplete"):
        run_gate(run / "results.json", BASELINE)
    status, text = run_gate(run / "results.json", BASELINE, allow_incomplete=True)
    assert status == 0 and f"row '{row}' of" in text


def test_leaderboard_refuses_an_incomplete_row_unless_asked(tmp_path):
    run = _incomplete_baseline(tmp_path)
    with pytest.raises(LeaderboardError, match=f"of {run} is incomplete: scored on 7 of 8 images"):
        write_leaderboard([run], tmp_path / "board")
    write_leaderboard([run], tmp_path / "board", allow_incomplete=True)
    assert "(7 of 8)" in (tmp_path / "board" / "leaderboard.md").read_text()


def test_preflight_summary_lists_first_ids_and_counts():
    found = OutputProblems(missing=[f"id{i}" for i in range(7)], unreadable=[("x", "bad")],
                           wrong_size=[("y", (1, 2), (3, 4))])
    assert found.summary() == ("7 missing (id0, id1, id2, id3, id4, ... 2 more), 1 unreadable (x: bad), "
                               "1 wrong size (y: 1x2, expected 3x4)")
    assert found.blocking(allow_missing=True) and not OutputProblems(missing=["a"]).blocking(True)


