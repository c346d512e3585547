"""SeeSR's driver against the real SeeSR code (upstream/SeeSR at the pinned commit).

The driver runs ``test_seesr.py`` itself, so what must hold is: the argv it builds parses
with the script's own parser to the values we mean (and the script's defaults elsewhere);
the output file it reads back is the one the script writes; preflight checks exactly the
files the script and RAM open; and the requirements the code imposes (xformers, CUDA, one
seed per process) are reported or handled. All facts are read from the real files with ast.
"""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import pytest

from bench.io.pyenv import ProbeResult
from tair_bench_adapters import seesr as seesr_mod
from tair_bench_adapters.seesr import (
    BERT,
    CHOICES,
    RAM,
    RAM_CODE_FILES,
    SD_PARTS,
    SEESR_PARTS,
    SeeSR,
)

from . import realcode


@pytest.fixture
def root(upstream) -> Path:
    return upstream("SeeSR")


@pytest.fixture(autouse=True)
def _no_environment_probe(monkeypatch):
    """Files and arguments here; the probe's own behaviour is tested with the probe."""
    monkeypatch.setattr(SeeSR, "environment_problems", lambda self: [])


def argv_of(r: SeeSR, work: Path, prompt: str = "") -> list[str]:
    """The command the driver runs for one image, placeholders filled as ``_call_command`` does."""
    values = {**r.placeholders(work), "prompt": prompt}
    return [part.format(**values) for part in r.command]


def _parser(root: Path):
    return realcode.script_parser(root / "test_seesr.py")


def test_seesr_argv_parses_with_real_parser(root, tmp_path):
    """The exact argv parses with test_seesr.py's own parser into our settings; every flag
    we do not pass keeps the script's default."""
    r = SeeSR(repo=str(root), steps=20, cfg=7.0, seed=3, device="cuda")
    argv = argv_of(r, tmp_path, prompt="-read the sign, OPEN")
    assert argv[:2] == [r.python, "test_seesr.py"]
    parser = _parser(root)
    got = vars(parser.parse_args(argv[2:]))
    want = {"pretrained_model_path": "preset/models/stable-diffusion-2-base", "seesr_model_path": "preset/models/seesr",
            "ram_ft_path": "preset/models/DAPE.pth", "prompt": "-read the sign, OPEN",
            "image_path": str(tmp_path / "inputs"), "output_dir": str(tmp_path / "outputs"), "start_point": "lr",
            "num_inference_steps": 20, "guidance_scale": 7.0, "process_size": 512, "upscale": 4, "seed": 3,
            "align_method": "adain", "mixed_precision": "fp16"}
    assert {k: got[k] for k in want} == want
    assert {k: v for k, v in got.items() if k not in want} == {k: parser.get_default(k) for k in got if k not in want}


def test_seesr_defaults_and_choices_are_test_seesr_py(root, tmp_path):
    """Our defaults are the script's (steps, CFG, process size, colour fix, precision, start
    point, x4) and our choices its choices; optional flags reach it under its names."""
    parser = _parser(root)
    r = SeeSR(repo=str(root))
    assert (r.steps, r.cfg, r.process_size, r.align_method, r.mixed_precision, r.start_point, r.scale) == (
        parser.get_default("num_inference_steps"), parser.get_default("guidance_scale"),
        parser.get_default("process_size"), parser.get_default("align_method"), parser.get_default("mixed_precision"),
        parser.get_default("start_point"), parser.get_default("upscale"))
    actions = {a.dest: a for a in parser._actions}
    for key in ("align_method", "start_point"):
        assert tuple(actions[key].choices) == CHOICES[key]
    r = SeeSR(repo=str(root), added_prompt="{clean}, sharp", negative_prompt="blur", latent_tiled_size=64)
    got = parser.parse_args(argv_of(r, tmp_path)[2:])
    assert (got.added_prompt, got.negative_prompt, got.latent_tiled_size) == ("{clean}, sharp", "blur", 64)
    assert set(seesr_mod.OPTIONAL_FLAGS) <= set(actions)


