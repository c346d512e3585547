"""TeReDiff's driver against the real TAIR code (upstream/TAIR at the pinned commit).

What is real here: ``val.py``, ``initialize.py`` and the sampler read with ``ast``; the
YAML loaded with OmegaConf as val.py loads it; and, for the behaviour tests, the real
``SpacedSampler.val_sample`` loop (terediff/sampler/{sampler,spaced_sampler}.py), the
real ``Diffusion`` schedule and the real ``decode`` of the spotted text, imported from
the snapshot. Only the networks are stand-ins (the ControlLDM, SwinIR and TESTR
modules): tiny callables with the real call shapes that record what they are given.

One test per finding of the review (issue 12), named after it:
the checkpoint reaches ``exp_args.resume_ckpt_dir``; the global RNG is seeded per
image; ``fixed`` overrides the per-step prompt; ``self`` is val.py's loop.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tair_bench_adapters.runners import terediff_run as runner
from tair_bench_adapters.terediff import PROMPT_STYLES, TeReDiff
from tests.conformance.realcode import call_name, calls, find_def, signature

pytest.importorskip("omegaconf", reason="omegaconf (dev extra) loads the TAIR YAML as val.py does")
torch = pytest.importorskip("torch")
from omegaconf import OmegaConf  # noqa: E402

RUNNER_FILE = Path(runner.__file__)


# -- helpers over the real source ---------------------------------------------------------
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _call(path: Path, name: str, qualname: str | None = None) -> ast.Call:
    found = [c for c in calls(path, qualname) if call_name(c).split(".")[-1] == name]
    assert found, f"{path}: no call of {name}"
    return found[0]


def _keywords(call: ast.Call) -> set[str]:
    return {k.arg for k in call.keywords}


def _config_key(expr: ast.AST, assigned: dict[str, ast.AST]) -> str:
    """``cfg.train.sd_path`` -> ``train.sd_path``; ``cfg.exp_args['x']`` -> ``exp_args.x``;
    ``args.config_testr`` -> ``--config_testr``; names and f-strings are followed."""
    if isinstance(expr, ast.Name) and expr.id in assigned:
        return _config_key(assigned[expr.id], assigned)
    if isinstance(expr, ast.JoinedStr) and len(expr.values) == 1:
        return _config_key(expr.values[0].value, assigned)
    parts, node = [], expr
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
        else:
            parts.append(node.slice.value)  # type: ignore[attr-defined]
        node = node.value
    root = node.id if isinstance(node, ast.Name) else "?"
    key = ".".join(reversed(parts))
    return f"--{key}" if root == "args" else key


def _load_model_opens(tair: Path) -> set[str]:
    """The config keys of every file ``initialize.load_model`` opens (torch.load, merge_from_file)."""
    fn = find_def(tair / "initialize.py", "load_model")
    assigned = {n.targets[0].id: n.value for n in ast.walk(fn)
                if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}
    opened = [c.args[0] for c in ast.walk(fn) if isinstance(c, ast.Call)
              and call_name(c) in ("torch.load", "config_testr.merge_from_file")]
    return {_config_key(a, assigned) for a in opened}


def _argv(adapter: TeReDiff, work: Path) -> list[str]:
    values = {**adapter.placeholders(work), "prompt": ""}
    return [part.format(**values) for part in adapter.command]


# -- the real sampler loop, with stand-in networks ------------------------------------------
def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def real_sampler(upstream, monkeypatch):
    """``terediff.sampler.spaced_sampler`` and ``terediff.model.gaussian_diffusion`` from the
    snapshot; only ``terediff.model.cldm`` (the networks) is a stub module."""
    tair = upstream("TAIR")
    saved = {k: v for k, v in sys.modules.items() if k == "terediff" or k.startswith("terediff.")}
    for name, folder in [("terediff", "terediff"), ("terediff.sampler", "terediff/sampler"),
                         ("terediff.model", "terediff/model"), ("terediff.dataset", "terediff/dataset")]:
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(tair / folder)]
        monkeypatch.setitem(sys.modules, name, pkg)
    cldm_stub = types.ModuleType("terediff.model.cldm")
    cldm_stub.ControlLDM = object  # the network class; only used in annotations by the sampler
    monkeypatch.setitem(sys.modules, "terediff.model.cldm", cldm_stub)
    gd = _load("terediff.model.gaussian_diffusion", tair / "terediff/model/gaussian_diffusion.py")
    _load("terediff.dataset.diffjpeg", tair / "terediff/dataset/diffjpeg.py")
    _load("terediff.dataset.utils", tair / "terediff/dataset/utils.py")
    _load("terediff.sampler.sampler", tair / "terediff/sampler/sampler.py")
    spaced = _load("terediff.sampler.spaced_sampler", tair / "terediff/sampler/spaced_sampler.py")
    yield types.SimpleNamespace(spaced=spaced, gd=gd, tair=tair)
    for k in [k for k in sys.modules if k == "terediff" or k.startswith("terediff.")]:
        del sys.modules[k]
    sys.modules.update(saved)


class _Clip:
    """Stand-in text encoder: one distinct constant tensor per prompt text, and a log."""

    def __init__(self):
        self.ids: dict[str, int] = {}

    def encode(self, text):
        text = text[0] if isinstance(text, list) else text
        n = self.ids.setdefault(text, len(self.ids) + 1)
        return torch.full((1, 2), float(n))

    def text_of(self, c_txt) -> str:
        n = int(c_txt.flatten()[0].item())
        return next(t for t, i in self.ids.items() if i == n)


class _CLDM:
    """Stand-in ControlLDM: ``prepare_condition``/``clip``/``vae_decode`` with the real names,
    and a forward that returns ``(output, features)`` as p_sample unpacks it
    (spaced_sampler.py:178). It records the text condition of every step."""

    def __init__(self):
        self.clip, self.seen = _Clip(), []

    def prepare_condition(self, cond_img, txt):
        return dict(c_txt=self.clip.encode(txt), c_img=cond_img.mean())

    def __call__(self, x, t, cond):
        self.seen.append(self.clip.text_of(cond[runner.TEXT_KEY]))
        return 0.5 * x + 0.01 * cond[runner.TEXT_KEY].mean() + cond["c_img"], ["unet features"]

    def vae_decode(self, z):
        return z[:, :3]


class _Spotted:
    def __init__(self, words):
        rec = [[runner_ord(ch) for ch in w] + [96] * (25 - len(w)) for w in words]
        self.polygons = [torch.zeros(32) for _ in words]
        self.recs = rec


def runner_ord(ch: str) -> int:
    return ord(ch) - 32  # CTLABELS is printable ASCII from ' ' (terediff/dataset/utils.py:18)


class _TESTR:
    """Stand-in TESTR head: the call val_sample makes (spaced_sampler.py:296) -> one word."""

    test_score_threshold = None

    def __call__(self, extracted_feats, targets, mode):
        return None, [_Spotted(["AB"])]


@pytest.fixture
def accelerate_stub(monkeypatch):
    """``accelerate.utils.set_seed`` as a recorder that seeds the global torch RNG (what the
    real one does for torch); the real keyword usage is checked against val.py by ast."""
    log = []

    def set_seed(seed, device_specific=False):
        log.append((seed, device_specific))
        torch.manual_seed(seed)

    acc, utils = types.ModuleType("accelerate"), types.ModuleType("accelerate.utils")
    utils.set_seed, acc.utils = set_seed, utils
    monkeypatch.setitem(sys.modules, "accelerate", acc)
    monkeypatch.setitem(sys.modules, "accelerate.utils", utils)
    return log


def _run(real_sampler, tair, monkeypatch, images, *, mode="self", style="CAPTION", prompt="HELLO", seed=25,
         checkpoint="/ckpt/terediff_stage3.pt"):
    """Restore ``images`` (1x3x64x64 tensors) one after the other with the runner's
    ``restore_image``, through the real val_sample; returns outputs and the CLDM stand-in."""
    monkeypatch.chdir(tair)
    args = runner.build_parser().parse_args(["--checkpoint", checkpoint, "--steps", "4", "--seed", str(seed),
                                             "--prompt_mode", mode, "--prompt_style", style, "--device", "cpu"])
    cfg = runner.effective_config(args)
    params = OmegaConf.to_container(cfg.model.diffusion.params)
    diffusion = real_sampler.gd.Diffusion(**params)
    sampler = real_sampler.spaced.SpacedSampler(diffusion.betas, diffusion.parameterization, rescale_cfg=False)
    cldm = _CLDM()
    models = {"cldm": cldm, "swinir": lambda lq: lq, "testr": _TESTR()}
    outs = [runner.restore_image(im, prompt, models=models, sampler=sampler, cfg=cfg, args=args,
                                 generator=torch.Generator("cpu"))[0] for im in images]
    return outs, cldm


def _images(n: int):
    g = torch.Generator().manual_seed(7)
    return [torch.rand((1, 3, 64, 64), generator=g) for _ in range(n)]


# -- finding 1: the checkpoint ----------------------------------------------------------------
def test_terediff_checkpoint_reaches_resume_ckpt_dir(upstream, tmp_path, monkeypatch):
    """The adapter's command, parsed by the runner's parser and applied to the real YAML,
    sets ``exp_args.resume_ckpt_dir`` -- the key whose file initialize.load_model opens
    (initialize.py:155-157) -- to the checkpoint preflight checks, not the placeholder."""
    tair = upstream("TAIR")
    ckpt = tmp_path / "my_stage3.pt"
    adapter = TeReDiff(repo=str(tair), checkpoint=str(ckpt), device="cuda")
    args = runner.build_parser().parse_args(_argv(adapter, tmp_path)[2:])
    monkeypatch.chdir(tair)
    released = OmegaConf.load(args.config)
    cfg = runner.effective_config(args)
    assert runner.PLACEHOLDER_MARK in released.exp_args.resume_ckpt_dir  # the finding: yaml:119 is a placeholder
    assert cfg.exp_args.resume_ckpt_dir == str(ckpt.resolve())
    assert runner.CHECKPOINT_KEY in _load_model_opens(tair)
    checked = {Path(p) for p, _ in adapter.required_files()}
    assert Path(cfg.exp_args.resume_ckpt_dir) in checked
    missing = "\n".join(adapter.preflight())
    assert str(ckpt.resolve()) in missing and "'checkpoint'" in missing


def test_terediff_refuses_the_placeholder_checkpoint(upstream, monkeypatch):
    """Given the YAML's placeholder as checkpoint, the runner stops before loading anything."""
    tair = upstream("TAIR")
    monkeypatch.chdir(tair)
    placeholder = OmegaConf.load("configs/val/val_terediff.yaml").exp_args.resume_ckpt_dir
    args = runner.build_parser().parse_args(["--checkpoint", placeholder])
    with pytest.raises(runner.RunnerError, match="placeholder"):
        runner.effective_config(args)


