"""Faults while writing (issue 29, item 4): a full disk under the cache or the results, a
read-only results folder, a cache folder of another user. Each stops the run with one line
naming the path and the cause, exit 2; the cache stays intact (every entry verifies, no temp
file is left), and the next run resumes to results identical to a clean run's.

The faults are real: a small tmpfs (``mount``, root only) for a full disk and a read-only
file system, and a run whose process lacks root's permission override
(``setpriv --bounding-set=-dac_override,-dac_read_search``) for a folder another user owns,
so the kernel refuses the writes as it would for any other user. Nothing in the cache or the
pipeline is replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from bench.cli import main
from bench.errors import BenchError, WriteFailed
from bench.io.cache import Cache
from bench.io.images import atomic_write_bytes
from bench.io.runfiles import stable
from bench.pipeline.stages.cached_map import record_fits

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534
#: a run without root's permission override: the kernel checks the folder's owner and mode
NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("a real full disk (tmpfs) and a folder of another user need root here")


@contextmanager
def tmpfs(path: Path, size: str, *options: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` for the block (a disk that can fill up)."""
    _need_root()
    path.mkdir(parents=True, exist_ok=True)
    opts = ",".join((f"size={size}", *options))
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True)


def _cli(suite: Path, out: Path, cache: Path, capsys, workers: int = 0) -> tuple[int, str]:
    rc = main(["run", str(suite), "--quiet", "--out", str(out), "--cache-dir", str(cache),
               "--workers", str(workers)])
    return rc, capsys.readouterr().err


