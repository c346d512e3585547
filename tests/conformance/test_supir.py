"""SUPIR's driver against the real SUPIR code (upstream/SUPIR at the pinned commit).

What is real here: test.py's argparse parser and its call of ``batchify_sample``, the
gradio demo's presets, options/SUPIR_v0.yaml, CKPT_PTH.py, ``SUPIR/util.py`` (imported and
run: ``create_SUPIR_model`` loads our stand-in checkpoint files, ``PIL2Tensor`` and
``Tensor2PIL`` resize) and the signatures of ``SUPIRModel.batchify_sample`` and
``LLavaAgent``. Stubbed: ``sgm`` (the SDXL networks) and ``llava`` (LLaVA-13B); the stubs
take exactly the real parameters (:func:`realcode.stub_with_signature`), so a keyword
the real code lacks fails the call.
"""

from __future__ import annotations

import ast
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tair_bench_adapters import supir_checkpoints as ck
from tair_bench_adapters.runners import supir_run
from tair_bench_adapters.supir import SUPIR
from tair_bench_adapters.supir_settings import (
    CHOICES,
    DEFAULT_MIN_SIZE,
    DEFAULT_SEED,
    DEFAULT_SIGN,
    PRESETS,
    SAMPLING_KEYS,
    TEST_PY,
    TYPES,
)

from . import realcode

#: flags of our runner that test.py does not have (the harness's own)
HARNESS_FLAGS = ("--no_linear_CFG", "--prompts", "--device", "--llava_device", "--caption_end", "--set")


def _flag(word: str) -> str:
    return word.split("=", 1)[0]


@pytest.fixture
def root(upstream) -> Path:
    return upstream("SUPIR")


@pytest.fixture(autouse=True)
def _no_environment_probe(monkeypatch):
    """These tests are about the code and files; the environment probe has its own tests."""
    monkeypatch.setattr(SUPIR, "environment_problems", lambda self: [])


def argv_of(r: SUPIR, work: Path) -> list[str]:
    """The exact command the driver runs, placeholders filled (as ``_call_command`` does)."""
    values = {**r.placeholders(work), "prompt": ""}
    return [part.format(**values) for part in r.command]


def split_harness(argv: list[str]) -> tuple[list[str], list[str]]:
    """(test.py's part, the harness's part) of the runner's arguments."""
    cut = next((i for i, a in enumerate(argv) if _flag(a) in HARNESS_FLAGS), len(argv))
    return argv[:cut], argv[cut:]


def _call_keywords_of_test_py(root: Path) -> dict[str, str]:
    """``batchify_sample`` keyword -> test.py flag (``args.X``) in test.py's own call (test.py:98-102)."""
    (call,) = [c for c in realcode.calls(root / "test.py") if realcode.call_name(c) == "model.batchify_sample"]
    return {kw.arg: kw.value.attr for kw in call.keywords
            if isinstance(kw.value, ast.Attribute) and isinstance(kw.value.value, ast.Name) and kw.value.value.id == "args"}


# -- settings: test.py's defaults and the gradio presets --------------------------------
def test_supir_defaults_to_linear_cfg_of_test_py(root):
    """The default run uses test.py's argparse defaults, linear CFG included (the bug was a
    constant CFG 7.5): every sampling key, the sign, seed and min_size."""
    defaults = vars(realcode.script_parser(root / "test.py").parse_args([]))
    assert {k: defaults[k] for k in SAMPLING_KEYS} == TEST_PY
    assert (defaults["SUPIR_sign"], defaults["seed"], defaults["min_size"]) == (DEFAULT_SIGN, DEFAULT_SEED,
                                                                                  DEFAULT_MIN_SIZE)
    r = SUPIR(repo=str(root))
    assert r.sampling == TEST_PY and r.sampling["linear_CFG"] is True
    assert (r.steps, r.cfg, r.seed) == (defaults["edm_steps"], defaults["s_cfg"], defaults["seed"])
    assert r.sampling["spt_linear_CFG"] == defaults["spt_linear_CFG"] == 1.0


