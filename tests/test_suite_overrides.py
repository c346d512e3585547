"""``--set KEY=VALUE``: overrides applied before validation, bad keys named with a suggestion."""

from __future__ import annotations

import os

import pytest

from bench.cli import main
from bench.errors import SuiteError
from bench.suite import load_suite, suite_from_dict
from bench.suite.overrides import SuiteSource, parse_override

from .test_suite import GOOD, NAMES, write


def _load(tmp_path, *overrides):
    return load_suite(write(tmp_path, GOOD), names=NAMES, overrides=overrides)


def test_values_are_yaml_and_keys_are_dotted_paths(tmp_path):
    s = _load(tmp_path, "dataset.limit=4", "degradation.seed=7", "restorers.1.name=b",
              "metrics.image=[psnr, ssim]", "spotter.min_score=0.25")
    assert s.dataset.limit == 4 and s.degradation.seed == 7 and [r.name for r in s.restorers] == ["a", "b"]
    assert s.metrics.image == ("psnr", "ssim") and s.spotter.min_score == 0.25


def test_a_whole_list_and_a_new_item(tmp_path):
    assert [r.name for r in _load(tmp_path, "restorers=[{name: bicubic, adapter: bicubic}]").restorers] == ["bicubic"]
    assert [r.name for r in _load(tmp_path, "restorers.2={name: u, adapter: unsharp}").restorers] == ["a", "lanczos", "u"]


def test_missing_known_mappings_are_created(tmp_path):
    s = _load(tmp_path, "restorers.0.args.tile=0", "metrics.text.compat=clean")
    assert s.restorers[0].args == {"tile": 0} and s.metrics.text.compat == "clean"


def test_a_typo_names_the_set_and_suggests(tmp_path):
    with pytest.raises(SuiteError) as err:
        _load(tmp_path, "datset.path=x", "restorers.0.adaptr=bicubic", "restorers.5.name=x")
    assert err.value.problems == [
        f"{tmp_path / 's.yaml'}: --set datset.path=x: unknown key 'datset' in the suite -- did you mean 'dataset'?",
        f"{tmp_path / 's.yaml'}: --set restorers.0.adaptr=bicubic: unknown key 'adaptr' in restorers.0 "
        "-- did you mean 'adapter'?",
        f"{tmp_path / 's.yaml'}: --set restorers.5.name=x: restorers is a list of 2 item(s): expected an index "
        "(0..1), got '5'"]


def test_a_bad_value_is_reported_by_the_validation(tmp_path):
    with pytest.raises(SuiteError, match=r"s.yaml: degradation.seed: expected an integer seed, got 'x'"):
        _load(tmp_path, "degradation.seed=x")


@pytest.mark.parametrize("text", ["dataset.path", "=3", "dataset..path=3", "a=[1"])
def test_malformed_set(text):
    with pytest.raises(SuiteError, match="--set"):
        parse_override(text)


def test_relative_paths_given_by_set_resolve_against_the_cwd(tmp_path, monkeypatch):
    (tmp_path / "suites").mkdir()
    here = tmp_path / "work"
    here.mkdir()
    monkeypatch.chdir(here)
    path = write(tmp_path / "suites", GOOD)
    assert load_suite(path, names=NAMES).dataset.path == str(tmp_path / "suites" / "data")
    assert load_suite(path, names=NAMES, overrides=["dataset.path=photos"]).dataset.path == str(here / "photos")
    whole = load_suite(path, names=NAMES, overrides=["dataset={kind: satext-test, path: p}"])
    assert whole.dataset.path == str(here / "p")
    home = load_suite(path, names=NAMES, overrides=["dataset.path=~/photos"])
    assert home.dataset.path == os.path.expanduser("~/photos")
    py = load_suite(path, names=NAMES, overrides=["restorers.0.python=env/bin/python", "spotter.python=python3"])
    assert py.restorers[0].python == str(here / "env/bin/python") and py.spotter.python == "python3"


def test_the_hash_is_the_effective_suites(tmp_path):
    base = _load(tmp_path).content_hash()
    assert _load(tmp_path, "dataset.limit=2").content_hash() == base
    assert _load(tmp_path, "degradation.seed=3").content_hash() == base  # the same value: the same suite
    assert _load(tmp_path, "degradation.seed=4").content_hash() != base


def test_a_suite_source_carries_its_overrides(tmp_path):
    source = SuiteSource(str(write(tmp_path, GOOD)), ("dataset.limit=3",))
    assert load_suite(source, names=NAMES).dataset.limit == 3
    assert os.fspath(source) == source.path and str(source).endswith(" --set dataset.limit=3")


def test_a_dict_suite_is_validated_like_a_file(tmp_path, monkeypatch):
    import yaml

    monkeypatch.chdir(tmp_path)
    s = suite_from_dict(yaml.safe_load(GOOD), ["dataset.limit=2"], names=NAMES)
    assert s.dataset.path == str(tmp_path / "data") and s.dataset.limit == 2
    with pytest.raises(SuiteError, match=r"<suite dict>: spoter: unknown key -- did you mean 'spotter'\?"):
        suite_from_dict({**yaml.safe_load(GOOD), "spoter": {}}, names=NAMES)


@pytest.mark.parametrize("command", ["validate", "doctor"])
def test_cli_set(command, capsys):
    assert main([command, "suites/quickstart.yaml", "--set", "datset.limit=4"]) == (2 if command == "validate" else 1)
    out = capsys.readouterr()
    assert "--set datset.limit=4: unknown key 'datset' in the suite -- did you mean 'dataset'?" in out.out + out.err


def test_cli_validate_shows_the_overrides(capsys):
    assert main(["validate", "suites/quickstart.yaml", "--set", "restorers=[{name: bicubic, adapter: bicubic}]"]) == 0
    assert capsys.readouterr().out.startswith(
        "suites/quickstart.yaml --set restorers=[{name: bicubic, adapter: bicubic}]: OK (suite 'quickstart', "
        "1 restorer(s)")
