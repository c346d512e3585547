"""Stand-in end to end: our DiffBIR adapter runs the *real* DiffBIR inference loop on a CPU.

A stand-in, not a quality check: every network is the real class built from a tiny
variant of the real ``configs/inference/*.yaml`` (same targets, only size keys
smaller) with random weights saved in the real checkpoint formats under the names
``load_model_from_url`` keeps (``standin_weights.py``). What it proves is the loop:
the adapter's command runs :mod:`tair_bench_adapters.runners.diffbir_run`, which builds the
official ``BSRInferenceLoop`` once for the batch, the real cleaner -> ControlLDM ->
sampler -> VAE pipeline runs on two LQ images of different sizes with one prompt
each, the outputs come back under the names the adapter reads at ``4 x`` the input
size, and the prompt the real loop used for each image (its own ``prompt.csv``,
loop.py:224-235) is the harness prompt joined as ``run()`` joins a caption.

And the seeding: each output is bit for bit the official ``inference.py``'s for that
image **alone** (same checkout, weights, arguments, and that prompt as ``--pos_prompt``).
Alone, because that is what the runner reproduces: the script seeds once, then builds
the loop (inference.py:293, 302), whose networks draw from torch's CPU generator as
they initialise (diffbir/inference/loop.py:36-43), then samples the images of
``--input`` in turn from wherever the generators stand, so in a folder of several its
output for an image depends on the images sorted before it. The runner restores the
post-build generator states before each image; seeding after the build instead (as it
once did) fails here for both versions: v2 draws its sampling noise from the CPU
generator, v2.1 also its Brownian-tree seed (diffbir/sampler/k_diffusion.py:77).

Runs with the network blocked in the subprocess (``standin_site/sitecustomize.py``);
no CUDA redirect is needed for DiffBIR: the one CUDA-only call (``VRAMPeakMonitor``,
diffbir/utils/common.py:271) is handled by the runner itself. One shim, documented
there: ``torch.Tuple`` (diffbir/sampler/edm_sampler.py:145) for the harness's torch.
The CLIP BPE vocabulary, which the snapshot trims as a data file, comes from the
open_clip_torch wheel: byte for byte the file of the pinned commit (sha256 checked).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.io.images import read_image, write_png
from tair_bench_adapters.diffbir import BPE_VOCAB, RECIPES, RUNNER, DiffBIR
from tair_bench_adapters.subprocess_driver import OFFLINE_ENV

from . import standin

pytestmark = pytest.mark.slow

U, C = "params.unet_cfg.", "params.controlnet_cfg."
#: size keys of the real configs/inference/cldm.yaml and their stand-in values. UNet and
#: ControlNet shrink alike (the control features must line up); context_dim follows the
#: CLIP text width. Attention stays at latent strides 4 and 2 (stride 1 at a 64x64 latent
#: is most of the CPU time).
CLDM = {
    **{pre + k: v for pre in (U, C) for k, v in {
        "model_channels": 32, "num_res_blocks": 1, "num_head_channels": 16,
        "attention_resolutions": [4, 2], "context_dim": 32}.items()},
    "params.vae_cfg.ddconfig.ch": 32,
    "params.vae_cfg.ddconfig.num_res_blocks": 1,
    "params.clip_cfg.embed_dim": 32,
    "params.clip_cfg.vision_cfg.layers": 1,
    "params.clip_cfg.vision_cfg.width": 32,
    "params.clip_cfg.vision_cfg.head_width": 16,
    "params.clip_cfg.text_cfg.width": 32,
    "params.clip_cfg.text_cfg.heads": 2,
    "params.clip_cfg.text_cfg.layers": 2,
}
#: the stage-1 cleaner of each --version (diffbir/inference/bsr_loop.py:20-29)
CLEANER = {
    "v2": ("configs/inference/bsrnet.yaml", {"params.nf": 8, "params.nb": 1, "params.gc": 8}),
    "v2.1": ("configs/inference/swinir.yaml", {"params.embed_dim": 16, "params.depths": [1],
                                               "params.num_heads": [1]}),
}
#: sampling steps for the stand-in (each version's own sampler, CFG and prompts stay the
#: recipe's; only the step count is cut: random weights gain nothing from 50 steps)
STEPS = 3
#: precision on the CPU: v2.1's fp16 (inference.py:283) casts the ControlLDM to half
#: (loop.py:83-88), and half-precision convolutions on a CPU are two orders of magnitude
#: slower than fp32 (a 3x3 conv: ~3 s against ~0.03 s here), so the stand-in runs fp32,
#: the adapter's ``precision`` setting, as the README advises for CPUs
CPU_PRECISION = {"fp16": "fp32"}
#: sha256 of diffbir/model/open_clip/bpe_simple_vocab_16e6.txt.gz at the pinned DiffBIR commit
#: (git blob 7b5088a5, 1356917 bytes); the snapshot trims it as a data file
BPE_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
PROMPTS = {"sign_a": "a shop sign reading OPEN", "sign_b": "a street sign reading EXIT 12"}
#: ``python -c`` body: the checkout's inference.py run as ``__main__``, unchanged but for
#: ``torch.cuda.synchronize`` made a no-op where there is no CUDA (the VRAM monitor calls it
#: unconditionally, diffbir/utils/common.py:271; our runner no-ops that monitor). Neither
#: touches a random generator.
OFFICIAL = """
import runpy, sys, torch
if not torch.cuda.is_available():
    torch.cuda.synchronize = lambda device=None: None
