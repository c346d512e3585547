"""The ``testr`` spotter against the real TESTR code (upstream/TESTR) and TAIR's copy (upstream/TAIR/testr).

Real here: the sources read with ``ast`` (demo, predictor, detector, config defaults,
evaluator), the YAML configs and their ``_BASE_`` chains, the evaluator's own
``decode`` and ``pnt_to_polygon`` executed on our inputs, and -- for the end-to-end
tests -- TESTR's real ``adet.config`` (``get_cfg`` + its defaults) run by our runner
script in a subprocess, and TESTR's real ``TransformerDetector.inference`` and
``detector_postprocess`` (compiled alone from transformer_detector.py) turning canned
head outputs into the predictor's ``Instances``. Stand-ins: detectron2 (``CfgNode``,
``DefaultPredictor``, ``Instances``, ``read_image``) -- the predictor logs the config and
the images that reach it -- and the network (the canned head outputs).
"""

from __future__ import annotations

import ast
import json
import os
import random
import sys
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.errors import PreflightError, SpotterError
from bench.pipeline.runner import RunOptions, run_suite
from bench.spotters import testr as spotter_mod
from bench.spotters.predictions import FORMAT, PredictionsSpotter
from bench.spotters.runners import testr_run as runner
from bench.spotters.testr import TESTRSpotter
from bench.suite import load_suite
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


# -- end to end: our runner, TESTR's real config code and head post-processing, stand-in detectron2 --
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
import ast, json, os
from pathlib import Path

import numpy as np
import torch

LOG = Path(os.environ["TESTR_STANDIN_LOG"])
DETECTOR = os.environ["TESTR_REAL_DETECTOR"]  # TESTR's adet/modeling/transformer_detector.py


class Instances:
    """Stand-in for detectron2's Instances: an image size and fields as attributes."""
    def __init__(self, image_size):
        self.image_size = tuple(image_size)
    def has(self, name):
        return name in self.__dict__
    def to(self, device):
        return self


def real_functions():
    """TESTR's own TransformerDetector.inference and detector_postprocess, compiled alone from
    the real file (the module itself imports detectron2 and the compiled ops)."""
    tree = ast.parse(open(DETECTOR).read())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "TransformerDetector"]
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "detector_postprocess"]
    defs += [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "inference"]
    assert len(defs) == 2
    ns = {"torch": torch, "Instances": Instances}
    exec(compile(ast.Module(body=defs, type_ignores=[]), DETECTOR, "exec"), ns)
    return ns["inference"], ns["detector_postprocess"]


def resized_size(h, w, short, longest):
    """ResizeShortestEdge at test time: short side to ``short``, long side at most ``longest``."""
    scale = short / min(h, w)
    if max(h, w) * scale > longest:
        scale = longest / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def head_outputs(canned, num_classes):
    """Logits and normalised points the TESTR head would give for the canned queries."""
    s = torch.tensor(canned["scores"], dtype=torch.float64)
    n_points = len(canned["points"][0]) if canned["points"] else 16
    cls = torch.log(s / (1 - s)).float()[None, :, None, None].expand(1, len(s), n_points, 1)
    coord = torch.tensor(canned["points"], dtype=torch.float32).reshape(1, len(s), n_points, 2)
    recs = torch.tensor(canned["recs"], dtype=torch.long).reshape(len(s), 25)
    text = torch.nn.functional.one_hot(recs, num_classes).float()[None] * 20
    return cls, coord, text


class DefaultPredictor:
    """Stand-in: logs the config it gets and every image it is given, and runs TESTR's real
    inference + detector_postprocess on canned head outputs at the resized size."""
    def __init__(self, cfg):
        open(cfg.MODEL.WEIGHTS, "rb").close()
        t = cfg.MODEL.TRANSFORMER
        self.cfg, self.calls = cfg, 0
        self.model = type("Detector", (), {"test_score_threshold": t.INFERENCE_TH_TEST,
                                           "use_polygon": t.USE_POLYGON})()
        self.inference, self.postprocess = real_functions()
        seen = {"weights": cfg.MODEL.WEIGHTS, "device": cfg.MODEL.DEVICE, "inference_th": t.INFERENCE_TH_TEST,
                "min_size_test": cfg.INPUT.MIN_SIZE_TEST, "max_size_test": cfg.INPUT.MAX_SIZE_TEST,
                "format": cfg.INPUT.FORMAT}
        (LOG / "cfg.json").write_text(json.dumps(seen))
        with open(os.environ["TESTR_STANDIN_OUTPUT"]) as f:
            self.canned = json.load(f)

    def __call__(self, original_image):
        np.save(LOG / f"image{self.calls}.npy", original_image)
        h, w = original_image.shape[:2]
        size = resized_size(h, w, self.cfg.INPUT.MIN_SIZE_TEST, self.cfg.INPUT.MAX_SIZE_TEST)
        heads = head_outputs(self.canned, self.cfg.MODEL.TRANSFORMER.VOC_SIZE + 1)
        (result,) = self.inference(self.model, *heads, [size])
        result = self.postprocess(result, h, w)
        reply = {k: getattr(result, k).tolist() for k in ("polygons", "recs", "scores")}
        (LOG / f"reply{self.calls}.json").write_text(json.dumps({**reply, "resized": list(size)}))
        self.calls += 1
        return {"instances": result}