def test_seesr_output_path_is_sample00_stem_png(root):
    """test_seesr.py saves f'{args.output_dir}/sample{str(sample_idx).zfill(2)}/{name}.png'
    with name = the input's stem; evaluated for sample 0 it is the file the driver reads."""
    fn = realcode.find_def(root / "test_seesr.py", "main")
    (save,) = [c for c in ast.walk(fn) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
               and c.func.attr == "save"]
    path = eval(compile(ast.Expression(save.args[0]), "test_seesr.py", "eval"),
                {"args": types.SimpleNamespace(output_dir="OUT"), "sample_idx": 0, "name": "ID", "str": str})
    assert path == f"OUT/{SeeSR.default_output_subdir}/{SeeSR.default_output_pattern.format(id='ID')}"
    assert "name, ext = os.path.splitext(os.path.basename(image_name))" in ast.unparse(fn)


@pytest.fixture
def real_main(root, monkeypatch):
    """test_seesr.py executed from its real source, with its real ``ram`` package (tags via the
    real ``inference_ram``) and real colour fix; the networks (diffusers, transformers,
    accelerate, SeeSR's unet/controlnet, RAM's model) are stubs that take the real
    parameters and record what the script loads and passes."""
    import importlib.util

    import torch
    from PIL import Image

    before = set(sys.modules)
    monkeypatch.setattr(sys, "path", [str(root), *sys.path])
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    loaded, calls = [], {}

    def loader(name):
        class Loaded:
            @classmethod
            def from_pretrained(cls, path, subfolder=None, **kw):
                loaded.append((name, path, subfolder))
                return cls()

            def requires_grad_(self, flag):
                return self

            def to(self, *a, **kw):
                return self

            def enable_xformers_memory_efficient_attention(self):
                calls.setdefault("xformers", []).append(name)
        return Loaded

    pipe_py = root / "pipelines/pipeline_seesr.py"

    def run_pipeline(a):
        calls.setdefault("pipeline", []).append({k: v for k, v in a.items() if k != "self"})
        return types.SimpleNamespace(images=[Image.new("RGB", (a["width"], a["height"]), (90, 120, 150))])

    pipeline_cls = type("StableDiffusionControlNetPipeline", (), {
        "__init__": realcode.stub_with_signature(pipe_py, "StableDiffusionControlNetPipeline.__init__", lambda a: None),
        "__call__": realcode.stub_with_signature(pipe_py, "StableDiffusionControlNetPipeline.__call__", run_pipeline),
        "_init_tiled_vae": realcode.stub_with_signature(pipe_py, "StableDiffusionControlNetPipeline._init_tiled_vae",
                                                        lambda a: None),
    })

    class RamModel:
        def eval(self):
            return self

        def to(self, device):
            return self

        def generate_tag(self, image):
            return ["sign | brick wall"], ["-"]

        def generate_image_embeds(self, image):
            return torch.zeros(1, 145, 512)

    def make_ram(a):
        calls.setdefault("ram", []).append(a)
        return RamModel()

    accel = types.SimpleNamespace(
        Accelerator=lambda mixed_precision: types.SimpleNamespace(
            mixed_precision=mixed_precision, device=torch.device("cpu"), is_main_process=True,
            init_trackers=lambda name: None))
    stubs = {
        "accelerate": accel, "accelerate.logging": types.SimpleNamespace(get_logger=lambda *a, **k: None),
        "accelerate.utils": types.SimpleNamespace(set_seed=lambda seed: calls.setdefault("set_seed", []).append(seed)),
        "diffusers": types.SimpleNamespace(AutoencoderKL=loader("vae"), DDPMScheduler=loader("scheduler")),
        "diffusers.utils": types.SimpleNamespace(check_min_version=lambda v: None),
        "diffusers.utils.import_utils": types.SimpleNamespace(is_xformers_available=lambda: True),
        "transformers": types.SimpleNamespace(CLIPTextModel=loader("text_encoder"), CLIPTokenizer=loader("tokenizer"),
                                              CLIPImageProcessor=loader("feature_extractor")),
        "pipelines": types.ModuleType("pipelines"),
        "pipelines.pipeline_seesr": types.SimpleNamespace(StableDiffusionControlNetPipeline=pipeline_cls),
        "utils": types.ModuleType("utils"), "utils.misc": types.SimpleNamespace(load_dreambooth_lora=None),
        "models": types.ModuleType("models"),
        "models.controlnet": types.SimpleNamespace(ControlNetModel=loader("controlnet")),
        "models.unet_2d_condition": types.SimpleNamespace(UNet2DConditionModel=loader("unet")),
        "ram.models": types.ModuleType("ram.models"),
        "ram.models.ram_lora": types.SimpleNamespace(
            ram=realcode.stub_with_signature(root / "ram/models/ram_lora.py", "ram", make_ram)),
    }
    for name, module in stubs.items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location("utils.wavelet_color_fix", root / "utils/wavelet_color_fix.py")
    colorfix = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(colorfix)
    monkeypatch.setitem(sys.modules, "utils.wavelet_color_fix", colorfix)
    namespace = {"__name__": "seesr_test_script", "__file__": str(root / "test_seesr.py")}
    exec(compile((root / "test_seesr.py").read_text(), str(root / "test_seesr.py"), "exec"), namespace)  # noqa: S102
    # the one redirect: get_validation_prompt's device='cuda' default (test_seesr.py:134, called without
    # a device at :184) points at the CPU; everything else runs as written
    namespace["get_validation_prompt"].__defaults__ = ("cpu",)
    yield types.SimpleNamespace(main=namespace["main"], loaded=loaded, calls=calls)
    for name in set(sys.modules) - before:
        if name.split(".")[0] in ("ram", "utils", "models", "pipelines"):
            del sys.modules[name]


