"""Conformance: the Real-ESRGAN adapter against the real code at the pinned commits
(upstream/Real-ESRGAN, upstream/BasicSR).

The adapter runs the networks in-process (no subprocess), so "the same as the
official CLI" means: the CLI's real ``main()`` (inference_realesrgan.py), given the
adapter's :meth:`RealESRGAN.official_argv`, builds the same architecture and hands
``RealESRGANer`` the same files and DNI weights; the real ``RealESRGANer.dni`` blend
equals ours bit for bit; the real ``SRVGGNetCompact`` and ``RRDBNet`` load our state
dicts strictly and compute what ours compute. Only the packages' heavy or compiled
imports are stubbed (basicsr's registry, logger, deformable-conv ops, downloader).
Finding of issue 12: ``test_realesrgan_x4v3_default_denoise_strength_is_official_half``.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
import torch

from bench.errors import AdapterError
from tair_bench_adapters.realesrgan import (
    OFFICIAL_DENOISE_STRENGTH,
    WDN_URL,
    RealESRGAN,
    RRDBNet,
    SRVGGNetCompact,
    dni_blend,
    load_dni_network,
    read_state_dict,
)

X4V3 = "realesr-general-x4v3"


def _module(name: str, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    return mod


def _load_file(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _Registry:
    def register(self, *a, **k):
        return lambda cls: cls


@pytest.fixture
def basicsr_stubs(monkeypatch):
    """basicsr's registry, logger, downloader and compiled deformable-conv ops, stubbed."""
    def no_download(url, *a, **k):
        raise AssertionError(f"the official code would download {url}")

    stubs = {
        "basicsr": _module("basicsr"), "basicsr.utils": _module("basicsr.utils", get_root_logger=lambda: None),
        "basicsr.utils.registry": _module("basicsr.utils.registry", ARCH_REGISTRY=_Registry()),
        "basicsr.utils.download_util": _module("basicsr.utils.download_util", load_file_from_url=no_download),
        "basicsr.ops": _module("basicsr.ops"),
        "basicsr.ops.dcn": _module("basicsr.ops.dcn", ModulatedDeformConvPack=object,
                                   modulated_deform_conv=None),
    }
    for name, mod in stubs.items():
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    return stubs


@pytest.fixture
def official_cli(upstream, basicsr_stubs, monkeypatch, tmp_path):
    """Run the real ``inference_realesrgan.py`` ``main()`` on an argv; returns the
    architecture it built and the ``RealESRGANer`` arguments (networks stubbed)."""
    root = upstream("Real-ESRGAN")
    seen: dict = {}

    def recorder(key):
        def make(*args, **kwargs):
            seen[key] = kwargs
            return types.SimpleNamespace()
        return make

    monkeypatch.setitem(sys.modules, "basicsr.archs", _module("basicsr.archs"))
    monkeypatch.setitem(sys.modules, "basicsr.archs.rrdbnet_arch", _module("x", RRDBNet=recorder("RRDBNet")))
    monkeypatch.setitem(sys.modules, "realesrgan", _module("realesrgan", RealESRGANer=recorder("RealESRGANer")))
    monkeypatch.setitem(sys.modules, "realesrgan.archs", _module("realesrgan.archs"))
    monkeypatch.setitem(sys.modules, "realesrgan.archs.srvgg_arch",
                        _module("x", SRVGGNetCompact=recorder("SRVGGNetCompact")))
    cli = _load_file("inference_realesrgan_under_test", root / "inference_realesrgan.py")

    def run(argv: list[str]) -> dict:
        seen.clear()
        monkeypatch.setattr(sys, "argv", ["inference_realesrgan.py", *argv])
        cli.main()  # the input folder is empty: no image is read
        return dict(seen)

    (tmp_path / "in").mkdir()
    return run


def _x4v3_adapter(tmp_path: Path, **kw) -> RealESRGAN:
    (tmp_path / "w").mkdir(exist_ok=True)
    return RealESRGAN(model=X4V3, weights=str(tmp_path / "w" / f"{X4V3}.pth"), **kw)


