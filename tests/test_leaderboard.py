"""Leaderboard (bench.report.leaderboard): ranking, the three output formats, provenance,
rows of several runs on one benchmark in one table, and refusal to mix runs of one suite
that are not the same benchmark."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bench.report.leaderboard import LeaderboardError, write_leaderboard
from tests.report_synth import make_run


def edited(run: Path, out: Path, edit) -> Path:
    """A copy of a run folder's results.json with ``edit(doc)`` applied."""
    doc = json.loads((run / "results.json").read_text())
    edit(doc)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(doc))
    return out


def other_restorers(doc: dict) -> None:
    """Another suite on the same benchmark: restorer 'bad' replaced by 'bicubic', 'good' kept."""
    doc["suite"].update(name="mine", hash="m" * 64)
    doc["rows"] = ["HQ", "LQ", "good", "bicubic"]
    doc["results"]["bicubic"] = {**doc["results"].pop("bad"), "e2e_none_hmean": 0.5}
    doc["restorers"] = {"good": doc["restorers"]["good"], "bicubic": {"adapter": "bicubic", "version": "b/v1"}}


def level3(doc: dict) -> None:
    doc["suite"].update(name="synthetic-level3", hash="3" * 64)
    doc["degradation"]["preset"] = "level3"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb")
    cache = root / "cache"
    a = make_run(root / "a", cache)
    return {
        "a": a,
        "b": make_run(root / "b", cache),  # a rerun of the same suite
        "level3": edited(a, root / "level3", level3),
        "seed1": make_run(root / "seed1", cache, degradation_seed=1),
        "mine": edited(a, root / "mine", other_restorers),
    }


def test_ranks_restorers_and_writes_html_md_csv(runs, tmp_path):
    """Two runs of one suite: 'good' (E2E F1 0.875) ranks above 'bad'; a rerun's rows
    (same identity) are ranked once, their run column naming both runs; every entry
    carries its git commit; the three files agree."""
    files = write_leaderboard([runs["a"], runs["b"]], tmp_path / "out")
    rows = list(csv.DictReader(files["csv"].open()))
    assert [r["restorer"] for r in rows] == ["good", "bad"]
    assert [int(r["rank"]) for r in rows] == [1, 2]
    assert {r["run"] for r in rows} == {f"{runs['a']}; {runs['b']}"}
    assert all(r["git_commit"] == "abc123" and r["headline"] == "e2e_none_hmean" for r in rows)
    md = files["md"].read_text()
    assert "## synthetic" in md and "| 1 | good |" in md
    html = files["html"].read_text()
    assert "<table class=\"leaderboard\">" in html and str(runs["b"]) in html
    assert "chart" not in files  # one suite: no per-level chart


def test_several_suites_get_sections_and_a_level_chart(runs, tmp_path):
    """Different suites (e.g. degradation levels) are ranked separately, plus bars."""
    files = write_leaderboard([runs["a"], runs["level3"]], tmp_path / "out")
    md = files["md"].read_text()
    assert "## synthetic\n" in md and "## synthetic-level3" in md
    assert files["chart"].exists() and files["chart"].stat().st_size > 1000


def test_refuses_runs_of_one_suite_with_a_different_degradation(runs, tmp_path):
    """Same suite name and hash but another degradation seed: refused, and the message
    gives the differing key path and both run folders."""
    with pytest.raises(LeaderboardError) as err:
        write_leaderboard([runs["a"], runs["seed1"]], tmp_path / "out")
    msg = str(err.value)
    assert "degradation.seed: 0 vs 1" in msg and str(runs["a"]) in msg and str(runs["seed1"]) in msg


@pytest.mark.parametrize("key,value,line", [
    ("protocol_version", "testr-0", "protocol_version: "),
    ("inputs", {"digest": "0" * 64, "images": {"x": {"hq": "1", "lq": "2"}}}, "images: 0 vs 1"),
    ("data", {"kind": "synthetic", "path": "/elsewhere", "split": "train"}, "data.split: 'test' vs 'train'"),
])
def test_refuses_other_differences(runs, tmp_path, key, value, line):
    def change(doc):
        doc[key] = value
    with pytest.raises(LeaderboardError, match=line):
        write_leaderboard([runs["a"], edited(runs["a"], tmp_path / "other", change)], tmp_path / "out")


def test_ranks_rows_of_runs_with_different_restorers_on_one_benchmark(runs, tmp_path):
    """Suite 'mine' (good, bicubic) and suite 'synthetic' (good, bad) on one benchmark: one
    table with every row; 'good' is the same identity in both and is ranked once."""
    files = write_leaderboard([runs["a"], runs["mine"]], tmp_path / "out")
    rows = list(csv.DictReader(files["csv"].open()))
    assert [r["restorer"] for r in rows] == ["good", "bad", "bicubic"]
    assert {r["suite"] for r in rows} == {"synthetic"}
    assert len({r["benchmark_hash"] for r in rows}) == 1 and len({r["suite_hash"] for r in rows}) == 2


def test_same_name_with_another_identity_is_labelled_with_its_run(runs, tmp_path):
    """Another version of 'good' in a second run: both rows are ranked, each labelled."""
    def good_v2(doc):
        doc["restorers"]["good"]["version"] = "good/v2"
        doc["results"]["good"]["e2e_none_hmean"] = 0.7
    v2 = edited(runs["a"], tmp_path / "v2", good_v2)
    rows = list(csv.DictReader(write_leaderboard([runs["a"], v2], tmp_path / "out")["csv"].open()))
    assert [r["restorer"] for r in rows][:2] == [f"good [{runs['a']}]", f"good [{v2}]"]
    assert len(rows) == 3  # 'bad' is the same identity in both: once