def test_seesr_exact_argv_runs_real_main_and_writes_what_driver_reads(root, real_main, tmp_path):
    """The driver's argv for one image, parsed by the real parser and run by the real main():
    it loads exactly the model folders preflight checks, passes our steps/CFG/seed/prompt, and
    writes the file the driver reads back at x4 the input size."""
    from PIL import Image

    r = SeeSR(repo=str(root), steps=20, cfg=4.5, seed=11, device="cuda")
    work = tmp_path / "work"
    (work / "inputs").mkdir(parents=True)
    (work / "outputs").mkdir()
    Image.new("RGB", (40, 24), (200, 10, 10)).save(work / "inputs" / "img.7.png")
    args = _parser(root).parse_args(argv_of(r, work, prompt="the word OPEN")[2:])
    real_main.main(args)

    models = r.models
    opened = {f"{path}/{sub}" if sub else path for _, path, sub in real_main.loaded}
    assert opened == {f"{models[key]}/{sub}" for key, parts in (("pretrained_model_path", SD_PARTS),
                                                                 ("seesr_model_path", SEESR_PARTS)) for sub, _, _ in parts}
    assert opened == {f.rsplit("/", 1)[0] for f, _ in r.required_files()
                      if f.startswith("preset/models/") and f.count("/") == 4}
    (ram_call,) = real_main.calls["ram"]
    assert (ram_call["pretrained"], ram_call["pretrained_condition"]) == (RAM, models["ram_ft_path"])
    assert sorted(real_main.calls["xformers"]) == ["controlnet", "unet"]
    (call,) = real_main.calls["pipeline"]
    assert call["prompt"] == "sign | brick wall, the word OPEN," + _parser(root).get_default("added_prompt")
    assert (call["num_inference_steps"], call["guidance_scale"], call["start_point"]) == (20, 4.5, "lr")
    assert real_main.calls["set_seed"] == [11] and call["generator"].initial_seed() == 11
    out = r._read_outputs(work, ["img.7"])
    assert out["img.7"].shape == (24 * 4, 40 * 4, 3)


def test_seesr_seeds_once_per_process_so_driver_runs_each_image_alone(root):
    """test_seesr.py seeds (set_seed, one generator) once, before its image loop, so an image's
    noise depends on the images before it; the default runs one process per image."""
    fn = realcode.find_def(root / "test_seesr.py", "main")
    loop = next(n for n in ast.walk(fn) if isinstance(n, ast.For) and ast.unparse(n.target) == "(image_idx, image_name)")
    in_loop = {id(n) for n in ast.walk(loop)}
    seeding = [c for c in ast.walk(fn) if isinstance(c, ast.Call) and realcode.call_name(c) in
               ("set_seed", "generator.manual_seed")]
    assert len(seeding) == 2 and not any(id(c) in in_loop for c in seeding)
    assert SeeSR(repo=str(root)).prompt_mode == "per_image"
    run = SeeSR(repo=str(root), seed_scope="run")
    assert run.prompt_mode == "per_prompt" and "depends on the images" in run.config()["seed_note"]


