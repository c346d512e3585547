"""The ``torch`` degradation backend against Real-ESRGAN's and BasicSR's own code.

BasicSR's ``filter2D``, ``USMSharp``, ``DiffJPEG``, ``add_gaussian_noise_pt`` /
``add_poisson_noise_pt`` and Real-ESRGAN's ``RealESRGANModel.feed_data`` are imported
from the pinned snapshots (``upstream("BasicSR")``, ``upstream("Real-ESRGAN")``) by file path;
only what they import and do not use here is stubbed (the package ``__init__`` files,
which import every architecture, data set and logger; the model registry; the
``SRGANModel`` base class, whose ``__init__`` builds networks; the training pair pool,
which needs CUDA; the random crop). Both sides get the same input, the same kernels
(ours, from :mod:`bench.degrade.kernels`) and the same random draws (the image's NumPy
noise streams, handed to BasicSR through ``torch.randn`` / ``torch.poisson``; the
scalar draws of our plan, through ``random`` / ``np.random.uniform`` and one-point
ranges in the options). The bound is max |ours - theirs| <= 1e-5 on [0, 1] images
before the final rounding, per operation and end to end.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.degrade import kernels, torch_backend, torch_jpeg, torch_ops
from bench.degrade.pipeline import degrade_image, get_preset, image_rng
from bench.degrade.plan import Plan, draw_plan, split_streams

TOL = 1e-5
_LOADED: dict[tuple[str, str], types.SimpleNamespace] = {}


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _package(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = []  # a package, so that submodules can be registered under it
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


class _Registry:
    """Stand-in for BasicSR's MODEL_REGISTRY: ``register()`` returns the class unchanged."""

    def register(self, *args):
        return lambda cls: cls


def load_upstream(basicsr: Path, realesrgan: Path) -> types.SimpleNamespace:
    """Import the upstream modules by path with the unrelated imports stubbed; sys.modules restored."""
    key = (str(basicsr), str(realesrgan))
    if key in _LOADED:
        return _LOADED[key]
    names = ("basicsr", "basicsr.data", "basicsr.data.degradations", "basicsr.data.transforms", "basicsr.utils",
             "basicsr.utils.diffjpeg", "basicsr.utils.img_process_util", "basicsr.utils.registry",
             "basicsr.models", "basicsr.models.srgan_model", "upstream_realesrgan_model")
    saved = {n: sys.modules[n] for n in names if n in sys.modules}
    try:
        _package("basicsr")
        _package("basicsr.data")
        _package("basicsr.models")
        src = basicsr / "basicsr"
        degradations = _load("basicsr.data.degradations", src / "data" / "degradations.py")
        _load("basicsr.data.transforms", src / "data" / "transforms.py")
        diffjpeg = _load("basicsr.utils.diffjpeg", src / "utils" / "diffjpeg.py")
        process = _load("basicsr.utils.img_process_util", src / "utils" / "img_process_util.py")
        _package("basicsr.utils", DiffJPEG=diffjpeg.DiffJPEG, USMSharp=process.USMSharp)
        sys.modules["basicsr.utils.diffjpeg"] = diffjpeg
        sys.modules["basicsr.utils.img_process_util"] = process
        _package("basicsr.utils.registry", MODEL_REGISTRY=_Registry())
        _package("basicsr.models.srgan_model", SRGANModel=type("SRGANModel", (), {}))
        model = _load("upstream_realesrgan_model", realesrgan / "realesrgan" / "models" / "realesrgan_model.py")
    finally:
        for n in names:
            sys.modules.pop(n, None)
        sys.modules.update(saved)
    loaded = types.SimpleNamespace(degradations=degradations, diffjpeg=diffjpeg, process=process, model=model)
    _LOADED[key] = loaded
    return loaded


@pytest.fixture
def up(upstream):
    return load_upstream(upstream("BasicSR"), upstream("Real-ESRGAN"))


