"""Model files for the image metrics: where they live, where they come from, and
checks that they are the right bytes.

Offline first: nothing in tair-bench downloads a model file while a suite runs.
Every network metric asks :func:`require` for its file and fails at once, naming
the file and the fix, when it is absent. Files arrive only through
``python -m bench weights fetch --suite SUITE`` or ``... fetch NAME`` (this module's
:func:`fetch`), by copying them into :func:`weights_dir` by hand, or are found, by
name and hash, in torch hub's or pyiqa's download cache (:func:`locate`), and used
where they are.

Hashes. Where the publisher states a full sha256 (OpenAI CLIP puts it in the URL)
it is in :data:`MANIFEST`. Where only a prefix is published (torchvision names its
files ``<name>-<first 8 hex of sha256>.pth`` and checks that prefix itself, see
``torch.hub.download_url_to_file(hash_prefix=...)``), the prefix is checked. For
the rest the sha256 is recorded on first fetch in ``<weights_dir>/checksums.json``
(trust on first use) and checked from then on.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchError, WeightsMissing
from bench.io.hashing import file_sha256
from bench.io.images import NEW_FILE_MODE, atomic_write_bytes
from bench.registry import did_you_mean

ENV_DIR = "TAIR_BENCH_WEIGHTS"
CHECKSUMS = "checksums.json"
_HF = "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main"  # pyiqa's own store


@dataclass(frozen=True)
class WeightFile:
    """One model file: its name on disk, official URL, and what is known of its hash."""

    filename: str
    url: str
    sha256: str | None  # full published sha256, or None when not published
    #: published sha256 prefix (torch.hub naming convention); keyword-only, never filled by position
    hash_prefix: str | None = field(default=None, kw_only=True)


#: name -> file: the catalogue of model files. Names are what ``python -m bench weights
#: fetch NAME`` takes; which metric needs which file is declared by the metric
#: (``ImageMetric.weights``).
MANIFEST: dict[str, WeightFile] = {
    # torchvision.models.AlexNet_Weights.IMAGENET1K_V1 (LPIPS-Alex backbone)
    "alexnet": WeightFile("alexnet-owt-7be5be79.pth", "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
                          None, hash_prefix="7be5be79"),
    # torchvision.models.VGG16_Weights.IMAGENET1K_V1 (DISTS backbone)
    "vgg16": WeightFile("vgg16-397923af.pth", "https://download.pytorch.org/models/vgg16-397923af.pth",
                        None, hash_prefix="397923af"),
    # pyiqa 0.1.16 archs/dists_arch.py default_model_urls (alpha/beta of DISTS)
    "dists": WeightFile("DISTS_weights-f5e65c96.pth", f"{_HF}/DISTS_weights-f5e65c96.pth", None),
    # pyiqa 0.1.16 archs/niqe_arch.py default_model_urls['url'] (pristine MVG model)
    "niqe": WeightFile("niqe_modelparameters.mat", f"{_HF}/niqe_modelparameters.mat", None),
    # pyiqa 0.1.16 archs/musiq_arch.py default_model_urls['koniq10k']
    "musiq": WeightFile("musiq_koniq_ckpt-e95806b9.pth", f"{_HF}/musiq_koniq_ckpt-e95806b9.pth", None),
    # pyiqa 0.1.16 archs/maniqa_arch.py default_model_urls['koniq']
    "maniqa": WeightFile("ckpt_koniq10k.pt", f"{_HF}/ckpt_koniq10k.pt", None),
    # OpenAI CLIP RN50; the sha256 is the URL's path component (openai/CLIP clip/clip.py _MODELS)
    "clip_rn50": WeightFile(
        "RN50.pt",
        "https://openaipublic.azureedge.net/clip/models/"
        "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762/RN50.pt",
        "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762"),
    # pytorch-fid's port of the TF FID Inception (mseitzer/pytorch-fid, inception.py FID_WEIGHTS_URL)
    "inception_fid": WeightFile(
        "pt_inception-2015-12-05-6726825d.pth",
        "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
        None),
}


def weights_dir() -> Path:
    """The weights directory: ``$TAIR_BENCH_WEIGHTS`` (set by the CLI's
    ``--weights-dir``), else ``~/.cache/tair-bench/weights``."""
    env = os.environ.get(ENV_DIR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tair-bench" / "weights"


def _entry(name: str) -> WeightFile:
    if name not in MANIFEST:
        raise BenchError(f"unknown weight file '{name}'{did_you_mean(name, MANIFEST)}; "
                         f"known: {', '.join(sorted(MANIFEST))}")
    return MANIFEST[name]


def path_of(name: str) -> Path:
    """Where the file for ``name`` is expected in :func:`weights_dir` (it may not exist)."""
    return weights_dir() / _entry(name).filename


#: how every per-file fix begins (:func:`run_note` cuts the fix off at it)
FIX_PREFIX = "run `python -m bench weights fetch"


def fix_for(name: str) -> str:
    """The one action that provides the file for ``name``."""
    return f"{FIX_PREFIX} {name}` on a machine with internet, or copy the file there (from {_entry(name).url})"


def missing_message(name: str, what: str) -> str | None:
    """One preflight line if the file for ``name`` is neither in :func:`weights_dir` nor,
    verified, in another cache (:func:`locate`), else ``None``. Never downloads."""
    if locate(_entry(name)).path is not None:
        return None
    return str(WeightsMissing(what, str(path_of(name)), fix_for(name)))


def require(name: str, what: str) -> Path:
    """The path of the file for ``name`` (:func:`locate`: the weights folder first, then
    torch hub's and pyiqa's caches, hash-checked), or raise :class:`WeightsMissing`.
    A file used from another cache is announced once on stderr, with its path."""
    found = locate(_entry(name))
    if found.path is None:
        raise WeightsMissing(what, str(path_of(name)), fix_for(name))
    if found.where != "weights folder" and found.path not in _ANNOUNCED:
        _ANNOUNCED.add(found.path)
        print(f"{what}: using {found.path} ({found.where}; {found.detail})", file=sys.stderr)
    return found.path


# -- other caches: torch hub and pyiqa ---------------------------------------------------

#: files already announced by :func:`require` in this process
_ANNOUNCED: set[Path] = set()
#: (path, size, mtime_ns) -> sha256, so a large file is hashed once per process
_DIGESTS: dict[tuple[str, int, int], str] = {}


@dataclass(frozen=True)
class Found:
    """Where a weight file was found: ``path`` (None: not usable anywhere), ``where``
    (which folder, in words) and ``detail`` (the hash check, or why a candidate was refused)."""

    path: Path | None
    where: str
    detail: str


def cache_dirs() -> list[tuple[str, Path]]:
    """Other download caches searched by file name, in order: torch hub's checkpoints
    (``torch.hub.get_dir()``, which honours ``$TORCH_HOME``), pyiqa 0.1.16's cache
    (``pyiqa.utils.download_util.DEFAULT_CACHE_DIR`` = ``<hub dir>/pyiqa``) and the
    folder pyiqa's CLIP loader downloads to (``<hub dir>/clip``, ``archs/clip_model.py``).
    The hub dir is read at each call, so a changed ``$TORCH_HOME`` counts."""
    import torch.hub

    hub = Path(torch.hub.get_dir())
    return [("torch hub's cache", hub / "checkpoints"), ("pyiqa's cache", hub / "pyiqa"),
            ("pyiqa's CLIP cache", hub / "clip")]


def _digest(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256_of(path)
    return _DIGESTS[key]


def _known_hashes(wf: WeightFile) -> list[tuple[str, str]]:
    """What a file found elsewhere must match, all of it: ``(hex, words)`` for the
    published sha256, the sha256 recorded in checksums.json and the published prefix."""
    recorded = _load_checksums().get(wf.filename)
    return [(h, words) for h, words in ((wf.sha256, "published sha256"),
                                        (recorded, f"sha256 recorded in {CHECKSUMS}"),
                                        (wf.hash_prefix, "published sha256 prefix")) if h]


def _vet(path: Path, where: str, wf: WeightFile) -> Found:
    """Accept ``path`` (found in another cache) only if its sha256 matches all that is known."""
    known = _known_hashes(wf)
    if not known:
        return Found(None, where, f"{path} has the name but no hash is known to check it against; copy it "
                                  f"into {weights_dir()} to adopt it (its sha256 is recorded on first verify)")
    digest = _digest(path)
    for h, words in known:
        if not digest.startswith(h):
            return Found(None, where, f"{path} has the name but not the content: {words} {h}, file has {digest}")
    return Found(path, where, " and ".join(f"{words} {h}" for h, words in known) + " checked")


def locate(wf: WeightFile) -> Found:
    """Where file ``wf`` can be used from: the weights folder
    (trusted as is; :func:`verify` checks it), else the first other cache (:func:`cache_dirs`)
    holding the same file name with a matching hash. Not found: ``path`` None and
    ``detail`` says why each candidate was refused."""
    own = weights_dir() / wf.filename
    if own.is_file():
        return Found(own, "weights folder", "")
    refused = []
    for where, folder in cache_dirs():
        cand = folder / wf.filename
        if cand.is_file():
            found = _vet(cand, where, wf)
            if found.path is not None:
                return found
            refused.append(f"{where}: {found.detail}")
    return Found(None, "", "; ".join(refused))


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file (see :func:`bench.io.hashing.file_sha256`)."""

    return file_sha256(path)


