"""Conformance: the DiffBIR driver against the real code at the pinned commit (upstream/DiffBIR).

The real ``inference.py`` parser parses the exact arguments the driver builds; the
real ``BSRInferenceLoop`` runs through :mod:`tair_bench_adapters.runners.diffbir_run` in this
process with only the networks and sampling pipelines stubbed
(:mod:`tests.conformance.diffbir_stubs`), so the tests see what the real loop loads,
opens, seeds, prompts and writes. Findings of issue 12 each have their test:
``test_diffbir_single_model_load``, ``test_diffbir_seed_reset_per_image`` (and
``test_diffbir_official_script_output_depends_on_neighbours``, which shows why),
``test_diffbir_v21_uses_repo_v21_defaults``.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import shlex
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from tair_bench_adapters.diffbir import BPE_VOCAB, RECIPES, DiffBIR
from tair_bench_adapters.runners import diffbir_run

from .diffbir_stubs import make_checkout, real_diffbir
from .realcode import find_def, imported_names

VERSIONS = sorted(RECIPES)
IGNORED_IN_RECIPE = {"input", "output", "device", "seed"}  # the harness's per run


def _adapter(checkout: Path, version: str, **kw) -> DiffBIR:
    return DiffBIR(repo=str(checkout), version=version, **kw)


def _weights(version: str) -> list[str]:
    return [p for p, _ in RECIPES[version].weights]


def _filled(adapter: DiffBIR, work: Path, prompt: str = "") -> list[str]:
    values = {**adapter.placeholders(work), "prompt": prompt}
    argv = [part.format(**values) for part in adapter.command]
    assert argv[:2] == [adapter.python, str(Path(diffbir_run.__file__))]
    return argv[2:]


def _official_args(argv: list[str]) -> argparse.Namespace:
    """The real ``inference.parse_args()`` on ``argv`` (inside :func:`real_diffbir`)."""
    import inference

    return diffbir_run.official_args(inference, argv)


def _split_runner_argv(argv: list[str]) -> tuple[str, list[str]]:
    own = argparse.ArgumentParser(allow_abbrev=False)
    own.add_argument("--prompts", required=True)
    ns, rest = own.parse_known_args(argv)
    return ns.prompts, rest


def _readme_commands(root: Path) -> dict[str, list[str]]:
    """The README's ``inference.py --task sr`` commands, per ``--version``."""
    text = (root / "README.md").read_text(encoding="utf-8")
    out = {}
    for block in re.findall(r"python -u inference\.py \\\n(.*?)(?:\n\n|\n```)", text, flags=re.DOTALL):
        argv = shlex.split(block.replace("\\\n", " "))
        flags = dict(zip(argv[::2], argv[1::2]))
        if flags.get("--task") == "sr" and "--version" in flags:
            out.setdefault(flags["--version"], argv)
    return out


def _run_adapter(adapter: DiffBIR, images, prompts, ids, capsys=None):
    """``adapter.restore_batch`` with its command run in this process (the runner's
    ``main`` on the exact argv, cwd = the checkout) instead of a subprocess."""
    import os

    def call(values):
        argv = [part.format(**values) for part in adapter.command]
        old = os.getcwd()
        os.chdir(adapter.repo)
        try:
            with redirect_stdout(io.StringIO()):
                diffbir_run.main(argv[2:])
        finally:
            os.chdir(old)

    adapter._call_command = call
    return adapter.restore_batch(images, prompts, ids=ids)


def _images(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (6 + i, 8, 3), dtype=np.uint8) for i in range(n)]


# -- argv against the real parser ------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_diffbir_argv_parses_with_real_parser(upstream, tmp_path, monkeypatch, version):
    """The exact argv (placeholders filled) splits into the runner's ``--prompts`` and
    arguments the real ``inference.parse_args`` accepts, with the adapter's values."""
    root = upstream("DiffBIR")
    checkout = make_checkout(root, tmp_path / "repo", _weights(version))
    adapter = _adapter(checkout, version, steps=7, seed=5, cfg=3.5)
    with real_diffbir(root, checkout, monkeypatch):
        prompts, rest = _split_runner_argv(_filled(adapter, tmp_path / "work"))
        args = _official_args(rest)
    assert prompts == str(tmp_path / "work" / "prompts.json")
    assert (args.task, args.version, args.sampler, args.steps, args.cfg_scale, args.seed) == (
        "sr", version, adapter.sampler, 7, 3.5, 5)
    assert (args.input, args.output, args.device, args.precision, args.upscale) == (
        str(tmp_path / "work" / "inputs"), str(tmp_path / "work" / "outputs"), "cpu", adapter.precision, 4.0)
    assert (args.captioner, args.n_samples) == ("none", 1)