def image(seed: int, h: int = 64, w: int = 80) -> torch.Tensor:
    """A (1, 3, h, w) float32 test image in [0, 1]: smooth gradients, hard edges and texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([xx, yy, 0.5 + 0.5 * np.sin(7 * xx + 3 * yy)], axis=-1)
    base[h // 4: h // 2, w // 3: 2 * w // 3] = rng.random(3)  # a flat box with hard edges
    base[::7] = 1 - base[::7]  # stripes (high frequencies)
    img = np.clip(base + 0.05 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)
    return torch.from_numpy(img).permute(2, 0, 1).unsqueeze(0).contiguous()


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a.detach().double() - b.detach().double()).abs().max())


class _Draws:
    """``torch.randn`` / ``torch.poisson`` stand-ins that hand BasicSR our draws.

    ``script`` lists, in call order, ``"ours"`` (the call whose result is used: take it
    from the image's noise stream with our helper) or ``"unused"`` (BasicSR's extra
    colour draw for gray noise, multiplied by 0: any values).
    """

    def __init__(self, script: list[tuple[str, np.random.Generator]]):
        self.script = list(script)
        self.spare = np.random.default_rng(12345)

    def _next(self) -> np.random.Generator:
        assert self.script, "BasicSR drew more noise than the plan has"
        kind, rng = self.script.pop(0)
        return rng if kind == "ours" else self.spare

    def randn(self, *size, dtype=None, device=None):
        shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else size
        *lead, h, w = shape
        channels = int(np.prod(lead)) if lead else 1
        return torch_ops.normal_field(self._next(), channels, h, w).reshape(shape)

    def poisson(self, rate):
        return torch_ops.poisson_counts(self._next(), rate)


# ----------------------------------------------------------------------------- per operation

KERNELS = {
    "iso7": kernels.gaussian_kernel(7, 1.2, 1.2),
    "aniso21": kernels.gaussian_kernel(21, 3.0, 0.6, 0.7),
    "generalized13": kernels.generalized_gaussian_kernel(13, 1.5, 0.8, -1.0, 0.5),
    "plateau15": kernels.plateau_kernel(15, 1.2, 2.5, 2.0, 1.5),
    "sinc9": kernels.sinc_kernel(9, math.pi / 3),
}


@pytest.mark.parametrize("name", list(KERNELS))
def test_blur_matches_filter2d(up, name):
    """Our blur is BasicSR's filter2D (reflect pad, one kernel for all channels), padded
    to 21 as Real-ESRGAN's data set pads it, and unpadded."""
    img = image(1)
    k = KERNELS[name]
    for kernel in (torch_ops.kernel_tensor(k), torch_backend._kernel(k)):
        ours = torch_ops.blur(img, kernel)
        theirs = up.process.filter2D(img, kernel)
        assert max_diff(ours, theirs) <= TOL


def test_usm_sharpen_matches_usmsharp(up):
    """Radius 51 (sigma 8), weight 0.5, threshold 10, as USMSharp's defaults."""
    img = image(2, 96, 96)
    with torch.no_grad():
        theirs = up.process.USMSharp()(img)
    assert max_diff(torch_ops.usm_sharpen(img), theirs) <= TOL


@pytest.mark.parametrize("quality,size", [
    (30.0, (64, 80)), (41.37, (37, 53)), (49.99, (16, 16)), (50.0, (37, 53)), (63.2, (9, 30)),
    (88.8, (64, 80)), (95.0, (37, 53)),
])
def test_jpeg_matches_diffjpeg(up, quality, size):
    """DiffJPEG(differentiable=False) at a float32 quality (a batch tensor, as feed_data
    passes it), below and from 50 (the two quality formulas), on sizes that need the
    16-px zero padding and on one that does not."""
    img = image(int(quality * 100) + size[0], *size)
    with torch.no_grad():
        theirs = up.diffjpeg.DiffJPEG(differentiable=False)(img, quality=torch.tensor([quality]))
    q32 = float(torch.tensor(quality, dtype=torch.float32))
    assert max_diff(torch_jpeg.jpeg(img, q32), theirs) <= TOL


@pytest.mark.parametrize("gray", [False, True])
def test_gaussian_noise_matches_basicsr(up, gray, monkeypatch):
    """add_gaussian_noise_pt(clip=True, rounds=False) with sigma a float32 batch tensor."""
    img, sigma = image(3), 17.3
    draws = _Draws([("ours", np.random.default_rng(5))] + ([("unused", None)] if gray else []))
    monkeypatch.setattr(torch, "randn", draws.randn)
    theirs = up.degradations.add_gaussian_noise_pt(
        img, sigma=torch.tensor([sigma], dtype=torch.float32), gray_noise=torch.tensor([float(gray)]),
        clip=True, rounds=False)
    monkeypatch.undo()
    ours = torch_ops.add_gaussian_noise(img, sigma, gray, np.random.default_rng(5))
    assert not draws.script
    assert max_diff(ours, theirs) <= TOL


