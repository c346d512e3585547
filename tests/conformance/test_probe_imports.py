"""Each subprocess driver probes the imports its upstream code really makes, and its
environment recipe is the repository's own.

Preflight and ``bench doctor`` import every module of ``probe_imports`` in the
repository's interpreter (``python:``). These tests derive, from the real source
at the pinned commit (:mod:`tests.conformance.importgraph`), the third-party
modules the driven code imports when it loads -- from the entry script the
driver's command runs, or, for a runner of ``adapters/runners/``, from the runner's
imports, the repository functions it calls and the ``target:`` modules of the
configs it instantiates -- and require the declaration to match: nothing the code
imports is left unprobed, and nothing is probed that the code does not need
(apart from the documented extras below).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import tair_bench_adapters.runners
from tests.conformance.importgraph import closure, function_imports, module_file, runner_imports, yaml_targets

#: (adapter module, class, upstream name)
DRIVERS = [
    ("tair_bench_adapters.diffbir", "DiffBIR", "DiffBIR"),
    ("tair_bench_adapters.seesr", "SeeSR", "SeeSR"),
    ("tair_bench_adapters.supir", "SUPIR", "SUPIR"),
    ("tair_bench_adapters.terediff", "TeReDiff", "TAIR"),
    ("tair_bench_adapters.difftsr", "DiffTSR", "DiffTSR"),
]

#: probed although not imported at load time, with the reason in the real code
EXTRAS = {
    "SeeSR": {"xformers"},  # test_seesr.py:92-97 raises ValueError without it; main() enables it (:146)
    # SUPIR_v0.yaml:114 attn_type vanilla-xformers -> MemoryEfficientAttnBlock (sgm/.../model.py:295-297)
    # calls xformers.ops (model.py:246); its import is try/except-guarded (model.py:11-18)
    "SUPIR": {"xformers"},
}


#: the installed adapters' runner scripts (the folder adapters/runners of the checkout that is installed)
RUNNERS = Path(tair_bench_adapters.runners.__file__).resolve().parent


def _driver(module: str, cls: str, repo: Path):
    return getattr(importlib.import_module(module), cls)(repo=str(repo))


def _derived(driver, repo: Path) -> set[str]:
    """Third-party modules the driver's command makes the repository's code import."""
    scripts = [Path(p) for p in driver.command if p.endswith(".py")]
    assert scripts, f"{type(driver).__name__}: no script in its command {driver.command}"
    script = scripts[0] if scripts[0].is_absolute() else repo / scripts[0]
    paths = tuple(driver.probe_sys_path)
    if RUNNERS not in script.parents:
        return closure(repo, [], [script], paths).third_party
    modules, calls = runner_imports(script)
    for mod, func in calls:  # repository functions the runner calls: their local imports run too
        found = module_file([repo, *(repo / p for p in paths)], mod)
        if found is not None and found.is_file():
            modules += function_imports(found, mod, func)
    for path, _fix in driver.required_files():  # configs whose `target:` classes get instantiated
        cfg = repo / path
        if path.endswith(".yaml") and cfg.is_file():
            modules += yaml_targets(cfg)
    return closure(repo, [m for m in modules if m.split(".")[0] not in ("bench", "tair_bench_adapters")], (),
                   paths).third_party


@pytest.mark.parametrize("module,cls,name", DRIVERS, ids=[d[1] for d in DRIVERS])
def test_probe_imports_are_the_modules_the_real_code_imports(upstream, module, cls, name):
    repo = upstream(name)
    driver = _driver(module, cls, repo)
    derived = _derived(driver, repo)
    declared = set(driver.probe_imports)
    assert derived, f"{cls}: no third-party import found -- the import walk is broken"
    assert not derived - declared, f"{cls}: the real code imports {sorted(derived - declared)}, not probed"
    assert not declared - derived - EXTRAS.get(name, set()), \
        f"{cls}: probes {sorted(declared - derived - EXTRAS.get(name, set()))}, which the code does not import"


@pytest.mark.parametrize("module,cls,name", DRIVERS, ids=[d[1] for d in DRIVERS])
def test_driver_names_its_pinned_repository(module, cls, name):
    from bench.upstream import PINNED_COMMITS

    driver_cls = getattr(importlib.import_module(module), cls)
    assert driver_cls.upstream == name and name in PINNED_COMMITS


@pytest.mark.parametrize("module,cls,name", DRIVERS, ids=[d[1] for d in DRIVERS])
def test_environment_recipe_is_the_readme_s(upstream, module, cls, name):
    """Every command of ``env_setup`` appears in the README lines it cites."""
    repo = upstream(name)
    setup = getattr(importlib.import_module(module), cls).env_setup
    m = re.search(rf"\(upstream/{re.escape(name)}/README\.md:(\d+)-(\d+)\)", setup)
    assert m, f"{cls}.env_setup cites no README lines: {setup}"
    lines = (repo / "README.md").read_text(encoding="utf-8").splitlines()[int(m.group(1)) - 1:int(m.group(2))]
    text = " ".join(" ".join(lines).split())
    for command in setup[:m.start()].split("&&"):
        command = " ".join(command.split())
        if command.startswith("pip install -e "):  # README: `cd detectron2` then `pip install -e .`
            assert f"cd {command.split()[-1]}" in text and "pip install -e ." in text, command
        else:
            assert command in text, f"{cls}: '{command}' is not in README.md:{m.group(1)}-{m.group(2)}"
