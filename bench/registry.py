"""Lazy registries of named components ("module:Object" targets): one style for every kind.

Restorers, spotters, data sets (:mod:`bench.components`), prompt sources
(:mod:`bench.prompts`), degradation presets (:mod:`bench.degrade.presets`) and image
metrics (:mod:`bench.imagemetrics`) are each a :class:`Registry`: one ``add`` line per
built-in, an entry-point group for third-party ones (``tair_bench.restorers``,
``tair_bench.spotters``, ``tair_bench.datasets``, ``tair_bench.prompt_sources``,
``tair_bench.degradation_presets``, ``tair_bench.image_metrics``; docs/restorers.md,
"Adding a restorer"), "did you mean" for a typo, and the arguments each component
declares (:meth:`Registry.arguments`), which ``bench validate`` checks a suite against.
Nothing is imported until a component is used, so an optional extra that is not
installed only matters to the suites that name it.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar, Iterator, Optional

from .errors import BenchError

#: constructor parameters of restorers and spotters that the harness sets, not the suite's ``args``
HARNESS_ARGS = frozenset({"scale", "device", "min_score"})


def declared_arguments(cls: type, base: type, harness_set: frozenset[str] = HARNESS_ARGS) -> frozenset[str]:
    """The suite arguments a component class accepts: the keyword parameters of each
    ``__init__`` along its MRO, following ``**kwargs`` forwarding up to (not into)
    ``base``, whose catch-all only stores what the subclasses pass on; less
    ``harness_set``, the ones the harness sets itself."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is base or not issubclass(klass, base):
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.name != "self"
                  and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            break
    return frozenset(names - harness_set)


class Component:
    """What restorers and spotters share: a stable identity in cache keys and results,
    and their declared suite ``args`` (:class:`tair_bench_adapters.base.Restorer`,
    :class:`bench.spotters.base.Spotter`)."""

    #: bump when the component's code changes its outputs (enters cache keys)
    code_version: ClassVar[str] = "1"
    #: stable identity in cache keys and results; set it on every concrete class, and
    #: keep it when the module moves (a third-party class without one falls back to
    #: its import path, which changes if the module is renamed)
    version_id: ClassVar[str] = ""

    @classmethod
    def stable_id(cls) -> str:
        """The class's own ``version_id`` (not inherited), else its import path."""
        own = cls.__dict__.get("version_id")
        return own or f"{cls.__module__}.{cls.__name__}"

    @classmethod
    def declared_args(cls) -> frozenset[str]:
        """The suite ``args`` this class accepts: the keyword parameters of its
        ``__init__`` chain (:func:`declared_arguments`). ``bench validate`` and
        preflight reject any other key, with a suggestion."""
        return declared_arguments(cls, Component)

    def version(self) -> str:
        """A string that changes whenever outputs could change (code version, model
        file hash, settings). It is part of every cache key; subclasses extend it."""
        return f"{self.stable_id()}/v{self.code_version}"


def unknown_arguments(cls: type, base: type, given) -> list[tuple[str, str]]:
    """``(key, message)`` for each key of ``given`` that ``cls`` does not declare; the
    message suggests the closest declared name and lists them all."""
    declared = declared_arguments(cls, base)
    return [(str(key), f"unknown argument of {cls.__name__}{did_you_mean(key, declared)} "
                       f"(it takes: {', '.join(sorted(declared)) or 'no arguments'})")
            for key in given if key not in declared]


def did_you_mean(name: str, choices) -> str:
    """Return `` -- did you mean 'x'?`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" -- did you mean '{close[0]}'?" if close else ""


@dataclass(frozen=True)
class Entry:
    """One registered component: its target and a one-line description."""

    name: str
    target: str
    summary: str
    extra: Optional[str] = None  # pip extra that provides its dependencies


class Registry:
    """A name -> lazily imported class mapping, plus entry-point plugins."""

    def __init__(self, kind: str, entry_point_group: Optional[str] = None):
        self.kind = kind
        self.group = entry_point_group
        self._entries: dict[str, Entry] = {}
        self._plugins_loaded = False

    def add(self, name: str, target: str, summary: str, extra: Optional[str] = None) -> None:
        self._entries[name] = Entry(name, target, summary, extra)

    def _load_plugins(self) -> None:
        if self._plugins_loaded or not self.group:
            return
        self._plugins_loaded = True
        for ep in metadata.entry_points(group=self.group):
            if ep.name not in self._entries:
                self._entries[ep.name] = Entry(ep.name, ep.value, f"plugin from {ep.dist.name if ep.dist else '?'}")

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        self._load_plugins()
        return [self._entries[n] for n in sorted(self._entries)]

    def __contains__(self, name: str) -> bool:
        self._load_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        """The registered names, sorted (``sorted(registry)``, ``list(registry)``)."""
        return iter(self.names())

    def __getitem__(self, name: str) -> Any:
        """``registry[name]`` is :meth:`load`: the registered object, imported."""
        return self.load(name)

    def get(self, name: str) -> Entry:
        self._load_plugins()
        if name not in self._entries:
            raise BenchError(f"unknown {self.kind} '{name}'{did_you_mean(name, self._entries)}")
        return self._entries[name]

    def arguments(self, name: str) -> Optional[frozenset[str]]:
        """The argument names component ``name`` declares (its ``declared_args()``), or None
        when it cannot be imported here (an extra not installed: preflight says so) or
        declares none (then nothing is checked)."""
        try:
            target = self.load(name)
        except BenchError:
            return None
        declared = getattr(target, "declared_args", None)
        return declared() if callable(declared) else None

    def load(self, name: str) -> Any:
        """Import and return the object (usually a class) registered as ``name``."""
        entry = self.get(name)
        module_name, _, attr = entry.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            hint = f" (install it with: pip install 'tair-bench[{entry.extra}]')" if entry.extra else ""
            raise BenchError(f"{self.kind} '{name}' needs {exc.name or exc}{hint}") from None
        return getattr(module, attr)
