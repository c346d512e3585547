"""``--set KEY=VALUE``: change a loaded suite document before it is validated.

KEY is a dotted path into the suite (list items by index: ``restorers.0.args.tile``),
VALUE is parsed as YAML (``4`` is a number, ``[a, b]`` a list, ``~/x`` a string).
The overridden document is then validated like the file, so a bad value is reported
by the normal validation. A misspelled key on the way (``datset.path``) is reported
here, naming the ``--set`` and the closest known key.

A relative path that a suite resolves against its own folder (``dataset.path``,
``python:``) is, when given by ``--set``, made absolute against the current working
directory first: the user typed it there. Commands (``run``, ``validate``,
``doctor``, later ``export``) share this module through
:func:`bench.suite.load_suite`'s ``overrides``.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import yaml

from bench.errors import SuiteError
from bench.registry import did_you_mean

#: the shape of a suite for walking KEY: mapping -> known keys and their shapes, ``[shape]``
#: a list of that shape, None free-form (any key, any value: left to the validation)
Schema = Union[dict, list, None]

#: where a path in a suite is resolved against the suite's folder: key path (``*``: any list
#: index) -> whether a bare name is a command (looked up on PATH) rather than a relative path
CWD_PATHS: dict[tuple[str, ...], bool] = {
    ("dataset", "path"): False,
    ("spotter", "python"): True,
    ("restorers", "*", "python"): True,
}


@dataclass(frozen=True)
class Override:
    """One ``--set KEY=VALUE``: ``text`` as given, ``keys`` the dotted KEY split, ``value`` parsed."""

    text: str
    keys: tuple[str, ...]
    value: Any


def parse_override(text: str, flag: str = "--set") -> Override:
    """``KEY=VALUE`` -> :class:`Override` (VALUE as YAML); errors name ``flag`` and the text."""
    key, sep, raw = text.partition("=")
    keys = tuple(key.strip().split("."))
    if not sep or not all(keys):
        raise SuiteError(f"{flag} {text}: expected KEY=VALUE with KEY a dotted path such as dataset.path")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise SuiteError(f"{flag} {text}: VALUE is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return Override(text=text, keys=keys, value=value)


@dataclass(frozen=True)
class SuiteSource:
    """A suite file plus ``--set`` overrides: what a command was asked to load.

    It is a path (:func:`os.fspath` gives the file), so code that takes a suite path
    passes it on unchanged; :func:`bench.suite.load_suite` applies the overrides."""

    path: str
    overrides: tuple[str, ...] = ()

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return " ".join([self.path, *(f"--set {o}" for o in self.overrides)])


def apply_overrides(raw: Any, overrides: Sequence[str], schema: Schema, file: str,
                    cwd: Optional[Path] = None) -> Any:
    """A copy of the suite document ``raw`` with every override applied in order.

    Every bad KEY is reported at once (one line each, naming ``file`` and the ``--set``);
    a document that is not a mapping is returned as is, for the validation to report."""
    if not overrides or not isinstance(raw, dict):
        return raw
    doc, problems = copy.deepcopy(raw), []
    for text in overrides:
        try:
            _apply(doc, parse_override(text), schema, cwd or Path.cwd())
        except SuiteError as exc:
            problems.append(f"{file}: {exc}")
    if problems:
        raise SuiteError("\n".join(problems), problems=problems)
    return doc


def _apply(doc: dict, override: Override, schema: Schema, cwd: Path) -> None:
    """Set ``override.value`` at its key path in ``doc``, creating known mappings on the way."""
    node: Any = doc
    for depth, key in enumerate(override.keys):
        where = ".".join(override.keys[:depth]) or "the suite"
        last = depth == len(override.keys) - 1
        if isinstance(node, list):
            index = _index(override, key, node, where, last)
            if last:
                node[index:index + 1] = [_rebased(override, cwd)]
                return
            node, schema = node[index], (schema[0] if isinstance(schema, list) else None)
        elif isinstance(node, dict):
            _check_key(override, key, node, schema, where)
            sub = schema.get(key) if isinstance(schema, dict) else None
            if last:
                node[key] = _rebased(override, cwd)
                return
            if node.get(key) is None:
                node[key] = [] if isinstance(sub, list) else {}
            node, schema = node[key], sub
        else:
            raise SuiteError(f"--set {override.text}: {where} is {node!r}, not a mapping or a list")


def _check_key(override: Override, key: str, node: dict, schema: Schema, where: str) -> None:
    """A key neither in the document nor known at this place is a typo."""
    if isinstance(schema, dict) and key not in schema and key not in node:
        raise SuiteError(f"--set {override.text}: unknown key '{key}' in {where}"
                         f"{did_you_mean(key, [*schema, *node])}")


def _index(override: Override, key: str, items: list, where: str, last: bool) -> int:
    """A list index: an existing item, or (for the last key) one past the end, to append."""
    limit = len(items) + (1 if last else 0)
    if not key.isdigit() or int(key) >= limit:
        span = f"0..{len(items) - 1}" if items else "none"
        raise SuiteError(f"--set {override.text}: {where} is a list of {len(items)} item(s): expected an index "
                         f"({span}{', or ' + str(len(items)) + ' to append' if last else ''}), got '{key}'")
    return int(key)


def _rebased(override: Override, cwd: Path) -> Any:
    """The override's value with every relative suite path in it made absolute against ``cwd``."""
    value = copy.deepcopy(override.value)
    for location, bare_is_command in CWD_PATHS.items():
        if _matches(location[:len(override.keys)], override.keys):
            value = _rebase_at(value, location[len(override.keys):], cwd, bare_is_command)
    return value


def _matches(pattern: tuple[str, ...], keys: tuple[str, ...]) -> bool:
    return len(pattern) == len(keys) and all(p in ("*", k) for p, k in zip(pattern, keys))


def _rebase_at(value: Any, rest: tuple[str, ...], cwd: Path, bare_is_command: bool) -> Any:
    """Rebase the path found at ``rest`` inside ``value`` (in place for containers)."""
    if not rest:
        return _rebase_path(value, cwd, bare_is_command)
    head, tail = rest[0], rest[1:]
    if isinstance(value, list) and head == "*":
        value[:] = [_rebase_at(v, tail, cwd, bare_is_command) for v in value]
    elif isinstance(value, dict) and head in value:
        value[head] = _rebase_at(value[head], tail, cwd, bare_is_command)
    return value


def _rebase_path(value: Any, cwd: Path, bare_is_command: bool) -> Any:
    if not isinstance(value, str) or not value.strip() or value.startswith("~") or os.path.isabs(value):
        return value
    if bare_is_command and os.sep not in value:
        return value
    return os.path.normpath(os.path.join(str(cwd), value))