@pytest.mark.parametrize("version", VERSIONS)
def test_diffbir_recipe_is_the_readme_command(upstream, tmp_path, monkeypatch, version):
    """Parsed by the real parser, the adapter's default arguments equal the README's
    command for that version (README.md:150-173) in every setting but the per-run
    ones (input, output, device, seed) and the captioner: the README's v2.1 command
    captions with LLaVA, the harness passes its prompt in the caption's place."""
    root = upstream("DiffBIR")
    checkout = make_checkout(root, tmp_path / "repo", _weights(version))
    with real_diffbir(root, checkout, monkeypatch):
        _, rest = _split_runner_argv(_filled(_adapter(checkout, version), tmp_path / "work"))
        ours = vars(_official_args(rest))
        readme = vars(_official_args(_readme_commands(root)[version]))
    differ = {k for k in ours if ours[k] != readme[k]} - IGNORED_IN_RECIPE
    expected = {"captioner"} if readme["captioner"] != "none" else set()
    assert differ == expected, {k: (ours[k], readme[k]) for k in differ}
    if expected:
        assert (readme["captioner"], ours["captioner"]) == ("llava", "none")


def test_diffbir_v21_uses_repo_v21_defaults(upstream, tmp_path, monkeypatch):
    """v2.1 samples with the repo's v2.1 settings, not the v2 recipe: the parser's
    defaults (sampler, steps, prompts, precision: inference.py:91, 113, 175, 184, 283)
    and the README v2.1 command's cfg 8 / noise_aug 0 (README.md:170-171)."""
    root = upstream("DiffBIR")
    checkout = make_checkout(root, tmp_path / "repo", _weights("v2.1"))
    with real_diffbir(root, checkout, monkeypatch):
        import inference

        _, rest = _split_runner_argv(_filled(_adapter(checkout, "v2.1"), tmp_path / "work"))
        ours = _official_args(rest)
        defaults = _official_args(["--input", "i", "--output", "o"])
        readme = _official_args(_readme_commands(root)["v2.1"])
        for name in ("sampler", "steps", "pos_prompt", "neg_prompt", "precision", "start_point_type",
                     "strength", "rescale_cfg", "s_churn", "s_noise", "eta", "order"):
            assert getattr(ours, name) == getattr(defaults, name), name
        assert (ours.pos_prompt, ours.neg_prompt) == (inference.DEFAULT_POS_PROMPT, inference.DEFAULT_NEG_PROMPT)
        assert defaults.version == "v2.1"  # the parser's defaults are the v2.1 defaults (inference.py:71)
    assert (ours.cfg_scale, ours.noise_aug) == (readme.cfg_scale, readme.noise_aug) == (8.0, 0)
    v2 = RECIPES["v2"]
    assert (ours.sampler, ours.steps, ours.precision) != (v2.sampler, v2.steps, v2.precision)


def test_diffbir_device_is_one_the_script_accepts(upstream):
    """``--device`` choices come from the real parser (inference.py:279-281); others are refused early."""
    from bench.errors import AdapterError
    from tair_bench_adapters.diffbir import DEVICES

    src = (upstream("DiffBIR") / "inference.py").read_text(encoding="utf-8")
    call = next(n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call)
                and any(isinstance(a, ast.Constant) and a.value == "--device" for a in n.args))
    choices = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "choices"))
    assert tuple(choices) == DEVICES
    with pytest.raises(AdapterError, match="cuda:0"):
        DiffBIR(repo="r", device="cuda:0")


# -- the real loop ----------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_diffbir_preflight_files_are_the_files_the_loop_opens(upstream, tmp_path, monkeypatch, version):
    """Every file the runner and the real ``BSRInferenceLoop`` open (YAML configs,
    checkpoints, the script, the CLIP BPE vocabulary) is exactly what preflight checks."""
    root = upstream("DiffBIR")
    checkout = make_checkout(root, tmp_path / "repo", _weights(version))
    adapter = _adapter(checkout, version)
    with real_diffbir(root, checkout, monkeypatch) as rec:
        _run_adapter(adapter, _images(1), ["a sign"], ["x"])
    # the BPE file the tokenizer opens at import (diffbir/model/open_clip/tokenizer.py:21-22)
    tok = ast.parse((root / "diffbir/model/open_clip/tokenizer.py").read_text(encoding="utf-8"))
    bpe = next(n.value for n in ast.walk(find_def(root / "diffbir/model/open_clip/tokenizer.py", "default_bpe"))
               if isinstance(n, ast.Constant) and isinstance(n.value, str))
    assert tok is not None and BPE_VOCAB == f"diffbir/model/open_clip/{bpe}"
    opened = {"inference.py", BPE_VOCAB, *rec.yaml, *rec.checkpoints}
    assert {p for p, _ in adapter.required_files()} == opened
    assert len(rec.checkpoints) == 3 and all(p.startswith("weights/") for p in rec.checkpoints)