@pytest.mark.parametrize("preset", list(PRESETS))
def test_supir_argv_parses_with_test_py_parser(root, preset, tmp_path):
    """The runner's argv minus the harness's flags is a valid test.py command line, and
    test.py would read from it exactly the settings the adapter resolved."""
    r = SUPIR(repo=str(root), preset=preset, device="cuda")
    ours, harness = split_harness(argv_of(r, tmp_path)[2:])
    parsed = vars(realcode.script_parser(root / "test.py").parse_args(ours))
    assert {k: parsed[k] for k in SAMPLING_KEYS} == r.sampling == PRESETS[preset]
    assert (parsed["img_dir"], parsed["save_dir"]) == (str(tmp_path / "inputs"), str(tmp_path / "outputs"))
    assert (parsed["upscale"], parsed["seed"], parsed["SUPIR_sign"], parsed["num_samples"]) == (4, r.seed, "Q", 1)
    assert parsed["no_llava"] is True and "--no_linear_CFG" not in harness


def test_supir_runner_reads_test_py_flags_as_test_py_does(root, tmp_path):
    """Our runner's parser, on the full argv, gives every test.py flag the value test.py's
    parser gives it; shared flags have test.py's types and choices."""
    real = realcode.script_parser(root / "test.py")
    r = SUPIR(repo=str(root), preset="Quality", use_tile_vae=True, a_prompt="-{crisp} text, ", s_noise=1.02)
    argv = argv_of(r, tmp_path)[2:]
    ours = vars(supir_run.build_parser().parse_args(argv))
    theirs = vars(real.parse_args(split_harness(argv)[0]))
    # an unset prompt is None for the runner: it passes 'default', i.e. the options' p_p/n_p,
    # which is test.py's default text (test_supir_default_prompts_are_the_options_p_p_n_p)
    assert ours["n_prompt"] is None and theirs["n_prompt"] == real.get_default("n_prompt")
    ours["n_prompt"] = theirs["n_prompt"]
    assert {k: ours[k] for k in theirs} == theirs and theirs["a_prompt"] == "-{crisp} text, "
    runner = {a.dest: a for a in supir_run.build_parser()._actions}
    for action in real._actions:
        if action.dest != "help":
            assert (runner[action.dest].type, runner[action.dest].choices) == (action.type, action.choices), action.dest
    assert TYPES == {a.dest: (a.type or bool) for a in real._actions if a.dest in SAMPLING_KEYS}
    assert CHOICES == {a.dest: tuple(a.choices) for a in real._actions if a.dest in SAMPLING_KEYS and a.choices}


def test_supir_linear_cfg_off_needs_the_harness_flag(root, tmp_path):
    """test.py cannot turn linear CFG off (store_true, default True); the runner can, and
    says so with its own flag, which the test.py part of the argv does not carry."""
    r = SUPIR(repo=str(root), linear_CFG=False)
    argv = argv_of(r, tmp_path)[2:]
    assert vars(realcode.script_parser(root / "test.py").parse_args(split_harness(argv)[0]))["linear_CFG"] is True
    assert supir_run.build_parser().parse_args(argv).linear_CFG is False


def _gradio_reset(root: Path) -> tuple[dict, dict[str, dict]]:
    """load_and_reset of gradio_demo.py: its constants, and per preset its default_setting keys."""
    fn = realcode.find_def(root / "gradio_demo.py", "load_and_reset")
    common, per = {}, {}
    for node in fn.body:
        if isinstance(node, ast.Assign):
            name = node.targets[0].id
            common[name] = ("default_setting", node.value.attr) if isinstance(node.value, ast.Attribute) \
                else ast.literal_eval(node.value)
        elif isinstance(node, ast.If):
            branch: ast.AST = node
            while isinstance(branch, ast.If):
                label = ast.literal_eval(branch.test.comparators[0])
                per[label] = {a.targets[0].id: a.value.attr for a in branch.body}
                branch = branch.orelse[0] if branch.orelse else None
    return common, per


def test_supir_gradio_presets_match_demo(root):
    """'Quality' and 'Fidelity' are the demo's Param Setting names and load exactly what its
    Reset Param button loads (constants in load_and_reset, CFG from the options file)."""
    from omegaconf import OmegaConf

    (dropdown,) = [c for c in realcode.calls(root / "gradio_demo.py") if realcode.call_name(c) == "gr.Dropdown"]
    names = ast.literal_eval(dropdown.args[0])
    assert set(PRESETS) - {"test.py"} == set(names)
    options = OmegaConf.load(root / ck.OPTIONS)
    common, per = _gradio_reset(root)
    for name in names:
        want = {}
        for key, value in {**common, **{k: ("default_setting", v) for k, v in per[name].items()}}.items():
            if isinstance(value, tuple):
                value = options.default_setting[value[1]]
            want[key] = value
        for key in SAMPLING_KEYS:
            if key in want:
                assert PRESETS[name][key] == want[key], (name, key)
        assert want["a_prompt"] == options.model.params.p_p and want["n_prompt"] == options.model.params.n_p