def load_checkpoint(path: Path, what: str, mmap: bool = False) -> Any:
    """Read a torch checkpoint safely: the one way tair-bench opens a weight file.

    First with ``weights_only=True`` (tensors and plain containers only; nothing in
    the file can run code). A file that needs full unpickling (some published pyiqa
    files pickle more than tensors) is opened that way only after its sha256 has
    matched the full published hash in :data:`MANIFEST`; anything else is refused,
    so a file dropped into the weights folder cannot run code. (A published hash
    *prefix* is not enough: eight hex digits can be forged by brute force.)

    ``mmap=True`` maps a tensors-only file instead of reading it: only the tensors the
    caller copies from are paged in (e.g. VGG16's conv layers, not its 480 MB classifier).
    """
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    entry = next((wf for wf in MANIFEST.values() if wf.filename == Path(path).name and wf.sha256), None)
    digest = sha256_of(Path(path))
    if entry is None or digest != entry.sha256:
        expected = f"the published sha256 {entry.sha256}" if entry else "no published sha256 in the manifest"
        raise BenchError(
            f"{what}: refused to load {path}: it holds more than tensors ({reason}), which could run code "
            f"when unpickled, and its sha256 {digest} does not match {expected}. Replace it with the official "
            f"file ('bench weights fetch') or convert it to a plain state dict") from None
    return torch.load(path, map_location="cpu", weights_only=False)