def test_diffbir_single_model_load(upstream, tmp_path, monkeypatch):
    """Three images with three different prompts: one construction of every model and one
    read of every checkpoint for the whole batch, then three samples."""
    root = upstream("DiffBIR")
    checkout = make_checkout(root, tmp_path / "repo", _weights("v2"))
    with real_diffbir(root, checkout, monkeypatch) as rec:
        outs = _run_adapter(_adapter(checkout, "v2"), _images(3), ["red", "green", None], ["a", "b", "c"])
    assert len(outs) == 3
    assert sorted(rec.built) == ["ControlLDM", "Diffusion", "RRDBNet"]
    assert len(rec.checkpoints) == len(set(rec.checkpoints)) == 3
    assert len(rec.runs) == 3


@pytest.mark.parametrize("version", VERSIONS)
def test_diffbir_harness_prompt_takes_the_captions_place(upstream, tmp_path, monkeypatch, version):
    """Each image gets its own prompt, joined with ``--pos_prompt`` as the loop joins a
    caption (loop.py:166-169): v2 the prompt alone, v2.1 ``prompt, DEFAULT_POS_PROMPT``;
    an image without a prompt gets ``--pos_prompt`` alone."""
    root = upstream("DiffBIR")
    checkout = make_checkout(root, tmp_path / "repo", _weights(version))
    with real_diffbir(root, checkout, monkeypatch) as rec:
        import inference

        _run_adapter(_adapter(checkout, version), _images(3), ["red", "green", None], ["a", "b", "c"])
        pos = RECIPES[version].pos_prompt
        suffix = inference.DEFAULT_POS_PROMPT if pos is None else pos
        neg = inference.DEFAULT_NEG_PROMPT if RECIPES[version].neg_prompt is None else RECIPES[version].neg_prompt
    expected = [", ".join(t for t in (p, suffix) if t) for p in ("red", "green", "")]
    assert [r["pos_prompt"] for r in rec.runs] == expected
    assert {r["neg_prompt"] for r in rec.runs} == {neg}
    assert {(r["cfg_scale"], r["steps"], r["sampler_type"]) for r in rec.runs} == {
        (RECIPES[version].cfg, RECIPES[version].steps, RECIPES[version].sampler)}


def test_diffbir_seed_reset_per_image(upstream, tmp_path, monkeypatch):
    """An image's output does not depend on the images before it in the batch: 'b' after
    'a' equals 'b' alone (the stub sampler draws from the global torch RNG)."""
    root = upstream("DiffBIR")
    checkout = make_checkout(root, tmp_path / "repo", _weights("v2"))
    a, b = _images(2)
    with real_diffbir(root, checkout, monkeypatch):
        both = _run_adapter(_adapter(checkout, "v2"), [a, b], ["p", "q"], ["a", "b"])
        alone = _run_adapter(_adapter(checkout, "v2"), [b], ["q"], ["b"])
        other_seed = _run_adapter(_adapter(checkout, "v2", seed=1), [b], ["q"], ["b"])
    assert np.array_equal(both[1], alone[0])
    assert not np.array_equal(alone[0], other_seed[0])  # the seed does reach the sampler


def test_diffbir_official_script_output_depends_on_neighbours(upstream, tmp_path, monkeypatch):
    """Why the runner restores the generators per image: the official ``inference.py``
    seeds once per process, before building the loop (inference.py:293, 302), so its 'b'
    differs with and without 'a' before it. The runner's 'a' and 'b' each equal the
    official script's run on that image alone ('a' sorts first: the pair run's 'a' is
    'a' alone). The stub networks draw random numbers when built, as real ones do, so
    re-seeding after the build (instead of before it) fails here."""
    from PIL import Image

    root = upstream("DiffBIR")
    checkout = make_checkout(root, tmp_path / "repo", _weights("v2"))
    a, b = _images(2)

    def official(folder: Path, images: dict) -> dict:
        (folder / "in").mkdir(parents=True)
        for name, img in images.items():
            Image.fromarray(img).save(folder / "in" / f"{name}.png")
        adapter = _adapter(checkout, "v2")
        _, rest = _split_runner_argv(_filled(adapter, folder))
        rest[rest.index("--input") + 1], rest[rest.index("--output") + 1] = str(folder / "in"), str(folder / "out")
        rest += ["--pos_prompt", "q"]
        import inference

        monkeypatch.setattr(sys, "argv", ["inference.py", *rest])
        with redirect_stdout(io.StringIO()):
            inference.main()
        return {n: np.asarray(Image.open(folder / "out" / f"{n}.png")) for n in images}

    with real_diffbir(root, checkout, monkeypatch):
        official_both = official(tmp_path / "o1", {"a": a, "b": b})
        official_alone = official(tmp_path / "o2", {"b": b})
        ours = _run_adapter(_adapter(checkout, "v2"), [a, b], ["q", "q"], ["a", "b"])
    assert not np.array_equal(official_both["b"], official_alone["b"])
    assert np.array_equal(ours[0], official_both["a"])
    assert np.array_equal(ours[1], official_alone["b"])