def test_realesrgan_x4v3_default_denoise_strength_is_official_half(official_cli, tmp_path):
    """The CLI's ``-dn`` default (inference_realesrgan.py:25-31) is 0.5, and so is the
    adapter's; the config says it is the official default."""
    adapter = _x4v3_adapter(tmp_path)
    argv = adapter.official_argv(str(tmp_path / "in"), str(tmp_path / "out"))
    dn = argv.index("-dn")
    got = official_cli(argv[:dn] + argv[dn + 2:])  # the CLI with -dn left to its default
    assert got["RealESRGANer"]["dni_weight"] == [OFFICIAL_DENOISE_STRENGTH, 1 - OFFICIAL_DENOISE_STRENGTH] == [0.5, 0.5]
    assert adapter.denoise_strength == 0.5 and adapter.dni_weight == got["RealESRGANer"]["dni_weight"]
    cfg = adapter.config()
    assert cfg["denoise_strength"] == 0.5 and "official default" in cfg["denoise_strength_source"]
    assert "official" not in _x4v3_adapter(tmp_path, denoise_strength=0.5).config()["denoise_strength_source"]


@pytest.mark.parametrize("strength", [0.5, 0.2, 1.0])
def test_realesrgan_official_argv_gives_the_same_files_and_blend(official_cli, tmp_path, strength):
    """Parsed and run by the real CLI, the adapter's argv loads the same files with the
    same DNI weights, tile settings and precision; strength 1 loads the model alone."""
    adapter = _x4v3_adapter(tmp_path, denoise_strength=strength, tile=32, tile_pad=6)
    got = official_cli(adapter.official_argv(str(tmp_path / "in"), str(tmp_path / "out")))
    er = got["RealESRGANer"]
    if strength == 1.0:
        assert er["model_path"] == str(adapter.weights) and er["dni_weight"] is None and adapter.wdn_weights is None
    else:
        assert er["model_path"] == [str(adapter.weights), str(adapter.wdn_weights)]
        assert er["dni_weight"] == adapter.dni_weight == [strength, 1 - strength]
    assert (er["tile"], er["tile_pad"], er["pre_pad"], er["half"], er["scale"]) == (32, 6, 0, adapter.fp16, 4)
    arch = got["SRVGGNetCompact"]
    assert {k: arch[k] for k in ("num_feat", "num_conv", "upscale")} == {
        k: v.default for k, v in __import__("inspect").signature(SRVGGNetCompact).parameters.items()
        if k in ("num_feat", "num_conv", "upscale")}
    assert arch["act_type"] == "prelu"


def test_realesrgan_x4plus_arch_matches_cli(official_cli, tmp_path):
    """RealESRGAN_x4plus: the CLI's RRDBNet settings are our RRDBNet defaults, no DNI."""
    import inspect

    adapter = RealESRGAN(weights=str(tmp_path / "RealESRGAN_x4plus.pth"))
    got = official_cli(adapter.official_argv(str(tmp_path / "in"), str(tmp_path / "out")))
    ours = {k: v.default for k, v in inspect.signature(RRDBNet).parameters.items()}
    assert {k: got["RRDBNet"][k] for k in ("num_feat", "num_block", "num_grow_ch")} == {
        k: ours[k] for k in ("num_feat", "num_block", "num_grow_ch")}
    assert got["RRDBNet"]["scale"] == RRDBNet.scale and got["RealESRGANer"]["dni_weight"] is None
    with pytest.raises(AdapterError, match="only to realesr-general-x4v3"):
        RealESRGAN(denoise_strength=0.5)


def _tiny_srvgg_files(tmp_path: Path) -> tuple[Path, Path]:
    torch.manual_seed(0)
    a, b = SRVGGNetCompact(num_feat=8, num_conv=2), SRVGGNetCompact(num_feat=8, num_conv=2)
    pa, pb = tmp_path / f"{X4V3}.pth", tmp_path / "realesr-general-wdn-x4v3.pth"
    torch.save({"params": a.state_dict()}, pa)
    torch.save({"params": b.state_dict()}, pb)
    return pa, pb


def test_realesrgan_dni_blend_equals_official(upstream, basicsr_stubs, tmp_path):
    """The real ``RealESRGANer.dni`` (realesrgan/utils.py:77-86) and ours give the same
    tensors, bit for bit, and the adapter's loaded network holds them."""
    utils = _load_file("realesrgan_utils_under_test", upstream("Real-ESRGAN") / "realesrgan" / "utils.py")
    pa, pb = _tiny_srvgg_files(tmp_path)
    official = utils.RealESRGANer.dni(None, str(pa), str(pb), [0.3, 0.7])["params"]
    ours = dni_blend(read_state_dict(pa, ("params",)), read_state_dict(pb, ("params",)), 0.3)
    assert official.keys() == ours.keys() and all(torch.equal(official[k], ours[k]) for k in ours)
    net = load_dni_network(X4V3, pa, pb, 0.3).state_dict()
    assert all(torch.equal(net[k], ours[k]) for k in ours)
    adapter = RealESRGAN(model=X4V3, weights=str(pa), denoise_strength=0.3)
    assert adapter.wdn_weights == pb  # found beside the model, as the CLI finds it (:102)
    adapter.load()
    assert all(torch.equal(adapter.net.state_dict()[k], ours[k]) for k in ours)


