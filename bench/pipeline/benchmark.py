"""The benchmark a results document measures, identified apart from the models.

``results.json`` ``benchmark: {hash, definition, gt}``: the definition holds everything
that makes two runs' numbers comparable -- the data (its identity and digests of the ids,
HQ, LQ and GT of the images evaluated), the degradation, the spotter (name, version,
settings, effective score cut), the text protocol options and each metric with a hash of
its definition text. It holds no restorer, no output path and no interpreter path, so runs
of different restorers on the same benchmark share the hash (the suite hash, which covers
the restorers, stays the identity of the whole suite). ``gt`` keeps the per-image GT
digests so that a merge of shards can rebuild the section for all images.

Results files written before this section existed get their definition derived from the
same sections (:func:`benchmark_of`); they recorded no GT, so their ``digests.gt`` is
None, which :func:`differences` reports as a note, not a difference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from bench.io.cache import canonical_json
from bench.records import TextInstance

#: the data section's keys that identify the data set (paths are left out: where a
#: checkout lives changes nothing; the digests identify the content)
DATA_KEYS = ("kind", "source", "split", "options", "files", "lq_field")
#: spotter config keys that say where something runs, not what it computes
_LOCAL_KEYS = ("python", "environment")
#: the digests of the images evaluated, in the definition's ``digests``
DIGEST_KEYS = ("ids", "hq", "lq", "gt")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def gt_digest(instances: Iterable[TextInstance]) -> str:
    """Digest of one image's ground truth: every word's text, polygon and don't-care reason."""
    return _sha256(canonical_json([[i.text, [list(p) for p in i.polygon], i.no_official_answer]
                                   for i in instances]))


def image_digests(images: dict[str, dict]) -> dict[str, Optional[str]]:
    """Digests over ``{image id: {hq, lq, gt}}``, one per kind (None when a kind is not recorded)."""
    ids = sorted(images)
    out: dict[str, Optional[str]] = {"ids": _sha256("\n".join(ids))}
    for kind in DIGEST_KEYS[1:]:
        if any(kind not in images[i] for i in ids):
            out[kind] = None
        else:
            out[kind] = _sha256("".join(f"{i}:{images[i][kind]};" for i in ids))
    return out


def _metric_version(meta: dict) -> dict:
    text = meta.get("definition")
    return {"kind": meta.get("kind"), "mode": meta.get("mode"), "higher_is_better": meta.get("higher_is_better"),
            "definition_sha256": _sha256(text)[:16] if isinstance(text, str) else None}


def benchmark_definition(doc: dict, images: dict[str, dict]) -> dict:
    """The definition from a results document's sections and ``{image id: {hq, lq, gt}}``."""
    data, spotter = doc.get("data") or {}, doc.get("spotter") or {}
    return {
        "protocol_version": doc.get("protocol_version"),
        "data": {k: data.get(k) for k in DATA_KEYS},
        "images": len(images),
        "digests": image_digests(images),
        "degradation": {k: v for k, v in (doc.get("degradation") or {}).items() if k != "note"},
        "spotter": {"name": spotter.get("name"), "version": spotter.get("version"),
                    "config": {k: v for k, v in (spotter.get("config") or {}).items() if k not in _LOCAL_KEYS},
                    "min_score": spotter.get("min_score")},
        "text_eval": doc.get("text_eval"),
        "metrics": {name: _metric_version(meta) for name, meta in sorted((doc.get("metrics") or {}).items())},
    }


def benchmark_section(doc: dict, images: dict[str, dict]) -> dict:
    """``{hash, definition, gt}`` for results.json; ``images``: ``{id: {hq, lq, gt}}``."""
    definition = benchmark_definition(doc, images)
    return {"hash": _sha256(canonical_json(definition)), "definition": definition,
            "gt": {i: v["gt"] for i, v in sorted(images.items()) if "gt" in v}}


def section_for_items(doc: dict, items: Iterable) -> dict:
    """The section of a run from its :class:`bench.records.ImageItem` list."""
    return benchmark_section(doc, {it.id: {"hq": it.hq, "lq": it.lq, "gt": gt_digest(it.instances)}
                                   for it in items})