@pytest.mark.parametrize("gray", [False, True])
def test_poisson_noise_matches_basicsr(up, gray, monkeypatch):
    """add_poisson_noise_pt(clip=True, rounds=False): 8-bit levels counted, noise against them."""
    img, scale = image(4), 2.2
    draws = _Draws([("ours", np.random.default_rng(6))] + ([("unused", None)] if gray else []))
    monkeypatch.setattr(torch, "poisson", draws.poisson)
    theirs = up.degradations.add_poisson_noise_pt(
        img, scale=torch.tensor([scale], dtype=torch.float32), gray_noise=torch.tensor([float(gray)]),
        clip=True, rounds=False)
    monkeypatch.undo()
    ours = torch_ops.add_poisson_noise(img, scale, gray, np.random.default_rng(6))
    assert not draws.script
    assert max_diff(ours, theirs) <= TOL


# ----------------------------------------------------------------------------- end to end

def _updown(scale: float) -> str:
    return "up" if scale > 1 else "down" if scale < 1 else "keep"


class _Scripted:
    """``random`` and ``np.random`` for feed_data, answering each call from our plan."""

    def __init__(self, plan: Plan):
        f, s = plan.first, plan.second
        self.choices_script = [_updown(f.resize_scale), _updown(s.resize_scale)]
        self.choice_script = [f.resize_mode, s.resize_mode, plan.final_mode]
        # np.random.uniform calls, in feed_data's order (realesrgan_model.py:87-146)
        self.uniform_script = []
        if _updown(f.resize_scale) != "keep":
            self.uniform_script.append(f.resize_scale)
        self.uniform_script.append(0.0 if f.noise == "gaussian" else 1.0)  # vs gaussian_noise_prob 0.5
        self.uniform_script.append(0.0 if s.kernel is not None else 1.0)  # vs second_blur_prob 0.5
        if _updown(s.resize_scale) != "keep":
            self.uniform_script.append(s.resize_scale)
        self.uniform_script.append(0.0 if s.noise == "gaussian" else 1.0)
        self.uniform_script.append(0.0 if plan.resize_then_jpeg else 1.0)  # vs 0.5
        self.random = types.SimpleNamespace(uniform=self.uniform)

    def choices(self, population, weights):
        return [self.choices_script.pop(0)]

    def choice(self, population):
        return self.choice_script.pop(0)

    def uniform(self, low=0.0, high=1.0):
        return self.uniform_script.pop(0)


def _options(plan: Plan, scale: int, gt_size: int) -> dict:
    """feed_data's options with each random range pinned to the plan's value."""
    f, s = plan.first, plan.second

    def noise(o, suffix):
        point = [o.noise_level, o.noise_level]
        return {f"noise_range{suffix}": point, f"poisson_scale_range{suffix}": point,
                f"gaussian_noise_prob{suffix}": 0.5, f"gray_noise_prob{suffix}": float(o.gray_noise)}

    return {"scale": scale, "gt_size": gt_size, "resize_prob": [1, 1, 1], "resize_prob2": [1, 1, 1],
            "resize_range": [0.15, 1.5], "resize_range2": [0.3, 1.2], "second_blur_prob": 0.5,
            "jpeg_range": [f.jpeg_quality_float] * 2, "jpeg_range2": [s.jpeg_quality_float] * 2,
            **noise(f, ""), **noise(s, "2")}