def _load_checksums() -> dict[str, str]:
    p = weights_dir() / CHECKSUMS
    if not p.is_file():
        return {}
    try:
        return dict(json.loads(p.read_text()))
    except (ValueError, TypeError) as exc:
        raise BenchError(f"{p}: not a JSON object of filename -> sha256 ({exc}); fix or delete it") from None


def _record_checksum(filename: str, digest: str) -> None:
    sums = _load_checksums()
    sums[filename] = digest
    atomic_write_bytes(weights_dir() / CHECKSUMS, (json.dumps(sums, indent=2, sort_keys=True) + "\n").encode())


def _check(wf: WeightFile, digest: str) -> tuple[str, str]:
    """Compare ``digest`` with what is known for ``wf``: (status, detail)."""
    if wf.sha256:
        ok = digest == wf.sha256
        return ("ok" if ok else "mismatch"), f"published sha256 {wf.sha256}" + ("" if ok else f", file has {digest}")
    recorded = _load_checksums().get(wf.filename)
    if wf.hash_prefix and not digest.startswith(wf.hash_prefix):
        return "mismatch", f"published sha256 prefix {wf.hash_prefix}, file has {digest}"
    if recorded and recorded != digest:
        return "mismatch", f"recorded sha256 {recorded} (checksums.json), file has {digest}"
    if recorded:
        return "ok", f"matches recorded sha256 {recorded}" + (f" and prefix {wf.hash_prefix}" if wf.hash_prefix else "")
    return "recorded", f"no published sha256; recorded {digest} in {CHECKSUMS}"


