"""Conformance: the DiffTSR driver against the real code at the pinned commit (upstream/DiffTSR).

``inference_DiffTSR.py`` has no argument parser (its folders are written into it),
so the runner repeats its calls; these tests check each call against the real
script and classes (ast and signatures of the real files), trace every file the
inference code opens from the real config, and run the runner with the real config
loading and ``instantiate_from_config``, only the pipeline class stubbed with the
real signatures. Findings of issue 12: ``test_difftsr_preflight_includes_transocr``,
``test_difftsr_preflight_files_are_the_files_the_code_opens``,
``test_difftsr_seed_reset_per_crop``.
"""

from __future__ import annotations

import ast
import io
import os
import sys
import types
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import yaml

from tair_bench_adapters.difftsr import DDIM_STEPS, FILES, LINE_SIZE, DiffTSR
from tair_bench_adapters.runners import difftsr_run

from .realcode import (
    call_name,
    find_def,
    literal_assignments,
    signature,
    stub_with_signature,
)

SCRIPT = "inference_DiffTSR.py"
PIPELINE = "model/DiffTSR.py"


def _targets(doc, path=()) -> list[tuple[str, dict]]:
    """Every ``target`` in a config with its ``params`` (recursively)."""
    found = []
    if isinstance(doc, dict):
        if isinstance(doc.get("target"), str):
            found.append((doc["target"], doc.get("params") or {}))
        for v in doc.values():
            found += _targets(v)
    elif isinstance(doc, list):
        for v in doc:
            found += _targets(v)
    return found


def _class_file(root: Path, target: str) -> tuple[Path, str]:
    module, cls = target.rsplit(".", 1)
    return root / (module.replace(".", "/") + ".py"), cls


def _norm(p: str) -> str:
    return os.path.normpath(p)


# -- the runner's calls against the real script -------------------------------------


def test_difftsr_runner_repeats_the_official_calls(upstream):
    """Config and checkpoint paths, the 512x128 resize, the calls and their signatures
    are the ones inference_DiffTSR.py and DiffTSR_pipline have."""
    root = upstream("DiffTSR")
    consts = literal_assignments(root / SCRIPT, nested=True)
    assert (consts["DiffTSR_yaml_config"], consts["DiffTSR_ckpt_config"]) == (difftsr_run.CONFIG,
                                                                              difftsr_run.CHECKPOINT)
    script_calls = {call_name(c): c for c in ast.walk(ast.parse((root / SCRIPT).read_text(encoding="utf-8")))
                    if isinstance(c, ast.Call)}
    resize = next(c for name, c in script_calls.items() if name.endswith(".resize"))
    assert tuple(ast.literal_eval(resize.args[0])) == difftsr_run.LINE_SIZE == LINE_SIZE
    assert {"OmegaConf.load", "instantiate_from_config", "DiffTSR_model.load_model",
            "DiffTSR_model.DiffTSR_sample", "Image.fromarray"} <= set(script_calls)
    assert "instantiate_from_config" in {a.name for n in ast.walk(ast.parse((root / SCRIPT).read_text()))
                                         if isinstance(n, ast.ImportFrom) and n.module == "model.IDM.utils.util"
                                         for a in n.names}
    assert list(signature(root / PIPELINE, "DiffTSR_pipline.load_model").parameters) == ["self", "path"]
    sample = signature(root / PIPELINE, "DiffTSR_pipline.DiffTSR_sample").parameters
    assert list(sample) == ["self", "input_image", "general"] and sample["general"].default is True
    assert len(script_calls["DiffTSR_model.DiffTSR_sample"].args) == 1  # default general=True, as here


def test_difftsr_adapter_argv_parses_with_runner(tmp_path, monkeypatch):
    """The adapter's exact argv parses with the runner's parser (the script itself has none)."""
    import argparse

    adapter = DiffTSR(repo=str(tmp_path), seed=3)
    values = {**adapter.placeholders(tmp_path / "w"), "prompt": ""}
    argv = [part.format(**values) for part in adapter.command]
    assert argv[1] == str(Path(difftsr_run.__file__))
    seen = {}
    real_parse = argparse.ArgumentParser.parse_args

    def parse_then_stop(self, args=None, namespace=None):
        seen.update(vars(real_parse(self, args, namespace)))
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
    with pytest.raises(SystemExit):
        difftsr_run.main(argv[2:])
    assert (seen["inputs"], seen["outputs"], seen["seed"], seen["steps"]) == (
        str(tmp_path / "w" / "inputs"), str(tmp_path / "w" / "outputs"), 3, DDIM_STEPS)


