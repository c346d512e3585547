"""The offline-first weights manager: where files live, refusing to download
offline, download-to-temp-and-rename, and hash checks (published or recorded)."""

from __future__ import annotations

import hashlib
import json
import urllib.request

import pytest

from bench import weight_needs
from bench.errors import BenchError, WeightsMissing
from bench.io import weights
from bench.io.weights import MANIFEST, WeightFile


@pytest.fixture
def wdir(tmp_path, monkeypatch):
    d = tmp_path / "weights"
    monkeypatch.setenv(weights.ENV_DIR, str(d))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # no file from the real torch hub cache
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return d


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A manifest entry served from a local file:// URL (no network involved)."""
    src = tmp_path / "src" / "toy.bin"
    src.parent.mkdir()
    src.write_bytes(b"toy weights\n")
    digest = hashlib.sha256(b"toy weights\n").hexdigest()
    monkeypatch.setitem(MANIFEST, "toy", WeightFile("toy.bin", src.as_uri(), None))
    return src, digest


def test_weights_dir_env_and_default(tmp_path, monkeypatch):
    monkeypatch.delenv(weights.ENV_DIR, raising=False)
    assert weights.weights_dir().parts[-3:] == (".cache", "tair-bench", "weights")
    monkeypatch.setenv(weights.ENV_DIR, str(tmp_path))
    assert weights.weights_dir() == tmp_path


def test_manifest_entries_are_complete():
    """Every entry has an https URL whose last path part is the file name (so a
    manual download lands under the right name), and known hashes are hex."""
    for name, wf in MANIFEST.items():
        assert wf.url.startswith("https://"), name
        assert wf.url.rsplit("/", 1)[-1] == wf.filename, name
        for h in (wf.sha256, wf.hash_prefix):
            assert h is None or all(c in "0123456789abcdef" for c in h), name
    # torchvision's convention: the 8 hex digits in the name are the sha256 prefix
    assert MANIFEST["alexnet"].hash_prefix == "7be5be79"


def test_require_missing_names_file_and_fix(wdir):
    with pytest.raises(WeightsMissing) as err:
        weights.require("alexnet", "metric 'lpips'")
    msg = str(err.value)
    assert str(wdir / "alexnet-owt-7be5be79.pth") in msg
    assert "python -m bench weights fetch alexnet" in msg
    assert err.value.what == "metric 'lpips'"


def test_require_present_returns_path(wdir):
    wdir.mkdir()
    (wdir / "RN50.pt").write_bytes(b"x")
    assert weights.require("clip_rn50", "x") == wdir / "RN50.pt"


def test_unknown_name_suggests(wdir):
    with pytest.raises(BenchError, match="did you mean 'alexnet'"):
        weights.require("alexnt", "x")


def _no_urlopen(*args, **kwargs):
    raise AssertionError("network access attempted")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_fetch_refuses_offline(wdir, monkeypatch, how):
    """Offline (flag or HF_HUB_OFFLINE=1): a clear refusal listing URL and destination, no urlopen."""
    monkeypatch.setattr(urllib.request, "urlopen", _no_urlopen)
    if how == "env":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BenchError) as err:
        weights.fetch(["alexnet"], offline=(how == "flag"))
    assert MANIFEST["alexnet"].url in str(err.value)
    assert str(wdir / "alexnet-owt-7be5be79.pth") in str(err.value)


def test_fetch_downloads_records_and_verifies(wdir, toy):
    src, digest = toy
    lines = weights.fetch(["toy"])
    assert (wdir / "toy.bin").read_bytes() == src.read_bytes()
    assert json.loads((wdir / "checksums.json").read_text()) == {"toy.bin": digest}
    assert "downloaded" in lines[0]
    assert not [p for p in wdir.iterdir() if p.name.endswith(".part")]  # temp file renamed away
    assert weights.verify(["toy"])[0][:2] == ("toy", "ok")
    # second fetch: already there, nothing downloaded
    assert "already present" in weights.fetch(["toy"], offline=True)[0]


def test_verify_detects_changed_file(wdir, toy):
    weights.fetch(["toy"])
    (wdir / "toy.bin").write_bytes(b"tampered")
    _, status, detail = weights.verify(["toy"])[0]
    assert status == "mismatch" and "recorded sha256" in detail


def test_verify_records_on_first_sight_and_reports_missing(wdir, toy):
    wdir.mkdir()
    (wdir / "toy.bin").write_bytes(b"copied by hand")
    assert weights.verify(["toy"])[0][1] == "recorded"
    assert weights.verify(["toy"])[0][1] == "ok"
    assert weights.verify(["niqe"])[0][1] == "missing"


def test_published_sha_mismatch_removes_download(wdir, toy, monkeypatch):
    src, _ = toy
    monkeypatch.setitem(MANIFEST, "toy", WeightFile("toy.bin", src.as_uri(), "0" * 64))
    with pytest.raises(BenchError, match="failed its hash check"):
        weights.fetch(["toy"])
    assert not (wdir / "toy.bin").exists()


def test_hash_prefix_checked(wdir, toy, monkeypatch):
    src, digest = toy
    monkeypatch.setitem(MANIFEST, "toy", WeightFile("toy.bin", src.as_uri(), None, hash_prefix=digest[:8]))
    weights.fetch(["toy"])
    assert weights.verify(["toy"])[0][1] == "ok"
    monkeypatch.setitem(MANIFEST, "toy", WeightFile("toy.bin", src.as_uri(), None, hash_prefix="ffffffff"))
    assert weights.verify(["toy"])[0][1] == "mismatch"


def test_expand_all():
    assert weight_needs.expand(["all"]) == sorted(MANIFEST)
    assert weight_needs.expand(["niqe", "niqe"]) == ["niqe"]


def test_planted_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    """A checkpoint whose unpickling would call ``os.system`` is dropped into the
    weights folder under a manifest file name. The loader must refuse it (it is not
    tensors-only and its sha256 is not the published one) and nothing must run."""
    import os
    import pickle

    import torch

    from bench.io.weights import load_checkpoint

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    name = next(n for n, wf in MANIFEST.items() if wf.sha256)
    path = tmp_path / MANIFEST[name].filename
    with open(path, "wb") as fh:
        pickle.dump({"params": Payload()}, fh)
    with pytest.raises(BenchError, match="refused to load") as err:
        load_checkpoint(path, "metric 'x'")
    assert not marker.exists(), "the planted pickle ran code"
    assert "does not match the published sha256" in str(err.value)

    # the same payload under a name the manifest does not know: refused as well
    other = tmp_path / "random.pth"
    other.write_bytes(path.read_bytes())
    with pytest.raises(BenchError, match="no published sha256"):
        load_checkpoint(other, "metric 'x'")
    assert not marker.exists()

    # a tensors-only state dict loads without any hash
    plain = tmp_path / "plain.pth"
    torch.save({"w": torch.ones(2)}, plain)
    assert torch.equal(load_checkpoint(plain, "metric 'x'")["w"], torch.ones(2))
