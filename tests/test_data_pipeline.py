"""Data loaders inside the whole pipeline: bad records are listed in results.json and the
others scored; a suite without its data stops in preflight with the fix, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from bench.pipeline.runner import RunOptions, run_suite
from bench.suite import load_suite

from .test_data_json import GOOD_IDS, _with_instance, entry, picture, satext_full, save, write_json

REPO = Path(__file__).resolve().parent.parent


def suite_file(tmp_path: Path, dataset: str, degradation: str, metrics: str = "[psnr]") -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(textwrap.dedent(f"""
        version: 1
        name: data-pipeline
        dataset: {dataset}
        degradation: {degradation}
        restorers: [{{adapter: bicubic}}]
        spotter: {{name: blob, min_score: 0.5}}
        metrics: {{image: {metrics}}}
    """))
    return p


def run(suite: Path, tmp_path: Path) -> dict:
    opts = RunOptions(out_dir=tmp_path / "out", cache_dir=tmp_path / "cache", quiet=True)
    _doc, path = run_suite(load_suite(suite), opts)
    return json.loads(path.read_text())  # what a user reads back, not the in-memory copy


def test_bad_records_are_listed_in_results_and_the_others_scored(tmp_path, blob_spotter):
    """SA-Text full with three good and three odd records. A self-intersecting polygon and
    an empty transcription are readable (the official evaluator reads the first as a
    polygon it refuses, the second as ""), so their images are kept; only the record
    whose image is missing cannot be read: results.json lists it with id and reason, and
    the five other images are degraded, restored, spotted and scored."""
    bad = [("bowtie", _with_instance(polygon=[[10, 10], [50, 30], [50, 10], [10, 20]])),
           ("notext", _with_instance(text="")), ("noimage", entry())]
    root = satext_full(tmp_path / "sa_text", bad, size=128)
    for rid in ("bowtie", "notext"):
        save(picture((128, 128)), root / "images" / f"{rid}.jpg")
    doc = run(suite_file(tmp_path, f"{{kind: satext-full, path: {root}}}",
                         "{kind: preset, preset: level2, seed: 1}"), tmp_path)
    [skipped] = doc["data"]["skipped_records"]
    assert "record 'noimage'" in skipped and "image file missing" in skipped
    assert doc["data"]["n_images"] == len(GOOD_IDS) + 2
    assert doc["data"]["gt_checks"]["dont_care"]["self_intersecting"] == 1
    assert doc["results"]["bicubic"]["psnr"] is not None and doc["data"]["tair_filter"]["enabled"] is False


def test_realir_run_has_no_reference_rows_or_full_reference_scores(tmp_path, blob_spotter):
    """No HQ: no HQ row, PSNR is not applicable (no value), text F1 only where annotated.
    im0's polygon (64x64 coordinates on a 32x32 LQ) lies partly outside its image: the
    official evaluator evaluates such GT as it is, so the image is kept and counted."""
    for i in range(2):
        save(picture((32, 32), i), tmp_path / "lq" / f"im{i}.png")
    write_json(tmp_path / "lq" / "ann.json", [("im0", entry())])
    doc = run(suite_file(tmp_path, f"{{kind: realir, path: {tmp_path / 'lq'}, options: {{annotations: ann.json}}}}",
                         "{kind: provided}"), tmp_path)
    assert "HQ" not in doc["rows"] and doc["data"]["n_images"] == 2 and doc["data"]["skipped_records"] == []
    assert doc["results"]["bicubic"].get("psnr") is None
    assert doc["results"]["bicubic"]["n_images"] == 1  # text evaluated on the annotated image only
    assert doc["data"]["gt_checks"]["kept"]["outside_partly"] == 1


def test_suite_without_data_stops_in_preflight(tmp_path):
    """`bench run suites/satext_level2.yaml` with no data, offline: non-zero exit, the list
    of problems with the fetch command, no traceback, and no network use."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TAIR_BENCH_DATA": str(tmp_path / "no_data"), "HF_HOME": str(tmp_path / "hf"),
           "TAIR_BENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "bench", "run", "suites/satext_level2.yaml", "--out",
                           str(tmp_path / "out")], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "preflight" in proc.stderr and "python -m bench data fetch satext-test" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "out" / "results.json").exists()
