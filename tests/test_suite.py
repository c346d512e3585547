"""Suite YAML validation: every error names file, key path and a suggestion."""

from __future__ import annotations

import textwrap

import pytest

from bench.errors import SuiteError
from bench.suite import Names, load_suite

NAMES = Names(datasets=("satext-test",), presets=("level1", "level2", "level3"), backends=("torch", "cv2"),
              restorers=("bicubic", "lanczos", "unsharp"), spotters=("rapidocr",),
              image_metrics=("psnr", "ssim"), text_metrics=("e2e_none_hmean", "det_hmean"),
              prompt_sources=("none", "oracle"))

GOOD = """
version: 1
name: t
dataset: {kind: satext-test, path: data}
degradation: {kind: preset, preset: level2, seed: 3}
restorers:
  - {name: a, adapter: bicubic}
  - {adapter: lanczos}
spotter: {name: rapidocr, min_score: 0.4}
metrics: {image: [psnr], text: {headline: det_hmean}}
"""


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_valid_suite_parses_into_typed_objects(tmp_path):
    s = load_suite(write(tmp_path, GOOD), names=NAMES)
    assert s.degradation.preset == "level2" and s.degradation.seed == 3 and s.degradation.scale == 4
    assert [r.name for r in s.restorers] == ["a", "lanczos"]
    assert s.dataset.path == str((tmp_path / "data").resolve())  # relative to the suite file
    assert s.spotter.min_score == 0.4 and s.metrics.text.headline == "det_hmean"


def test_hash_ignores_output_and_limit_but_not_seed(tmp_path):
    a = load_suite(write(tmp_path, GOOD, "a.yaml"), names=NAMES)
    b = load_suite(write(tmp_path, GOOD.replace("path: data}", "path: data, limit: 3}") + "output: {dir: x}\n",
                         "b.yaml"), names=NAMES)
    c = load_suite(write(tmp_path, GOOD.replace("seed: 3", "seed: 4"), "c.yaml"), names=NAMES)
    assert a.content_hash() == b.content_hash() != c.content_hash()


@pytest.mark.parametrize("old,new,expected", [
    ("adapter: lanczos", "adapter: lanczso", "restorers[1].adapter: unknown adapter 'lanczso' -- did you mean 'lanczos'?"),
    ("spotter: {name", "spoter: {name", "spoter: unknown key -- did you mean 'spotter'?"),
    ("min_score: 0.4", "min_scor: 0.4", "spotter.min_scor: unknown key -- did you mean 'min_score'?"),
    ("preset: level2", "preset: levl2", "degradation.preset: unknown degradation preset 'levl2' -- did you mean 'level2'?"),
    ("image: [psnr]", "image: [psnr, ssmi]", "metrics.image[1]: unknown image metric 'ssmi' -- did you mean 'ssim'?"),
    ("version: 1", "version: 2", "version: unsupported suite version 2"),
    ("seed: 3", "seed: three", "degradation.seed: expected an integer seed, got 'three'"),
    ("min_score: 0.4", "min_score: 1.5", "spotter.min_score: expected a number in [0, 1], got 1.5"),
    ("name: a,", "name: lanczos,", "restorers[1].name: 'lanczos' is used twice"),
])
def test_errors_name_file_key_path_and_suggestion(tmp_path, old, new, expected):
    """Each typo gives one message: the file, the key path, what is wrong, the nearest valid name."""
    p = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(SuiteError) as err:
        load_suite(p, names=NAMES)
    assert str(err.value).startswith(f"{p}: ")
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_invalid_yaml_reports_line(tmp_path):
    p = write(tmp_path, "version: 1\nname: [unclosed\n")
    with pytest.raises(SuiteError, match=r"not valid YAML \(line \d+"):
        load_suite(p, names=NAMES)


def test_missing_file(tmp_path):
    with pytest.raises(SuiteError, match="suite file not found"):
        load_suite(tmp_path / "nope.yaml", names=NAMES)


def test_unknown_adapter_and_spotter_arguments_are_validate_errors(tmp_path):
    """Arguments are declared (each adapter's __init__ chain): a misspelled one is a
    validate error naming the key path, with a suggestion; every one is reported."""
    from bench.errors import SuiteError
    from bench.suite import load_suite

    p = tmp_path / "s.yaml"
    p.write_text(
        "version: 1\nname: s\n"
        "dataset: {kind: satext-test, path: data}\n"
        "degradation: {kind: preset, preset: level2, seed: 0, scale: 4}\n"
        "restorers:\n"
        "  - {adapter: realesrgan, args: {tlie: 256}}\n"
        "  - {adapter: unsharp, args: {radius: 1.0}}\n"
        "spotter: {name: tesseract, args: {lang: eng, psm: 11, bogus: 1}}\n")
    with pytest.raises(SuiteError) as err:
        load_suite(p)
    lines = str(err.value).splitlines()
    assert any("restorers[0].args.tlie: unknown argument of adapter 'realesrgan' -- did you mean 'tile'?" in line
               for line in lines), lines
    assert any("spotter.args.bogus: unknown argument of spotter 'tesseract'" in line for line in lines), lines
    assert not any("restorers[1]" in line for line in lines)  # radius is declared by Unsharp


def test_declared_args_follow_the_init_chain():
    """A driver's own keywords plus those of the generic driver it forwards to;
    nothing from the base class's catch-all."""
    from tair_bench_adapters.classical import Bicubic, Unsharp
    from tair_bench_adapters.terediff import TeReDiff

    assert Bicubic.declared_args() == frozenset()
    assert Unsharp.declared_args() == {"radius", "percent", "threshold"}
    assert {"prompt_mode", "checkpoint", "repo", "seed", "steps", "python"} <= TeReDiff.declared_args()
    assert "scale" not in TeReDiff.declared_args() and "device" not in TeReDiff.declared_args()