def test_supir_default_prompts_are_the_options_p_p_n_p(root):
    """a_prompt/n_prompt unset -> 'default' -> the options file's p_p/n_p, which is exactly
    test.py's default text (so the project repeats no prompt text)."""
    from omegaconf import OmegaConf

    defaults = vars(realcode.script_parser(root / "test.py").parse_args([]))
    params = OmegaConf.load(root / ck.OPTIONS).model.params
    assert (params.p_p, params.n_p) == (defaults["a_prompt"], defaults["n_prompt"])
    sig = realcode.signature(root / "SUPIR/models/SUPIR_model.py", "SUPIRModel.batchify_sample")
    assert sig.parameters["p_p"].default == sig.parameters["n_p"].default == "default"


# -- the runner against the real SUPIR/util.py ---------------------------------------------
class _Recorder:
    def __init__(self):
        self.calls: dict[str, list[dict]] = {}

    def __call__(self, name, result=None):
        def impl(arguments):
            self.calls.setdefault(name, []).append({k: v for k, v in arguments.items() if k != "self"})
            return result(arguments) if callable(result) else result
        return impl


@pytest.fixture
def real_supir(root, monkeypatch):
    """SUPIR's repository importable, its networks stubbed, every module it leaves behind removed."""
    import torch

    before = set(sys.modules)
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    rec = _Recorder()
    model_py = root / "SUPIR/models/SUPIR_model.py"

    class FakeSUPIRModel:
        """What instantiate_from_config(config.model) returns; its methods have the real signatures."""

        def __init__(self):
            self.model = types.SimpleNamespace(dtype=None)
            self.ae_dtype = None
            self.loaded: list[list[str]] = []

        def load_state_dict(self, state_dict, strict=True):
            self.loaded.append(sorted(state_dict))

        def half(self):
            return self

        def cpu(self):
            return self

        def to(self, device):
            self.device = device
            return self

        batchify_sample = realcode.stub_with_signature(
            model_py, "SUPIRModel.batchify_sample", rec("batchify_sample", lambda a: torch.zeros_like(a["x"])))
        batchify_denoise = realcode.stub_with_signature(
            model_py, "SUPIRModel.batchify_denoise", rec("batchify_denoise", lambda a: a["x"]))
        init_tile_vae = realcode.stub_with_signature(model_py, "SUPIRModel.init_tile_vae", rec("init_tile_vae"))

    made: list[FakeSUPIRModel] = []

    def instantiate_from_config(config):
        assert config.target == "SUPIR.models.SUPIR_model.SUPIRModel"
        made.append(FakeSUPIRModel())
        return made[-1]

    sgm = types.ModuleType("sgm")
    sgm.__path__ = []
    sgm_util = types.ModuleType("sgm.util")
    sgm_util.instantiate_from_config = instantiate_from_config
    agent_py = root / "llava/llava_agent.py"
    llava_agent = types.ModuleType("llava.llava_agent")
    llava_agent.LLavaAgent = type("LLavaAgent", (), {
        "__init__": realcode.stub_with_signature(agent_py, "LLavaAgent.__init__", rec("LLavaAgent")),
        "gen_image_caption": realcode.stub_with_signature(
            agent_py, "LLavaAgent.gen_image_caption",
            rec("gen_image_caption", lambda a: ["A sign on a brick wall." for _ in a["imgs"]])),
    })
    llava = types.ModuleType("llava")
    llava.__path__ = []
    for name, module in {"sgm": sgm, "sgm.util": sgm_util, "llava": llava, "llava.llava_agent": llava_agent}.items():
        monkeypatch.setitem(sys.modules, name, module)
    yield types.SimpleNamespace(rec=rec, made=made)
    for name in set(sys.modules) - before:
        if name.split(".")[0] in ("SUPIR", "CKPT_PTH", "sgm", "llava"):
            del sys.modules[name]


def _inputs(work: Path, prompts: dict) -> dict[str, tuple[int, int]]:
    from PIL import Image

    (work / "inputs").mkdir(parents=True)
    (work / "outputs").mkdir()
    sizes = {}
    for n, image_id in enumerate(prompts):
        w, h = 24 + 8 * n, 16
        Image.fromarray(np.full((h, w, 3), 40 * (n + 1), np.uint8)).save(work / "inputs" / f"{image_id}.png")
        sizes[image_id] = (w, h)
    (work / "prompts.json").write_text(json.dumps(prompts))
    return sizes