def _opened_by_pipeline(root: Path) -> set[tuple[str, str]]:
    """(flag, subfolder) of every from_pretrained in load_seesr_pipeline (test_seesr.py:78-84)."""
    out = set()
    for c in realcode.calls(root / "test_seesr.py", "load_seesr_pipeline"):
        if not realcode.call_name(c).endswith(".from_pretrained"):
            continue
        kw = {k.arg: ast.literal_eval(k.value) for k in c.keywords if k.arg == "subfolder"}
        arg = c.args[0]
        if isinstance(arg, ast.JoinedStr):  # f"{args.pretrained_model_path}/feature_extractor"
            flag, sub = arg.values[0].value.attr, arg.values[1].value.strip("/")
        else:
            flag, sub = arg.attr, kw["subfolder"]
        out.add((flag, sub))
    return out


def _ram_files(root: Path) -> set[str]:
    """The checkout files RAMLora opens for vit='swin_l', image_size=384 (test_seesr.py:125-128):
    every f'{CONFIG_PATH}/...' in ram_lora.py, without other backbones' configs and without
    defaults of parameters the body never reads."""
    cls = realcode.find_def(root / "ram/models/ram_lora.py", "RAMLora.__init__")
    read = {n.id for stmt in cls.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
    params = dict(zip([a.arg for a in cls.args.args][-len(cls.args.defaults):], cls.args.defaults))
    unread = {id(d) for name, d in params.items() if name not in read}
    out = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.JoinedStr) and id(node) not in unread and ast.unparse(node).startswith("f'{CONFIG_PATH}/"):
            rel = "ram/" + node.values[1].value.lstrip("/")
            if "/swin/" not in rel or rel.endswith("config_swinL_384.json"):
                out.add(rel)
    return out


def test_seesr_preflight_files_equal_files_code_opens(root):
    """Preflight checks exactly: the script, the model folders load_seesr_pipeline opens
    (scheduler, text_encoder, tokenizer, vae, feature_extractor; unet, controlnet), the DAPE
    file, RAM's fixed checkpoint path, RAM's config/tag files and the bert vocabulary."""
    flags = {"pretrained_model_path": "preset/models/stable-diffusion-2-base", "seesr_model_path": "preset/models/seesr"}
    opened = {f"{flags[f]}/{sub}" for f, sub in _opened_by_pipeline(root)}
    ours = {f"{SeeSR(repo=str(root)).models[k]}/{sub}" for k, parts in
            (("pretrained_model_path", SD_PARTS), ("seesr_model_path", SEESR_PARTS)) for sub, _, _ in parts}
    assert opened == ours and "preset/models/stable-diffusion-2-base/feature_extractor" in opened
    (tag,) = [c for c in realcode.calls(root / "test_seesr.py", "load_tag_model") if realcode.call_name(c) == "ram"]
    kw = {k.arg: k.value for k in tag.keywords}
    assert ast.literal_eval(kw["pretrained"]) == RAM and ast.unparse(kw["pretrained_condition"]) == "args.ram_ft_path"
    assert _ram_files(root) == set(RAM_CODE_FILES) and all((root / f).is_file() for f in RAM_CODE_FILES)
    r = SeeSR(repo=str(root))
    files = {p for p, _ in r.required_files()}
    model_files = {p.rsplit("/", 1)[0] for p in files if p.startswith("preset/models/") and p.count("/") == 4}
    assert model_files == opened
    assert files - {p for p in files if p.rsplit("/", 1)[0] in opened} == {
        "test_seesr.py", *RAM_CODE_FILES, "preset/models/DAPE.pth", RAM, f"{BERT}/vocab.txt"}