def test_difftsr_ddim_steps_fixed_by_the_pipeline(upstream):
    """200 DDIM steps are set inside ``DiffTSR_pipline.__init__`` (DiffTSR.py:44), which
    takes no step argument; the adapter refuses other step counts."""
    from bench.errors import AdapterError

    root = upstream("DiffTSR")
    params = signature(root / PIPELINE, "DiffTSR_pipline.__init__").parameters
    assert not any("step" in p for p in params)
    call = next(c for c in ast.walk(find_def(root / PIPELINE, "DiffTSR_pipline.__init__"))
                if isinstance(c, ast.Call) and call_name(c) == "self.IDM_ddim_schedule_init")
    assert ast.literal_eval(next(k.value for k in call.keywords if k.arg == "ddim_num_steps")) == DDIM_STEPS
    with pytest.raises(AdapterError, match="200 DDIM steps"):
        DiffTSR(repo="r", steps=50)


def test_difftsr_config_keys_match_real_signatures(upstream):
    """Every ``params`` key of the real config is a parameter of its target's real ``__init__``."""
    root = upstream("DiffTSR")
    doc = yaml.safe_load((root / "model/DiffTSR_config.yaml").read_text(encoding="utf-8"))
    targets = _targets(doc)
    assert targets, "no `target` found in model/DiffTSR_config.yaml: the loop below would check nothing"
    for target, params in targets:
        path, cls = _class_file(root, target)
        accepted = signature(path, f"{cls}.__init__").parameters
        assert set(params) <= set(accepted), (target, set(params) - set(accepted))


# -- files the code opens ---------------------------------------------------------------

#: every function in model/ that opens a file (open, torch.load, *.from_pretrained) and
#: whether inference reaches it; the unreachable reasons are checked against the real config
OPEN_SITES = {
    ("model/DiffTSR.py", "DiffTSR_pipline.load_model"): "reached: the runner passes CHECKPOINT",
    ("model/TDM/models/text_prediction.py", "Text_Prediction.__init__"): "reached: ckpt_path default",
    ("model/TDM/utils/util.py", "get_alphabet"): "reached: Text_Prediction's alphabet_path default",
    ("model/IDM/models/autoencoder.py", "AutoencoderKL.init_from_ckpt"): "only with ckpt_path; not in the config",
    ("model/IDM/modules/encoders/modules.py", "BERTTokenizer.__init__"): "only with use_tokenizer; False here",
    ("model/IDM/modules/IDM_diffusion.py", "DDPM.init_from_ckpt"): "training model; not a config target",
    ("model/modules/losses.py", "Trans_OCR_loss.__init__"): "training loss; not a config target",
    ("model/DiffTSR_training.py", "DiffTSR_training_pipline.__init__"): "training pipeline; not a target",
    ("model/DiffTSR_training.py", "DiffTSR_training_pipline.init_from_ckpt"): "training pipeline; not a target",
    ("model/DiffTSR_training.py", "DiffTSR_training_pipline.init_MoM_transformer_from_ckpt"): "training",
}


def _open_sites(root: Path) -> set[tuple[str, str]]:
    """``(file, enclosing qualname or '<module>')`` of every file-opening call in model/."""
    sites = set()
    for path in sorted((root / "model").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)]:
            name = call_name(call)
            if name not in ("open", "torch.load") and not name.endswith("from_pretrained"):
                continue
            chain, node = [], call
            while node in parents:
                node = parents[node]
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    chain.append(node.name)
            sites.add((str(path.relative_to(root)), ".".join(reversed(chain)) or "<module>"))
    return sites