sys.argv = ['inference.py', *sys.argv[1:]]
runpy.run_path('inference.py', run_name='__main__')
"""


def _bpe_vocab() -> Path:
    spec = importlib.util.find_spec("open_clip")
    assert spec is not None and spec.origin, ("open_clip_torch is not installed: pip install -e '.[standin]' "
                                              "(it ships the CLIP BPE vocabulary DiffBIR's tokenizer opens)")
    path = Path(spec.origin).parent / "bpe_simple_vocab_16e6.txt.gz"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == BPE_SHA256, f"{path} is not DiffBIR's vocabulary file"
    return path


def _checkout(upstream, tmp_path: Path, version: str) -> tuple[Path, dict]:
    repo = standin.copy_snapshot(upstream("DiffBIR"), tmp_path / "DiffBIR")
    shutil.copyfile(_bpe_vocab(), repo / BPE_VOCAB)
    changed = {}
    for rel, sizes in (("configs/inference/cldm.yaml", CLDM), CLEANER[version]):
        path = repo / rel
        real_targets = standin.targets(yaml.safe_load(path.read_text()))
        changed.update({f"{rel}:{k}": v for k, v in standin.shrink_yaml(path, sizes).items()})
        assert standin.targets(yaml.safe_load(path.read_text())) == real_targets
    return repo, changed


@pytest.mark.parametrize("version", sorted(RECIPES))
def test_standin_diffbir_real_loop_restores_two_images(upstream, tmp_path, monkeypatch, no_network, version):
    """Stand-in weights, real code: two LQ images with their own prompts, one process,
    outputs at 4x under the adapter's names, each image sampled with its own prompt, and
    each output equal to the official inference.py's for that image alone."""
    repo, changed = _checkout(upstream, tmp_path, version)
    written = standin.write_weights(repo, f"diffbir-{version}")

    restorer = DiffBIR(version=version, repo=str(repo), env=standin.subprocess_env(), device="cpu", steps=STEPS,
                       precision=CPU_PRECISION.get(RECIPES[version].precision))
    assert restorer.preflight() == []  # every file the loop opens is there, nothing else is asked for

    rng = np.random.default_rng(7)
    images = [rng.integers(0, 256, (24, 40, 3), dtype=np.uint8), rng.integers(0, 256, (32, 28, 3), dtype=np.uint8)]
    ids = list(PROMPTS)
    start = time.perf_counter()
    with standin.record_commands(monkeypatch) as commands, standin.read_back_spy(restorer) as reads:
        outs = restorer.restore_batch(images, [PROMPTS[i] for i in ids], ids=ids)
    seconds = time.perf_counter() - start

    # one process (one load of every model) for the batch, our runner in the copied checkout
    assert [c["argv"][1] for c in commands] == [str(RUNNER)]
    assert commands[0]["returncode"] == 0
    assert len(reads) == 1 and {f"{i}.png" for i in ids} <= set(reads[0]["files"])
    for img, out in zip(images, outs):
        assert out.shape == (img.shape[0] * 4, img.shape[1] * 4, 3) and out.dtype == np.uint8

    # the prompt the real loop sampled each image with: run() joins caption and --pos_prompt
    # (loop.py:166-169); the harness prompt stands in the caption's place
    pos = RECIPES[version].pos_prompt
    if pos is None:  # not passed: inference.py's own DEFAULT_POS_PROMPT applies
        pos = _default_pos_prompt(repo)
    used = {row["file_name"]: row["pos_prompt"] for row in reads[0]["prompt_csv"]}
    assert used == {i: ", ".join(t for t in (PROMPTS[i], pos) if t) for i in ids}

    # the seeding: each output is the official script's for that image alone (module docstring)
    for image_id, img, out in zip(ids, images, outs):
        official = _official_alone(restorer, tmp_path / f"official_{image_id}", image_id, img, used[image_id])
        _assert_same_pixels(official, out, f"{version} {image_id}: our runner against inference.py alone")

    standin.log_run(f"test_standin_diffbir[{version}]", commands, [i.shape for i in images],
                    [o.shape for o in outs], seconds, weights=written.split("\n")[:-1],
                    config_changes={k: list(v) for k, v in changed.items()})


