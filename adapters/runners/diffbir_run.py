"""Run DiffBIR's own inference loop once over a folder, with one prompt per image.

Why not ``inference.py`` itself: its ``--pos_prompt`` is one string per process
(upstream/DiffBIR/inference.py:172-180), so per-image prompts need one process (and
one load of every model) per distinct prompt; and it seeds once per process
(inference.py:293), so an image's noise depends on which images ran before it.

What this runner does instead, with cwd = the DiffBIR checkout and DiffBIR's
environment:

* builds the arguments with ``inference.py``'s own parser (``parse_args``, every
  default as the script has it) and its own ``check_device``;
* constructs the official loop class once (``BSRInferenceLoop`` for ``--task sr``,
  inference.py:296-302): one load of the cleaner, the ControlLDM, the diffusion
  schedule and the captioner (diffbir/inference/loop.py:32-43) for the whole folder;
* gives each image its harness prompt in the captioner's place: ``run()`` joins the
  caption and ``--pos_prompt`` (loop.py:166-169), exactly as it does with a
  LLaVA caption;
* seeds as the script does: ``set_seed(--seed)`` *before* the loop is built
  (inference.py:293, then :302). Building draws random numbers (the networks'
  initialisation, loop.py:36-43), so the first image samples from the generators as
  they stand after the build, not as ``set_seed`` left them; for v2.1 that includes
  the sampler's noise seed, drawn from the CPU generator on every device
  (diffbir/sampler/k_diffusion.py:77). The runner captures every generator state
  ``set_seed`` touches (python ``random``, numpy, torch CPU, torch CUDA on all
  devices, torch MPS, each where present) right after the build and restores it before
  each image (wrapping the loop's own ``load_lq``, loop.py:135-149), so each image's
  output is the one ``inference.py`` gives when that image is alone in ``--input``;
* runs the loop's own ``run()`` and ``save()``: ``OUT/<stem>.png`` and
  ``OUT/prompt.csv`` (loop.py:212-235).

Only ``--task sr``, ``--version v2``/``v2.1``, ``--captioner none`` and
``--n_samples 1`` are accepted (what the harness drives).

No CUDA: ``VRAMPeakMonitor`` (diffbir/utils/common.py:261-280), entered around every
model load and sampling step, calls ``torch.cuda.synchronize()`` unconditionally
(common.py:271), which raises on a machine without CUDA even with ``--device cpu``.
Where ``torch.cuda.is_available()`` is False the runner makes that monitor a no-op
(it only measures and, with ``TRACE_VRAM``, prints memory; outputs are unaffected).

Usage: ``python diffbir_run.py --prompts PROMPTS.json <inference.py arguments>``
with PROMPTS.json ``{"<stem>": "prompt" or null}``. Imports nothing of the harness.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: what the harness drives; anything else is refused with this message
ACCEPTED = {"task": ("sr",), "version": ("v2", "v2.1"), "captioner": ("none",), "n_samples": (1,)}


class HarnessPrompts:
    """Stands where DiffBIR's captioner stands (``captioner(lq) -> str``, loop.py:166):
    returns the harness prompt of the image the loop is on (``loop_ctx["file_stem"]``,
    set by ``load_lq``, loop.py:148)."""

    def __init__(self, prompts: dict[str, Any], loop_ctx: dict[str, Any]):
        self.prompts, self.loop_ctx = prompts, loop_ctx

    def __call__(self, image: Any) -> str:
        stem = self.loop_ctx["file_stem"]
        if stem not in self.prompts:
            raise SystemExit(f"diffbir_run: image '{stem}' has no entry in the prompts file")
        return self.prompts[stem] or ""


def rng_states() -> dict[str, Any]:
    """Every random generator state ``set_seed`` seeds on the devices inference.py accepts
    (cpu, cuda, mps; inference.py:279-281): python ``random``, numpy's global generator,
    torch's CPU generator and, where present, every CUDA device's and the MPS one."""
    import random

    import numpy as np
    import torch

    states: dict[str, Any] = {"random": random.getstate(), "numpy": np.random.get_state(),
                              "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    if torch.backends.mps.is_available():
        states["mps"] = torch.mps.get_rng_state()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Put back the generator states :func:`rng_states` captured."""
    import random

    import numpy as np
    import torch

    random.setstate(states["random"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states:
        torch.cuda.set_rng_state_all(states["cuda"])
    if "mps" in states:
        torch.mps.set_rng_state(states["mps"])


def reseeded(load_lq: Callable[[], Iterator[Any]], reseed: Callable[[], None]) -> Callable[[], Iterator[Any]]:
    """Wrap the loop's own ``load_lq`` generator so ``reseed`` runs right before each
    image is handed to ``run()`` (before the captioner and the sampler)."""

    def load() -> Iterator[Any]:
        for lq in load_lq():
            reseed()
            yield lq

    return load


def official_args(official: Any, argv: list[str]) -> argparse.Namespace:
    """``inference.parse_args()`` (it reads ``sys.argv``) on ``argv``."""
    saved = sys.argv
    sys.argv = ["inference.py", *argv]
    try:
        return official.parse_args()
    finally:
        sys.argv = saved


def refuse_unsupported(args: argparse.Namespace) -> None:
    for name, allowed in ACCEPTED.items():
        if getattr(args, name) not in allowed:
            raise SystemExit(f"diffbir_run: --{name} {getattr(args, name)!r} is not supported here "
                             f"(accepted: {', '.join(map(str, allowed))})")


def skip_cuda_sync_without_cuda() -> bool:
    """Make ``VRAMPeakMonitor`` a no-op where torch has no CUDA (see module docstring).
    Returns whether it did."""
    import torch

    if torch.cuda.is_available():
        return False
    from diffbir.utils import common

    common.VRAMPeakMonitor.__enter__ = lambda self: self
    common.VRAMPeakMonitor.__exit__ = lambda self, *exc: False
    return True


def build_loop(official: Any, args: argparse.Namespace, prompts: dict[str, Any]) -> Any:
    """The official ``BSRInferenceLoop`` (models loaded once), seeded and built in the
    script's order (inference.py:293, 302), fed harness prompts, and started on every
    image from the generator states the script's first image starts from."""
    official.set_seed(args.seed)
    loop = official.BSRInferenceLoop(args)  # draws random numbers (loop.py:36-43)
    first_image = rng_states()
    loop.captioner = HarnessPrompts(prompts, loop.loop_ctx)
    loop.load_lq = reseeded(loop.load_lq, lambda: restore_rng_states(first_image))
    return loop


def main(argv: list[str] | None = None) -> None:
    own = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n")[0])
    own.add_argument("--prompts", required=True, help="JSON file {image stem: prompt or null}")
    ns, rest = own.parse_known_args(argv)
    sys.path.insert(0, os.getcwd())
    import inference as official  # DiffBIR's inference.py, cwd = the checkout

    args = official_args(official, rest)
    refuse_unsupported(args)
    prompts = json.loads(Path(ns.prompts).read_text(encoding="utf-8"))
    args.device = official.check_device(args.device)
    patched = skip_cuda_sync_without_cuda()
    print("diffbir_run: " + json.dumps({
        "version": args.version, "sampler": args.sampler, "steps": args.steps, "cfg_scale": args.cfg_scale,
        "seed": args.seed, "rng_per_image": "inference.py's after set_seed and the loop build",
        "device": args.device, "precision": args.precision, "images": len(prompts),
        "vram_monitor_disabled": patched}), flush=True)
    build_loop(official, args, prompts).run()
    print("done!")


if __name__ == "__main__":
    main()