def _checkpoints(tmp_path: Path) -> dict[str, str]:
    """Stand-in files in the real formats: safetensors for SDXL, a torch ckpt for SUPIR-v0Q."""
    import safetensors.torch
    import torch

    safetensors.torch.save_file({"sdxl.w": torch.zeros(1)}, str(tmp_path / "sdxl.safetensors"))
    torch.save({"state_dict": {"supir.q": torch.zeros(1)}}, tmp_path / "SUPIR-v0Q.ckpt")
    return {"SDXL_CKPT": str(tmp_path / "sdxl.safetensors"), "SUPIR_CKPT_Q": str(tmp_path / "SUPIR-v0Q.ckpt"),
            "SDXL_CLIP1_PATH": str(tmp_path / "clip-l")}


def test_supir_runner_calls_real_signatures_with_test_py_values(root, real_supir, tmp_path):
    """The exact argv, run by our runner over the real SUPIR/util.py: the real
    create_SUPIR_model loads the checkpoints our paths name, and batchify_sample gets, for
    each keyword test.py passes, the value test.py would pass for the same flags."""
    work = tmp_path / "work"
    sizes = _inputs(work, {"img_a": "a red STOP sign", "img_b": None})
    r = SUPIR(repo=str(root), min_size=64, paths=_checkpoints(tmp_path), device="cpu")
    argv = argv_of(r, work)[2:]
    supir_run.main(argv)

    (model,) = real_supir.made
    assert model.loaded == [["sdxl.w"], ["supir.q"]]  # SDXL_CKPT, then SUPIR_CKPT_Q (SUPIR_CKPT is ~)
    assert sys.modules["CKPT_PTH"].SDXL_CLIP1_PATH == str(tmp_path / "clip-l")
    import torch
    assert (model.ae_dtype, model.model.dtype, model.device) == (torch.bfloat16, torch.float16, "cpu")
    calls = real_supir.rec.calls["batchify_sample"]
    test_py = vars(realcode.script_parser(root / "test.py").parse_args(split_harness(argv)[0]))
    for call in calls:
        for keyword, flag in _call_keywords_of_test_py(root).items():
            if keyword not in ("p_p", "n_p"):
                assert call[keyword] == test_py[flag], keyword
        assert (call["p_p"], call["n_p"]) == ("default", "default")  # = test.py's text, see above
    assert [c["p"] for c in calls] == [["a red STOP sign."], [""]]
    assert "LLavaAgent" not in real_supir.rec.calls and "batchify_denoise" not in real_supir.rec.calls
    out = r._read_outputs(work, list(sizes))
    assert {i: a.shape for i, a in out.items()} == {i: (h * 4, w * 4, 3) for i, (w, h) in sizes.items()}
    assert json.loads((work / "outputs" / "captions.json").read_text()) == {"img_a": "a red STOP sign.", "img_b": ""}


def test_supir_llava_captioner_runs_test_py_loop(root, real_supir, tmp_path):
    """captioner: llava is test.py:84-95: stage-1 denoise of the 512 px image, then the LLaVA
    caption from CKPT_PTH.LLAVA_MODEL_PATH; the harness's prompts are not used."""
    work = tmp_path / "work"
    _inputs(work, {"img_a": "ignored", "img_b": None})
    paths = {**_checkpoints(tmp_path), "LLAVA_MODEL_PATH": str(tmp_path / "llava-13b")}
    r = SUPIR(repo=str(root), min_size=64, captioner="llava", paths=paths, device="cpu")
    assert r.prompt_mode == "none" and r.accepts_prompt is False
    supir_run.main(argv_of(r, work)[2:])
    rec = real_supir.rec.calls
    (agent,) = rec["LLavaAgent"]
    assert (agent["model_path"], agent["device"], agent["load_8bit"]) == (str(tmp_path / "llava-13b"), "cpu", False)
    assert [min(d["x"].shape[-2:]) for d in rec["batchify_denoise"]] == [512, 512]  # fix_resize=512
    assert [c["p"] for c in rec["batchify_sample"]] == [["A sign on a brick wall."]] * 2