def test_terediff_overrides_only_keys_of_the_real_yaml(upstream, tmp_path, monkeypatch):
    """The runner changes exactly two keys, both present in configs/val/val_terediff.yaml."""
    tair = upstream("TAIR")
    monkeypatch.chdir(tair)
    args = runner.build_parser().parse_args(["--checkpoint", str(tmp_path / "c.pt"), "--prompt_style", "TAG"])
    before = OmegaConf.to_container(OmegaConf.load(args.config))
    after = OmegaConf.to_container(runner.effective_config(args))

    def flat(d, prefix=""):
        return {k2: v2 for k, v in d.items()
                for k2, v2 in (flat(v, f"{prefix}{k}.").items() if isinstance(v, dict) else [(f"{prefix}{k}", v)])}

    b, a = flat(before), flat(after)
    assert set(a) == set(b)  # nothing added: every key set exists in the real YAML
    assert {k for k in a if a[k] != b[k]} == {runner.CHECKPOINT_KEY, runner.STYLE_KEY}


def test_terediff_preflight_files_are_the_files_the_real_code_opens(upstream, tmp_path):
    """Preflight checks exactly what the code opens: the YAML (val.py:33), every file
    initialize.load_model opens (torch.load / merge_from_file, read from its ast), the
    _BASE_ chain merge_from_file pulls in, the CLIP BPE file the tokenizer opens on import
    and initialize.py itself."""
    tair = upstream("TAIR")
    ckpt = tmp_path / "stage3.pt"
    adapter = TeReDiff(repo=str(tair), checkpoint=str(ckpt))
    opens = _load_model_opens(tair)
    assert opens == set(runner.OPENED_KEYS) | {"--config_testr"}
    cfg = OmegaConf.load(tair / "configs/val/val_terediff.yaml")
    expected = {tair / str(OmegaConf.select(cfg, k)) for k in runner.OPENED_KEYS
                if k != runner.CHECKPOINT_KEY and OmegaConf.select(cfg, k)}
    expected |= {ckpt.resolve(), tair / "initialize.py", tair / "configs/val/val_terediff.yaml"}
    testr_cfg = tair / "testr/configs/TESTR/TESTR_R_50_Polygon.yaml"
    while True:  # the real _BASE_ chain, read from the real files
        expected.add(testr_cfg)
        base = OmegaConf.load(testr_cfg).get("_BASE_")
        if not base:
            break
        testr_cfg = testr_cfg.parent / base
    bpe = find_def(tair / "terediff/model/open_clip/tokenizer.py", "default_bpe")
    (name,) = [n.value for n in ast.walk(bpe) if isinstance(n, ast.Constant) and str(n.value).endswith(".gz")]
    expected.add(tair / "terediff/model/open_clip" / name)
    assert {Path(p).resolve() for p, _ in adapter.required_files()} == {p.resolve() for p in expected}
    assert {k for k in runner.OPENED_KEYS if OmegaConf.select(cfg, k)} <= set(adapter.opened_files())