def _one_error_line(err: str) -> str:
    """The run's stderr must be exactly one ``error:`` line, without a traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def _results(out: Path) -> dict:
    return stable(json.loads((out / "results.json").read_text()))


def _computed(out: Path) -> int:
    stages = json.loads((out / "results.json").read_text())["run"]["cache"]["stages"]
    return sum(s["computed"] for s in stages.values())


def _snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (temp files included) -> its sha256."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _intact(cache: Path) -> int:
    """Every entry of ``cache`` verifies and no temp file is left; returns the entry count."""
    counts, bad = Cache(cache).verify(record_fits)
    assert bad == []
    assert not [p for p in cache.rglob("*.tmp")]
    return sum(c["ok"] for c in counts.values())


@pytest.fixture(scope="module")
def clean(tiny_run):
    """A clean run of the tiny suite (bicubic, unsharp, blob spotter, psnr): suite, cache, out."""
    suite, cache, out, _ = tiny_run
    return suite, cache, out


def _bytes_used(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_full_disk_under_the_cache_stops_cleanly_and_resumes(clean, tmp_path, capsys):
    """The disk fills while a worker process writes the cache: one line (path, ENOSPC), exit 2;
    what was stored verifies; with space again the run resumes from it."""
    suite, clean_cache, clean_out = clean
    half = max(64, _bytes_used(clean_cache) // 2 // 1024)
    with tmpfs(tmp_path / "disk", f"{half}k") as disk:
        rc, err = _cli(suite, tmp_path / "out", disk / "cache", capsys, workers=1)
        line = _one_error_line(err)
        assert rc == 2
        assert line.startswith(f"error: cannot write {disk / 'cache'}/")
        assert "no space left on device (ENOSPC)" in line and "run the same command again to resume" in line
        stored = _intact(disk / "cache")
        assert stored > 0  # what was finished before the disk filled is kept
        remount(disk, "size=64m")
        rc, err = _cli(suite, tmp_path / "out", disk / "cache", capsys, workers=1)
        assert rc == 0, err
        assert _results(tmp_path / "out") == _results(clean_out)
        stages = json.loads((tmp_path / "out" / "results.json").read_text())["run"]["cache"]["stages"]
        assert sum(s["cached"] for s in stages.values()) > 0  # resumed, not started over


def test_full_disk_under_the_results_stops_cleanly_and_resumes(clean, tmp_path, capsys):
    """The results folder's disk is full: one line naming the file, exit 2; the cache is
    untouched; once there is space the run finishes from the cache alone."""
    suite, clean_cache, clean_out = clean
    cache = tmp_path / "cache"
    shutil.copytree(clean_cache, cache)
    before = _snapshot(cache)
    with tmpfs(tmp_path / "disk", "32m") as disk:
        filler = disk / "filler"  # the disk full to its last 8 KB
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        filler.write_bytes(b"\0" * (free - 8192))
        rc, err = _cli(suite, disk / "out", cache, capsys)
        line = _one_error_line(err)
        assert rc == 2
        assert line.startswith(f"error: cannot write {disk / 'out'}/")
        assert "no space left on device (ENOSPC)" in line
        assert _snapshot(cache) == before
        filler.unlink()
        rc, err = _cli(suite, disk / "out", cache, capsys)
        assert rc == 0, err
        assert _results(disk / "out") == _results(clean_out)
        assert _computed(disk / "out") == 0


def test_read_only_results_folder_stops_before_any_compute(clean, tmp_path, capsys):
    """A read-only results folder is found before anything is computed, in the same words by
    ``bench run`` and ``bench doctor``; made writable, the run goes through."""
    suite, _, clean_out = clean
    with tmpfs(tmp_path / "ro", "64m", "ro") as ro:
        cache = tmp_path / "cache"
        rc, err = _cli(suite, ro / "out", cache, capsys)
        line = _one_error_line(err)
        assert rc == 2
        assert line == f"error: preflight: output folder ({ro / 'out'}): read-only file system (EROFS); " \
                       "choose a writable folder, then run the same command again to resume (finished work is kept)"
        assert not (cache / "stages").exists()  # nothing computed
        assert main(["doctor", str(suite), "--out", str(ro / "out"), "--cache-dir", str(cache)]) == 1
        doctor = capsys.readouterr().out
        assert f"FAIL  {line.removeprefix('error: preflight: ')}" in doctor.splitlines()
        remount(ro, "rw")
        rc, err = _cli(suite, ro / "out", cache, capsys)
        assert rc == 0, err
        assert _results(ro / "out") == _results(clean_out)


def _run_without_override(suite: Path, out: Path, cache: Path) -> subprocess.CompletedProcess:
    """``bench run`` in a process without root's permission override (a user like any other)."""
    code = ("import sys; from bench.components import SPOTTERS; "
            "SPOTTERS.add('blob', 'tests.fakes:BlobSpotter', 'fake spotter for tests'); "
            "from bench.cli import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.run([*NO_OVERRIDE, sys.executable, "-c", code, "run", str(suite), "--quiet", "--out", str(out),
                           "--cache-dir", str(cache), "--workers", "0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_cache_folder_of_another_user_stops_and_resumes_once_shared(clean, tmp_path):
    """A cache owned by another user: one line naming the folder, its owner and the fix, exit
    2, the cache unchanged; once its owner grants write access the run resumes from it."""
    _need_root()
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to run without root's permission override")
    suite, clean_cache, clean_out = clean
    cache = tmp_path / "shared" / "cache"
    shutil.copytree(clean_cache, cache)
    for p in [cache, *cache.rglob("*")]:
        os.chown(p, NOBODY, NOBODY)
    before = _snapshot(cache)
    proc = _run_without_override(suite, tmp_path / "out", cache)
    line = _one_error_line(proc.stderr)
    assert proc.returncode == 2
    assert line.startswith(f"error: preflight: cache folder ({cache}): permission denied (EACCES): "
                           f"{cache} is owned by ")
    assert f"(uid {NOBODY}), mode drwxr-xr-x, and this process runs as " in line
    assert "have its owner give you write access, then run the same command again to resume" in line
    assert _snapshot(cache) == before
    for p in [cache, *cache.rglob("*")]:  # the owner shares it
        p.chmod(p.stat().st_mode | 0o777 if p.is_dir() else p.stat().st_mode | 0o666)
    proc = _run_without_override(suite, tmp_path / "out", cache)
    assert proc.returncode == 0, proc.stderr
    assert _results(tmp_path / "out") == _results(clean_out)
    assert _computed(tmp_path / "out") == 0


# -- the pieces -------------------------------------------------------------------------------


def test_write_failed_crosses_processes_and_stays_an_oserror():
    import errno
    import pickle

    exc = WriteFailed(errno.ENOSPC, "no space left on device (ENOSPC); free space", "/data/cache/x.png")
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is WriteFailed and isinstance(back, OSError) and isinstance(back, BenchError)
    assert (back.errno, back.filename, str(back)) == \
        (errno.ENOSPC, "/data/cache/x.png", "cannot write /data/cache/x.png: no space left on device (ENOSPC); free space")


def test_atomic_write_into_a_read_only_disk_names_the_file(tmp_path):
    with tmpfs(tmp_path / "ro", "1m", "ro") as ro:
        with pytest.raises(WriteFailed) as info:
            atomic_write_bytes(ro / "sub" / "a.json", b"{}")
    assert str(info.value).startswith(f"cannot write {ro / 'sub' / 'a.json'}: read-only file system (EROFS); ")


def test_cli_names_path_and_cause_of_a_write_outside_our_writers(clean, tmp_path, capsys):
    """``bench report`` into a read-only place: the folder it makes fails before any of our
    writers runs; the CLI still prints one line with the path and the cause, exit 2."""
    _, _, clean_out = clean
    with tmpfs(tmp_path / "ro", "1m", "ro") as ro:
        rc = main(["report", str(clean_out), "--out", str(ro / "r" / "report.html")])
        line = _one_error_line(capsys.readouterr().err)
    assert rc == 2
    assert line.startswith(f"error: {ro / 'r'}") and "read-only file system (EROFS)" in line
