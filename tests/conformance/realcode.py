"""Read contracts out of the real upstream source with ``ast`` (nothing upstream is imported).

The conformance tests need three things from a repository's code without running its
models: the script's own argparse parser, the exact signature of a function or method,
and the names a module imports from another (which checkpoint constants it reads).
Each helper here takes the real file and rebuilds only that piece, so a renamed flag,
a changed default, a dropped keyword or a new checkpoint constant fails the test.
"""

from __future__ import annotations

import argparse
import ast
import copy
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _tree(path: Path) -> ast.Module:
    return ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))


def _is_parser_ctor(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "ArgumentParser")


def _parser_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """``parser = argparse.ArgumentParser(...)`` and every ``parser.add_argument(...)``
    after it, searching the module body and ``if`` blocks (``if __name__ == "__main__":``)."""
    found: list[ast.stmt] = []
    name = None
    for stmt in body:
        if isinstance(stmt, ast.If):
            found += _parser_statements(stmt.body)
            continue
        if isinstance(stmt, ast.Assign) and _is_parser_ctor(stmt.value) and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            found.append(stmt)
        elif (name and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
              and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "add_argument"
              and isinstance(stmt.value.func.value, ast.Name) and stmt.value.func.value.id == name):
            found.append(stmt)
    return found


def script_parser(path: Path) -> argparse.ArgumentParser:
    """The script's own parser: its ``ArgumentParser(...)`` and ``add_argument`` statements,
    taken verbatim from the file and executed with only ``argparse`` available."""
    stmts = _parser_statements(_tree(path).body)
    if not stmts:
        raise AssertionError(f"{path}: no 'parser = argparse.ArgumentParser()' with add_argument calls found")
    target = stmts[0].targets[0].id  # type: ignore[attr-defined]
    module = ast.Module(body=stmts, type_ignores=[])
    namespace: dict[str, Any] = {"argparse": argparse}
    exec(compile(module, str(path), "exec"), namespace)  # noqa: S102 - the real parser statements only
    return namespace[target]


def find_def(path: Path, qualname: str) -> ast.FunctionDef:
    """The ``def`` of ``name`` or ``Class.name`` in ``path``."""
    node: Any = _tree(path)
    for part in qualname.split("."):
        matches = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part]
        if not matches:
            raise AssertionError(f"{path}: no '{qualname}' (missing '{part}')")
        node = matches[0]
    if not isinstance(node, ast.FunctionDef):
        raise TypeError(f"{path}: '{qualname}' is not a function")
    return node


def stub_with_signature(path: Path, qualname: str, impl: Callable[[dict], Any]) -> Callable:
    """A function with exactly the real ``def``'s parameters and defaults whose body calls
    ``impl(arguments)`` (the bound arguments as a dict). Calling it with a keyword the real
    function lacks raises ``TypeError``, as the real one would."""
    real = find_def(path, qualname)
    fn = copy.deepcopy(real)
    fn.decorator_list, fn.returns = [], None
    fn.body = [ast.Return(ast.Call(func=ast.Name("__impl__", ast.Load()),
                                   args=[ast.Call(func=ast.Name("locals", ast.Load()), args=[], keywords=[])],
                                   keywords=[]))]
    for arg in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs, fn.args.vararg, fn.args.kwarg]:
        if arg is not None:
            arg.annotation = None
    module = ast.fix_missing_locations(ast.Module(body=[fn], type_ignores=[]))
    namespace: dict[str, Any] = {"__impl__": impl}
    exec(compile(module, f"<stub of {path}:{qualname}>", "exec"), namespace)  # noqa: S102
    return namespace[real.name]


def signature(path: Path, qualname: str) -> inspect.Signature:
    """The real function's signature (parameters, defaults, kinds)."""
    return inspect.signature(stub_with_signature(path, qualname, lambda a: None))


def imported_names(path: Path, module: str) -> set[str]:
    """Names ``path`` imports with ``from <module> import ...`` anywhere in the file."""
    return {alias.name for node in ast.walk(_tree(path))
            if isinstance(node, ast.ImportFrom) and node.module == module for alias in node.names}


def literal_assignments(path: Path, nested: bool = False) -> dict[str, Any]:
    """``NAME = <literal>`` assignments of a file: top-level ones (a plain settings
    file), or with ``nested`` every one, e.g. inside a script's ``__main__`` block."""
    out = {}
    tree = _tree(path)
    for node in (ast.walk(tree) if nested else tree.body):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def calls(path: Path, qualname: str | None = None) -> list[ast.Call]:
    """Every call expression in the file, or inside one function of it."""
    root: ast.AST = find_def(path, qualname) if qualname else _tree(path)
    return [n for n in ast.walk(root) if isinstance(n, ast.Call)]


def call_name(call: ast.Call) -> str:
    """``a.b.c`` for a call of ``a.b.c(...)`` (``""`` when not a plain dotted name)."""
    parts, node = [], call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""