def test_difftsr_preflight_files_are_the_files_the_code_opens(upstream):
    """Trace from the real code: the script's two paths, plus the path defaults of every
    config target whose ``__init__`` opens a file; every other file-opening call in
    model/ is shown unreachable from the inference config. The result is preflight's list."""
    root = upstream("DiffTSR")
    assert _open_sites(root) == set(OPEN_SITES), "a file-opening call appeared or went; classify it"
    doc = yaml.safe_load((root / "model/DiffTSR_config.yaml").read_text(encoding="utf-8"))
    targets = dict(_targets(doc))
    target_classes = {t.rsplit(".", 1)[1] for t in targets}
    # the unreachable ones, checked against the real config
    assert "ckpt_path" not in targets["model.IDM.models.autoencoder.AutoencoderKL"]
    assert targets["model.IDM.modules.encoders.modules.BERTEmbedder"]["use_tokenizer"] is False
    assert not {"DDPM", "Trans_OCR_loss", "DiffTSR_training_pipline"} & target_classes
    assert not any("IDM_diffusion" in t or "losses" in t or "DiffTSR_training" in t for t in targets)
    # the reached ones
    tp = "model.TDM.models.text_prediction.Text_Prediction"
    assert targets[tp] == {}  # no params: the defaults apply
    defaults = signature(*_class_file(root, tp)[:1], "Text_Prediction.__init__").parameters
    consts = literal_assignments(root / SCRIPT, nested=True)
    opened = {_norm(consts["DiffTSR_yaml_config"]), _norm(consts["DiffTSR_ckpt_config"]),
              _norm(defaults["ckpt_path"].default), _norm(defaults["alphabet_path"].default)}
    assert {_norm(p) for p, _ in DiffTSR(repo="r").required_files()} == opened


@pytest.fixture
def no_env_probe(monkeypatch):
    """Preflight without the interpreter probe (tested with bench/io/pyenv.py): these tests are about files."""
    monkeypatch.setattr(DiffTSR, "environment_problems", lambda self: [])


def test_difftsr_preflight_includes_transocr(upstream, tmp_path, no_env_probe):
    """The text predictor's TransOCR weights (text_prediction.py:16, 27) are checked, with a fix."""
    default = signature(upstream("DiffTSR") / "model/TDM/models/text_prediction.py",
                        "Text_Prediction.__init__").parameters["ckpt_path"].default
    assert _norm(default) == "ckpt/transocr.pth"
    problems = DiffTSR(repo=str(tmp_path), device="cuda").preflight()
    (msg,) = [p for p in problems if "transocr.pth" in p]
    assert str(tmp_path / "ckpt" / "transocr.pth") in msg and " -- " in msg
    assert dict(FILES)["ckpt/transocr.pth"] in msg


def test_difftsr_preflight_reports_cuda_only(upstream, tmp_path, no_env_probe):
    """On a non-CUDA device preflight says the code is CUDA-only, citing the lines that are."""
    root = upstream("DiffTSR")
    src = (root / "model/TDM/models/text_prediction.py").read_text(encoding="utf-8").splitlines()
    assert ".cuda()" in src[24]  # text_prediction.py:25
    reg = ast.unparse(find_def(root / PIPELINE, "DiffTSR_pipline.register_buffer"))
    assert "torch.device('cuda')" in reg
    problems = DiffTSR(repo=str(tmp_path), device="cpu").preflight()
    assert any(p.startswith("DiffTSR: device 'cpu'") and "text_prediction.py:25" in p for p in problems)
    assert not any(p.startswith("DiffTSR: device") for p in DiffTSR(repo=str(tmp_path), device="cuda").preflight())


# -- the runner with the real config and instantiate_from_config ------------------------