def test_terediff_runner_uses_what_load_model_reads(upstream):
    """load_model reads ``accelerator.is_main_process`` and ``args.config_testr`` only; the
    runner's stand-in accelerator and parser provide both; load_model fills the model keys
    the runner uses; the TESTR module has the threshold attribute val.py sets."""
    tair = upstream("TAIR")
    fn = find_def(tair / "initialize.py", "load_model")
    used = {(n.value.id, n.attr) for n in ast.walk(fn) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    assert {a for name, a in used if name == "accelerator"} == {"is_main_process"}
    assert runner._Accelerator.is_main_process is True
    dests = {a.dest for a in runner.build_parser()._actions}
    assert {a for name, a in used if name == "args"} <= dests
    keys = {n.slice.value for n in ast.walk(fn) if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name)
            and n.value.id == "loaded_models" and isinstance(n.slice, ast.Constant)}
    assert keys == {"cldm", "swinir", "testr"}
    assert list(signature(tair / "initialize.py", "load_model").parameters) == ["accelerator", "device", "args", "cfg"]
    init = find_def(tair / "testr/adet/modeling/transformer_detector.py", "TransformerDetector.__init__")
    assert any(isinstance(n, ast.Attribute) and n.attr == "test_score_threshold" for n in ast.walk(init))