def test_realesrgan_srvgg_computes_as_real_arch(upstream, basicsr_stubs):
    """The real ``SRVGGNetCompact`` (realesrgan/archs/srvgg_arch.py) loads our state dict
    strictly and gives our output."""
    real = _load_file("srvgg_under_test", upstream("Real-ESRGAN") / "realesrgan" / "archs" / "srvgg_arch.py")
    torch.manual_seed(1)
    ours = SRVGGNetCompact(num_feat=8, num_conv=3).eval()
    theirs = real.SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=3, upscale=4,
                                  act_type="prelu").eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.rand(1, 3, 7, 9)
    with torch.no_grad():
        assert torch.allclose(theirs(x), ours(x), atol=1e-6)


def test_realesrgan_rrdbnet_computes_as_real_arch(upstream, basicsr_stubs, monkeypatch):
    """The real BasicSR ``RRDBNet`` (basicsr/archs/rrdbnet_arch.py) loads our state dict
    strictly and gives our output at x4."""
    root = upstream("BasicSR") / "basicsr" / "archs"
    try:
        import distutils.version  # noqa: F401  (arch_util imports LooseVersion)
    except ImportError:
        monkeypatch.setitem(sys.modules, "distutils", _module("distutils"))
        monkeypatch.setitem(sys.modules, "distutils.version", _module("distutils.version", LooseVersion=str))
    monkeypatch.setitem(sys.modules, "basicsr.archs", _module("basicsr.archs", __path__=[str(root)]))
    arch_util = _load_file("basicsr.archs.arch_util", root / "arch_util.py")
    monkeypatch.setitem(sys.modules, "basicsr.archs.arch_util", arch_util)
    real = _load_file("basicsr.archs.rrdbnet_arch", root / "rrdbnet_arch.py")
    monkeypatch.delitem(sys.modules, "basicsr.archs.rrdbnet_arch", raising=False)
    torch.manual_seed(2)
    ours = RRDBNet(num_feat=8, num_block=1, num_grow_ch=4).eval()
    theirs = real.RRDBNet(num_in_ch=3, num_out_ch=3, scale=4, num_feat=8, num_block=1, num_grow_ch=4).eval()
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.rand(1, 3, 5, 6)
    with torch.no_grad():
        assert torch.allclose(theirs(x), ours(x), atol=1e-5)


def test_realesrgan_preflight_requires_wdn_when_strength_not_one(official_cli, tmp_path):
    """Strength != 1: preflight checks the wdn twin at the path the CLI opens, with its URL
    (inference_realesrgan.py:83); strength 1: only the model."""
    adapter = _x4v3_adapter(tmp_path)
    opened = official_cli(adapter.official_argv(str(tmp_path / "in"), str(tmp_path / "out")))
    wdn = Path(opened["RealESRGANer"]["model_path"][1])
    problems = adapter.preflight()
    assert len(problems) == 2 and str(wdn) in problems[1] and WDN_URL in problems[1]
    assert WDN_URL.rsplit("/", 1)[1] == wdn.name
    only = _x4v3_adapter(tmp_path, denoise_strength=1)
    (msg,) = only.preflight()
    assert "wdn" not in msg
    (tmp_path / "w" / f"{X4V3}.pth").write_bytes(b"")
    assert adapter.preflight() == [problems[1]] and only.preflight() == []


def test_realesrgan_version_and_config_carry_the_blend(tmp_path):
    """The strength and the wdn file's hash enter version(); config() records the strength."""
    pa, _ = _tiny_srvgg_files(tmp_path)  # the wdn twin lies beside pa, where the adapter finds it
    v_half = RealESRGAN(model=X4V3, weights=str(pa)).version()
    v_one = RealESRGAN(model=X4V3, weights=str(pa), denoise_strength=1).version()
    assert "dni=0.5" in v_half and "wdn_sha256=" in v_half and "dni" not in v_one
    assert RealESRGAN(model=X4V3, weights=str(pa), denoise_strength=0.2).config()["denoise_strength"] == 0.2
    with pytest.raises(AdapterError, match=r"\[0, 1\]"):
        RealESRGAN(model=X4V3, weights=str(pa), denoise_strength=1.5)
