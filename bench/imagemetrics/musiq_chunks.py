"""MUSIQ computed in chunks that its definition keeps apart: pyiqa's numbers, bounded memory.

pyiqa 0.1.16's MUSIQ (``pyiqa/archs/musiq_arch.py``) turns an image into one token per
32x32 patch at full resolution (``max_seq_len_from_original_res=-1``) plus the patches
of its 224 and 384 px rescalings: N = 3,216 tokens for a 2048x1536 image. Two steps then
hold memory in proportion to N, and both split exactly:

* **The patch stem** (``MUSIQ.forward``, musiq_arch.py:429-435: ``conv_root``,
  ``gn_root``, ``root_pool``, ``block1``, called one after the other with nothing in
  between, then ``permute(0, 2, 3, 1)`` and ``reshape`` to tokens) runs on all N patches
  as one batch; inside ``block1`` (a bottleneck with a projection) five 256-channel maps
  of all patches, ~210 MB each, are alive at once, and the reshape copies the result once
  more (measured: the stem is MUSIQ's peak, +820 MB on that image). Every op of the stem
  is per sample: weight-standardized convolutions, GroupNorm (statistics over one
  sample's channel groups), ReLU, padding, max-pooling. So the four modules applied to a
  chunk of patches give that chunk's rows of the whole-batch output. At ``conv_root``'s
  call we run all four, ``STEM_PATCHES`` patches at a time, into one output tensor laid
  out channels-last (the same values; its ``permute(0, 2, 3, 1)`` is then contiguous, so
  the ``reshape`` is a view, not a copy); the other three modules pass that result
  through unchanged while the swap is in place.
* **Self-attention** (``MultiHeadAttention.forward``, lines 144-172) forms the whole
  ``(heads, N, N)`` score matrix, a masked copy and its softmax: 6 x 3,216^2 float32 =
  248 MB each, in each of the 14 layers. Output row ``i`` is
  ``softmax(masked(q_i K^T * scale)) V``: it reads query row ``i`` and all keys and
  values, never another query row. So we form the scores of ``QUERY_ROWS`` query rows
  at a time, mask them as pyiqa does (``mask_i * mask_j == 0`` filled with -1e3),
  softmax over the full key axis and multiply by ``V``. The query/key/value/out
  projections are pyiqa's own modules, applied to the whole sequence as before; dropout
  is applied where pyiqa applies it (the identity in eval mode).

:func:`chunked_musiq` swaps both in for the duration of a call. The values equal
pyiqa's forward to float rounding (a matrix product's summation order may depend on
its shape): ``tests/test_musiq_chunks.py`` allows 1e-5; on 300x420 and 720x1280 images the
scores were bit-identical.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: query rows per attention block (scores: 6 heads x 256 x 3216 x 4 bytes = 20 MB)
QUERY_ROWS = 256
#: patches per chunk of the stem (conv_root's output: 256 x 64 x 16 x 16 x 4 bytes = 17 MB)
STEM_PATCHES = 256
#: MUSIQ's per-patch stem, in the order ``MUSIQ.forward`` applies it
STEM_MODULES = ("conv_root", "gn_root", "root_pool", "block1")


def _heads(t, b: int, n: int, heads: int):
    """``(B, N, C)`` -> ``(B, heads, N, C // heads)``, pyiqa's reshape and permute."""
    return t.reshape(b, n, heads, t.shape[-1] // heads).permute(0, 2, 1, 3)


def attention_by_rows(module, x, mask=None, rows: int = QUERY_ROWS):
    """pyiqa's ``MultiHeadAttention.forward(x, mask)`` for ``module``, its score matrix
    formed ``rows`` query rows at a time (module doc)."""
    import torch

    b, n, c = x.shape
    h = module.num_heads
    q, k, v = (_heads(f(x), b, n, h) for f in (module.query, module.key, module.value))
    kt = k.transpose(-2, -1)
    mask_w = None if mask is None else mask.reshape(b, 1, 1, n)
    out = torch.empty((b, h, n, c // h), dtype=v.dtype, device=v.device)
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        attn = (q[:, :, r0:r1] @ kt) * module.scale
        if mask_w is not None:
            mask_h = mask[:, r0:r1].reshape(b, 1, r1 - r0, 1)
            attn = attn.masked_fill(mask_h * mask_w == 0, -1e3)
        attn = module.attn_drop(attn.softmax(dim=-1))
        out[:, :, r0:r1] = attn @ v
    out = out.transpose(1, 2).reshape(b, n, c)
    return module.out_drop(module.out(out))


def stem_by_chunks(modules, size: int):
    """The per-sample ``modules`` (their own forwards, in order) applied to ``size``
    samples at a time, into one channels-last output (module doc)."""
    import torch

    def stem(x):
        for m in modules:
            x = m(x)
        return x

    def chunked(x):
        n = x.shape[0]
        first = stem(x[:size])
        out = torch.empty((n, *first.shape[1:]), dtype=first.dtype, device=first.device,
                          memory_format=torch.channels_last)
        out[:size] = first  # filled in place: no list of chunks beside a concatenated copy
        del first
        for i in range(size, n, size):
            out[i:i + size] = stem(x[i:i + size])
        return out

    return chunked


def _pass_through(x):
    return x


@contextmanager
def chunked_musiq(net, rows: int = QUERY_ROWS, patches: int = STEM_PATCHES) -> Iterator[None]:
    """Within the block, pyiqa MUSIQ ``net`` runs its stem by chunks of patches and every
    attention layer by blocks of query rows (module doc)."""
    from pyiqa.archs import musiq_arch

    cls = musiq_arch.MultiHeadAttention
    original = cls.forward
    stem = [getattr(net, name) for name in STEM_MODULES]
    whole_stem = stem_by_chunks([m.forward for m in stem], patches)

    def forward(self, x, mask=None):
        return attention_by_rows(self, x, mask, rows)

    cls.forward = forward
    # an instance attribute shadows the class's forward; deleting it restores that
    stem[0].forward = whole_stem
    for m in stem[1:]:
        m.forward = _pass_through
    try:
        yield
    finally:
        cls.forward = original
        for m in stem:
            del m.forward