def test_terediff_runner_calls_match_real_signatures(upstream):
    """Every keyword the runner passes exists in the real function, and val_sample gets
    exactly val.py's keywords (val.py:137-151)."""
    tair = upstream("TAIR")
    val_sample = signature(tair / "terediff/sampler/spaced_sampler.py", "SpacedSampler.val_sample")
    ours = _call(RUNNER_FILE, "val_sample", "restore_image")
    theirs = _call(tair / "val.py", "val_sample", "main")
    assert _keywords(ours) == _keywords(theirs)
    assert _keywords(ours) <= set(val_sample.parameters)
    init = signature(tair / "terediff/sampler/spaced_sampler.py", "SpacedSampler.__init__")
    assert _keywords(_call(RUNNER_FILE, "SpacedSampler", "load_models")) <= set(init.parameters)
    prep = signature(tair / "terediff/model/cldm.py", "ControlLDM.prepare_condition")
    assert list(prep.parameters)[1:3] == ["cond_img", "txt"]
    assert "z" in signature(tair / "terediff/model/cldm.py", "ControlLDM.vae_decode").parameters
    find_def(tair / "terediff/utils/common.py", "instantiate_from_config")
    assert runner.INITIAL_PROMPT == ast.literal_eval(
        [n.value for n in ast.walk(find_def(tair / "val.py", "main")) if isinstance(n, ast.Assign)
         and isinstance(n.targets[0], ast.Name) and n.targets[0].id == "val_prompt"][0])[0]
    thresholds = [n.value.value for n in ast.walk(find_def(tair / "val.py", "main")) if isinstance(n, ast.Assign)
                  and isinstance(n.targets[0], ast.Attribute) and n.targets[0].attr == "test_score_threshold"]
    assert thresholds == [runner.VAL_SCORE_THRESHOLD] == [TeReDiff().score_threshold]


