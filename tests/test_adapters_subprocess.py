"""The subprocess / in-process driver against a tiny fake "official repository".

The fake repository (written into tmp_path by the fixture) has a script that
reads every PNG of the inputs folder, inverts it, writes ``<stem>.png`` to the
outputs folder and records the prompts and arguments it received, plus the same
as an importable function for the in-process entry. Inverting (not copying)
proves the output really came from the script.
"""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest

from bench.errors import AdapterError
from tair_bench_adapters.subprocess_driver import SubprocessRestorer, safe_id, tail

FAKE = textwrap.dedent('''
    import argparse, json, sys
    from pathlib import Path
    import numpy as np
    from PIL import Image

    def run(inputs, outputs, prompts, settings, skip=(), record="received.json"):
        Path(record).write_text(json.dumps({"prompts": prompts, "settings": settings}))
        for p in sorted(Path(inputs).glob("*.png")):
            if p.stem in skip:
                continue
            arr = 255 - np.asarray(Image.open(p).convert("RGB"))
            Image.fromarray(arr.astype("uint8")).save(Path(outputs) / p.name)

    if __name__ == "__main__":
        ap = argparse.ArgumentParser()
        for a in ("inputs", "outputs", "prompts", "steps", "seed", "prompt", "skip"):
            ap.add_argument("--" + a, default="")
        ap.add_argument("--fail", action="store_true")
        a = ap.parse_args()
        if a.fail:
            print("loading model...", file=sys.stderr)
            print("RuntimeError: CUDA out of memory (fake)", file=sys.stderr)
            sys.exit(3)
        prompts = json.loads(Path(a.prompts).read_text())
        record = "received_%s.json" % (a.prompt or "noprompt").replace(" ", "_")
        run(a.inputs, a.outputs, prompts, {"steps": a.steps, "seed": a.seed, "prompt": a.prompt},
            skip=a.skip.split(",") if a.skip else (), record=record)
''')


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "fake_repo"
    r.mkdir()
    (r / "fake_restore.py").write_text(FAKE)
    (r / "weights").mkdir()
    (r / "weights" / "model.ckpt").write_bytes(b"w" * 10)
    return r


def _images(n=3):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (8 + i, 10, 3), dtype=np.uint8) for i in range(n)]


def _cmd(*extra):
    return ["{python}", "fake_restore.py", "--inputs", "{inputs}", "--outputs", "{outputs}",
            "--prompts", "{prompts}", "--steps", "{steps}", "--seed", "{seed}", *extra]


def test_outputs_round_trip_and_prompts_arrive(repo):
    """Each output is the script's inversion of the matching input (so order and
    ids are kept), and prompts.json reaches the script keyed by image id."""
    r = SubprocessRestorer(repo=str(repo), command=_cmd(), steps=7, seed=5)
    imgs = _images()
    outs = r.restore_batch(imgs, ["read OPEN", None, "CAFE"], ids=["a", "b", "c"])
    for img, out in zip(imgs, outs):
        assert np.array_equal(out, 255 - img)
    got = json.loads((repo / "received_noprompt.json").read_text())
    assert got["prompts"] == {"a": "read OPEN", "b": None, "c": "CAFE"}
    assert got["settings"]["steps"] == "7" and got["settings"]["seed"] == "5"


def test_per_prompt_mode_runs_once_per_distinct_prompt(repo):
    """Scripts that take one prompt argument are run once per distinct prompt,
    each run seeing only its own images; outputs come back in input order."""
    r = SubprocessRestorer(repo=str(repo), command=_cmd("--prompt", "{prompt}"), prompt_mode="per_prompt")
    imgs = _images(3)
    outs = r.restore_batch(imgs, ["x y", None, "x y"], ids=["a", "b", "c"])
    assert all(np.array_equal(o, 255 - i) for o, i in zip(outs, imgs))
    assert set(json.loads((repo / "received_x_y.json").read_text())["prompts"]) == {"a", "c"}
    assert set(json.loads((repo / "received_noprompt.json").read_text())["prompts"]) == {"b"}


def test_per_image_mode_runs_once_per_image(repo):
    """Scripts that seed once per process are run once per image (SeeSR's test_seesr.py),
    each with that image's prompt, so no output depends on the images beside it."""
    r = SubprocessRestorer(repo=str(repo), command=_cmd("--prompt", "{prompt}"), prompt_mode="per_image")
    imgs = _images(3)
    outs = r.restore_batch(imgs, ["x y", None, "x y"], ids=["a", "b", "c"])
    assert all(np.array_equal(o, 255 - i) for o, i in zip(outs, imgs))
    # a and c share the prompt but ran apart: the last run saw c alone (per_prompt: a and c)
    assert set(json.loads((repo / "received_x_y.json").read_text())["prompts"]) == {"c"}
    assert set(json.loads((repo / "received_noprompt.json").read_text())["prompts"]) == {"b"}