def _inference_args(restorer: DiffBIR, work: Path) -> list[str]:
    """The ``inference.py`` arguments of the adapter's own command (``--prompts`` dropped)."""
    values = {**restorer.placeholders(work), "prompt": ""}
    argv = [part.format(**values) for part in restorer.command][2:]
    at = argv.index("--prompts")
    return argv[:at] + argv[at + 2:]


def _official_alone(restorer: DiffBIR, work: Path, image_id: str, image: np.ndarray, pos_prompt: str) -> np.ndarray:
    """The official script on a folder holding only ``image`` (the adapter's arguments, the
    adapter's environment), sampled with ``pos_prompt``; its output image."""
    write_png(work / "inputs" / f"{image_id}.png", image)
    (work / "outputs").mkdir(parents=True)
    argv = [sys.executable, "-c", OFFICIAL, *_inference_args(restorer, work), "--pos_prompt", pos_prompt]
    proc = subprocess.run(argv, cwd=restorer.repo, capture_output=True, text=True, check=False,
                          env={**os.environ, **OFFLINE_ENV, **restorer.env})
    assert proc.returncode == 0, f"inference.py failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return read_image(work / "outputs" / f"{image_id}.png")


def _assert_same_pixels(expected: np.ndarray, got: np.ndarray, what: str) -> None:
    assert expected.shape == got.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    diff = np.abs(expected.astype(np.int16) - got.astype(np.int16))
    assert diff.max() == 0, f"{what}: max pixel difference {diff.max()}, {np.count_nonzero(diff)} of {diff.size} values"


def _default_pos_prompt(repo: Path) -> str:
    """``DEFAULT_POS_PROMPT`` of the checkout's inference.py, read with ``ast`` (not imported)."""
    import ast

    for node in ast.parse((repo / "inference.py").read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DEFAULT_POS_PROMPT":
            return ast.literal_eval(node.value)
    raise AssertionError("inference.py has no DEFAULT_POS_PROMPT")
