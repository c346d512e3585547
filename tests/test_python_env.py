"""``python:``: a restorer's command runs in its repository's own interpreter, probed first.

A real second interpreter is used throughout (the ``venv_python`` fixture of
conftest.py): a virtual environment made in a temporary folder with ``python -m venv
--without-pip`` (standard library only, so ``numpy``, importable in the harness, is
missing there), plus the harness's own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.errors import SuiteError
from bench.io import pyenv
from bench.io.pyenv import ProbeResult, ProbeSpec, probe_problems, requirement_pins, resolve_python, run_probe
from bench.suite import load_suite
from tair_bench_adapters.subprocess_driver import SubprocessRestorer

#: copies each input to the outputs (stdlib only) and writes the interpreter it ran in
COPY_SCRIPT = textwrap.dedent('''
    import shutil, sys
    from pathlib import Path
    inputs, outputs, record = sys.argv[1:4]
    Path(record).write_text(sys.executable + "\\n" + sys.prefix)
    for p in Path(inputs).glob("*.png"):
        shutil.copy(p, Path(outputs) / p.name)
''')


@pytest.fixture(autouse=True)
def _fresh_probes():
    pyenv.clear_cache()
    yield
    pyenv.clear_cache()


class NumpyDriver(SubprocessRestorer):
    """A driver whose code imports numpy (as every upstream repository's does)."""

    version_id = "tests.NumpyDriver"
    display_name = "numpy-driver"
    probe_imports = ("numpy",)
    env_setup = "python -m venv env && env/bin/pip install numpy"


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "copy.py").write_text(COPY_SCRIPT)
    return repo


def test_probe_runs_in_the_named_interpreter_and_reports_a_missing_import(venv_python):
    """The venv has no numpy: the probe says so, names that interpreter and gives the install line."""
    result = run_probe(ProbeSpec(python=venv_python, imports=("json", "numpy")))
    assert result.error is None
    assert Path(result.executable).parent == Path(venv_python).parent  # it ran there, not in the harness
    assert result.imports["json"]["ok"] and not result.imports["numpy"]["ok"]
    assert "ModuleNotFoundError" in result.imports["numpy"]["error"]
    (problem,) = probe_problems(result, "numpy-driver", "cpu")
    assert problem.startswith(f"numpy-driver: python {venv_python} cannot import numpy")
    assert f"-- {venv_python} -m pip install numpy" in problem


def test_the_same_imports_succeed_in_the_harness_interpreter():
    result = run_probe(ProbeSpec(python=sys.executable, imports=("numpy",), packages=("numpy",)))
    import numpy

    assert result.imports["numpy"] == {"ok": True, "version": numpy.__version__}
    assert result.packages["numpy"] == numpy.__version__
    assert probe_problems(result, "x", "cpu") == []


def test_a_missing_interpreter_is_one_problem_with_the_recipe(tmp_path):
    missing = str(tmp_path / "envs" / "nothing" / "bin" / "python")
    (problem,) = NumpyDriver(repo=str(_repo(tmp_path)), command=["{python}", "copy.py"], python=missing).preflight()
    assert missing in problem and "no such interpreter" in problem
    assert "python -m venv env && env/bin/pip install numpy" in problem and "set `python:`" in problem


def test_preflight_lists_repository_and_environment_problems_together(tmp_path, venv_python):
    """No checkout *and* a bad environment: both are in the one list."""
    problems = NumpyDriver(repo=str(tmp_path / "absent"), command=["{python}", "copy.py"],
                           python=venv_python).preflight()
    assert len(problems) == 2
    assert "repository not found" in problems[0] and "cannot import numpy" in problems[1]


def test_repository_pins_are_offered_as_the_fix(tmp_path, venv_python):
    repo = _repo(tmp_path)
    (repo / "requirements.txt").write_text("numpy==1.24.2  # pinned\ntorch>=2.1\n--extra-index-url x\n")
    assert requirement_pins(repo) == {"numpy": "1.24.2"}
    (problem,) = NumpyDriver(repo=str(repo), command=["{python}", "copy.py"], python=venv_python).preflight()
    assert f"{venv_python} -m pip install -r {repo / 'requirements.txt'}" in problem


