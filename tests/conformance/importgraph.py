"""Which third-party modules an upstream script needs, read from its real source with ``ast``.

``bench doctor`` and preflight import, in the repository's own interpreter, the
modules each driver declares (``probe_imports``). This helper derives the modules
the driven code really imports so a conformance test can hold the declaration to
it: starting from the entry script (or a runner's imports), it follows every
module-level import that resolves inside the repository (package ``__init__``
files included), the modules named by ``target:`` keys of the YAML configs the
code instantiates, and the function-level imports of the repository functions
the runner calls. An import is *third-party* when it resolves neither inside the
repository nor to the standard library.

Not followed, on purpose: imports guarded by ``try: ... except`` (optional, such
as ``xformers`` in ``diffbir/model/config.py:15-20``), imports under
``if sys.platform ...`` blocks, and ``if __name__ == "__main__":`` bodies.
"""

from __future__ import annotations

import ast
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional


def _parse(path: Path) -> ast.Module:
    with warnings.catch_warnings():  # upstream files with invalid escape sequences in strings
        warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
        return ast.parse(path.read_text(encoding="utf-8", errors="replace"), filename=str(path))


def module_file(roots: Iterable[Path], name: str) -> Optional[Path]:
    """The file (or namespace folder) that ``import name`` finds under ``roots``."""
    parts = name.split(".")
    for root in roots:
        base = root.joinpath(*parts)
        if (base / "__init__.py").is_file():
            return base / "__init__.py"
        if base.with_suffix(".py").is_file():
            return base.with_suffix(".py")
        if base.is_dir():
            return base
    return None


def _absolute(node: ast.ImportFrom, package: str) -> str:
    base = node.module or ""
    if not node.level:
        return base
    pkg = package.split(".") if package else []
    pkg = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
    return ".".join(pkg + ([base] if base else []))


def _names(node: ast.stmt, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        base = _absolute(node, package)
        return [base] + [f"{base}.{a.name}" for a in node.names if a.name != "*"]
    return []


def _skipped_if(node: ast.If) -> bool:
    test = ast.unparse(node.test)
    return "__name__" in test or "platform" in test


def load_time_imports(path: Path, module: str) -> list[str]:
    """Absolute names imported when ``module`` (the file ``path``) is imported: its body,
    class bodies and ``if`` blocks; not functions, ``try`` blocks or platform branches."""
    tree = _parse(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[str] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            out.extend(_names(node, package))
            if isinstance(node, ast.If) and not _skipped_if(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.ClassDef):
                visit(node.body)

    visit(tree.body)
    return out


def function_imports(path: Path, module: str, function: str) -> list[str]:
    """Absolute names imported anywhere inside ``def function`` of the file."""
    tree = _parse(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    out.extend(_names(inner, package))
    return out


def yaml_targets(path: Path) -> list[str]:
    """The modules of every ``target: pkg.mod.Class`` line of a config file."""
    found = re.findall(r"^\s*target:\s*['\"]?([A-Za-z_][\w.]*)", path.read_text(encoding="utf-8"), re.MULTILINE)
    return [t.rpartition(".")[0] for t in found if "." in t]


@dataclass
class Closure:
    """The result: third-party top-level modules, and the repository files visited."""

    third_party: set[str] = field(default_factory=set)
    files: set[Path] = field(default_factory=set)


def closure(repo: Path, modules: Iterable[str], scripts: Iterable[Path] = (),
            extra_paths: Iterable[str] = ()) -> Closure:
    """Follow imports from ``modules`` (dotted names) and ``scripts`` (files run as
    ``__main__``) through the repository (and ``extra_paths`` folders of it on sys.path)."""
    roots = [repo, *(repo / p for p in extra_paths)]
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    out = Closure()
    todo: list[tuple[Optional[Path], str]] = [(Path(s), "__main__") for s in scripts]
    todo += [(None, m) for m in modules]
    while todo:
        path, name = todo.pop()
        if path is None:
            path = module_file(roots, name)
            if path is None:
                top = name.split(".")[0]
                if module_file(roots, top) is None and top not in stdlib:
                    out.third_party.add(top)
                continue
            parts = name.split(".")
            todo += [(None, ".".join(parts[:k])) for k in range(1, len(parts))]  # parent __init__ files run too
        if path.is_dir() or path in out.files:
            continue
        out.files.add(path)
        todo += [(None, n) for n in load_time_imports(path, name) if n]
    return out


def runner_imports(runner: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """For a script of ``adapters/runners/``: every module it imports (anywhere in the file)
    and the ``(module, function)`` pairs it calls as ``module.function(...)`` on an imported module."""
    tree = _parse(runner)
    modules: list[str] = []
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                modules.append(a.name)
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.append(node.module)
            for a in node.names:
                modules.append(f"{node.module}.{a.name}")
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if node.func.value.id in aliases:
                calls.append((aliases[node.func.value.id], node.func.attr))
    return modules, calls