def test_seesr_preflight_needs_feature_extractor_bert_xformers(root, tmp_path, monkeypatch):
    """The three the README does not mention: SD-2-base's feature_extractor/ (test_seesr.py:82),
    a local bert-base-uncased for RAM's tokenizer (ram/models/utils.py:131, loaded by hub id)
    and xformers (enabled unconditionally: test_seesr.py:146, 268; else ValueError, :92-97)."""
    (call,) = [c for c in realcode.calls(root / "ram/models/utils.py", "init_tokenizer")
               if realcode.call_name(c) == "BertTokenizer.from_pretrained"]
    assert ast.literal_eval(call.args[0]) == BERT
    main = realcode.find_def(root / "test_seesr.py", "main")
    assert [a.arg for a in main.args.args] == ["args", "enable_xformers_memory_efficient_attention"]
    assert ast.literal_eval(main.args.defaults[0]) is True
    assert "main(args)" in (root / "test_seesr.py").read_text().splitlines()[267]
    loader = ast.unparse(realcode.find_def(root / "test_seesr.py", "load_seesr_pipeline"))
    assert "raise ValueError('xformers is not available." in loader

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE"):
        monkeypatch.delenv(var, raising=False)
    text = "\n".join(SeeSR(repo=str(root), device="cuda").preflight())
    assert "stable-diffusion-2-base/feature_extractor/" in text
    assert f"{root}/{BERT}/vocab.txt" in text and "utils.py:131" in text
    cached = tmp_path / "hf" / "hub" / f"models--{BERT}" / "snapshots" / "abc"
    cached.mkdir(parents=True)
    (cached / "vocab.txt").write_text("[PAD]\n")
    assert BERT not in "\n".join(SeeSR(repo=str(root), device="cuda").preflight())

    monkeypatch.undo()  # the real environment_problems from here on, with a probe answer in which xformers fails
    r = SeeSR(repo=str(root), device="cuda")
    imports = {name: {"ok": True, "version": "1"} for name in r.probe_imports}
    imports["xformers"] = {"ok": False, "error": "ModuleNotFoundError: No module named 'xformers'"}
    probe = ProbeResult(spec=r.probe_spec(), python_version="3.8.18", executable="/envs/seesr/bin/python",
                        imports=imports, torch={"version": "2.0.1", "cuda_build": "11.7", "cuda_available": True,
                                                "devices": ["GPU"]})
    monkeypatch.setattr(SeeSR, "probe", lambda self: probe)
    (msg,) = [p for p in r.environment_problems() if "xformers" in p]
    assert "test_seesr.py:146, 268" in msg and "(:92-97)" in msg and "pip install xformers" in msg


def test_seesr_preflight_says_cuda_hard_coded_on_cpu(root):
    """On a CPU device preflight says SeeSR hard-codes CUDA, citing lines that do."""
    lines = (root / "test_seesr.py").read_text().splitlines()
    assert "device='cuda'" in lines[133] and ".to(device)" in lines[136]
    assert "get_validation_prompt(args, validation_image, model)" in lines[183]
    assert 'torch.autocast("cuda")' in lines[215]
    assert 'torch.device("cuda")' in (root / "utils/devices.py").read_text().splitlines()[67]
    (msg,) = [p for p in SeeSR(repo=str(root), device="cpu").preflight() if ": device " in p]
    assert "hard-codes CUDA" in msg and "test_seesr.py:134,137,184" in msg and "utils/devices.py:68" in msg
    assert not [p for p in SeeSR(repo=str(root), device="cuda").preflight() if ": device " in p]


def test_seesr_device_index_selects_the_gpu(root, monkeypatch):
    """test_seesr.py takes no device (accelerate uses the first visible GPU): cuda:N is passed
    as CUDA_VISIBLE_DEVICES, mapped through an existing one."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert SeeSR(repo=str(root), device="cuda:1").env["CUDA_VISIBLE_DEVICES"] == "1"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert SeeSR(repo=str(root), device="cuda:1").env["CUDA_VISIBLE_DEVICES"] == "6"
    assert "CUDA_VISIBLE_DEVICES" not in SeeSR(repo=str(root), device="cuda").env


def test_seesr_settings_enter_config(root):
    """Steps, seed, CFG, seed scope, model paths, optional flags and the upstream commit
    are in config() (hence the cache key and results.json)."""
    base = SeeSR(repo=str(root)).config()
    assert "upstream_commit" in base and base["seed_scope"] == "image" and base["prompt_mode"] == "per_image"
    for change in ({"steps": 20}, {"seed": 1}, {"cfg": 3.0}, {"seed_scope": "run"}, {"align_method": "wavelet"},
                   {"ram_ft_path": "x.pth"}, {"added_prompt": "sharp"}):
        assert SeeSR(repo=str(root), **change).config() != base, change
