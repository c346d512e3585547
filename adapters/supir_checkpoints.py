"""Every model file SUPIR's code opens, where its path is set, and how to provide it.

SUPIR names its weights in two files of the checkout, and its code reads them from there:

* ``options/SUPIR_v0.yaml`` top-level keys, read by ``create_SUPIR_model``
  (upstream/SUPIR/SUPIR/util.py:38-47): ``SDXL_CKPT``, ``SUPIR_CKPT`` (loaded only when
  not ``~``), and ``SUPIR_CKPT_Q`` or ``SUPIR_CKPT_F`` by the model sign;
* ``CKPT_PTH.py`` constants, imported by the text encoders
  (upstream/SUPIR/sgm/modules/encoders/modules.py:35): ``SDXL_CLIP1_PATH`` (a Hugging Face
  folder, modules.py:462-463) and ``SDXL_CLIP2_CKPT_PTH`` (one open_clip *file*,
  modules.py:530-533; the README's ``SDXL_CLIP2_CACHE_DIR``, README.md:59, is stale); and by
  LLaVA captioning only: ``LLAVA_MODEL_PATH`` (test.py:6, 72) and ``LLAVA_CLIP_PATH``
  (llava/model/multimodal_encoder/clip_encoder.py:5, 23-30).

A ``None`` in CKPT_PTH.py makes SUPIR download that model at run time (README.md:34);
preflight reports it, since a benchmark run should not depend on the network.
The harness can also set any of these paths itself (the adapter's ``paths`` argument),
so the checkout stays unmodified; :mod:`tair_bench_adapters.runners.supir_run` applies them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OPTIONS = "options/SUPIR_v0.yaml"
CKPT_PTH = "CKPT_PTH.py"
ENCODERS = "sgm/modules/encoders/modules.py"
#: how a path given by the harness (not the checkout) is named in messages
PATHS_ARG = "the restorer's paths"


@dataclass(frozen=True)
class Checkpoint:
    """One path the code opens: its upstream name, the file that sets it, what must be
    inside (for a folder: each entry is a set of alternatives), and where to get it."""

    key: str
    defined_in: str
    folder_files: tuple[tuple[str, ...], ...] = ()
    source: str = ""
    opened_at: str = ""

    @property
    def is_folder(self) -> bool:
        return bool(self.folder_files)


_HF_WEIGHTS = ("pytorch_model.bin", "model.safetensors")
CHECKPOINTS: dict[str, Checkpoint] = {c.key: c for c in [
    Checkpoint("SDXL_CKPT", OPTIONS, source="sd_xl_base_1.0_0.9vae.safetensors from "
               "huggingface.co/stabilityai/stable-diffusion-xl-base-1.0", opened_at="SUPIR/util.py:38-39"),
    Checkpoint("SUPIR_CKPT", OPTIONS, source="a SUPIR checkpoint (SUPIR README, 'Models we provided')",
               opened_at="SUPIR/util.py:40-41"),
    Checkpoint("SUPIR_CKPT_Q", OPTIONS, source="SUPIR-v0Q.ckpt (SUPIR README, 'Models we provided')",
               opened_at="SUPIR/util.py:46-47"),
    Checkpoint("SUPIR_CKPT_F", OPTIONS, source="SUPIR-v0F.ckpt (SUPIR README, 'Models we provided')",
               opened_at="SUPIR/util.py:44-45"),
    Checkpoint("SDXL_CLIP1_PATH", CKPT_PTH, (("config.json",), ("vocab.json",), ("merges.txt",), _HF_WEIGHTS),
               source="the folder of huggingface.co/openai/clip-vit-large-patch14",
               opened_at="sgm/modules/encoders/modules.py:462-463"),
    Checkpoint("SDXL_CLIP2_CKPT_PTH", CKPT_PTH, source="open_clip_pytorch_model.bin from "
               "huggingface.co/laion/CLIP-ViT-bigG-14-laion2B-39B-b160k",
               opened_at="sgm/modules/encoders/modules.py:530-533"),
    Checkpoint("LLAVA_MODEL_PATH", CKPT_PTH, (("config.json",), ("tokenizer_config.json",)),
               source="the folder of huggingface.co/liuhaotian/llava-v1.5-13b", opened_at="test.py:72"),
    Checkpoint("LLAVA_CLIP_PATH", CKPT_PTH, (("config.json",), ("preprocessor_config.json",), _HF_WEIGHTS),
               source="the folder of huggingface.co/openai/clip-vit-large-patch14-336",
               opened_at="llava/model/multimodal_encoder/clip_encoder.py:23-30"),
]}
#: the CKPT_PTH names the LLaVA captioner needs on top of SUPIR's own
LLAVA_KEYS = ("LLAVA_MODEL_PATH", "LLAVA_CLIP_PATH")


def read_options(text: str) -> dict[str, str | None]:
    """Top-level ``KEY: value`` scalars of the options YAML (``~``/``null`` -> None).
    A plain reader so preflight needs no YAML library; the keys are single-line scalars."""
    out: dict[str, str | None] = {}
    for m in re.finditer(r"^([A-Za-z_][A-Za-z0-9_]*):[ \t]*(\S.*?)?[ \t]*$", text, re.MULTILINE):
        value = (m.group(2) or "").strip("'\"")
        out[m.group(1)] = None if value in ("", "~", "null", "None") else value
    return out


def read_ckpt_pth(text: str) -> dict[str, Any]:
    """``NAME = 'literal'`` constants of CKPT_PTH.py, read with ast (never imported)."""
    out: dict[str, Any] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def needed_keys(sign: str, options: dict[str, str | None], llava: bool) -> list[str]:
    """The names whose paths this run opens, in the order the code opens them."""
    keys = ["SDXL_CKPT"]
    if options.get("SUPIR_CKPT") is not None:
        keys.append("SUPIR_CKPT")
    keys += [f"SUPIR_CKPT_{sign}", "SDXL_CLIP1_PATH", "SDXL_CLIP2_CKPT_PTH"]
    return keys + (list(LLAVA_KEYS) if llava else [])


def fix_for(key: str, where: str) -> str:
    """How to provide one checkpoint: where to get it and the two ways to point SUPIR at it."""
    c = CHECKPOINTS[key]
    head = f"{key} (opened at upstream/SUPIR/{c.opened_at}): download {c.source} there"
    if where == PATHS_ARG:
        return f"{head}, or point the restorer's paths: {{{key}: ...}} at your copy"
    return f"{head}, or set {key} in {where}, or give the restorer paths: {{{key}: /path/to/it}}"


def setting_problems(key: str, defined: bool, value: Any, resolved: Path | None, where: str) -> list[str]:
    """What is wrong with one checkpoint besides a missing path (which the driver's
    file check reports): the name undefined or None, a folder given for a file (such as
    a cache folder for SDXL_CLIP2_CKPT_PTH), or a folder lacking files."""
    c = CHECKPOINTS[key]
    if not defined:
        return [(f"{where} does not define {key}, which SUPIR's code reads (upstream/SUPIR/{c.opened_at}) -- "
                 f"update the checkout to the pinned commit, or give the restorer paths: {{{key}: /path/to/it}}")]
    if not value or resolved is None:
        return [f"{key} is None in {where}, so SUPIR would download it at run time -- {fix_for(key, where)}"]
    if not c.is_folder:
        if resolved.is_dir():
            return [(f"{key} = {resolved} is a folder, but SUPIR opens it as one file "
                     f"(upstream/SUPIR/{c.opened_at}) -- point it at {c.source.split(' from ')[0]} itself")]
        return []
    out = []
    if resolved.is_dir():
        for alternatives in c.folder_files:
            if not any((resolved / name).is_file() for name in alternatives):
                others = f" (or {', '.join(alternatives[1:])})" if alternatives[1:] else ""
                out.append(f"missing {resolved / alternatives[0]}{others} in the {key} folder -- "
                           f"it must hold all of {c.source}")
    return out