'''

_READ = '''
import numpy as np
from PIL import Image

def read_image(path, format=None):
    rgb = np.asarray(Image.open(path).convert("RGB"))
    return rgb[:, :, ::-1] if format == "BGR" else rgb
'''


@dataclass
class StandIn:
    """A TESTR checkout with TESTR's real ``adet`` and configs and a stand-in detectron2 on
    PYTHONPATH; ``canned``: the head outputs to give; ``log``: what reached the predictor."""
    checkout: Path
    weights: Path
    canned: Path
    log: Path

    def seen_config(self) -> dict:
        return json.loads((self.log / "cfg.json").read_text())

    def seen_image(self, n: int) -> np.ndarray:
        return np.load(self.log / f"image{n}.npy")

    def reply(self, n: int) -> dict:
        return json.loads((self.log / f"reply{n}.json").read_text())


@pytest.fixture
def standin_testr(upstream, tmp_path, monkeypatch) -> StandIn:
    """The stand-in checkout (see :class:`StandIn`); the predictor reads its environment."""
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
    log = tmp_path / "predictor-log"
    log.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("TESTR_STANDIN_OUTPUT", str(tmp_path / "outputs.json"))
    monkeypatch.setenv("TESTR_STANDIN_LOG", str(log))
    monkeypatch.setenv("TESTR_REAL_DETECTOR", str(testr / "adet/modeling/transformer_detector.py"))
    return StandIn(checkout, weights, tmp_path / "outputs.json", log)


def _word(text: str) -> list[int]:
    return [spotter_mod.CTLABELS.index(c) if c != spotter_mod.NULL_CHAR else 95 for c in text] + [96] * (25 - len(text))


def _queries(standin: StandIn, scores: list[float], words: list[str], seed: int = 0) -> np.ndarray:
    """Canned head outputs, one query per score; returns their normalised points (N, 16, 2)."""
    points = np.random.default_rng(seed).uniform(0.05, 0.95, (len(scores), spotter_mod.NUM_POINTS, 2))
    standin.canned.write_text(json.dumps({"points": points.tolist(), "scores": scores,
                                          "recs": [_word(w) for w in words]}))
    return points


def _base_testr_yaml(upstream) -> dict:
    return yaml.safe_load((upstream("TESTR") / "configs/TESTR/Base-TESTR.yaml").read_text())


def _testr_suite(tmp_path: Path, data: Path, sin: StandIn, min_score: str = "") -> Path:
    """A suite over the tiny set: bicubic, then the testr spotter on the stand-in checkout."""
    path = tmp_path / "testr_suite.yaml"
    path.write_text(textwrap.dedent(f"""
        version: 1
        name: testr-standin
        dataset: {{kind: satext-test, path: {data}}}
        degradation: {{kind: preset, preset: level2, seed: 5}}
        restorers:
          - {{adapter: bicubic}}
        spotter: {{name: testr, {min_score} python: {sys.executable},
                   args: {{repo: {sin.checkout}, weights: {sin.weights}}}}}
        metrics: {{image: [psnr]}}
        """))
    return path


def _run(suite: Path, tmp_path: Path, device: str):
    return run_suite(load_suite(suite), RunOptions(out_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                                                   device=device, quiet=True))


def test_testr_spots_in_query_order_as_predictions_records(standin_testr, upstream, tmp_path):
    """Through the real runner, TESTR's real get_cfg, inference and detector_postprocess: the
    predictor gets the merged config (weights, device, Base-TESTR.yaml:13 threshold, :29-30
    test sizes) and the image in BGR order; the detections come back in query order, in the
    input image's pixels (the model ran at 1216x1824), as the records the ``predictions``
    spotter reads -- all the model keeps (>= 0.45), with no cut of ours on top."""
    sin = standin_testr
    points = _queries(sin, [0.875, 0.25, 0.47, 0.625], ["Main", "x", "S\u53e3T", "ok"])
    s = TESTRSpotter(repo=str(sin.checkout), weights=str(sin.weights), python=sys.executable, device="cuda:1")
    rng = np.random.default_rng(1)
    image = (rng.integers(0, 60, (40, 60, 3)) + np.array([190, 100, 10])).astype(np.uint8)  # R > G > B
    try:
        dets = s.spot(image, "img1")
        again = s.spot(image, "img2")
    finally:
        s.close()
    base = _base_testr_yaml(upstream)
    assert sin.seen_config() == {
        "weights": str(sin.weights.resolve()), "device": "cuda:1",
        "inference_th": base["MODEL"]["TRANSFORMER"]["INFERENCE_TH_TEST"], "format": base["INPUT"]["FORMAT"],
        "min_size_test": base["INPUT"]["MIN_SIZE_TEST"], "max_size_test": base["INPUT"]["MAX_SIZE_TEST"]}
    assert np.array_equal(sin.seen_image(0), image[:, :, ::-1])  # BGR, what DefaultPredictor takes
    assert sin.reply(0)["resized"] == [1216, 1824]  # short side to 1600, long side capped at 1824
    assert [d.text for d in dets] == ["Main", "S\u53e3T", "ok"] and all(len(d.polygon) == 16 for d in dets)
    assert [d.score for d in dets] == pytest.approx([0.875, 0.47, 0.625], abs=1e-6)
    for det, pts in zip(dets, points[[0, 2, 3]]):
        assert np.allclose(np.asarray(det.polygon), pts * [60, 40], atol=1e-3)  # input pixels: W 60, H 40
    doc = tmp_path / "preds.json"
    doc.write_text(json.dumps({"format": FORMAT, "images": {"img1": spotter_mod.reply_to_entries(sin.reply(0))}}))
    assert dets == again == PredictionsSpotter(min_score=0.0, path=str(doc)).spot(image_id="img1")


def test_testr_is_gpu_only(standin_testr, upstream, tmp_path, tiny_set):
    """On a CPU device the spotter refuses with the cause and the fix -- in a suite run's
    preflight and when spot() is called directly -- before its runner starts. The message
    cites ms_deform_attn.h:38, where TESTR's op raises on CPU tensors (checked here)."""
    header = (upstream("TESTR") / "adet/layers/csrc/DeformAttn/ms_deform_attn.h").read_text().splitlines()
    assert "Not implemented on the CPU" in header[37]
    _queries(standin_testr, [0.9], ["a"])
    with pytest.raises(PreflightError) as err:
        _run(_testr_suite(tmp_path, tiny_set, standin_testr), tmp_path, "cpu")
    (msg,) = [m for m in err.value.problems if "device 'cpu'" in m]
    assert "ms_deform_attn.h:38" in msg and "--device cuda" in msg
    s = TESTRSpotter(repo=str(standin_testr.checkout), weights=str(standin_testr.weights), python=sys.executable)
    with pytest.raises(SpotterError, match=r"device 'cpu'.*ms_deform_attn\.h:38.*--device cuda"):
        s.spot(np.zeros((8, 8, 3), dtype=np.uint8), "img")
    assert s._proc is None and not (standin_testr.log / "cfg.json").exists()  # no predictor was built


# -- the cut: TESTR's threshold, recorded -------------------------------------------------------
def test_testr_cut_is_the_config_threshold(upstream, tmp_path):
    """By default no cut on top of INFERENCE_TH_TEST (0.45, Base-TESTR.yaml:13) -- also in a
    suite that sets no spotter.min_score, while other spotters keep 0.5 -- and config()
    records the cut in effect and what sets it."""
    testr = upstream("TESTR")
    th = _base_testr_yaml(upstream)["MODEL"]["TRANSFORMER"]["INFERENCE_TH_TEST"]
    s = TESTRSpotter(repo=str(testr), weights="w.pth", device="cuda")
    assert s.min_score == 0.0
    assert s.config()["score_cut"] == {"value": th, "rule": "score >= value",
                                       "set_by": "MODEL.TRANSFORMER.INFERENCE_TH_TEST in configs/TESTR/Base-TESTR.yaml"}
    ctw = TESTRSpotter(repo=str(testr), config="configs/TESTR/CTW1500/TESTR_R_50_Polygon.yaml").config()["score_cut"]
    assert ctw["value"] == 0.7 and ctw["set_by"].endswith("in configs/TESTR/CTW1500/Base-CTW1500-Polygon.yaml")
    cut = TESTRSpotter(repo=str(testr), inference_th=0.6, min_score=0.5).config()["score_cut"]
    assert cut == {"value": 0.6, "rule": "score >= value", "set_by": "spotter.args.inference_th"}
    text = ("version: 1\nname: s\ndataset: {kind: satext-test, path: d}\ndegradation: {kind: preset, preset: level2}\n"
            "restorers: [{adapter: bicubic}]\nspotter: {name: %s}\n")
    for name, expected in (("testr", 0.0), ("rapidocr", 0.5)):
        (tmp_path / f"{name}.yaml").write_text(text % name)
        assert load_suite(tmp_path / f"{name}.yaml").spotter.min_score == expected


def test_testr_refuses_min_score_above_its_threshold(standin_testr):
    """A min_score above the model's threshold is refused, naming the suite field and the fix
    (inference_th), in preflight and in spot(); at or below the threshold, or under a higher
    inference_th, it is accepted."""
    sin = standin_testr
    s = TESTRSpotter(min_score=0.5, repo=str(sin.checkout), weights=str(sin.weights), device="cuda",
                     python=sys.executable)
    (msg,) = [p for p in s.preflight() if "spotter.min_score" in p]
    assert "spotter.min_score 0.5" in msg and "INFERENCE_TH_TEST 0.45" in msg and "spotter.args.inference_th" in msg
    with pytest.raises(SpotterError, match=r"spotter\.min_score 0\.5 is above"):
        s.spot(np.zeros((8, 8, 3), dtype=np.uint8), "img")
    assert not (sin.log / "cfg.json").exists()
    for ok in (TESTRSpotter(min_score=0.45, repo=str(sin.checkout), device="cuda"),
               TESTRSpotter(min_score=0.5, inference_th=0.6, repo=str(sin.checkout), device="cuda")):
        assert not [p for p in ok.preflight() if "spotter.min_score" in p]


def test_testr_recorded_cut_is_the_runner_s(standin_testr, monkeypatch):
    """score_cut is read from the YAML files; should TESTR's own get_cfg end up with another
    threshold (here: the read stood in to say 0.3), spot() refuses instead of recording a wrong cut."""
    _queries(standin_testr, [0.9], ["a"])
    monkeypatch.setattr(TESTRSpotter, "threshold", lambda self: (0.3, "stand-in"))
    s = TESTRSpotter(repo=str(standin_testr.checkout), weights=str(standin_testr.weights), python=sys.executable,
                     device="cuda")
    with pytest.raises(SpotterError, match=r"INFERENCE_TH_TEST is 0\.45, not 0\.3"):
        s.spot(np.zeros((8, 8, 3), dtype=np.uint8), "img")
    assert s._proc is None


def test_testr_suite_run_records_its_cut(standin_testr, tmp_path, tiny_set, monkeypatch):
    """A whole suite run with the testr spotter (stand-in predictor, device cuda): results.json
    records the cut used -- spotter.config.score_cut.value 0.45, from the config, with
    spotter.min_score 0 -- and the 0.47 query TESTR keeps is read, the 0.3 one is not."""
    monkeypatch.setattr(TESTRSpotter, "_env_problems", lambda self: [])  # the CUDA environment, stood in
    _queries(standin_testr, [0.875, 0.47, 0.3], ["Main", "ok", "no"])
    _, path = _run(_testr_suite(tmp_path, tiny_set, standin_testr), tmp_path, "cuda")
    recorded = json.loads(path.read_text())["spotter"]
    assert recorded["min_score"] == 0.0 and recorded["config"]["min_score"] == 0.0
    assert recorded["config"]["score_cut"] == {
        "value": 0.45, "rule": "score >= value",
        "set_by": "MODEL.TRANSFORMER.INFERENCE_TH_TEST in configs/TESTR/Base-TESTR.yaml"}
    details = [json.loads(line) for line in (path.parent / "text_details.jsonl").read_text().splitlines()]
    assert details and {d["n_det_input"] for d in details} == {2}  # Main and ok (0.47) of every image


def test_testr_runner_failure_is_one_error_with_its_stderr(standin_testr):
    """Weights that cannot be opened: the runner dies while loading; the error names the
    command and shows the runner's own traceback line."""
    _queries(standin_testr, [], [])
    s = TESTRSpotter(repo=str(standin_testr.checkout), weights=str(standin_testr.weights.with_name("absent.pth")),
                     python=sys.executable, device="cuda", timeout_s=120)
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