def run_feed_data(up, hq: np.ndarray, plan: Plan, seed: int, image_id: str, scale: int, usm: bool,
                  monkeypatch) -> tuple[torch.Tensor, torch.Tensor, list]:
    """Real-ESRGAN's feed_data on ``hq`` with our plan: (LQ before rounding, LQ, steps)."""
    mod = up.model
    steps = []
    real_filter2d, real_interpolate = up.process.filter2D, torch.nn.functional.interpolate
    jpeger = up.diffjpeg.DiffJPEG(differentiable=False)

    def record(name, fn):
        def wrapped(*args, **kwargs):
            out = fn(*args, **kwargs)
            steps.append((name, out))
            return out
        return wrapped

    scripted = _Scripted(plan)
    monkeypatch.setattr(mod, "random", scripted)
    monkeypatch.setattr(mod, "np", types.SimpleNamespace(random=scripted.random))
    monkeypatch.setattr(mod, "filter2D", record("filter", real_filter2d))
    monkeypatch.setattr(mod, "F", types.SimpleNamespace(interpolate=record("resize", real_interpolate)))
    monkeypatch.setattr(mod, "random_add_gaussian_noise_pt", record("noise", mod.random_add_gaussian_noise_pt))
    monkeypatch.setattr(mod, "random_add_poisson_noise_pt", record("noise", mod.random_add_poisson_noise_pt))
    monkeypatch.setattr(mod, "paired_random_crop", lambda gts, lq, size, s: (gts, lq))
    streams = split_streams(image_rng(seed, image_id))
    randn, poisson = [], []
    for order, rng in ((plan.first, streams["noise1"]), (plan.second, streams["noise2"])):
        calls = [("ours", rng)] + ([("unused", None)] if order.gray_noise else [])
        (randn if order.noise == "gaussian" else poisson).extend(calls)
    randn_draws, poisson_draws = _Draws(randn), _Draws(poisson)
    monkeypatch.setattr(torch, "randn", randn_draws.randn)
    monkeypatch.setattr(torch, "poisson", poisson_draws.poisson)

    model = mod.RealESRGANModel.__new__(mod.RealESRGANModel)
    model.is_train, model.device = True, torch.device("cpu")
    model.opt = _options(plan, scale, hq.shape[0])
    model.jpeger = record("jpeg", jpeger)
    model.usm_sharpener = up.process.USMSharp() if usm else (lambda x: x)
    model._dequeue_and_enqueue = lambda: None
    pulse = torch.zeros(21, 21)
    pulse[10, 10] = 1
    model.feed_data({
        "gt": torch_ops.to_tensor(hq),
        "kernel1": torch_backend._kernel(plan.first.kernel),
        "kernel2": torch_backend._kernel(plan.second.kernel) if plan.second.kernel is not None else pulse[None],
        "sinc_kernel": torch_backend._kernel(plan.final_sinc) if plan.final_sinc is not None else pulse[None],
    })
    monkeypatch.undo()
    assert not (scripted.uniform_script or scripted.choice_script or scripted.choices_script)
    assert not (randn_draws.script or poisson_draws.script)
    if usm:
        steps.insert(0, ("usm", model.usm_sharpener(torch_ops.to_tensor(hq))))
    pre_round = next(out for name, out in reversed(steps) if name in ("filter", "jpeg"))
    return pre_round, model.lq, steps


def _step_names(steps: list, plan: Plan) -> list[tuple[str, torch.Tensor]]:
    """Upstream steps named as ours: filters by position, the pulse filter dropped."""
    named, filters, resizes, noises, jpegs = [], 0, 0, 0, 0
    for kind, out in steps:
        if kind == "filter":
            filters += 1
            if filters == 1:
                name = "blur1"
            elif filters == 2 and resizes == 1:
                name = "blur2"
            else:
                name = "sinc"
                if plan.final_sinc is None:
                    assert torch.equal(out, named[-1][1]), "the pulse filter must leave the image unchanged"
                    continue
        elif kind == "resize":
            resizes += 1
            name = f"resize{resizes}"
        elif kind == "noise":
            noises += 1
            name = f"noise{noises}"
        elif kind == "jpeg":
            jpegs += 1
            name = f"jpeg{jpegs}"
        else:
            name = kind
        named.append((name, out))
    return named


def hq_scene(seed: int, size: int = 128) -> np.ndarray:
    """An (size, size, 3) uint8 test image (the per-operation test image, 8-bit)."""
    return torch_ops.quantize(image(seed, size, size))


#: every branch of feed_data the end-to-end test must take at least once
BRANCHES = frozenset(
    {f"{o}_{n}_{g}" for o in ("first", "second") for n in ("gaussian", "poisson") for g in ("gray", "color")}
    | {f"{o}_{t}" for o in ("first", "second") for t in ("up", "down", "keep")}
    | {f"mode{i}_{m}" for i in (1, 2, 3) for m in ("area", "bilinear", "bicubic")}
    | {"no_blur2", "blur2", "no_sinc", "sinc", "resize_then_jpeg", "jpeg_then_resize",
       "sinc_blur1", "mixed_blur1"})
