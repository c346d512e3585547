"""Weights in one step: metric-name aliases, ``--suite`` (dry run, per-file failures),
and files found by name and hash in torch hub's and pyiqa's caches."""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path

import pytest

from bench import weight_needs
from bench.cli import main
from bench.errors import BenchError
from bench.io import weights
from bench.io.weights import MANIFEST, WeightFile

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "suites" / "quickstart.yaml"


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """An empty weights folder and an empty torch hub ($TORCH_HOME) in tmp_path."""
    monkeypatch.setenv(weights.ENV_DIR, str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return tmp_path / "weights", tmp_path / "torch" / "hub"


def _no_urlopen(*args, **kwargs):
    raise AssertionError("network access attempted")


def test_aliases_resolve_to_files():
    assert weight_needs.resolve("lpips") == ["alexnet"]
    assert weight_needs.resolve("dists") == ["vgg16", "dists"]
    assert weight_needs.resolve("fid") == ["inception_fid"]
    assert weight_needs.resolve("clipiqa") == ["clip_rn50"]
    assert weight_needs.resolve("vgg16") == ["vgg16"]  # a manifest name still works
    assert weight_needs.expand(["lpips", "text_lpips", "dists"]) == ["alexnet", "vgg16", "dists"]


def test_unknown_name_did_you_mean():
    with pytest.raises(BenchError, match="did you mean 'musiq'"):
        weight_needs.resolve("musqi")


def test_cli_fetch_lpips_is_not_unknown(dirs, monkeypatch, capsys):
    """`bench weights fetch lpips`, the fix users were told, now names alexnet's file."""
    monkeypatch.setattr(urllib.request, "urlopen", _no_urlopen)
    assert main(["weights", "fetch", "lpips", "--dry-run"]) == 0
    assert "alexnet-owt-7be5be79.pth" in capsys.readouterr().out


def test_suite_dry_run_lists_every_quickstart_file(dirs, monkeypatch, capsys):
    monkeypatch.setattr(urllib.request, "urlopen", _no_urlopen)
    assert main(["weights", "fetch", "--suite", str(QUICKSTART), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    expected = ["alexnet", "vgg16", "dists", "inception_fid", "niqe", "musiq"]
    assert [line.split(":")[0] for line in out] == expected
    for key, line in zip(expected, out):
        assert MANIFEST[key].url in line and str(dirs[0] / MANIFEST[key].filename) in line


def test_suite_fetch_fails_per_file(dirs, monkeypatch, capsys):
    def refuse(url, timeout=None):
        raise OSError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    assert main(["weights", "fetch", "--suite", str(QUICKSTART)]) == 1
    out = capsys.readouterr().out
    assert out.count("no network") == 6  # went on after the first failure
    assert "6 of 6 file(s) not fetched" in out


def test_restorer_files_from_suite(tmp_path):
    suite = tmp_path / "s.yaml"
    suite.write_text(QUICKSTART.read_text().replace("adapter: realesrgan-ncnn", "adapter: realesrgan")
                     .replace("../data/quickstart", str(ROOT / "data" / "quickstart")))
    keys = [n.key for n in weight_needs.suite_needs(suite)]
    assert "realesrgan/RealESRGAN_x4plus" in keys


def _put(folder: Path, name: str, content: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return folder / name


def test_torch_hub_copy_found_and_used(dirs, monkeypatch, capsys):
    """A file whose sha256 starts with the published prefix is found in
    $TORCH_HOME/hub/checkpoints and used there; the same name with other bytes is not."""
    _, hub = dirs
    good = b"alexnet weights"
    monkeypatch.setitem(MANIFEST, "alexnet", WeightFile("alexnet-x.pth", "https://x/alexnet-x.pth", None,
                                                        hash_prefix=hashlib.sha256(good).hexdigest()[:8]))
    path = _put(hub / "checkpoints", "alexnet-x.pth", good)
    assert weights.require("alexnet", "metric 'lpips'") == path
    assert "torch hub's cache" in capsys.readouterr().err
    assert weights.missing_message("alexnet", "metric 'lpips'") is None
    name, status, detail = weights.verify(["alexnet"])[0]
    assert status == "ok" and str(path) in detail and "torch hub" in detail

    path.write_bytes(b"something else")
    assert weights.verify(["alexnet"])[0][1] == "missing"
    with pytest.raises(BenchError, match="missing"):
        weights.require("alexnet", "metric 'lpips'")


def test_pyiqa_cache_found_only_with_matching_hash(dirs, monkeypatch):
    _, hub = dirs
    good = b"dists alpha beta"
    monkeypatch.setitem(MANIFEST, "dists", WeightFile("DISTS_x.pth", "https://x/DISTS_x.pth",
                                                      hashlib.sha256(good).hexdigest()))
    path = _put(hub / "pyiqa", "DISTS_x.pth", good)
    assert weights.require("dists", "metric 'dists'") == path
    path.write_bytes(b"wrong")
    assert weights.locate(MANIFEST["dists"]).path is None
    assert "not the content" in weights.verify_needs([weights.Need("dists", MANIFEST["dists"])])[0][2]


def test_unhashed_file_in_cache_is_not_used(dirs, monkeypatch):
    """No published or recorded hash: a name match alone is not trusted."""
    _, hub = dirs
    _put(hub / "pyiqa", MANIFEST["niqe"].filename, b"anything")
    assert weights.locate(MANIFEST["niqe"]).path is None
    assert weights.missing_message("niqe", "metric 'niqe'") is not None


def test_run_note_gives_one_command():
    reasons = {"lpips": "metric 'lpips': missing /w/a.pth -- " + weights.fix_for("alexnet"),
               "fid": "metric 'fid': missing /w/i.pth -- " + weights.fix_for("inception_fid"),
               "piqe": "pyiqa not installed"}
    lines = weights.run_note(reasons, "suites/quickstart.yaml")
    assert sum("python -m bench" in line for line in lines) == 1
    assert lines[-1].endswith("python -m bench weights fetch --suite suites/quickstart.yaml")
    assert "  piqe: pyiqa not installed" in lines