def test_failing_script_gives_stderr_tail(repo):
    """A non-zero exit becomes an AdapterError with the status and stderr's last lines."""
    r = SubprocessRestorer(repo=str(repo), command=_cmd("--fail"))
    with pytest.raises(AdapterError) as err:
        r.restore_batch(_images(1))
    msg = str(err.value)
    assert "status 3" in msg and "CUDA out of memory (fake)" in msg and "loading model" in msg


def test_missing_output_ids_are_listed(repo):
    """Every id without an output is named in one error."""
    r = SubprocessRestorer(repo=str(repo), command=_cmd("--skip", "b,c"))
    with pytest.raises(AdapterError) as err:
        r.restore_batch(_images(3), ids=["a", "b", "c"])
    msg = str(err.value)
    assert "2 of 3 outputs missing" in msg and "b, c" in msg


def test_in_process_entry(repo):
    """The entry is imported with the repo on sys.path and cwd = repo; the
    settings and prompts reach it and sys.path is restored afterwards."""
    path_before = list(sys.path)
    r = SubprocessRestorer(repo=str(repo), entry="fake_restore:run", steps=3, seed=9)
    imgs = _images(2)
    outs = r.restore_batch(imgs, ["hello", None], ids=["p", "q"])
    assert all(np.array_equal(o, 255 - i) for o, i in zip(outs, imgs))
    got = json.loads((repo / "received.json").read_text())
    assert got["prompts"] == {"p": "hello", "q": None}
    assert got["settings"]["steps"] == 3 and got["settings"]["seed"] == 9
    assert sys.path == path_before
    sys.modules.pop("fake_restore", None)


def test_preflight_and_version(repo, tmp_path):
    """Missing repo and missing required files are each reported with the fix;
    the version changes when a required file changes."""
    missing = SubprocessRestorer(repo=str(tmp_path / "nope"), command=_cmd())
    assert len(missing.preflight()) == 1 and "repository not found" in missing.preflight()[0]
    r = SubprocessRestorer(repo=str(repo), command=_cmd(),
                           required=[("weights/model.ckpt", "get it"), ("weights/other.pt", "download other.pt")])
    problems = r.preflight()
    assert len(problems) == 1 and "other.pt" in problems[0] and "download other.pt" in problems[0]
    v1 = r.version()
    (repo / "weights" / "model.ckpt").write_bytes(b"w" * 11)
    assert r.version() != v1


def test_helpers():
    """Ids become file-name safe; stderr tails keep the last n lines."""
    assert safe_id("a/b c") == "a_b_c"
    assert tail("\n".join(str(i) for i in range(30)), 3) == "27\n28\n29"


def test_checkpoint_version_uses_the_weights_hash_by_default(tmp_path, monkeypatch):
    """Two checkouts whose checkpoints have the same name, size and mtime but other
    bytes give different versions (content hash, the default); ``weights_identity:
    stat`` cannot tell them apart."""
    import os

    from tair_bench_adapters.subprocess_driver import SubprocessRestorer

    monkeypatch.setenv("TAIR_BENCH_HASH_MEMO", str(tmp_path / "memo.json"))

    def version(identity, repo, content):
        ck = tmp_path / repo / "model.ckpt"
        ck.parent.mkdir(exist_ok=True)
        ck.write_bytes(content)
        os.utime(ck, ns=(1_000_000_000, 1_000_000_000))
        r = SubprocessRestorer(repo=str(ck.parent), command=["true"], required=[["model.ckpt", "the test file"]],
                               weights_identity=identity)
        return r.version().split("+env")[0]  # the environment part is the same interpreter

    assert version("sha256", "a", b"a" * 64) != version("sha256", "b", b"b" * 64)
    assert version("stat", "c", b"a" * 64) == version("stat", "d", b"b" * 64)


def test_upstream_processes_run_with_the_hub_offline(tmp_path):
    """The command sees HF_HUB_OFFLINE=1 and TRANSFORMERS_OFFLINE=1 even when the
    harness's own environment does not set them."""
    import json
    import sys

    import numpy as np

    from tair_bench_adapters.subprocess_driver import SubprocessRestorer

    script = tmp_path / "echo_env.py"
    script.write_text(
        "import json, os, sys, shutil, pathlib\n"
        "inp, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])\n"
        "for f in inp.glob('*.png'): shutil.copy(f, out / f.name)\n"
        "pathlib.Path(sys.argv[3]).write_text(json.dumps({k: os.environ.get(k) for k in "
        "('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')}))\n")
    seen = tmp_path / "env.json"
    r = SubprocessRestorer(repo=str(tmp_path), command=[sys.executable, str(script), "{inputs}", "{outputs}",
                                                        str(seen)], scale=1)
    r.restore_batch([np.zeros((4, 4, 3), np.uint8)], ids=["a"])
    env = json.loads(seen.read_text())
    assert env == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