def test_terediff_output_name_is_the_one_val_py_writes(upstream):
    """val.py saves ``restored_{gt_id}.png`` (val.py:180); the runner writes and the adapter
    reads that name."""
    tair = upstream("TAIR")
    names = []
    for node in ast.walk(find_def(tair / "val.py", "main")):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
                           for v in node.values)
            if text.endswith(".png") and "restored_" in text:
                names.append(text.rsplit("/", 1)[-1].replace("{gt_id}", "{id}"))
    assert names == [runner.OUTPUT_PATTERN] == [TeReDiff.default_output_pattern]


# -- finding 2: reproducibility ---------------------------------------------------------------
def test_terediff_seeds_global_rng_per_image(real_sampler, accelerate_stub, monkeypatch):
    """Through the real val_sample (whose per-step noise is torch.randn_like on the global
    RNG, spaced_sampler.py:186): an image restored after another gives the same output as
    restored alone, because val.py's two seeding calls run before every image. Seeding once
    per process, as val.py does, makes it depend on its neighbour (the finding)."""
    tair = real_sampler.tair
    a, b = _images(2)
    (b_alone,), _ = _run(real_sampler, tair, monkeypatch, [b])
    (_, b_after_a), _ = _run(real_sampler, tair, monkeypatch, [a, b])
    assert torch.isfinite(b_alone).all() and torch.equal(b_alone, b_after_a)
    assert accelerate_stub[-1] == (25, False)

    first = []
    real_seed = runner.seed_everything
    monkeypatch.setattr(runner, "seed_everything", lambda s, g: first or (first.append(1), real_seed(s, g)))
    (_, b_seeded_once), _ = _run(real_sampler, tair, monkeypatch, [a, b])
    assert not torch.equal(b_alone, b_seeded_once)


def test_terediff_seeding_calls_are_val_py_s(upstream):
    """The runner calls the function val.py imports for seeding, with val.py's keywords, and
    seeds the x_T generator too (val.py:17, :30, :89); the default seed is val.py's."""
    tair = upstream("TAIR")
    val = tair / "val.py"
    assert "set_seed" in {a.name for n in ast.walk(_tree(val)) if isinstance(n, ast.ImportFrom)
                          and n.module == "accelerate.utils" for a in n.names}
    seed_call = _call(val, "set_seed", "main")
    seed_ours = _call(RUNNER_FILE, "set_seed", "seed_everything")
    assert _keywords(seed_ours) == _keywords(seed_call)
    assert [k.value.value for k in seed_call.keywords] == [k.value.value for k in seed_ours.keywords]
    assert seed_call.args[0].value == runner.VAL_SEED == TeReDiff.default_seed
    assert _call(val, "manual_seed", "main").args[0].value == runner.VAL_SEED
    assert "manual_seed" in {call_name(c).split(".")[-1] for c in calls(RUNNER_FILE, "seed_everything")}
    assert "seed_everything" in {call_name(c) for c in calls(RUNNER_FILE, "restore_image")}


def test_terediff_output_settings_enter_config_and_cache_key():
    """Steps, seed, cfg, prompt mode and style, checkpoint and the pinned commit are in
    config() (the cache key and results.json)."""
    base = TeReDiff(repo="r").config()
    for change in ({"seed": 1}, {"steps": 20}, {"prompt_mode": "fixed"}, {"prompt_style": "TAG"},
                   {"checkpoint": "other.pt"}, {"score_threshold": 0.4}):
        assert TeReDiff(repo="r", **change).config() != base, change
    assert base["prompt_mode"] == "self" and base["seed"] == 25 and base["tested_commit"]
    with pytest.raises(Exception, match="uncond=None"):
        TeReDiff(repo="r", cfg=7.5)


