"""The ``testr`` spotter against the real TESTR code (upstream/TESTR) and TAIR's copy (upstream/TAIR/testr).

Real here: the sources read with ``ast`` (demo, predictor, detector, config defaults,
evaluator), the YAML configs and their ``_BASE_`` chains, the evaluator's own
``decode`` and ``pnt_to_polygon`` executed on our inputs, and -- for the end-to-end
test -- TESTR's real ``adet.config`` (``get_cfg`` + its defaults) run by our runner
script in a subprocess. Stand-ins: detectron2 (``CfgNode``, ``DefaultPredictor``,
``read_image``), whose predictor returns canned model outputs.
"""

from __future__ import annotations

import ast
import json
import os
import random
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.errors import SpotterError
from bench.spotters import testr as spotter_mod
from bench.spotters.predictions import FORMAT, PredictionsSpotter
from bench.spotters.runners import testr_run as runner
from bench.spotters.testr import TESTRSpotter
from tests.conformance.realcode import call_name, calls, find_def

RUNNER_FILE = Path(runner.__file__)
#: the evaluator (both copies) has a non-raw regex string; compiling it warns
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning",
                                        "ignore:invalid escape sequence:SyntaxWarning")


def _tree(path: Path) -> ast.Module:
    with warnings.catch_warnings():  # the evaluator has a non-raw regex string ('\\S')
        warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
        return ast.parse(path.read_text(encoding="utf-8"))


def _imports(path: Path) -> set[tuple[str, str]]:
    return {(n.module, a.name) for n in ast.walk(_tree(path)) if isinstance(n, ast.ImportFrom) for a in n.names}


def _defaults(path: Path) -> set[str]:
    """Every ``_C.A.B = ...`` key adet/config/defaults.py defines."""
    keys = set()
    for n in ast.walk(_tree(path)):
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Attribute):
            keys.add(ast.unparse(n.targets[0]).removeprefix("_C."))
    return keys


