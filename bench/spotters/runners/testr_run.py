"""Serve TESTR (github.com/mlpc-ucsd/TESTR) predictions over stdin/stdout, one image at a time.

Runs in TESTR's own environment (its README: detectron2, ``python setup.py build
develop`` for the compiled ``adet._C``), with cwd = the TESTR checkout. It makes the
calls of TESTR's demo (upstream/TESTR at f369f13):

* config: ``adet.config.get_cfg()`` + ``merge_from_file`` (demo/demo.py:14, :22-23), then
  ``MODEL.WEIGHTS`` and ``MODEL.DEVICE`` set to the user's weights and device (what
  README's demo line passes with ``--opts MODEL.WEIGHTS ...``; the YAML's own
  ``MODEL.WEIGHTS`` is a path or URL that is never opened) and, when given,
  ``MODEL.TRANSFORMER.INFERENCE_TH_TEST`` (adet/config/defaults.py:343);
* model: detectron2's ``DefaultPredictor(cfg)`` (demo/predictor.py:12, :41), which loads
  ``cfg.MODEL.WEIGHTS``, resizes by ``INPUT.MIN/MAX_SIZE_TEST`` and maps the result back
  to the input's size (adet/modeling/transformer_detector.py:198-203);
* image: ``detectron2.data.detection_utils.read_image(path, format="BGR")`` (demo/demo.py:85).

Protocol. After loading it prints one line ``{"ready": {...}}`` (the settings it
runs with); then for every line ``{"image": "<png path>"}`` on stdin it prints one
line ``{"polygons": [[x1, y1, ..., x16, y16], ...], "recs": [[...25 ints], ...],
"scores": [...]}`` -- the fields ``TransformerDetector.inference`` sets
(transformer_detector.py:236-246), in query order -- or ``{"error": "..."}``.
Decoding the ``recs`` into text is done by the harness (``bench/spotters/testr.py``).
Everything else the libraries print goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, help="TESTR config YAML (a *_Polygon.yaml)")
    ap.add_argument("--weights", required=True, help="TESTR checkpoint (.pth)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--inference-th", dest="inference_th", type=float, default=None,
                    help="MODEL.TRANSFORMER.INFERENCE_TH_TEST (default: the config's)")
    return ap


def setup_cfg(args: argparse.Namespace):
    """demo/demo.py's ``setup_cfg`` with the weights, device and threshold set."""
    from adet.config import get_cfg

    cfg = get_cfg()
    cfg.merge_from_file(args.config)
    cfg.MODEL.WEIGHTS = args.weights
    cfg.MODEL.DEVICE = args.device
    if args.inference_th is not None:
        cfg.MODEL.TRANSFORMER.INFERENCE_TH_TEST = args.inference_th
    cfg.freeze()
    return cfg


def settings(cfg) -> dict:
    """What the ``ready`` line reports (the harness checks and records it)."""
    t = cfg.MODEL.TRANSFORMER
    return {"use_polygon": bool(t.USE_POLYGON), "num_ctrl_points": int(t.NUM_CTRL_POINTS),
            "voc_size": int(t.VOC_SIZE), "decode_voc_size": int(cfg.MODEL.BATEXT.VOC_SIZE),
            "custom_dict": str(cfg.MODEL.BATEXT.CUSTOM_DICT),
            "inference_th": float(t.INFERENCE_TH_TEST), "input_format": str(cfg.INPUT.FORMAT),
            "min_size_test": int(cfg.INPUT.MIN_SIZE_TEST), "max_size_test": int(cfg.INPUT.MAX_SIZE_TEST),
            "weights": str(cfg.MODEL.WEIGHTS), "device": str(cfg.MODEL.DEVICE)}


def instances_to_json(instances) -> dict:
    """The fields of one image's ``Instances``, in query order."""
    inst = instances.to("cpu")
    return {"polygons": inst.polygons.tolist(), "recs": inst.recs.tolist(), "scores": inst.scores.tolist()}


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    out, sys.stdout = sys.stdout, sys.stderr  # the protocol owns stdout
    sys.path.insert(0, os.getcwd())  # the checkout's adet (built in place by `setup.py build develop`)
    from detectron2.data.detection_utils import read_image
    from detectron2.engine.defaults import DefaultPredictor

    cfg = setup_cfg(args)
    info = settings(cfg)
    if not info["use_polygon"]:
        out.write(json.dumps({"error": f"{args.config}: MODEL.TRANSFORMER.USE_POLYGON is false (a Bezier model) -- "
                                       f"use a *_Polygon.yaml config and its weights"}) + "\n")
        return 2
    predictor = DefaultPredictor(cfg)
    out.write(json.dumps({"ready": info}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            path = json.loads(line)["image"]
            predictions = predictor(read_image(path, format="BGR"))
            reply = instances_to_json(predictions["instances"])
        except Exception as exc:  # one bad image must not kill the server; the harness raises
            reply = {"error": "".join(traceback.format_exception_only(type(exc), exc)).strip()}
        out.write(json.dumps(reply) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