def test_conda_environment_file_pins_are_read(tmp_path):
    (tmp_path / "environment.yaml").write_text(textwrap.dedent("""
        dependencies:
          - python=3.8.5
          - pip:
            - omegaconf==2.1.1
            - 'torchmetrics<0.8'
            - pytorch-lightning==1.4.2
    """))
    assert requirement_pins(tmp_path) == {"omegaconf": "2.1.1", "pytorch-lightning": "1.4.2"}


def test_command_runs_in_that_interpreter(tmp_path, venv_python):
    """The restorer's command gets the venv's interpreter as {python}: the script records it."""
    import numpy as np

    repo, record = _repo(tmp_path), tmp_path / "ran_with.txt"
    r = SubprocessRestorer(repo=str(repo), command=["{python}", "copy.py", "{inputs}", "{outputs}", str(record)],
                           python=venv_python)
    img = np.full((8, 8, 3), 77, np.uint8)
    (out,) = r.restore_batch([img], ids=["a"])
    assert (out == img).all()
    executable, prefix = record.read_text().splitlines()
    assert Path(executable).parent == Path(venv_python).parent and prefix == str(Path(venv_python).parents[1])


def test_environment_enters_the_version_but_the_path_does_not(tmp_path, tmp_path_factory, venv_python):
    """Another environment (numpy missing instead of installed) changes the cache key; the
    same kind of environment at another path does not, and the path is recorded."""
    other = tmp_path_factory.mktemp("env2") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other)], check=True)
    repo = _repo(tmp_path)

    def driver(python):
        return NumpyDriver(repo=str(repo), command=["{python}", "copy.py"], python=python)

    assert driver(venv_python).version() == driver(str(other / "bin" / "python")).version()
    assert driver(venv_python).version() != driver(sys.executable).version()
    env = driver(venv_python).environment()
    assert env["python"] == venv_python and env["imports"] == {"numpy": None}
    assert env["python_version"] == sys.version.split()[0]


def test_cuda_requested_but_not_visible_is_a_problem():
    """The message logic on a probe answer (a CPU-only torch build, and a CUDA build with no GPU)."""
    spec = ProbeSpec(python="/envs/x/bin/python", torch=True)
    cpu_only = ProbeResult(spec, python_version="3.10.0", torch={"version": "2.2.2", "cuda_build": None,
                                                                 "cuda_available": False, "devices": []})
    (msg,) = probe_problems(cpu_only, "TeReDiff", "cuda")
    assert "torch 2.2.2 is a CPU-only build" in msg and "device cuda" in msg and " -- install a CUDA build" in msg
    no_gpu = ProbeResult(spec, torch={"version": "2.2.2+cu121", "cuda_build": "12.1", "cuda_available": False})
    assert "sees no GPU" in probe_problems(no_gpu, "TeReDiff", "cuda")[0]
    assert probe_problems(no_gpu, "TeReDiff", "cpu") == []


def test_torch_missing_in_the_environment(venv_python):
    result = run_probe(ProbeSpec(python=venv_python, torch=True))
    (msg,) = probe_problems(result, "SeeSR", "cuda")
    assert "cannot import torch" in msg and f"{venv_python} -m pip install torch" in msg


def test_resolve_python_keeps_symlinks_and_finds_commands(venv_python):
    """A venv's bin/python is a symlink out of the venv; resolving it would lose the venv."""
    assert Path(venv_python).is_symlink()
    assert resolve_python(venv_python) == venv_python
    assert resolve_python("python3") is not None
    assert resolve_python("/no/such/python") is None


def test_in_process_entry_cannot_take_another_interpreter(tmp_path, venv_python):
    from bench.errors import AdapterError

    with pytest.raises(AdapterError, match="in-process 'entry' runs in the harness's own interpreter"):
        SubprocessRestorer(repo=str(tmp_path), entry="mod:run", python=venv_python)