def test_diffbir_output_names_match_real_save(upstream, tmp_path, monkeypatch):
    """The real ``save`` writes ``OUT/<stem>.png`` (and ``prompt.csv``) and the adapter
    reads exactly those files back, ``upscale x`` the input size, for both versions."""
    root = upstream("DiffBIR")
    for version in VERSIONS:
        checkout = make_checkout(root, tmp_path / version, _weights(version))
        imgs = _images(2)
        with real_diffbir(root, checkout, monkeypatch):
            outs = _run_adapter(_adapter(checkout, version, work_dir=str(tmp_path / f"w{version}")),
                                imgs, ["x", "y"], ["id.one", "id_two"])
        assert [o.shape for o in outs] == [(4 * i.shape[0], 4 * i.shape[1], 3) for i in imgs]
    save = find_def(root / "diffbir/inference/loop.py", "InferenceLoop.save")
    names = {n.value for n in ast.walk(save) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert "prompt.csv" in names and DiffBIR.default_output_pattern == "{id}.png"


# -- the runner's use of the real code ------------------------------------------------


def test_diffbir_runner_uses_names_the_real_code_has(upstream):
    """Every name the runner takes from the real code exists with the shape it relies on."""
    root = upstream("DiffBIR")
    inf = root / "inference.py"
    assert [a.arg for a in find_def(inf, "parse_args").args.args] == []
    assert [a.arg for a in find_def(inf, "check_device").args.args] == ["device"]
    assert "set_seed" in imported_names(inf, "accelerate.utils")
    assert "BSRInferenceLoop" in imported_names(inf, "diffbir.inference")
    loop = root / "diffbir/inference/loop.py"
    assert [a.arg for a in find_def(loop, "InferenceLoop.__init__").args.args] == ["self", "args"]
    assert [a.arg for a in find_def(loop, "InferenceLoop.load_lq").args.args] == ["self"]
    run_src = ast.unparse(find_def(loop, "InferenceLoop.run"))
    assert "self.load_lq()" in run_src and "self.captioner(lq)" in run_src
    load_lq = ast.unparse(find_def(loop, "InferenceLoop.load_lq"))
    assert "self.loop_ctx['file_stem'] = stem" in load_lq
    parser_flags = set(re.findall(r'"--(\w+)"', inf.read_text(encoding="utf-8")))
    assert set(diffbir_run.ACCEPTED) <= parser_flags


def test_diffbir_vram_monitor_is_what_needs_cuda(upstream):
    """The runner's only change without CUDA: ``VRAMPeakMonitor.__exit__`` calls
    ``torch.cuda.synchronize()`` unconditionally (diffbir/utils/common.py:271)."""
    exit_src = ast.unparse(find_def(upstream("DiffBIR") / "diffbir/utils/common.py", "VRAMPeakMonitor.__exit__"))
    assert "torch.cuda.synchronize()" in exit_src and "if" not in exit_src.split("torch.cuda.synchronize()")[0]


def test_diffbir_config_and_version_carry_the_settings(tmp_path):
    """Steps, seed, cfg, sampler, version and the upstream commit are in config() (cache key, results.json)."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("0123456789abcdef0123456789abcdef01234567\n")
    cfg = DiffBIR(repo=str(repo), version="v2.1", steps=12, seed=3, cfg=5.0).config()
    assert (cfg["version"], cfg["sampler"], cfg["steps"], cfg["seed"], cfg["cfg"]) == (
        "v2.1", "edm_dpm++_3m_sde", 12, 3, 5.0)
    assert cfg["upstream_commit"] == "0123456789abcdef0123456789abcdef01234567"
    assert cfg["seed_per_image"] is True and cfg["pos_prompt"] == "inference.py default"
    assert "official inference.py run on that image alone with the same seed" in cfg["reproduces"]
    assert DiffBIR(repo=str(repo), version="v2").config() != DiffBIR(repo=str(repo), version="v2.1").config()