def is_offline() -> bool:
    """True when the environment forbids downloads (``HF_HUB_OFFLINE=1``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


# -- what to fetch: names, aliases, suites ------------------------------------------------


@dataclass(frozen=True)
class Need:
    """One file to provide: ``key`` (a :data:`MANIFEST` name, or ``adapter/model`` for a
    restorer's file), the file, and who needs it (for messages)."""

    key: str
    file: WeightFile
    users: tuple[str, ...] = ()


# -- fetch and verify ------------------------------------------------------------------------


def _fix(need: Need) -> str:
    return fix_for(need.key) if need.key in MANIFEST else f"download {need.file.url} there"


def plan(needs: Iterable[Need]) -> list[str]:
    """``--dry-run``: one line per file saying where it is already, or what would be
    downloaded from where to where. No network access."""
    lines = []
    for need in needs:
        found, who = locate(need.file), ", ".join(need.users)
        if found.path is not None:
            lines.append(f"{need.key}: present at {found.path} ({found.where}) -- nothing to fetch [{who}]")
            continue
        lines.append(f"{need.key}: would fetch {need.file.filename} from {need.file.url} -> "
                     f"{weights_dir() / need.file.filename} (size unknown until downloaded) [{who}]")
    return lines


@dataclass(frozen=True)
class Outcome:
    """What fetching one file came to: ``ok`` and one line for the user."""

    key: str
    ok: bool
    line: str


def _fetch_one(need: Need) -> Outcome:
    """Use a copy already found (:func:`locate`), else download ``need`` into the weights folder."""
    found, dest = locate(need.file), weights_dir() / need.file.filename
    if found.path is not None:
        status, detail = _verify_found(need, found)
        return Outcome(need.key, status in ("ok", "recorded"), f"{need.key}: already present at {found.path} "
                                                                f"({status}: {detail})")
    try:
        _download(need.file.url, dest)
    except BenchError as exc:
        return Outcome(need.key, False, f"{need.key}: {exc}")
    status, detail = _check(need.file, sha256_of(dest))
    if status == "mismatch":
        dest.unlink()
        return Outcome(need.key, False, f"{need.key}: downloaded file failed its hash check ({detail}); removed it")
    _record_checksum(dest.name, sha256_of(dest))
    return Outcome(need.key, True, f"{need.key}: downloaded to {dest} ({status}: {detail})")


def fetch_needs(needs: Iterable[Need], offline: bool = False) -> list[Outcome]:
    """Provide each file (:func:`_fetch_one`), going on after a failure, so that one bad
    URL or no network is reported per file rather than at the first. Offline (``offline``
    or ``HF_HUB_OFFLINE=1``) with files absent: raises :class:`BenchError` listing their
    URLs and destinations, before any network access."""
    needs = list(needs)
    absent = [n for n in needs if locate(n.file).path is None]
    if absent and (offline or is_offline()):
        urls = "\n".join(f"  {n.key}: {n.file.url} -> {weights_dir() / n.file.filename}" for n in absent)
        raise BenchError("offline mode (--offline or HF_HUB_OFFLINE=1): not downloading. "
                         f"Fetch these on a machine with internet and copy them there:\n{urls}")
    return [_fetch_one(n) for n in needs]


def manifest_needs(names: Iterable[str]) -> list[Need]:
    """The :data:`MANIFEST` files named ``names`` (metric names as aliases, and whole suites:
    :mod:`bench.weight_needs`)."""
    for name in names:
        if name not in MANIFEST:
            raise BenchError(f"unknown weight file '{name}'{did_you_mean(name, MANIFEST)}; "
                             f"known: {', '.join(sorted(MANIFEST))}")
    return [Need(k, MANIFEST[k]) for k in dict.fromkeys(names)]


def fetch(names: Iterable[str], offline: bool = False) -> list[str]:
    """Download the named :data:`MANIFEST` files into :func:`weights_dir`; one line per
    file. Files present (here or, verified, in another cache) are not downloaded. A
    download goes to a temp file and is renamed into place only after its hash checks
    out. Raises :class:`BenchError` with every line when any file failed (offline:
    ``offline`` or ``HF_HUB_OFFLINE=1``, no network, a hash mismatch)."""
    outcomes = fetch_needs(manifest_needs(names), offline)
    if not all(o.ok for o in outcomes):
        raise BenchError("weights fetch failed:\n" + "\n".join(f"  {o.line}" for o in outcomes))
    return [o.line for o in outcomes]


def _download(url: str, dest: Path) -> None:
    """Stream ``url`` into a temp file next to ``dest``, then rename it into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            shutil.copyfileobj(resp, out, length=1 << 20)
        os.chmod(tmp, NEW_FILE_MODE)
        os.replace(tmp, dest)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise BenchError(f"download of {url} failed ({exc}); fetch it elsewhere and copy it to {dest}") from None
        raise


def _verify_found(need: Need, found: Found) -> tuple[str, str]:
    """Status and detail of a file :func:`locate` found: a file in another cache has
    passed its hash check there; one in the weights folder is checked now."""
    if found.where != "weights folder":
        return "ok", f"found in {found.where}: {found.path} ({found.detail}); used there, not copied"
    digest = sha256_of(found.path)
    status, detail = _check(need.file, digest)
    if status == "recorded":
        _record_checksum(found.path.name, digest)
    return status, detail


def verify_needs(needs: Iterable[Need]) -> list[tuple[str, str, str]]:
    """``(key, status, detail)`` per file: ``ok`` (matches a published or recorded
    sha256; for a file in another cache, the detail says where), ``recorded`` (no hash
    known: recorded now for later checks), ``mismatch`` or ``missing``."""
    out = []
    for need in needs:
        found = locate(need.file)
        if found.path is None:
            refused = f" (not used: {found.detail})" if found.detail else ""
            out.append((need.key, "missing", f"{weights_dir() / need.file.filename}{refused} -- {_fix(need)}"))
            continue
        out.append((need.key, *_verify_found(need, found)))
    return out


def verify(names: Iterable[str]) -> list[tuple[str, str, str]]:
    """:func:`verify_needs` for the named :data:`MANIFEST` files."""
    return verify_needs(manifest_needs(names))


def suite_command(suite_path: str | os.PathLike) -> str:
    """The one command that provides every model file of a suite."""
    return f"python -m bench weights fetch --suite {suite_path}"


def run_note(reasons: dict[str, str], suite_path: str | os.PathLike) -> list[str]:
    """The lines ``bench run`` prints for unavailable metrics (name -> recorded reason):
    each reason without its per-file fix, then one command for all missing files."""
    lines = [f"  {name}: {reason.split(' -- ' + FIX_PREFIX)[0]}" for name, reason in reasons.items()]
    if any(f" -- {FIX_PREFIX}" in r for r in reasons.values()):
        lines.append(f"get the missing model files with: {suite_command(suite_path)}")
    return lines