SUITE = """
version: 1
name: envs
dataset: {kind: satext-test, path: data}
degradation: {kind: preset, preset: level2}
restorers:
  - {name: a, adapter: subprocess, python: @RPY@, args: {command: ["{python}", "x.py"]}}
spotter: {name: rapidocr, @SPY@}
"""


def _suite(tmp_path, python="envs/a/bin/python", spotter="python: /opt/envs/testr/bin/python"):
    p = tmp_path / "s.yaml"
    p.write_text(SUITE.replace("@RPY@", python).replace("@SPY@", spotter))
    return load_suite(p)


def test_suite_python_key_relative_to_the_suite_and_out_of_the_hash(tmp_path):
    s = _suite(tmp_path)
    assert s.restorers[0].python == str(tmp_path / "envs" / "a" / "bin" / "python")
    assert s.spotter.python == "/opt/envs/testr/bin/python"
    assert _suite(tmp_path, "python3").restorers[0].python == "python3"  # a command name stays one (PATH)
    # which interpreter runs is not part of the benchmark's identity (its versions enter the cache key)
    assert s.content_hash() == _suite(tmp_path, "/elsewhere/bin/python", "min_score: 0.5").content_hash()


def test_suite_python_typo_and_bad_value(tmp_path):
    with pytest.raises(SuiteError) as err:
        _suite(tmp_path, spotter="pyhton: /x/bin/python")
    assert "spotter.pyhton: unknown key -- did you mean 'python'?" in str(err.value)
    with pytest.raises(SuiteError, match=r"restorers\[0\]\.python: expected the path of a Python interpreter"):
        _suite(tmp_path, python="[1, 2]")


def test_python_on_an_in_process_adapter_is_refused(tmp_path, tiny_set):
    from bench.pipeline.preflight import make_restorer

    p = tmp_path / "s.yaml"
    p.write_text(f"""
version: 1
name: t
dataset: {{kind: satext-test, path: {tiny_set}}}
degradation: {{kind: preset, preset: level2}}
restorers: [{{adapter: bicubic, python: /usr/bin/python3}}]
""")
    with pytest.raises(SuiteError, match=r"restorers\[0\]\.python: adapter 'bicubic' runs inside the harness"):
        make_restorer(load_suite(p), 0, "cpu")


def test_spotter_python_only_for_spotters_that_take_it():
    from bench.errors import SpotterError
    from bench.pipeline.stages.spot import SpotterFactory

    with pytest.raises(SpotterError, match="runs inside the harness, so 'spotter.python' cannot apply"):
        SpotterFactory("rapidocr", 0.5, {}, "cpu", python="/usr/bin/python3").build()


def test_run_records_the_environment_in_results(tmp_path, tiny_set, blob_spotter, venv_python):
    """A whole run with a restorer in the venv: results.json names the interpreter and what it holds."""
    from bench.pipeline.runner import RunOptions, run_suite

    repo, record = _repo(tmp_path), tmp_path / "ran_with.txt"
    cmd = json.dumps(["{python}", "copy.py", "{inputs}", "{outputs}", str(record)])
    suite = tmp_path / "run.yaml"
    suite.write_text(textwrap.dedent(f"""
        version: 1
        name: envrun
        dataset: {{kind: satext-test, path: {tiny_set}}}
        degradation: {{kind: provided, level: 2}}
        restorers:
          - {{adapter: bicubic}}
          - {{name: envcopy, adapter: subprocess, python: {venv_python}, args: {{repo: {repo}, command: {cmd}}}}}
        spotter: {{name: blob}}
        metrics: {{image: [psnr]}}
    """))
    doc, _ = run_suite(load_suite(suite), RunOptions(out_dir=tmp_path / "out", cache_dir=tmp_path / "cache",
                                                     limit=1, quiet=True))
    env = doc["restorers"]["envcopy"]["environment"]
    assert env["python"] == venv_python and env["python_version"] == sys.version.split()[0]
    assert Path(record.read_text().splitlines()[0]).parent == Path(venv_python).parent
    assert "environment" not in doc["restorers"]["bicubic"]  # in-process: the run's own environment
    assert doc["suite"]["definition"]["restorers"][1]["python"] == venv_python