def section_for_document(doc: dict, gt: Optional[dict[str, str]] = None) -> dict:
    """The section rebuilt from ``inputs.images`` and per-image GT digests (``gt``, default the
    document's own ``benchmark.gt``): what a merge of shards, or an old file, gets."""
    gt = (doc.get("benchmark") or {}).get("gt") if gt is None else gt
    images = {i: {**v, **({"gt": gt[i]} if gt and i in gt else {})}
              for i, v in ((doc.get("inputs") or {}).get("images") or {}).items()}
    return benchmark_section(doc, images)


def benchmark_of(doc: dict) -> dict:
    """The document's ``benchmark`` section, derived from its other sections when it has none."""
    section = doc.get("benchmark")
    return section if isinstance(section, dict) and "hash" in section else section_for_document(doc)


@dataclass
class Comparison:
    """How two documents' benchmarks differ: ``lines`` refuse the comparison; ``notes``
    (key path -> note) are differences that do not."""

    lines: list[str] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def comparable(self) -> bool:
        return not self.lines


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """Key path -> value of every leaf of nested mappings (lists are leaves)."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


_ABSENT = object()


def _show(v: Any) -> str:
    if v is _ABSENT:
        return "(absent)"
    text = canonical_json(v) if isinstance(v, (dict, list)) else repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _limit(doc: dict) -> Optional[int]:
    return (((doc.get("suite") or {}).get("definition") or {}).get("dataset") or {}).get("limit")


def _tolerated(path: str, a: dict, b: dict, legacy: bool) -> Optional[str]:
    """A note for a difference that does not make the numbers incomparable, else None.
    ``legacy``: one file predates the benchmark section (no GT digests; metric definition
    texts as worded then, so a changed text is not taken as another metric)."""
    da, db = a["digests"], b["digests"]
    if path == "digests.gt" and (da["gt"] is None or db["gt"] is None):
        return "GT not compared: a results file written before benchmark identity records no GT digests"
    if legacy and path.startswith("metrics.") and path.endswith(".definition_sha256"):
        return ("metric definition texts differ from those of the file written before benchmark identity "
                "(not verified; rewrite that file with a current run to verify them): ")
    if (path == "digests.lq" and da["ids"] == db["ids"] and da["hq"] == db["hq"]
            and a["degradation"].get("kind") == b["degradation"].get("kind") != "provided"):
        return "LQ images degraded by the runs themselves differ (floating-point arithmetic differs between CPUs)"
    return None


def _implied(path: str, a: dict, b: dict) -> bool:
    """Whether a digest line only repeats a difference already listed (other images)."""
    if path == "digests.ids":
        return a["images"] != b["images"]
    return path.startswith("digests.") and a["digests"]["ids"] != b["digests"]["ids"]


def differences(current: dict, other: dict) -> Comparison:
    """Compare two results documents' benchmarks, one line per differing key path
    (``spotter.min_score: 0.5 vs 0.45``), current first."""
    a, b = benchmark_of(current)["definition"], benchmark_of(other)["definition"]
    legacy = "benchmark" not in current or "benchmark" not in other
    la, lb = _leaves(a), _leaves(b)
    out = Comparison()
    for path in list(la) + [p for p in lb if p not in la]:
        va, vb = la.get(path, _ABSENT), lb.get(path, _ABSENT)
        if va == vb or _implied(path, a, b):
            continue
        note = _tolerated(path, a, b, legacy)
        if note and path.startswith("metrics."):  # one note naming every such metric
            out.notes["metrics"] = (out.notes["metrics"] + ", " if "metrics" in out.notes else note) \
                + path.split(".")[1]
            continue
        if note:
            out.notes[path] = note
            continue
        line = f"{path}: {_show(va)} vs {_show(vb)}"
        if path == "images" and (_limit(current) == va or _limit(other) == vb):
            line += " (a --limit run)"
        out.lines.append(line)
    return out
