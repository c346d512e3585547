"""Image reading, writing and hashing (lossless PNG for everything we store)."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.errors import DataError
from bench.io.writable import write_failed


def to_rgb_array(img: Image.Image) -> np.ndarray:
    """Return a PIL image as an ``(H, W, 3)`` uint8 RGB array."""
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def decode_image(data: bytes, where: str) -> np.ndarray:
    """Decode encoded image bytes; ``where`` names the source in the error."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return to_rgb_array(img)
    except UnidentifiedImageError:  # its message holds the repr (memory address) of the buffer
        raise DataError(f"{where}: not a readable image (unknown or corrupt image format)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{where}: not a readable image ({exc})") from None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file into RGB uint8, with a clear error if it is bad."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: image file not found")
    return decode_image(p.read_bytes(), str(p))


def encode_png(arr: np.ndarray) -> bytes:
    """Encode an RGB uint8 array as PNG bytes (lossless, deterministic)."""
    buf = io.BytesIO()
    Image.fromarray(arr, mode="RGB").save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _file_mode() -> int:
    """The mode a plain ``open(path, "w")`` gives a new file: 0o666 less the umask
    (read once, at import: ``os.umask`` can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


NEW_FILE_MODE = _file_mode()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file + rename, so readers never see
    a partial file even if the process is killed mid-write. The file gets the
    user's normal permissions (``mkstemp`` alone would leave it 0600). A write that
    fails (full disk, read-only, not ours) leaves no temp file and raises
    :class:`bench.errors.WriteFailed` naming ``path``, the cause and the fix."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as exc:
        raise write_failed(p, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, NEW_FILE_MODE)
        os.replace(tmp, p)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise write_failed(p, exc) from None
        raise


def save_pil(img: Image.Image, path: str | os.PathLike, **options) -> None:
    """Save a PIL image atomically, in the format its suffix names (``.jpg``, ``.png``)."""
    buf = io.BytesIO()
    img.save(buf, format=Image.registered_extensions()[Path(path).suffix.lower()], **options)
    atomic_write_bytes(path, buf.getvalue())


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_png(path: str | os.PathLike, arr: np.ndarray) -> None:
    """Save an RGB uint8 array as PNG atomically."""
    atomic_write_bytes(path, encode_png(arr))


def array_hash(arr: np.ndarray) -> str:
    """Content hash of an image array (shape, dtype and pixels), hex sha256."""
    h = hashlib.sha256()
    h.update(repr((arr.shape, str(arr.dtype))).encode())
    h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def bicubic_resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize RGB uint8 to ``(width, height)`` with PIL's bicubic filter.

    PIL is used (not OpenCV) so the reference "no restoration" row is the same
    on every platform; PIL bicubic uses a = -0.5 and antialiases on downscale.
    """
    w, h = size
    if arr.shape[1] == w and arr.shape[0] == h:
        return arr.copy()
    return to_rgb_array(Image.fromarray(arr).resize((w, h), Image.Resampling.BICUBIC))
