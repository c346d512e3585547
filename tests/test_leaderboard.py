"""Leaderboard (bench.report.leaderboard): ranking, the three output formats, provenance,
and refusal to mix runs that are not the same benchmark."""

from __future__ import annotations

import csv
import json

import pytest

from bench.report.leaderboard import LeaderboardError, write_leaderboard
from tests.report_synth import make_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb")
    cache = root / "cache"
    return {
        "a": make_run(root / "a", cache),
        "b": make_run(root / "b", cache),  # a rerun of the same suite
        "level3": make_run(root / "level3", cache, suite_hash="3" * 64, name="synthetic-level3"),
        "seed1": make_run(root / "seed1", cache, degradation_seed=1),
    }


def test_ranks_restorers_and_writes_html_md_csv(runs, tmp_path):
    """Two runs of one suite: 'good' (E2E F1 0.875) ranks above 'bad'; every entry
    carries its run folder and git commit; the three files agree."""
    files = write_leaderboard([runs["a"], runs["b"]], tmp_path / "out")
    rows = list(csv.DictReader(files["csv"].open()))
    assert [r["restorer"] for r in rows] == ["good", "good", "bad", "bad"]
    assert [int(r["rank"]) for r in rows] == [1, 1, 3, 3]  # the two reruns tie: shared rank
    assert {r["run"] for r in rows} == {str(runs["a"]), str(runs["b"])}
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
    names the difference and both run folders."""
    with pytest.raises(LeaderboardError) as err:
        write_leaderboard([runs["a"], runs["seed1"]], tmp_path / "out")
    msg = str(err.value)
    assert "different degradation" in msg and str(runs["a"]) in msg and str(runs["seed1"]) in msg


@pytest.mark.parametrize("key,value,what", [
    ("protocol_version", "testr-0", "protocol version"),
    ("inputs", {"digest": "0" * 64}, "input images"),
    ("data", {"kind": "synthetic", "path": "/elsewhere", "split": "test"}, "data source"),
])
def test_refuses_other_differences(runs, tmp_path, key, value, what):
    other = tmp_path / "other"
    other.mkdir()
    doc = json.loads((runs["a"] / "results.json").read_text())
    doc[key] = value
    (other / "results.json").write_text(json.dumps(doc))
    with pytest.raises(LeaderboardError, match=f"different {what}"):
        write_leaderboard([runs["a"], other], tmp_path / "out")
