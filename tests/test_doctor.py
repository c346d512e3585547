"""``bench doctor SUITE``: one list of what will run and what is missing, exit 0 only when all can run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.cli import main
from bench.io import pyenv
from bench.io.checkout import inspect_checkout
from bench.pipeline import doctor
from bench.upstream import PINNED_COMMITS

ROOT = Path(__file__).resolve().parents[1]
PAPER_RESTORERS = ("terediff", "diffbir", "seesr", "supir")


@pytest.fixture(autouse=True)
def _fresh_probes():
    pyenv.clear_cache()
    yield
    pyenv.clear_cache()


def _suite(tmp_path: Path, data: Path, restorers: str, name: str = "s.yaml") -> Path:
    """A suite over ``data`` with the given ``restorers:`` list items, RapidOCR and weight-free metrics."""
    head = (f"version: 1\nname: doctor-test\ndataset: {{kind: satext-test, path: {data}}}\n"
            f"degradation: {{kind: provided, level: 2}}\nrestorers:\n")
    tail = "spotter: {name: rapidocr, min_score: 0.5}\nmetrics: {image: [psnr, ssim, text_psnr]}\n"
    p = tmp_path / name
    p.write_text(head + textwrap.indent(textwrap.dedent(restorers).strip(), "  ") + "\n" + tail)
    return p


def _git_repo(path: Path, files: dict[str, str]) -> str:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@e", "PATH": "/usr/bin:/bin"}
    for cmd in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-C", str(path), *cmd], check=True, env=env)
    return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_baseline_suite_is_ready_exit_0(tmp_path, tiny_set, capsys):
    suite = _suite(tmp_path, tiny_set, """
        - {adapter: bicubic}
        - {adapter: lanczos}
        - {adapter: unsharp}
        - {name: ncnn, adapter: realesrgan-ncnn}
    """)
    assert main(["doctor", str(suite), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "0 problem(s)" in out and "ready: everything can run" in out
    for name in ("bicubic", "lanczos", "unsharp", "ncnn"):
        assert f"ok    restorer '{name}': ready" in out
    assert "will run: tair_bench_adapters.classical.Bicubic in the harness's own process" in out
    assert "FAIL" not in out


def test_paper_suite_with_placeholders_lists_every_problem_with_its_fix(capsys):
    """suites/satext_level2.yaml as shipped (placeholder paths): non-zero, and for each paper
    restorer the command it would run, the missing checkout and the missing interpreter, each
    with the exact fix (clone URL and pinned commit, the README's environment recipe)."""
    code = main(["doctor", str(ROOT / "suites" / "satext_level2.yaml"), "--device", "cpu", "--offline"])
    out = capsys.readouterr().out
    assert code == 1
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    data = [line for line in fails if line.startswith("FAIL  data: ")]
    assert all("python -m bench data fetch satext-test" in line for line in data)  # its fix, in the loader's words
    assert fails and all(" -- " in line for line in fails if line not in data), "every problem carries its fix"
    for name in PAPER_RESTORERS:
        block = "\n".join(line for line in out.splitlines() if f"restorer '{name}'" in line)
        assert f"will run: /opt/envs/{name}/bin/python" in block
        assert "repository not found at '/path/to/" in block and "clone it from https://github.com/" in block
        assert f"python /opt/envs/{name}/bin/python: no such interpreter -- create the repository's environment" in block
        assert "README.md:" in block  # the recipe cites the README lines it comes from
        assert "git clone https://github.com/" in block and "checkout " in block
    assert out.rstrip().splitlines()[-1].endswith("not ready: fix the FAIL lines above")


def test_repository_commit_modifications_and_pin(tmp_path, tiny_set, monkeypatch, venv_python):
    """A git checkout at another commit, with a local change: a warning names both commits;
    once the pin is that commit, the line says so."""
    repo = tmp_path / "DiffBIR"
    head = _git_repo(repo, {"inference.py": "print('x')\n"})
    (repo / "inference.py").write_text("print('changed')\n")
    suite = _suite(tmp_path, tiny_set, f"- {{adapter: diffbir, python: {venv_python}, args: {{repo: {repo}}}}}")
    report = doctor.check_suite(suite, "cpu")
    lines = [f"{f.level} {f.message}" for f in report.findings if f.component == "restorer 'diffbir'"]
    text = "\n".join(lines)
    assert f"info repository {repo}: commit {head}" in text
    assert f"warn repository {repo}: 1 local modification(s):  M inference.py" in text
    pinned = PINNED_COMMITS["DiffBIR"][1]
    assert f"is at commit {head}, but tair-bench's conformance tests pin DiffBIR at {pinned}" in text
    assert f"git -C {repo} checkout {pinned}" in text
    assert not report.ready  # the checkpoints are missing

    monkeypatch.setitem(PINNED_COMMITS, "DiffBIR", (PINNED_COMMITS["DiffBIR"][0], head))
    again = doctor.check_suite(suite, "cpu")
    assert any(f.level == "ok" and f.message == f"repository {repo}: the pinned DiffBIR commit"
               for f in again.findings)


def test_not_a_git_checkout_is_said(tmp_path, tiny_set, venv_python):
    repo = tmp_path / "plain"
    repo.mkdir()
    suite = _suite(tmp_path, tiny_set, f"- {{adapter: diffbir, python: {venv_python}, args: {{repo: {repo}}}}}")
    msgs = [f.message for f in doctor.check_suite(suite, "cpu").findings if f.level == "warn"]
    assert any(f"repository {repo}: not a git checkout" in m and PINNED_COMMITS["DiffBIR"][1] in m for m in msgs)


def test_checkout_inside_another_repository_is_not_taken_for_it(tmp_path):
    """A plain folder inside a git work tree is not a checkout of its own."""
    _git_repo(tmp_path / "outer", {"a.txt": "a"})
    (tmp_path / "outer" / "inner").mkdir()
    state = inspect_checkout(tmp_path / "outer" / "inner")
    assert state.commit is None and "inside the checkout at" in state.reason


def test_environment_differences_from_the_repository_pins_are_warnings(tmp_path, tiny_set):
    """The generic driver in the harness's interpreter, a repository pinning numpy 0.0.1."""
    import numpy

    repo = tmp_path / "repo"
    _git_repo(repo, {"requirements.txt": "numpy==0.0.1\n", "run.py": "pass\n"})
    suite = _suite(tmp_path, tiny_set, f"""
        - name: sub
          adapter: subprocess
          python: {sys.executable}
          args: {{repo: {repo}, command: ["{{python}}", "run.py"]}}
    """)
    report = doctor.check_suite(suite, "cpu")
    sub = [f for f in report.findings if f.component == "restorer 'sub'"]
    assert any(f.level == "warn" and f"has numpy {numpy.__version__}, the repository pins 0.0.1" in f.message
               and "-m pip install 'numpy==0.0.1'" in f.message for f in sub)
    assert any(f.level == "info" and f.message.startswith(f"interpreter {sys.executable}: Python ") for f in sub)
    assert any(f.level == "info" and "no pinned commit for this adapter" in f.message for f in sub)
    assert report.ready  # warnings do not stop a run


def test_missing_imports_in_a_second_interpreter_are_failures(tmp_path, tiny_set, capsys, venv_python):
    """DiffBIR driven from a virtual environment that has none of its stack: each module the
    real code imports is one FAIL line with the pip command for that interpreter."""
    from tair_bench_adapters.diffbir import DiffBIR

    python = venv_python
    suite = _suite(tmp_path, tiny_set, f"- {{adapter: diffbir, python: {python}, args: {{repo: {tmp_path}}}}}")
    assert main(["doctor", str(suite), "--device", "cpu"]) == 1
    out = capsys.readouterr().out
    for module in DiffBIR.probe_imports:
        assert f"FAIL  restorer 'diffbir': DiffBIR: python {python} cannot import {module} (" in out
    assert f"-- {python} -m pip install opencv-python" in out  # cv2's distribution


def test_invalid_suite_is_reported_not_raised(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\ndataset: {kind: satext-tst, path: d}\n"
                   "degradation: {kind: provided}\nrestorers: [{adapter: bicubc}]\n")
    assert main(["doctor", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  suite: " in out and "did you mean 'satext-test'" in out and "did you mean 'bicubic'" in out