def test_terediff_cfg_has_no_effect_without_uncond(upstream):
    """Why cfg != 1 is refused: val.py passes uncond=None (val.py:143) and apply_model then
    runs the conditional branch only (spaced_sampler.py:158)."""
    tair = upstream("TAIR")
    theirs = _call(tair / "val.py", "val_sample", "main")
    assert [k.value.value for k in theirs.keywords if k.arg == "uncond"] == [None]
    apply = find_def(tair / "terediff/sampler/spaced_sampler.py", "SpacedSampler.apply_model")
    test = next(n for n in apply.body if isinstance(n, ast.If)).test
    assert "uncond is None" in ast.unparse(test)


# -- finding 3: prompts -------------------------------------------------------------------------
def test_terediff_fixed_mode_overrides_per_step_prompt(real_sampler, accelerate_stub, monkeypatch):
    """In ``fixed`` mode the harness prompt conditions every step of the real val_sample;
    in ``self`` mode only the first, as val.py runs it."""
    tair = real_sampler.tair
    (img,) = _images(1)
    _, cldm = _run(real_sampler, tair, monkeypatch, [img], mode="fixed", prompt="HELLO")
    assert cldm.seen == ["HELLO"] * 4
    _, cldm = _run(real_sampler, tair, monkeypatch, [img], mode="self", prompt="HELLO")
    assert cldm.seen[0] == runner.INITIAL_PROMPT and "HELLO" not in cldm.seen


def test_terediff_fixed_mode_intercepts_the_one_prompt_write(upstream):
    """val_sample replaces the text condition in one place only: an item assignment of
    ``cond['c_txt']`` (spaced_sampler.py:317), never rebinding ``cond`` or calling a dict
    method on it; ``c_txt`` is the key prepare_condition returns (cldm.py:150-151). So
    FixedPrompt's ``__setitem__`` is the complete override."""
    tair = upstream("TAIR")
    fn = find_def(tair / "terediff/sampler/spaced_sampler.py", "SpacedSampler.val_sample")
    writes = [t for n in ast.walk(fn) if isinstance(n, ast.Assign) for t in n.targets
              if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "cond"]
    assert [t.slice.value for t in writes] == [runner.TEXT_KEY]
    rebinds = [t for n in ast.walk(fn) if isinstance(n, (ast.Assign, ast.AugAssign)) for t in
               (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name) and t.id == "cond"]
    methods = [c for c in ast.walk(fn) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
               and isinstance(c.func.value, ast.Name) and c.func.value.id == "cond"]
    assert rebinds == [] and methods == []
    prep = find_def(tair / "terediff/model/cldm.py", "ControlLDM.prepare_condition")
    ret = next(n for n in ast.walk(prep) if isinstance(n, ast.Return)).value
    assert runner.TEXT_KEY in {k.arg for k in ret.keywords}
    cond = runner.FixedPrompt({runner.TEXT_KEY: "kept", "c_img": 1})
    cond[runner.TEXT_KEY], cond["c_img"] = "replaced", 2
    assert cond == {runner.TEXT_KEY: "kept", "c_img": 2}


def test_terediff_self_mode_is_val_py_loop(real_sampler, accelerate_stub, monkeypatch):
    """``self``: the first step sees val.py's empty prompt, later steps the prompt TeReDiff
    builds from its own spotted word in the chosen style (real decode, real formatting)."""
    tair = real_sampler.tair
    (img,) = _images(1)
    _, cap = _run(real_sampler, tair, monkeypatch, [img], mode="self", style="CAPTION")
    _, tag = _run(real_sampler, tair, monkeypatch, [img], mode="self", style="TAG")
    assert cap.seen[0] == tag.seen[0] == ""
    assert tag.seen[1:] == ['"AB"'] * 3
    assert all('"AB"' in s and s != '"AB"' for s in cap.seen[1:])


def test_terediff_prompt_styles_are_the_sampler_s(upstream):
    """The styles offered are the ones val_sample formats (spaced_sampler.py:313-316), the
    YAML's default is the adapter's."""
    tair = upstream("TAIR")
    fn = find_def(tair / "terediff/sampler/spaced_sampler.py", "SpacedSampler.val_sample")
    styles = {n.comparators[0].value for n in ast.walk(fn) if isinstance(n, ast.Compare)
              and "prompt_style" in ast.unparse(n.left)}
    assert styles == set(runner.PROMPT_STYLES) == set(PROMPT_STYLES)
    assert OmegaConf.load(tair / "configs/val/val_terediff.yaml").exp_args.prompt_style == TeReDiff().prompt_style