def _method(path: Path, qualname: str, namespace: dict):
    """The real method, compiled alone with ``namespace`` as its globals."""
    fn = find_def(path, qualname)
    exec(compile(ast.Module(body=[fn], type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
    return namespace[fn.name]


def _evaluator_ctlabels(path: Path) -> list[str]:
    init = find_def(path, "TextEvaluator.__init__")
    (value,) = [n.value for n in ast.walk(init) if isinstance(n, ast.Assign)
                and ast.unparse(n.targets[0]) == "self.CTLABELS" and isinstance(n.value, ast.List)]
    return ast.literal_eval(value)


def _null_char(path: Path) -> str:
    (value,) = [n.value.value for n in _tree(path).body if isinstance(n, ast.Assign)
                and ast.unparse(n.targets[0]) == "NULL_CHAR"]
    return value


def _check_decode_and_polygon(evaluator: Path) -> None:
    """Our decode and polygon equal the evaluator's own methods on random inputs."""
    labels = _evaluator_ctlabels(evaluator)
    assert list(spotter_mod.CTLABELS) == labels and spotter_mod.NULL_CHAR == _null_char(evaluator)
    decode = _method(evaluator, "TextEvaluator.decode", {"NULL_CHAR": _null_char(evaluator)})
    to_poly = _method(evaluator, "TextEvaluator.pnt_to_polygon", {"np": np})
    me = type("Evaluator", (), {"voc_size": spotter_mod.VOC_SIZE, "CTLABELS": labels, "use_polygon": True})()
    rng = random.Random(0)
    for _ in range(200):
        rec = [rng.randrange(0, spotter_mod.VOC_SIZE + 1) for _ in range(25)]
        assert spotter_mod.decode_rec(rec) == decode(me, rec)
    for _ in range(20):
        pnt = np.array([rng.uniform(0, 512) for _ in range(2 * spotter_mod.NUM_POINTS)], dtype=np.float32)
        (entry,) = spotter_mod.reply_to_entries({"polygons": [pnt.tolist()], "recs": [[96] * 25], "scores": [0.9]})
        assert entry["polygon"] == to_poly(me, pnt)


# -- TAIR's copy -------------------------------------------------------------------------------
def test_testr_rejects_tair_feature_head(upstream):
    """TAIR's testr/ reads diffusion features, not images: its detector's forward takes
    ``extracted_feats`` and its TESTR has no backbone argument. Given it as ``repo``,
    preflight says so in one message with the repository to use instead."""
    tair = upstream("TAIR") / "testr"
    fwd = find_def(tair / "adet/modeling/transformer_detector.py", "TransformerDetector.forward")
    assert [a.arg for a in fwd.args.args][:2] == ["self", "extracted_feats"]
    assert [a.arg for a in find_def(tair / "adet/modeling/testr/models.py", "TESTR.__init__").args.args] == ["self", "cfg"]
    (msg,) = TESTRSpotter(repo=str(tair), weights="w.pth", device="cuda").preflight()
    assert "TAIR's copy" in msg and spotter_mod.REPO_URL in msg and "'repo'" in msg


def test_testr_decode_and_polygon_are_tair_evaluator_s(upstream):
    """Text and polygon as the evaluator TAIR ships turns TESTR's outputs into them
    (testr/adet/evaluation/text_evaluation.py: decode, pnt_to_polygon)."""
    _check_decode_and_polygon(upstream("TAIR") / "testr/adet/evaluation/text_evaluation.py")


def test_testr_tair_config_is_a_16_point_polygon_model(upstream):
    """TAIR's own TESTR config (the _BASE_ chain of TESTR_R_50_Polygon.yaml) is a polygon
    model with 16 points and threshold 0.45, the kind this spotter reads."""
    chain = spotter_mod.yaml_chain(upstream("TAIR") / "testr/configs/TESTR/TESTR_R_50_Polygon.yaml")
    assert len(chain) == 3 and all(p.is_file() for p in chain)
    t = spotter_mod.merged_yaml(chain)["MODEL"]["TRANSFORMER"]
    assert (t["USE_POLYGON"], t["NUM_CTRL_POINTS"], t["INFERENCE_TH_TEST"]) == (True, spotter_mod.NUM_POINTS, 0.45)


# -- TESTR ---------------------------------------------------------------------------------------
def test_testr_decode_and_polygon_are_testr_evaluator_s(upstream):
    _check_decode_and_polygon(upstream("TESTR") / "adet/evaluation/text_evaluation.py")


def test_testr_runner_makes_the_demo_s_calls(upstream):
    """The runner imports what TESTR's demo imports, from the same modules, and reads the
    image as the demo does (demo/demo.py:10, :14, :85; demo/predictor.py:12)."""
    testr = upstream("TESTR")
    ours = _imports(RUNNER_FILE)
    demo = _imports(testr / "demo/demo.py") | _imports(testr / "demo/predictor.py")
    needed = {("adet.config", "get_cfg"), ("detectron2.engine.defaults", "DefaultPredictor"),
              ("detectron2.data.detection_utils", "read_image")}
    assert needed <= ours and needed <= demo
    ours_read = [c for c in calls(RUNNER_FILE, "main") if call_name(c) == "read_image"]
    demo_read = [c for c in calls(testr / "demo/demo.py") if call_name(c) == "read_image"]
    assert [ast.unparse(k) for k in ours_read[0].keywords] == [ast.unparse(k) for k in demo_read[0].keywords]
    assert "cfg.merge_from_file" in {call_name(c) for c in calls(RUNNER_FILE, "setup_cfg")}
    assert "cfg.merge_from_file" in {call_name(c) for c in calls(testr / "demo/demo.py", "setup_cfg")}
    assert set(spotter_mod.RUNNER_IMPORTS) >= {m for m, _ in needed}


def test_testr_config_keys_exist_in_real_code(upstream):
    """Every key the runner sets or reports exists: in adet/config/defaults.py, in the real
    YAML (MODEL.WEIGHTS, INPUT.*), or is read by the real detector (MODEL.DEVICE)."""
    testr = upstream("TESTR")
    chains = {ast.unparse(n) for n in ast.walk(find_def(RUNNER_FILE, "settings")) if isinstance(n, ast.Attribute)}
    chains = {c for c in chains if not any(o.startswith(c + ".") for o in chains)}  # the longest chains only
    read = {c.replace("t.", "MODEL.TRANSFORMER.", 1) if c.startswith("t.") else c.removeprefix("cfg.") for c in chains}
    assert {"MODEL.TRANSFORMER.USE_POLYGON", "MODEL.BATEXT.VOC_SIZE", "INPUT.MIN_SIZE_TEST"} <= read
    setup = find_def(RUNNER_FILE, "setup_cfg")
    written = {ast.unparse(t).removeprefix("cfg.") for n in ast.walk(setup) if isinstance(n, ast.Assign)
               for t in n.targets if isinstance(t, ast.Attribute)}
    assert written == {"MODEL.WEIGHTS", "MODEL.DEVICE", "MODEL.TRANSFORMER.INFERENCE_TH_TEST"}
    defaults = _defaults(testr / "adet/config/defaults.py")
    chain = spotter_mod.yaml_chain(testr / spotter_mod.DEFAULT_CONFIG)
    merged = spotter_mod.merged_yaml(chain)
    in_yaml = {f"{a}.{b}" for a, sub in merged.items() if isinstance(sub, dict) for b in sub}
    detector = find_def(testr / "adet/modeling/transformer_detector.py", "TransformerDetector.__init__")
    used = {ast.unparse(n).removeprefix("cfg.") for n in ast.walk(detector) if isinstance(n, ast.Attribute)
            and ast.unparse(n).startswith("cfg.")}
    for key in written | read:
        assert key in defaults or key in in_yaml or key in used, key


def test_testr_output_fields_are_what_inference_sets(upstream):
    """The runner returns ``predictions["instances"]``'s polygons, recs and scores -- the
    fields TransformerDetector.inference sets (transformer_detector.py:236-246) in a polygon
    model, under the key forward returns (:202)."""
    det = upstream("TESTR") / "adet/modeling/transformer_detector.py"
    inference = find_def(det, "TransformerDetector.inference")
    set_fields = {t.attr for n in ast.walk(inference) if isinstance(n, ast.Assign) for t in n.targets
                  if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "result"}
    fn = find_def(RUNNER_FILE, "instances_to_json")
    read = {n.attr for n in ast.walk(fn) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id == "inst"}
    assert read == {"polygons", "recs", "scores"} <= set_fields
    forward = find_def(det, "TransformerDetector.forward")
    keys = {k.value for n in ast.walk(forward) if isinstance(n, ast.Dict) for k in n.keys if isinstance(k, ast.Constant)}
    assert "instances" in keys
    assert "predictions['instances']" in ast.unparse(find_def(RUNNER_FILE, "main"))


def test_testr_default_config_is_a_16_point_polygon_model(upstream):
    """The default config (Total-Text polygon, the model TAIR's README links) gives 16 points."""
    chain = spotter_mod.yaml_chain(upstream("TESTR") / spotter_mod.DEFAULT_CONFIG)
    assert all(p.is_file() for p in chain) and len(chain) == 3
    t = spotter_mod.merged_yaml(chain)["MODEL"]["TRANSFORMER"]
    assert t["USE_POLYGON"] is True and t["NUM_CTRL_POINTS"] == spotter_mod.NUM_POINTS


def test_testr_preflight_files_are_the_files_the_runner_opens(upstream, tmp_path):
    """Preflight checks the config chain merge_from_file opens and the weights DefaultPredictor
    loads -- and nothing else; the YAML's own MODEL.WEIGHTS is replaced, never opened."""
    testr = upstream("TESTR")
    weights = tmp_path / "totaltext_testr_R_50_polygon.pth"
    s = TESTRSpotter(repo=str(testr), weights=str(weights), device="cuda")
    files = {p.resolve() for p, _ in s.opened_files().values()}
    chain = {p.resolve() for p in spotter_mod.yaml_chain(testr / spotter_mod.DEFAULT_CONFIG)}
    assert files == chain | {weights.resolve()}
    yaml_weights = spotter_mod.merged_yaml(spotter_mod.yaml_chain(testr / spotter_mod.DEFAULT_CONFIG))["MODEL"]["WEIGHTS"]
    assert str(weights.resolve()) in s.command() and yaml_weights not in " ".join(s.command())
    problems = [p for p in s.preflight() if " python " not in p]
    assert len(problems) == 1 and str(weights) in problems[0] and "'weights'" in problems[0]
    weights.write_bytes(b"stand-in")
    assert [p for p in s.preflight() if " python " not in p] == []
    assert "not set" in TESTRSpotter(repo=str(testr), device="cuda").preflight()[0]


def test_testr_is_gpu_only(upstream):
    """The MSDeformAttn op raises on CPU tensors (ms_deform_attn.h:38), so preflight on a
    CPU device names the file and the fix."""
    testr = upstream("TESTR")
    header = (testr / "adet/layers/csrc/DeformAttn/ms_deform_attn.h").read_text().splitlines()
    assert "Not implemented on the CPU" in header[37]
    assert "_C.ms_deform_attn_forward" in ast.unparse(_tree(testr / "adet/layers/ms_deform_attn.py"))
    msgs = TESTRSpotter(repo=str(testr), weights="w.pth", device="cpu").preflight()
    assert any("device 'cpu'" in m and "ms_deform_attn.h:38" in m for m in msgs)


# -- end to end: our runner, TESTR's real config code, stand-in detectron2 --------------------------
_CFGNODE = '''
import copy, os, yaml

class CfgNode(dict):
    """Stand-in for detectron2's CfgNode: attribute access, _BASE_ chains relative to the file."""
    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None
    def __setattr__(self, k, v):
        self[k] = v
    def clone(self):
        return copy.deepcopy(self)
    def freeze(self):
        pass
    def merge_from_file(self, path):
        with open(path) as f:
            data = yaml.safe_load(f)
        base = data.pop("_BASE_", None)
        if base:
            self.merge_from_file(os.path.join(os.path.dirname(path), base))
        _merge(self, data)

def _merge(node, data):
    for k, v in data.items():
        if isinstance(v, dict):
            node.setdefault(k, CfgNode())
            _merge(node[k], v)
        else:
            node[k] = v
'''

_DEFAULTS = '''
from . import CfgNode as CN
_C = CN(MODEL=CN(BACKBONE=CN(), RESNETS=CN(), WEIGHTS="", DEVICE="cuda"), INPUT=CN(CROP=CN()),
        SOLVER=CN(), TEST=CN(), DATASETS=CN())
'''

_PREDICTOR = '''
import json, os
import torch

class _Instances:
    def __init__(self, d):
        self.polygons, self.recs, self.scores = (torch.tensor(d[k]) for k in ("polygons", "recs", "scores"))
    def to(self, device):
        return self

class DefaultPredictor:
    """Stand-in: opens cfg.MODEL.WEIGHTS as DetectionCheckpointer does, returns canned outputs."""
    def __init__(self, cfg):
        open(cfg.MODEL.WEIGHTS, "rb").close()
        with open(os.environ["TESTR_STANDIN_OUTPUT"]) as f:
            self.canned = json.load(f)
    def __call__(self, image):
        assert image.ndim == 3 and image.shape[2] == 3
        return {"instances": _Instances(self.canned)}
'''

_READ = '''
import numpy as np
from PIL import Image

def read_image(path, format=None):
    rgb = np.asarray(Image.open(path).convert("RGB"))
    return rgb[:, :, ::-1] if format == "BGR" else rgb
'''


@pytest.fixture
def standin_testr(upstream, tmp_path, monkeypatch):
    """A checkout whose ``adet`` is TESTR's real package folder (config code and YAMLs) and a
    stand-in detectron2 on PYTHONPATH; returns (checkout, weights, canned-output file)."""
    testr = upstream("TESTR")
    site = tmp_path / "site"
    files = {"detectron2/__init__.py": "", "detectron2/config/__init__.py": _CFGNODE,
             "detectron2/config/defaults.py": _DEFAULTS, "detectron2/engine/__init__.py": "",
             "detectron2/engine/defaults.py": _PREDICTOR, "detectron2/data/__init__.py": "",
             "detectron2/data/detection_utils.py": _READ}
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(textwrap.dedent(text))
    checkout = tmp_path / "TESTR"
    (checkout / "adet").mkdir(parents=True)
    # the package __init__ imports the models (compiled ops); the shim keeps TESTR's real subpackages
    (checkout / "adet/__init__.py").write_text(f"__path__.append({str(testr / 'adet')!r})\n")
    (checkout / "configs").symlink_to(testr / "configs")
    weights = tmp_path / "testr.pth"
    weights.write_bytes(b"stand-in")
    canned = tmp_path / "outputs.json"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("TESTR_STANDIN_OUTPUT", str(canned))
    return checkout, weights, canned


def _word(text: str) -> list[int]:
    return [spotter_mod.CTLABELS.index(c) if c != spotter_mod.NULL_CHAR else 95 for c in text] + [96] * (25 - len(text))


def test_testr_spots_in_query_order_as_predictions_records(standin_testr, tmp_path):
    """Through the real runner and TESTR's real get_cfg: the ready line reports the merged
    config (16-point polygon model), and each image's queries come back in query order as
    the very records the ``predictions`` spotter reads, minus those below min_score."""
    checkout, weights, canned = standin_testr
    polys = [[float(v) for v in np.arange(32) + 100 * k] for k in range(3)]
    canned.write_text(json.dumps({"polygons": polys, "recs": [_word("Main"), _word("x"), _word("S\u53e3T")],
                                  "scores": [0.875, 0.25, 0.625]}))
    s = TESTRSpotter(min_score=0.5, repo=str(checkout), weights=str(weights), python=sys.executable)
    try:
        image = np.zeros((40, 60, 3), dtype=np.uint8)
        dets = s.spot(image, "img1")
        assert s.ready["use_polygon"] is True and s.ready["num_ctrl_points"] == 16
        assert s.ready["inference_th"] == 0.45 and s.ready["weights"] == str(weights.resolve())
        again = s.spot(image, "img2")
    finally:
        s.close()
    entries = spotter_mod.reply_to_entries(json.loads(canned.read_text()))
    doc = tmp_path / "preds.json"
    doc.write_text(json.dumps({"format": FORMAT, "images": {"img1": entries}}))
    assert dets == again == PredictionsSpotter(min_score=0.5, path=str(doc)).spot(image_id="img1")
    assert [d.text for d in dets] == ["Main", "S\u53e3T"] and all(len(d.polygon) == 16 for d in dets)


def test_testr_runner_failure_is_one_error_with_its_stderr(standin_testr):
    """Weights that cannot be opened: the runner dies while loading; the error names the
    command and shows the runner's own traceback line."""
    checkout, weights, canned = standin_testr
    canned.write_text(json.dumps({"polygons": [], "recs": [], "scores": []}))
    s = TESTRSpotter(repo=str(checkout), weights=str(weights.with_name("absent.pth")), python=sys.executable,
                     timeout_s=120)
    with pytest.raises(SpotterError, match="absent.pth"):
        s.spot(np.zeros((8, 8, 3), dtype=np.uint8), "img")
    assert s._proc is None


def test_testr_version_follows_weights_and_config(upstream, tmp_path):
    """New weights or another config change the version (cache key); the settings that
    change outputs are in config()."""
    testr = upstream("TESTR")
    w = tmp_path / "w.pth"
    w.write_bytes(b"a")
    v1 = TESTRSpotter(repo=str(testr), weights=str(w)).version()
    w.write_bytes(b"ab")
    assert TESTRSpotter(repo=str(testr), weights=str(w)).version() != v1
    other = TESTRSpotter(repo=str(testr), weights=str(w), config="configs/TESTR/CTW1500/TESTR_R_50_Polygon.yaml")
    assert other.version() != TESTRSpotter(repo=str(testr), weights=str(w)).version()
    cfg = TESTRSpotter(repo=str(testr), weights=str(w), inference_th=0.3).config()
    assert cfg["inference_th"] == 0.3 and cfg["weights"] == str(w) and cfg["config"] == spotter_mod.DEFAULT_CONFIG
    assert yaml.safe_load(yaml.safe_dump(cfg)) == cfg  # plain data, as results.json needs