@pytest.fixture
def real_difftsr(upstream, tmp_path, monkeypatch):
    """cwd = a stand-in checkout (real ``model/`` code and config linked, placeholder
    checkpoint); ``model.DiffTSR`` stubbed by a pipeline with the real signatures whose
    sampler draws from the global torch RNG. Yields the list of recorded calls."""
    import torch

    root = upstream("DiffTSR")
    checkout = tmp_path / "repo"
    checkout.mkdir()
    (checkout / "model").symlink_to(root / "model")
    (checkout / "ckpt").mkdir()
    (checkout / "ckpt" / "DiffTSR.ckpt").write_bytes(b"")
    calls: list = []
    src = root / PIPELINE

    def init(a):
        calls.append(("init", {k: v for k, v in a.items() if k != "self"}))
        a["self"].device = "cpu"

    def sample(a):
        lq = np.asarray(a["input_image"])
        calls.append(("sample", lq.shape))
        noise = torch.randint(0, 256, lq.shape, dtype=torch.uint8).numpy()
        return ((lq.astype(np.uint16) + noise) // 2).astype(np.uint8)

    pipeline = type("DiffTSR_pipline", (), {
        "__init__": stub_with_signature(src, "DiffTSR_pipline.__init__", init),
        "load_model": stub_with_signature(src, "DiffTSR_pipline.load_model",
                                          lambda a: calls.append(("load_model", a["path"]))),
        "DiffTSR_sample": stub_with_signature(src, "DiffTSR_pipline.DiffTSR_sample", sample)})
    stub = types.ModuleType("model.DiffTSR")
    stub.DiffTSR_pipline = pipeline
    monkeypatch.setitem(sys.modules, "model.DiffTSR", stub)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(checkout))
    monkeypatch.chdir(checkout)
    try:
        yield checkout, calls
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == "model" and m != "model.DiffTSR"]:
            del sys.modules[name]


def _run(adapter: DiffTSR, images, polygons, ids):
    def call(values):
        argv = [part.format(**values) for part in adapter.command]
        with redirect_stdout(io.StringIO()):
            difftsr_run.main(argv[2:])

    adapter._call_command = call
    return adapter.restore_batch(images, ids=ids, polygons=polygons)


def _scene(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (40, 120, 3), dtype=np.uint8)


LINE = [(10, 10), (110, 10), (110, 30), (10, 30)]


def test_difftsr_runner_builds_the_real_config_and_reads_back(real_difftsr):
    """The real config instantiates through the real ``instantiate_from_config`` with the
    real constructor's parameters; the checkpoint is loaded once from the script's path;
    every crop is sampled at 512x128 and read back under its own name."""
    checkout, calls = real_difftsr
    outs = _run(DiffTSR(repo=str(checkout)), [_scene(1), _scene(2)], [[LINE], [LINE]], ["a", "b"])
    assert [o.shape for o in outs] == [(40, 120, 3)] * 2
    kinds = [c[0] for c in calls]
    assert kinds == ["init", "load_model", "sample", "sample"]
    assert calls[1][1] == difftsr_run.CHECKPOINT
    assert calls[2][1] == (LINE_SIZE[1], LINE_SIZE[0], 3)
    yaml_params = yaml.safe_load((checkout / "model/DiffTSR_config.yaml").read_text())["model"]["params"]
    assert {k: calls[0][1][k] for k in yaml_params} == yaml_params  # bound by the real signature


def test_difftsr_seed_reset_per_crop(real_difftsr):
    """A crop's output does not depend on the crops before it: image 'b' restored after
    'a' equals 'b' restored alone; another seed gives another result."""
    checkout, _ = real_difftsr
    a, b = _scene(1), _scene(2)
    both = _run(DiffTSR(repo=str(checkout)), [a, b], [[LINE], [LINE]], ["a", "b"])
    alone = _run(DiffTSR(repo=str(checkout)), [b], [[LINE]], ["b"])
    other = _run(DiffTSR(repo=str(checkout), seed=7), [b], [[LINE]], ["b"])
    assert np.array_equal(both[1], alone[0])
    assert not np.array_equal(alone[0], other[0])


def test_difftsr_config_carries_settings(tmp_path):
    """Steps, seed and the upstream commit are in config() (cache key, results.json)."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("f9839633f5dbcd7cd80ed0a7609edd6ff5d3b5f5\n")
    cfg = DiffTSR(repo=str(repo), seed=4).config()
    assert (cfg["steps"], cfg["seed"], cfg["seed_per_crop"]) == (DDIM_STEPS, 4, True)
    assert cfg["upstream_commit"] == "f9839633f5dbcd7cd80ed0a7609edd6ff5d3b5f5"