def test_terediff_self_mode_takes_no_harness_prompt():
    """The harness prompt reaches TeReDiff only in ``fixed`` mode (accepts_prompt), and the
    results say which mode ran, ``fixed`` labelled as the ablation."""
    assert TeReDiff(repo="r").accepts_prompt is False
    fixed = TeReDiff(repo="r", prompt_mode="fixed")
    assert fixed.accepts_prompt is True and "ABLATION" in fixed.config()["prompt_mode_note"]
    with pytest.raises(Exception, match="prompt_mode"):
        TeReDiff(repo="r", prompt_mode="caption")


# -- dry run ------------------------------------------------------------------------------------
def test_terediff_dry_run_prints_effective_config_without_torch(upstream, tmp_path):
    """``--dry-run`` against the real YAML prints checkpoint, seed, prompt mode/style and
    steps, and never imports torch (run with torch made unimportable)."""
    tair = upstream("TAIR")
    ckpt = tmp_path / "stage3.pt"
    ckpt.write_bytes(b"stand-in")
    adapter = TeReDiff(repo=str(tair), checkpoint=str(ckpt), seed=3, steps=20, prompt_mode="fixed",
                       prompt_style="TAG")
    cmd = adapter.dry_run_command()
    blocked = ["-c", "import runpy, sys; sys.modules['torch'] = None; sys.argv = sys.argv[1:]; "
                     "runpy.run_path(sys.argv[0], run_name='__main__')"]
    proc = subprocess.run([cmd[0], *blocked, *cmd[1:]], cwd=tair, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["checkpoint"] == out["overrides"][runner.CHECKPOINT_KEY] == str(ckpt.resolve())
    assert (out["seed"], out["steps"], out["prompt_mode"], out["prompt_style"]) == (3, 20, "fixed", "TAG")
    assert out["files_opened"][runner.CHECKPOINT_KEY]["exists"] is True
    assert adapter.dry_run() == out


def test_terediff_self_mode_refuses_a_suite_prompt(upstream, tmp_path, tiny_set, blob_spotter):
    """A suite giving TeReDiff a prompt in ``self`` mode is told the prompt would never reach
    it (the finding: ``prompt: {source: spotted}`` had almost no effect); in ``fixed`` it is used."""
    from bench.pipeline.preflight import check_restorer, spotter_factory
    from bench.suite import load_suite
    from tests.conftest import write_suite

    tair = upstream("TAIR")
    for mode, told in (("self", True), ("fixed", False)):
        line = f"  - {{name: tere, adapter: terediff, args: {{repo: {tair}, prompt_mode: {mode}}}, prompt: oracle}}"
        suite = load_suite(write_suite(tmp_path, tiny_set, restorers=line, name=f"{mode}.yaml"))
        index = [r.name for r in suite.restorers].index("tere")
        _, _, found = check_restorer(suite, index, "cuda", spotter_factory(suite, "cuda"))
        assert any("takes no prompt" in f and "restorers[2].prompt" in f for f in found) is told, found


def test_terediff_is_gpu_only(upstream):
    """TESTR's MSDeformAttn is the compiled op (testr/adet/layers/ms_deform_attn.py imports
    ``_C`` and calls ``_C.ms_deform_attn_forward``; its CPU branch raises, ms_deform_attn.h:38
    in the full checkout), so preflight names it on a CPU device and not on CUDA."""
    tair = upstream("TAIR")
    src = (tair / "testr/adet/layers/ms_deform_attn.py").read_text()
    assert "from testr.adet import _C" in src and "_C.ms_deform_attn_forward(" in src
    note = [p for p in TeReDiff(repo=str(tair), device="cpu").preflight() if p.startswith("TeReDiff: device ")]
    assert len(note) == 1 and "ms_deform_attn.h:38" in note[0] and "--device cuda" in note[0]
    assert not [p for p in TeReDiff(repo=str(tair), device="cuda").preflight() if p.startswith("TeReDiff: device ")]