def test_supir_output_name_is_test_py_name(root):
    """test.py saves f'{args.save_dir}/{img_name}_{_i}.png' (test.py:105); evaluated with the
    real expression, sample 0 of image ID is the file the driver reads back."""
    (save,) = [c for c in realcode.calls(root / "test.py") if isinstance(c.func, ast.Attribute) and c.func.attr == "save"]
    path = eval(compile(ast.Expression(save.args[0]), "test.py", "eval"),
                {"args": types.SimpleNamespace(save_dir="OUT"), "img_name": "ID", "_i": 0})
    assert path == "OUT/" + SUPIR.default_output_pattern.format(id="ID")


# -- files the code opens -------------------------------------------------------------------
def _opened_keys(root: Path, sign: str, llava: bool) -> set[str]:
    """The checkpoint names the real code opens: ``config.X`` loaded in create_SUPIR_model
    (SUPIR_CKPT only when not ~), and the CKPT_PTH constants the encoders (and LLaVA) import."""
    from omegaconf import OmegaConf

    fn = realcode.find_def(root / "SUPIR/util.py", "create_SUPIR_model")
    loaded = {n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
              and n.value.id == "config" and n.attr.startswith(("SDXL_", "SUPIR_CKPT"))}
    options = OmegaConf.load(root / ck.OPTIONS)
    keys = {k for k in loaded if not k.startswith("SUPIR_CKPT_") and options[k] is not None} | {f"SUPIR_CKPT_{sign}"}
    keys |= realcode.imported_names(root / ck.ENCODERS, "CKPT_PTH")
    if llava:
        keys |= realcode.imported_names(root / "test.py", "CKPT_PTH")
        keys |= realcode.imported_names(root / "llava/model/multimodal_encoder/clip_encoder.py", "CKPT_PTH")
    assert loaded == {"SDXL_CKPT", "SUPIR_CKPT", "SUPIR_CKPT_F", "SUPIR_CKPT_Q"}
    return keys


@pytest.mark.parametrize("sign,llava", [("Q", False), ("F", False), ("Q", True)])
def test_supir_preflight_files_equal_files_code_opens(root, sign, llava):
    """Preflight checks exactly the checkpoints the real code opens, at the paths the
    checkout's options file and CKPT_PTH.py give."""
    r = SUPIR(repo=str(root), sign=sign, captioner="llava" if llava else "harness", device="cuda")
    checked = r.checkpoint_paths()
    assert set(checked) == _opened_keys(root, sign, llava)
    consts = realcode.literal_assignments(root / ck.CKPT_PTH)
    text = (root / ck.OPTIONS).read_text()
    for key, (defined, value, _) in checked.items():
        assert defined and value == (consts[key] if ck.CHECKPOINTS[key].defined_in == ck.CKPT_PTH
                                     else ck.read_options(text)[key])
    files = {p for p, _ in r.required_files()}
    assert files == {ck.OPTIONS, ck.CKPT_PTH, *(v for _, v, _ in checked.values())}
    problems = r.preflight()
    assert len(problems) == len(checked) and all(" -- " in p for p in problems)


def test_supir_preflight_checks_clip2_ckpt_file(root, tmp_path):
    """SDXL_CLIP2_CKPT_PTH is one open_clip file (modules.py:530-533), not the README's
    cache folder: its path is checked, and a folder there is refused."""
    assert "SDXL_CLIP2_CKPT_PTH" in realcode.imported_names(root / ck.ENCODERS, "CKPT_PTH")
    want = realcode.literal_assignments(root / ck.CKPT_PTH)["SDXL_CLIP2_CKPT_PTH"]
    assert want.endswith(".bin")
    problems = SUPIR(repo=str(root), device="cuda").preflight()
    (line,) = [p for p in problems if "SDXL_CLIP2_CKPT_PTH" in p]
    assert want in line and "CACHE_DIR" not in line
    (tmp_path / "bigG").mkdir()
    problems = SUPIR(repo=str(root), device="cuda", paths={"SDXL_CLIP2_CKPT_PTH": str(tmp_path / "bigG")}).preflight()
    (line,) = [p for p in problems if "SDXL_CLIP2_CKPT_PTH" in p]
    assert "is a folder" in line and str(tmp_path / "bigG") in line


