"""The command line's secondary commands: exit codes and messages."""

from __future__ import annotations

import argparse
import textwrap

import pytest

from bench import __version__
from bench.cli import build_parser, main


def test_list_names_every_component_kind(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for section in ("data sets:", "degradations:", "restorers:", "spotters:", "image metrics:", "text metrics:",
                    "prompt sources:"):
        assert section in out
    assert "realesrgan-ncnn" in out and "level2" in out and "text_psnr" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith(f"bench (tair-bench) {__version__}, text protocol ")


def _rows(out: str) -> dict[str, str]:
    """``name -> rest of the line`` of a ``bench list KIND`` table."""
    return {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines()[1:] if line.startswith("  ")}


def test_list_restorers_shows_available_and_missing(capsys):
    """The plugin example tells users to run `bench list restorers`: every registered restorer,
    with what runs here now (ok) and what is missing and how to get it (needs)."""
    from bench.components import RESTORERS

    assert main(["list", "restorers"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("restorers:  (suite key restorers[].adapter)")
    rows = _rows(out)
    assert set(rows) == set(RESTORERS.names())
    for name in ("bicubic", "lanczos", "unsharp", "folder", "realesrgan-ncnn"):
        assert rows[name].startswith("ok "), rows[name]
    for name in ("diffbir", "seesr", "supir", "terediff", "difftsr"):
        assert rows[name].startswith("needs ") and "set args.repo and python:" in rows[name]
        assert "bench doctor SUITE" in rows[name]
    assert "data sets:" not in out  # only the kind asked for


def test_list_names_a_missing_extra_with_its_install_command(capsys, monkeypatch):
    from bench.components import RESTORERS

    monkeypatch.setitem(RESTORERS._entries, "needs-extra", type(RESTORERS.get("bicubic"))(
        "needs-extra", "tair_bench_no_such_module:Thing", "a restorer from an extra", "gpu-stack"))
    assert main(["list", "restorer"]) == 0  # the singular works too
    row = _rows(capsys.readouterr().out)["needs-extra"]
    assert row.startswith("needs ") and "pip install 'tair-bench[gpu-stack]'" in row


def test_list_unknown_kind_suggests(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["list", "restorrs"])
    assert exc.value.code == 2
    assert "unknown kind 'restorrs' -- did you mean 'restorers'?" in capsys.readouterr().err


def test_list_prompt_sources_and_text_metrics_have_summaries(capsys):
    from bench.components import PROMPT_SOURCES
    from bench.textmetrics import TEXT_METRIC_DEFINITIONS

    assert main(["list", "prompt-sources"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert list(rows) == list(PROMPT_SOURCES) and all(rows.values())
    assert "upper bound" in rows["oracle"]
    assert main(["list", "text-metrics"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert set(rows) == set(TEXT_METRIC_DEFINITIONS)
    assert rows["det_precision"].startswith("P = M / Det") and "detection only" in rows["det_precision"]
    assert "word spotting on" in rows["e2e_none_ws_hmean"]


def test_every_flag_and_positional_has_help():
    missing = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if not choice.help:
                        missing.append(f"{path} {choice.dest}")
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "bench")
    assert not missing, f"no help text: {missing}"


def test_validate_reports_every_error_one_line_each(tmp_path, capsys):
    """Three mistakes in three places: three lines, each with file, key path and suggestion."""
    p = tmp_path / "three.yaml"
    p.write_text(textwrap.dedent("""
        version: 1
        name: three-mistakes
        dataset: {kind: satext-test, path: data}
        degradation: {kind: preset, preset: levl2}
        restorers:
          - {name: bicubic, adapter: bicubc}
          - {name: lanczos, adapter: lanczos, pyton: /usr/bin/python3}
        metrics: {image: [psnr]}
    """))
    assert main(["validate", str(p)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"error: {p}: degradation.preset: unknown degradation preset 'levl2' -- did you mean 'level2'?",
        f"error: {p}: restorers[0].adapter: unknown adapter 'bicubc' -- did you mean 'bicubic'?",
        f"error: {p}: restorers[1].pyton: unknown key -- did you mean 'python'?",
    ]


def test_weights_verify_on_empty_dir_lists_missing_files(tmp_path, monkeypatch, capsys):
    """No name means every file of the manifest; missing files make exit status 1."""
    monkeypatch.setenv("TAIR_BENCH_WEIGHTS", str(tmp_path))
    assert main(["weights", "verify"]) == 1
    out = capsys.readouterr().out
    assert "alexnet" in out and "missing" in out and "python -m bench weights fetch alexnet" in out


def test_weights_fetch_offline_refuses_without_network(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TAIR_BENCH_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["weights", "fetch", "alexnet"]) == 2
    assert "offline mode" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_validate_goes_on_inside_one_mapping(tmp_path, capsys):
    """Two unknown keys of one mapping, a wrong adapter and a wrong prompt source of one
    restorer, and a missing required key: each is its own line."""
    p = tmp_path / "many.yaml"
    p.write_text(textwrap.dedent("""
        version: 1
        name: many
        dataset: {kind: satext-test, path: data}
        degradation: {kind: preset, preset: level2}
        restorers:
          - {adapter: lanczso, prompt: {source: oracel}}
        spotter: {name: rapidocr, min_scor: 0.5, arg: {}}
    """).replace("name: many\n", ""))
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    for expected in ("name: required key is missing",
                     "restorers[0].adapter: unknown adapter 'lanczso' -- did you mean 'lanczos'?",
                     "restorers[0].prompt.source: unknown prompt source 'oracel' -- did you mean 'oracle'?",
                     "spotter.min_scor: unknown key -- did you mean 'min_score'?",
                     "spotter.arg: unknown key -- did you mean 'args'?"):
        assert f"error: {p}: {expected}" in err.splitlines(), expected
    assert len(err.strip().splitlines()) == 5
