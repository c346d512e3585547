"""MUSIQ's stem by chunks of patches and its attention by blocks of query rows
(bench/imagemetrics/musiq_chunks.py) against pyiqa's own forward."""

from __future__ import annotations

import pytest

from bench.imagemetrics.musiq_chunks import STEM_MODULES, attention_by_rows, chunked_musiq, stem_by_chunks

torch = pytest.importorskip("torch")
musiq_arch = pytest.importorskip("pyiqa.archs.musiq_arch")


@pytest.mark.parametrize("n, rows", [(301, 64), (50, 7), (20, 256)])
def test_attention_by_rows_equals_pyiqa_attention(n, rows):
    """Blocks of 64 and 7 query rows (not dividing N) and one block larger than N, with a
    mask that zeroes 40 % of the tokens: pyiqa's MultiHeadAttention.forward to 1e-6."""
    torch.manual_seed(n)
    att = musiq_arch.MultiHeadAttention(384, 6, bias=True).eval()
    x = torch.randn(2, n, 384)
    mask = torch.rand(2, n) > 0.4
    mask[:, 0] = True  # the class token is never masked (TransformerEncoder.forward)
    with torch.inference_mode():
        whole = att(x, mask)
        rows_out = attention_by_rows(att, x, mask, rows)
        unmasked = attention_by_rows(att, x, None, rows)
        whole_unmasked = att(x)
    assert rows_out.shape == whole.shape
    assert float((rows_out - whole).abs().max()) <= 1e-6
    assert float((unmasked - whole_unmasked).abs().max()) <= 1e-6
    assert float((unmasked - rows_out).abs().max()) > 1e-3  # the mask reaches the output


def test_stem_by_chunks_equals_the_whole_batch():
    """MUSIQ's whole patch stem (conv_root, gn_root, root_pool, block1) on 37 patches of
    32x32, 8 at a time (the last chunk partial): the whole-batch output to 1e-6, laid out
    so that MUSIQ's permute(0, 2, 3, 1) is contiguous (its reshape is then a view)."""
    torch.manual_seed(1)
    net = musiq_arch.MUSIQ(pretrained=False).eval()
    modules = [getattr(net, m) for m in STEM_MODULES]
    x = torch.randn(37, 3, 32, 32)
    with torch.inference_mode():
        whole = x
        for m in modules:
            whole = m(whole)
        chunks = stem_by_chunks([m.forward for m in modules], 8)(x)
    assert chunks.shape == whole.shape == (37, 256, 8, 8)
    assert float((chunks - whole).abs().max()) <= 1e-6
    assert chunks.permute(0, 2, 3, 1).is_contiguous()


def test_chunked_musiq_equals_pyiqa_musiq_and_is_undone():
    """pyiqa's whole MUSIQ (random weights, KonIQ head) on a 300x420 image and a 2x2 batch
    of smaller ones: the same scores with the stem 16 patches and the attention 32 rows at a
    time, to 1e-5; afterwards every forward is pyiqa's again."""
    torch.manual_seed(3)
    net = musiq_arch.MUSIQ(pretrained=False).eval()
    images = [torch.rand(1, 3, 300, 420), torch.rand(2, 3, 96, 130)]
    original = musiq_arch.MultiHeadAttention.forward
    with torch.inference_mode():
        whole = [net(x) for x in images]
        with chunked_musiq(net, rows=32, patches=16):
            assert musiq_arch.MultiHeadAttention.forward is not original
            assert all("forward" in vars(getattr(net, m)) for m in STEM_MODULES)
            chunked = [net(x) for x in images]
    assert musiq_arch.MultiHeadAttention.forward is original
    assert not any("forward" in vars(getattr(net, m)) for m in STEM_MODULES)
    for a, b in zip(whole, chunked):
        assert a.shape == b.shape
        assert float((a - b).abs().max()) <= 1e-5
    assert float((whole[1][0] - whole[1][1]).abs()) > 0  # different images, different scores
