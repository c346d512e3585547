"""Model files for the image metrics: where they live, where they come from, and
checks that they are the right bytes.

Offline first: nothing in tair-bench downloads a model file while a suite runs.
Every network metric asks :func:`require` for its file and fails at once, naming
the file and the fix, when it is absent. Files arrive only through
``python -m bench weights fetch NAME`` (this module's :func:`fetch`) or by copying
them into :func:`weights_dir` by hand.

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
    """Where the file for ``name`` is expected (it may not exist)."""
    return weights_dir() / _entry(name).filename


def fix_for(name: str) -> str:
    """The one action that provides the file for ``name``."""
    return (f"run `python -m bench weights fetch {name}` on a machine with internet, "
            f"or copy the file there (from {_entry(name).url})")


def missing_message(name: str, what: str) -> str | None:
    """One preflight line if the file for ``name`` is absent, else ``None``. Never downloads."""
    path = path_of(name)
    if path.is_file():
        return None
    return str(WeightsMissing(what, str(path), fix_for(name)))


def require(name: str, what: str) -> Path:
    """Return the path of the file for ``name``, or raise :class:`WeightsMissing`."""
    path = path_of(name)
    if not path.is_file():
        raise WeightsMissing(what, str(path), fix_for(name))
    return path


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


def _check(name: str, digest: str) -> tuple[str, str]:
    """Compare ``digest`` with what is known for ``name``: (status, detail)."""
    wf = MANIFEST[name]
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


def expand(names: Iterable[str]) -> list[str]:
    """Weight names for ``names``; ``"all"`` means every file in the manifest."""
    out: list[str] = []
    for n in names:
        for m in (sorted(MANIFEST) if n == "all" else [n]):
            _entry(m)
            if m not in out:
                out.append(m)
    return out


def fetch(names: Iterable[str], offline: bool = False) -> list[str]:
    """Download the named files into :func:`weights_dir`; return one line per file.

    Files already present are verified, not downloaded again. A download goes to a
    temp file in the same directory and is renamed into place only after its hash
    checks out. Refuses (raises :class:`BenchError`, listing the URLs) when
    ``offline`` is true or ``HF_HUB_OFFLINE=1``.
    """
    todo = expand(names)
    absent = [n for n in todo if not path_of(n).is_file()]
    if absent and (offline or is_offline()):
        urls = "\n".join(f"  {n}: {MANIFEST[n].url} -> {path_of(n)}" for n in absent)
        raise BenchError("offline mode (--offline or HF_HUB_OFFLINE=1): not downloading. "
                         f"Fetch these on a machine with internet and copy them there:\n{urls}")
    lines = []
    for n in todo:
        dest = path_of(n)
        if n not in absent:
            status, detail = verify([n])[0][1:]
            lines.append(f"{n}: already present at {dest} ({status}: {detail})")
            continue
        _download(MANIFEST[n].url, dest)
        status, detail = _check(n, sha256_of(dest))
        if status == "mismatch":
            dest.unlink()
            raise BenchError(f"{n}: downloaded file failed its hash check ({detail}); removed it")
        _record_checksum(dest.name, sha256_of(dest))
        lines.append(f"{n}: downloaded to {dest} ({status}: {detail})")
    return lines


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


def verify(names: Iterable[str]) -> list[tuple[str, str, str]]:
    """Check the named files on disk: ``(name, status, detail)`` per file.

    Status is ``ok`` (matches a published or recorded sha256), ``recorded`` (no
    hash known: recorded now for later checks), ``mismatch`` or ``missing``.
    """
    out = []
    for n in expand(names):
        path = path_of(n)
        if not path.is_file():
            out.append((n, "missing", f"{path} -- {fix_for(n)}"))
            continue
        digest = sha256_of(path)
        status, detail = _check(n, digest)
        if status == "recorded":
            _record_checksum(path.name, digest)
        out.append((n, status, detail))
    return out