COVER_SEED = 3


def _branches(d: dict) -> set[str]:
    """The branches one drawn plan (``Plan.describe()``) takes."""
    f, s = d["first"], d["second"]
    return {
        f"first_{f['noise']}_{'gray' if f['gray_noise'] else 'color'}",
        f"second_{s['noise']}_{'gray' if s['gray_noise'] else 'color'}",
        f"first_{_updown(f['resize_scale'])}", f"second_{_updown(s['resize_scale'])}",
        f"mode1_{f['resize_mode']}", f"mode2_{s['resize_mode']}", f"mode3_{d['final_mode']}",
        "no_blur2" if s["blur"] is None else "blur2",
        "no_sinc" if d["final_sinc"] is None else "sinc",
        "resize_then_jpeg" if d["resize_then_jpeg"] else "jpeg_then_resize",
        "sinc_blur1" if f["blur"]["type"] == "sinc" else "mixed_blur1",
    }


@functools.lru_cache(maxsize=None)
def cover(preset: str = "realesrgan", seed: int = COVER_SEED, limit: int = 1000) -> dict[str, str]:
    """Branch -> the first image id ``img0, img1, ...`` whose plan takes it, searched (not
    hand-picked) until every branch of :data:`BRANCHES` has one."""
    found: dict[str, str] = {}
    for i in range(limit):
        image_id = f"img{i}"
        d = draw_plan(get_preset(preset), split_streams(image_rng(seed, image_id))).describe()
        for branch in _branches(d) - set(found):
            found[branch] = image_id
        if BRANCHES <= set(found):
            break
    return found


def test_branch_search_covers_every_branch():
    """The image ids of the end-to-end test take every branch at least once."""
    assert BRANCHES <= set(cover()), sorted(BRANCHES - set(cover()))


@pytest.mark.parametrize("image_id", sorted(set(cover().values())))
def test_end_to_end_matches_feed_data(up, image_id, monkeypatch):
    """feed_data and our backend on the same 128x128 image, plan and draws: every step
    and the LQ before rounding within 1e-5, and the rounded LQ identical."""
    seed, scale = COVER_SEED, 4
    hq = hq_scene(sum(map(ord, image_id)))
    streams = split_streams(image_rng(seed, image_id))
    plan = draw_plan(get_preset("realesrgan"), streams)
    ours_steps = []
    ours = torch_backend.degrade_tensor(hq, plan, streams, scale, trace=lambda n, x: ours_steps.append((n, x)))
    pre_round, lq, steps = run_feed_data(up, hq, plan, seed, image_id, scale, False, monkeypatch)
    theirs_steps = _step_names(steps, plan)
    assert [n for n, _ in ours_steps] == [n for n, _ in theirs_steps]
    for (name, a), (_, b) in zip(ours_steps, theirs_steps):
        assert max_diff(a, b) <= TOL, name
    assert max_diff(ours, pre_round) <= TOL
    ours_lq = degrade_image(hq, "realesrgan", seed, image_id, scale, backend="torch")
    theirs_lq = (lq[0].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
    assert np.array_equal(ours_lq, theirs_lq)


def test_end_to_end_with_usm_sharpening(up, monkeypatch):
    """usm_sharpen=True: feed_data's USMSharp of the HQ image first (realesrgan_model.py:73, 83)."""
    seed, scale, image_id = COVER_SEED, 4, cover()["sinc"]
    hq = hq_scene(11)
    streams = split_streams(image_rng(seed, image_id))
    plan = draw_plan(get_preset("level2"), streams)
    ours = torch_backend.degrade_tensor(hq, plan, streams, scale, usm_sharpen=True)
    pre_round, _, _ = run_feed_data(up, hq, plan, seed, image_id, scale, True, monkeypatch)
    assert max_diff(ours, pre_round) <= TOL
    plain = torch_backend.degrade_tensor(hq, plan, split_streams(image_rng(seed, image_id)), scale)
    assert max_diff(ours, plain) > 1e-3  # sharpening changed the result
