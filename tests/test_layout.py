"""The import structure of ``bench`` and ``adapters``: layers and cycles.

The layers, from the bottom up (a module may import its own layer and those
below it, never one above):

0. core: ``bench`` (the package), ``bench.errors``, ``bench.records``,
   ``bench.registry``, ``bench.progress``, ``bench.upstream``
1. io: ``bench.io``
2. domain: text metrics, degradations, synthetic data, image metrics, spotters,
   restorer adapters, the component registries, the suite format, data sets,
   prompt sources
3. scale-out plumbing: ``bench.scaleout.shard``, ``.executors``, ``.pool``, ``.worker``
4. the pipeline: ``bench.pipeline`` (preflight, stages, runner, aggregation)
5. what reads finished runs: ``bench.report``, ``bench.scaleout.merge``
6. the command line: ``bench.cli``, ``bench.__main__``

Every import counts, at module level or inside a function; and no cycle may
exist among module-level imports. A project module is imported inside a function
only where that is needed, and the line says why (``# lazy: <reason>``), or in a
``try`` block that handles its absence.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS = [
    ("bench.errors", 0), ("bench.records", 0), ("bench.registry", 0), ("bench.progress", 0), ("bench.upstream", 0),
    ("bench.io", 1),
    ("bench.textmetrics", 2), ("bench.degrade", 2), ("bench.synth", 2), ("bench.imagemetrics", 2),
    ("bench.spotters", 2), ("tair_bench_adapters", 2), ("bench.components", 2), ("bench.weight_needs", 2), ("bench.suite", 2), ("bench.data", 2),
    ("bench.prompts", 2),
    ("bench.scaleout.shard", 3), ("bench.scaleout.executors", 3), ("bench.scaleout.pool", 3),
    ("bench.scaleout.worker", 3),
    ("bench.pipeline", 4),
    ("bench.report", 5), ("bench.scaleout.merge", 5),
    ("bench.cli", 6), ("bench.__main__", 6), ("bench.api", 6),
]


def layer_of(module: str) -> int:
    """The layer of a project module (longest matching prefix; the bare package is core)."""
    best, layer = "", 0
    for prefix, lay in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
            best, layer = prefix, lay
    if not best and module not in ("bench", "bench.scaleout"):
        raise AssertionError(f"module {module} has no layer in tests/test_layout.py: add it")
    return layer


#: import package -> folder (pyproject.toml [tool.setuptools] package-dir)
PACKAGE_FOLDERS = {"bench": "bench", "tair_bench_adapters": "adapters"}


def project_modules() -> dict[str, Path]:
    mods = {}
    for package, folder in PACKAGE_FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [package, *path.relative_to(ROOT / folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[str, bool, int]]:
    """(imported project module, at module level?, line) for each import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    top_level = {id(n) for n in tree.body}
    top_level |= {id(n) for node in tree.body if isinstance(node, (ast.If, ast.Try)) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = package.split(".")
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            # a submodule importing its own package (``from . import x``) is no cycle: the
            # package is already initialising when its submodules run
            if name and name != module and not module.startswith(name + "."):
                found.append((name, id(node) in top_level, node.lineno))
    return found


def test_no_lower_layer_imports_a_higher_one():
    mods = project_modules()
    bad = []
    for mod, path in sorted(mods.items()):
        for target, _, line in imports_of(mod, path, set(mods)):
            if target in ("bench", "bench.scaleout"):
                continue
            if mod == "bench" and target == "bench.api":  # the package's lazy front door: bench.evaluate
                continue
            if layer_of(target) > layer_of(mod):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {mod} (layer {layer_of(mod)}) imports "
                           f"{target} (layer {layer_of(target)})")
    assert not bad, "\n".join(bad)


def test_no_import_cycle_at_module_level():
    mods = project_modules()
    graph = {m: sorted({t for t, top, _ in imports_of(m, p, set(mods)) if top}) for m, p in mods.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        state[node] = 2
        stack.pop()
        return []

    for mod in sorted(graph):
        if mod not in state:
            cycle = visit(mod)
            assert not cycle, "import cycle: " + " -> ".join(cycle)


def function_local_project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, source line) of each import of ``bench``/``adapters`` inside a function that is
    neither in a ``try`` block nor marked ``# lazy: <reason>``."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []

    def is_project(node: ast.AST) -> bool:
        if isinstance(node, ast.ImportFrom):
            return bool(node.level) or (node.module or "").split(".")[0] in PACKAGE_FOLDERS
        return isinstance(node, ast.Import) and any(a.name.split(".")[0] in PACKAGE_FOLDERS
                                                    for a in node.names)

    def walk(node: ast.AST, in_function: bool, in_try: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if is_project(child) and in_function and not in_try and "# lazy:" not in lines[child.lineno - 1]:
                found.append((child.lineno, lines[child.lineno - 1].strip()))
            walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)),
                 in_try or isinstance(child, ast.Try))

    walk(ast.parse(text), False, False)
    return found


def test_project_imports_at_module_level():
    bad = [f"{path.relative_to(ROOT)}:{line}: {src}"
           for path in sorted(project_modules().values()) for line, src in function_local_project_imports(path)]
    assert not bad, "function-local imports without '# lazy: <reason>':\n" + "\n".join(bad)


def test_score_worker_module_leaves_text_evaluation_out():
    """A score worker imports score_images; the text evaluation and its
    libraries load only in the driver, so each worker starts without them."""
    code = ("import sys, bench.pipeline.stages.score_images; "
            "print(sorted(m for m in ('bench.textmetrics', 'shapely', 'scipy', 'rapidfuzz') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_local_import_checker_sees_one(tmp_path):
    """The checker itself: an unmarked import inside a function is reported; a marked one
    and one in a try block are not."""
    mod = tmp_path / "m.py"
    mod.write_text("def f():\n    from bench.errors import BenchError\n"
                   "def g():\n    from bench import x  # lazy: test\n"
                   "def h():\n    try:\n        from bench import y\n    except ImportError:\n        pass\n")
    assert function_local_project_imports(mod) == [(2, "from bench.errors import BenchError")]


def test_checker_sees_a_violation(tmp_path):
    """The checker itself: a core module importing the pipeline is reported."""
    mod = tmp_path / "errors.py"
    mod.write_text("from bench.pipeline import runner\n")
    known = set(project_modules())
    found = imports_of("bench.errors", mod, known)
    assert ("bench.pipeline.runner", True, 1) in found
    assert layer_of("bench.pipeline.runner") > layer_of("bench.errors")


def test_every_package_folder_is_installed():
    """pyproject.toml lists every package (the adapters folder is mapped to its own import
    name, so setuptools cannot discover them): a new package folder must be added there."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["package-dir"]["tair_bench_adapters"] == PACKAGE_FOLDERS["tair_bench_adapters"]
    found = {module for module, path in project_modules().items() if path.name == "__init__.py"}
    assert set(config["packages"]) == found


def test_adapters_do_not_shadow_another_package_named_adapters(tmp_path):
    """Another distribution's top-level ``adapters`` package (AdapterHub's, on PyPI) and
    tair-bench import side by side: ours is ``tair_bench_adapters``, so ``import adapters``
    finds theirs and our registry still loads our restorers."""
    other = tmp_path / "site" / "adapters"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("OWNER = 'another distribution'\n", encoding="utf-8")
    code = ("import adapters, tair_bench_adapters.classical\n"
            "from bench.components import RESTORERS\n"
            "print(adapters.OWNER, RESTORERS.load('bicubic').__module__, sep='|')")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "another distribution|tair_bench_adapters.classical"
