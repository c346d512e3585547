"""Missing code or weights: every official-repo adapter's preflight lists each
missing piece with its exact fix, as plain messages (no exception, no download).
"""

from __future__ import annotations

import sys

import pytest

from tair_bench_adapters.diffbir import DiffBIR
from tair_bench_adapters.difftsr import DiffTSR
from tair_bench_adapters.sd_upscaler import SDUpscaler
from tair_bench_adapters.seesr import SeeSR
from tair_bench_adapters.supir import SUPIR
from tair_bench_adapters.terediff import TeReDiff

REPO_ADAPTERS = [
    (DiffBIR, "inference.py", ["weights/BSRNet.pth", "weights/v2-1_512-ema-pruned.ckpt", "weights/v2.pth"]),
    (SeeSR, "test_seesr.py", ["preset/models/DAPE.pth", "preset/models/ram_swin_large_14m.pth",
                              "preset/models/seesr/unet", "preset/models/stable-diffusion-2-base/feature_extractor"]),
    (TeReDiff, "initialize.py", ["weights/terediff_stage3.pt", "weights/DiffBIR_v2.1.pt",
                                 "weights/sd2.1-base-zsnr-laionaes5.ckpt", "weights/realesrgan_s4_swinir_100k.pth"]),
    (DiffTSR, "model/DiffTSR_config.yaml", ["ckpt/DiffTSR.ckpt"]),
]


def _file_problems(cls, problems: list[str]) -> list[str]:
    """Without the note a GPU-only adapter (DiffTSR) adds on a non-CUDA device (tested in
    tests/conformance/test_difftsr.py)."""
    return [p for p in problems if not p.startswith(f"{cls.display_name}: device ")]


@pytest.fixture(autouse=True)
def _no_environment_probe(monkeypatch):
    """These tests are about files; the environment probe (the harness's own interpreter
    here, which lacks the repositories' stacks) is tested in its own tests."""
    for cls in (*(c for c, *_ in REPO_ADAPTERS), SUPIR):
        monkeypatch.setattr(cls, "environment_problems", lambda self: [])


@pytest.mark.parametrize("cls,code,weights", REPO_ADAPTERS, ids=lambda x: getattr(x, "__name__", ""))
def test_missing_repo_is_one_message(cls, code, weights, tmp_path):
    """No checkout: one message naming the path, the 'repo' argument and the URL."""
    (msg,) = _file_problems(cls, cls(repo=str(tmp_path / "absent")).preflight())
    assert str(tmp_path / "absent") in msg and "'repo'" in msg and cls.repo_url in msg


@pytest.mark.parametrize("cls,code,weights", REPO_ADAPTERS, ids=lambda x: getattr(x, "__name__", ""))
def test_each_missing_file_listed(cls, code, weights, tmp_path):
    """An empty checkout: the entry script and every checkpoint are listed,
    each with its own fix; creating them clears the list."""
    problems = _file_problems(cls, cls(repo=str(tmp_path)).preflight())
    text = "\n".join(problems)
    for rel in [code, *weights]:
        assert str(tmp_path / rel) in text, rel
    assert all(" -- " in p for p in problems)  # every message carries its fix
    for path, _ in cls(repo=str(tmp_path)).required_files():
        p = tmp_path / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.mkdir() if not p.suffix else p.write_bytes(b"x")
    assert _file_problems(cls, cls(repo=str(tmp_path)).preflight()) == []


def test_supir_reads_checkpoint_paths_from_repo_files(tmp_path):
    """SUPIR's checkpoints are named in options/SUPIR_v0.yaml and CKPT_PTH.py;
    preflight reports those exact paths, with where to change them."""
    (tmp_path / "options").mkdir()
    (tmp_path / "options" / "SUPIR_v0.yaml").write_text(
        "model:\n  target: x\nSDXL_CKPT: /models/sdxl.safetensors\nSUPIR_CKPT_F: /m/F.ckpt\nSUPIR_CKPT_Q: /m/Q.ckpt\n")
    (tmp_path / "CKPT_PTH.py").write_text(
        "LLAVA_MODEL_PATH = '/x'\nSDXL_CLIP1_PATH = '/clip/vit-l'\nSDXL_CLIP2_CKPT_PTH = '/clip2/open_clip.bin'\n")
    text = "\n".join(SUPIR(repo=str(tmp_path)).preflight())
    for expected in ("/models/sdxl.safetensors", "/m/Q.ckpt", "/clip/vit-l", "/clip2/open_clip.bin", "SUPIR_v0.yaml"):
        assert expected in text
    assert "/m/F.ckpt" not in text  # the Q model is the default


def test_supir_empty_checkout(tmp_path):
    """Without the repository's files SUPIR names them (and no checkpoint paths can be read)."""
    text = "\n".join(SUPIR(repo=str(tmp_path)).preflight())
    assert "options/SUPIR_v0.yaml" in text and "CKPT_PTH.py" in text


def test_sd_upscaler_preflight_and_lazy_import(tmp_path, monkeypatch):
    """A missing model folder is one message with the download command; the
    module imports without importing diffusers (it is loaded in load())."""
    monkeypatch.delitem(sys.modules, "diffusers", raising=False)
    (msg,) = SDUpscaler(path=str(tmp_path / "x4")).preflight()
    assert str(tmp_path / "x4") in msg and "stable-diffusion-x4-upscaler" in msg
    assert "diffusers" not in sys.modules
    (tmp_path / "x4").mkdir()
    problems = SDUpscaler(path=str(tmp_path / "x4")).preflight()
    assert any("model_index.json" in p for p in problems) and any("unet" in p for p in problems)


def test_settings_enter_config():
    """Steps, seed and cfg are in config() (hence in the cache key)."""
    cfg = TeReDiff(repo="r").config()
    assert (cfg["steps"], cfg["cfg"]) == (50, 1.0) and "seed" in cfg
    assert DiffBIR(repo="r", steps=20).config()["steps"] == 20
    assert SDUpscaler(path="p").config()["steps"] == 75