def test_supir_override_keys_exist_in_real_files(root):
    """Every name ``paths`` accepts is a top-level key of the real options YAML or a
    constant of the real CKPT_PTH.py, as the runner's --set requires."""
    from omegaconf import OmegaConf

    options, consts = OmegaConf.load(root / ck.OPTIONS), realcode.literal_assignments(root / ck.CKPT_PTH)
    for key, c in ck.CHECKPOINTS.items():
        assert key in (options if c.defined_in == ck.OPTIONS else consts), key
        assert (root / c.opened_at.split(":")[0]).is_file()


def test_supir_preflight_none_and_folder_contents(root, tmp_path):
    """A None in CKPT_PTH.py (download at run time) and an incomplete CLIP folder are reported."""
    repo = tmp_path / "SUPIR"
    (repo / "options").mkdir(parents=True)
    (repo / ck.OPTIONS).write_text((root / ck.OPTIONS).read_text())
    text = (root / ck.CKPT_PTH).read_text().replace(repr(realcode.literal_assignments(
        root / ck.CKPT_PTH)["SDXL_CLIP2_CKPT_PTH"]), "None")
    (repo / ck.CKPT_PTH).write_text(text)
    (tmp_path / "clip-l").mkdir()
    (tmp_path / "clip-l" / "config.json").write_text("{}")
    problems = SUPIR(repo=str(repo), device="cuda", paths={"SDXL_CLIP1_PATH": str(tmp_path / "clip-l")}).preflight()
    assert any("SDXL_CLIP2_CKPT_PTH is None" in p and "download" in p for p in problems)
    clip = [p for p in problems if "SDXL_CLIP1_PATH folder" in p]
    assert len(clip) == 3 and any("vocab.json" in p for p in clip) and any("model.safetensors" in p for p in clip)


def test_supir_preflight_says_gpu_only_on_cpu(root):
    """test.py refuses to run without CUDA and the code defaults to device='cuda': on a CPU
    device preflight says so, citing lines that say what it claims."""
    lines = (root / "test.py").read_text().splitlines()
    assert "Currently support CUDA only" in "\n".join(lines[9:17])
    enc = (root / ck.ENCODERS).read_text().splitlines()
    assert 'device="cuda"' in enc[452] and 'device="cuda"' in enc[520]
    assert 'device: str = "cuda"' in (root / "sgm/modules/diffusionmodules/sampling.py").read_text().splitlines()[31]
    (msg,) = [p for p in SUPIR(repo=str(root), device="cpu").preflight() if ": device " in p]
    assert "test.py:10-17" in msg and "GPU only" in msg
    assert not [p for p in SUPIR(repo=str(root), device="cuda:0").preflight() if ": device " in p]


def test_supir_vae_needs_xformers_so_preflight_probes_it(root):
    """The options file builds the VAE with attn_type vanilla-xformers, which make_attn turns
    into MemoryEfficientAttnBlock, whose attention calls xformers.ops; the import of xformers
    is guarded, so only the environment probe can catch its absence before a run."""
    from omegaconf import OmegaConf

    model_py = root / "sgm/modules/diffusionmodules/model.py"
    ddconfig = OmegaConf.load(root / ck.OPTIONS).model.params.first_stage_config.params.ddconfig
    assert ddconfig.attn_type == "vanilla-xformers"
    make_attn = ast.unparse(realcode.find_def(model_py, "make_attn"))
    assert "elif attn_type == 'vanilla-xformers':" in make_attn and "return MemoryEfficientAttnBlock(" in make_attn
    block = ast.unparse(realcode.find_def(model_py, "MemoryEfficientAttnBlock.attention"))
    assert "xformers.ops.memory_efficient_attention(" in block
    guarded = [n for n in ast.parse(model_py.read_text()).body if isinstance(n, ast.Try)]
    assert any("import xformers" in ast.unparse(t) for t in guarded)
    assert "xformers" in SUPIR.probe_imports


def test_supir_settings_enter_config(root):
    """Steps, seed, cfg, preset, each sampling value, sign, captioner and the upstream
    commit are in config() (hence in the cache key and results.json)."""
    base = SUPIR(repo=str(root)).config()
    assert base["preset"] == "test.py" and base["sampling"] == TEST_PY and "upstream_commit" in base
    for change in ({"steps": 20}, {"seed": 7}, {"cfg": 6.0}, {"preset": "Quality"}, {"s_noise": 1.003},
                   {"sign": "F"}, {"captioner": "llava"}, {"a_prompt": ""}, {"caption_end": ""}):
        assert SUPIR(repo=str(root), **change).config() != base, change
    assert SUPIR(repo=str(root), steps=20).config()["sampling"]["edm_steps"] == 20
