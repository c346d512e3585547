"""A cache that verifies what it reads (issue 29, item 1): every kind of damage
(tools/corrupt_cache.py) is a miss, recomputed, overwritten and counted, the results equal
a clean run's; ``bench cache verify`` finds each kind and ``--repair`` removes it."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from bench.io.cache import Cache, CorruptEntry
from bench.io.runfiles import stable
from bench.pipeline.runner import RunOptions, run_suite
from bench.pipeline.stages import degrade, recognize, restore, score_images, spot
from bench.pipeline.stages.cached_map import RECORD_SHAPES, record_fits
from bench.suite import load_suite

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("corrupt_cache", ROOT / "tools" / "corrupt_cache.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


def _run(suite: Path, out: Path, cache: Path, workers: int = 0) -> dict:
    doc, _ = run_suite(load_suite(suite), RunOptions(out_dir=out, cache_dir=cache, quiet=True, workers=workers))
    return doc


@pytest.fixture(scope="module")
def clean(tiny_run):
    """A clean run of the tiny suite: (suite, its cache, its results)."""
    suite, cache, _, doc = tiny_run
    return suite, cache, doc


def _damaged_copy(clean_cache: Path, dest: Path, kinds=None) -> list[tuple[str, str]]:
    shutil.copytree(clean_cache, dest)
    return TOOL.corrupt(dest, kinds)


@pytest.mark.parametrize("kind", list(TOOL.KINDS))
def test_each_kind_of_damage_is_recomputed_and_counted(kind, clean, tmp_path):
    suite, cache, want = clean
    [(_, rel)] = _damaged_copy(cache, tmp_path / "c", [kind])
    before = (tmp_path / "c" / rel).read_bytes()
    got = _run(suite, tmp_path / "out", tmp_path / "c")
    assert stable(got) == stable(want)
    info = got["run"]["cache"]
    assert info["corrupt_recomputed"] == 1, info
    assert info["corrupt_entries"][0].startswith(rel + ": ")
    assert sum(v["computed"] for v in info["stages"].values()) >= 1
    assert (tmp_path / "c" / rel).read_bytes() != before  # overwritten with a good entry
    counts, bad = Cache(tmp_path / "c").verify(record_fits)
    assert bad == []


def test_all_damage_at_once_with_worker_processes(clean, tmp_path, capsys):
    """Workers and the restorer's own process meet the damage too: the CLI exits 0, says
    how many entries it recomputed, and the results equal the clean run's."""
    suite, cache, want = clean
    damaged = _damaged_copy(cache, tmp_path / "c")
    assert len(damaged) == len(TOOL.KINDS)
    rc = main(["run", str(suite), "--quiet", "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c"),
               "--workers", "1"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert f"cache: {len(damaged)} corrupt entries recomputed" in out.out
    assert "Traceback" not in out.err
    got = json.loads((tmp_path / "out" / "results.json").read_text())
    got_suite, want_suite = stable(got).pop("suite"), stable(want).pop("suite")  # the CLI records its overrides
    assert got_suite["hash"] == want_suite["hash"]
    assert {k: v for k, v in stable(got).items() if k != "suite"} == \
        {k: v for k, v in stable(want).items() if k != "suite"}
    assert got["run"]["cache"]["corrupt_recomputed"] == len(damaged)


def test_verify_finds_each_kind_and_repair_removes_it(clean, tmp_path, capsys):
    suite, cache, want = clean
    damaged = dict((rel, kind) for kind, rel in _damaged_copy(cache, tmp_path / "c"))
    counts, bad = Cache(tmp_path / "c").verify(record_fits)
    assert {rel for rel, _ in bad} == set(damaged)
    assert main(["cache", "verify", "--cache-dir", str(tmp_path / "c")]) == 1
    out = capsys.readouterr().out
    assert f"{len(damaged)} bad entries" in out
    assert main(["cache", "verify", "--cache-dir", str(tmp_path / "c"), "--repair"]) == 0
    assert not any((tmp_path / "c" / rel).exists() for rel in damaged)
    assert main(["cache", "verify", "--cache-dir", str(tmp_path / "c")]) == 0
    assert "no bad entries" in capsys.readouterr().out
    got = _run(suite, tmp_path / "out", tmp_path / "c")  # the deleted entries are recomputed
    assert stable(got) == stable(want) and got["run"]["cache"]["corrupt_recomputed"] == 0


def test_a_clean_cache_verifies(clean, capsys):
    _, cache, _ = clean
    assert main(["cache", "verify", "--cache-dir", str(cache)]) == 0
    assert "0 bad" in capsys.readouterr().out


# -- the checks one by one ------------------------------------------------------------------


def test_record_copied_under_another_key_is_a_counted_miss(tmp_path):
    cache = Cache(tmp_path)
    cache.put("spot", "a" * 64, {"detections": [], "seconds": 1.0})
    src = tmp_path / "stages" / "spot" / "aa" / f"{'a' * 64}.json"
    dst = tmp_path / "stages" / "spot" / "bb" / f"{'b' * 64}.json"
    dst.parent.mkdir(parents=True)
    dst.write_bytes(src.read_bytes())
    assert cache.get("spot", "a" * 64) == {"detections": [], "seconds": 1.0}
    assert cache.get("spot", "b" * 64) is None
    assert list(cache.corrupt) == [dst.relative_to(tmp_path).as_posix()]


def test_tampered_body_fails_its_checksum(tmp_path):
    cache = Cache(tmp_path)
    cache.put("metric", "k" * 64, {"value": 0.25})
    path = next((tmp_path / "stages").rglob("*.json"))
    path.write_text(path.read_text().replace("0.25", "0.75"))
    assert cache.get("metric", "k" * 64) is None
    assert "checksum" in next(iter(cache.corrupt.values()))


def test_old_format_record_is_a_silent_miss(tmp_path):
    """A bare body (the format before records carried key and checksum) is recomputed, not counted."""
    cache = Cache(tmp_path)
    path = tmp_path / "stages" / "metric" / "kk" / f"{'k' * 64}.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"value": 0.5}')
    assert cache.get("metric", "k" * 64, lambda r: record_fits("metric", r)) is None
    assert cache.corrupt == {} and cache.misses["metric"] == 1


def test_wrong_shape_is_counted_but_an_absent_image_is_a_plain_miss(tmp_path):
    cache = Cache(tmp_path)
    cache.put("degrade", "d" * 64, {"hq": None, "lq": "1" * 64, "lq_up": "2" * 64})  # images never stored
    cache.put("spot", "s" * 64, {"detections": [{"polygon": 5, "text": None, "score": "x"}], "seconds": 1})

    def degrade_usable(r):
        return record_fits("degrade", r) and all(cache.has_image(h) for h in (r["lq"], r["lq_up"]))

    assert cache.get("degrade", "d" * 64, degrade_usable) is None
    assert cache.corrupt == {}
    assert cache.get("spot", "s" * 64, lambda r: record_fits("spot", r)) is None
    assert list(cache.corrupt.values()) == ["a body of the wrong shape for stage 'spot'"]


def test_corrupt_image_read_raises_corrupt_entry_and_put_overwrites_it(tmp_path):
    cache = Cache(tmp_path)
    img = np.random.default_rng(1).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    h = cache.put_image(img)
    path = tmp_path / "images" / h[:2] / f"{h}.png"
    path.write_bytes(path.read_bytes()[:20])
    fresh = Cache(tmp_path)  # another process: nothing checked yet
    assert not fresh.has_image(h)
    with pytest.raises(CorruptEntry, match="not a readable image"):
        fresh.get_image(h)
    assert fresh.put_image(img) == h  # the corrupt copy is replaced
    assert np.array_equal(Cache(tmp_path).get_image(h), img)
    other = img.copy()
    other[0, 0] ^= 1
    path.write_bytes(Cache(tmp_path / "x")._store.read(Cache._image_rel(Cache(tmp_path / "x").put_image(other))))
    with pytest.raises(CorruptEntry, match="do not hash to its name"):
        Cache(tmp_path).get_image(h)


def test_record_shapes_cover_every_stage_folder():
    """The shape table names exactly the stage folders the stages write."""
    assert set(RECORD_SHAPES) == {degrade.STAGE, restore.STAGE, spot.STAGE, recognize.STAGE,
                                  score_images.STAGE, score_images.FEATURES}
