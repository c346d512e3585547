"""DISTS, MUSIQ, MANIQA and CLIP-IQA with stand-in checkpoints: each file has the real
file name and the real format (what pyiqa 0.1.16's loader for it reads), built from the
real architecture with random weights, here. They exercise loading, batching and
aggregation; their values mean nothing and are never compared with published scores
or printed as scores.

Formats, as read in pyiqa 0.1.16 (archs/*_arch.py) and OpenAI CLIP:

* DISTS: ``vgg16-397923af.pth`` is torchvision's VGG16 state dict (``features.*``,
  ``classifier.*``), served to ``vgg16(weights='IMAGENET1K_V1')`` through the hub
  cache; ``DISTS_weights-f5e65c96.pth`` holds ``alpha`` and ``beta``
  (1, 1475, 1, 1), loaded non-strictly.
* MUSIQ: ``musiq_koniq_ckpt-e95806b9.pth`` is the ``MUSIQ(num_class=1)`` state dict,
  loaded strictly by pyiqa from ``pretrained_model_path``.
* MANIQA: ``ckpt_koniq10k.pt`` is the ``MANIQA`` state dict (timm ViT-B/8 under
  ``vit.*``), loaded strictly.
* CLIP-IQA: ``RN50.pt`` is a TorchScript archive of OpenAI's CLIP RN50 (traced,
  conv/linear/attention weights in fp16, as ``clip.model.convert_weights`` leaves
  them); pyiqa's ``clip_model.load`` ``torch.jit.load``s it and rebuilds its own CLIP
  from the archive's state dict.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bench.imagemetrics import create_metric
from bench.io import weights

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("pyiqa")

# torch 2.14 marks TorchScript deprecated; RN50.pt is TorchScript and pyiqa loads it so.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*deprecated:FutureWarning")


def img(seed: int, h: int = 64, w: int = 96) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _file(d, name: str):
    return d / weights.MANIFEST[name].filename


def _finite(values) -> bool:
    return all(isinstance(v, float) and np.isfinite(v) for v in values)


def _definition_names_files(m) -> None:
    """The definition says which files were read (here: the stand-ins, by their real
    names). Nothing labels a stand-in as such: these values exist only inside tests,
    which never print or record them as scores."""
    for wname in m.weights:
        assert weights.MANIFEST[wname].filename in m.definition


@pytest.fixture
def wdir(tmp_path, monkeypatch, no_network):
    """An empty weights dir that the metrics read; its stand-ins (hundreds of MB) are
    deleted after the test rather than left in pytest's kept temp dirs."""
    monkeypatch.setenv(weights.ENV_DIR, str(tmp_path))
    yield tmp_path
    for p in tmp_path.iterdir():
        p.unlink()


# -- DISTS ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def dists_dir(tmp_path_factory):
    """Random torchvision VGG16 (about 530 MB: written once per session, removed after)
    and random positive alpha/beta, as DISTS' release file holds them."""
    import torchvision

    d = tmp_path_factory.mktemp("standin-dists")
    torch.manual_seed(1)
    torch.save(torchvision.models.vgg16(weights=None).state_dict(), _file(d, "vgg16"))
    torch.save({"alpha": torch.rand(1, 1475, 1, 1) * 0.1 + 0.05, "beta": torch.rand(1, 1475, 1, 1) * 0.1 + 0.05},
               _file(d, "dists"))
    yield d
    for p in d.iterdir():
        p.unlink()


def test_dists_standin(dists_dir, monkeypatch, no_network):
    """The trunk and alpha/beta are exactly the saved tensors; DISTS(x, x) = 0; a batch
    with two sizes equals the pairs scored one by one; definition names both files."""
    monkeypatch.setenv(weights.ENV_DIR, str(dists_dir))
    m = create_metric("dists", batch_size=2)
    assert m.preflight() == []
    m.load("cpu")
    vgg = torch.load(_file(dists_dir, "vgg16"))
    ab = torch.load(_file(dists_dir, "dists"))
    net = m.model.net
    assert torch.equal(net.stage1[0].weight, vgg["features.0.weight"])
    assert torch.equal(getattr(net.stage5, "28").weight, vgg["features.28.weight"])
    assert torch.equal(net.alpha, ab["alpha"]) and torch.equal(net.beta, ab["beta"])
    refs = [img(1), img(2), img(3, 72, 72)]
    preds = [img(4), refs[1], img(5, 72, 72)]
    batch = m.score_batch(preds, refs)
    assert _finite(batch)
    assert batch[1] == pytest.approx(0.0, abs=1e-5)
    assert batch[0] > 1e-3 and batch[2] > 1e-3
    single = [m.score_batch([p], [r])[0] for p, r in zip(preds, refs)]
    assert batch == pytest.approx(single, rel=1e-4, abs=1e-6)
    _definition_names_files(m)
    # pairs too large for one tile go through bench.imagemetrics.dists_tiled: force that path
    # for these small pairs (one tile each) and get the same values
    monkeypatch.setattr("bench.imagemetrics.nets.fits_one_tile", lambda h, w: False)
    assert m.score_batch(preds, refs) == pytest.approx(batch, abs=1e-5)


# -- MUSIQ ------------------------------------------------------------------------------
def test_musiq_standin(wdir):
    """pyiqa's MUSIQ (KonIQ head: one output) with random weights, saved as a state dict
    under the real name: loaded strictly, finite, batch equals one by one."""
    from pyiqa.archs.musiq_arch import MUSIQ

    torch.manual_seed(2)
    sd = MUSIQ(pretrained=False).state_dict()
    torch.save(sd, _file(wdir, "musiq"))
    m = create_metric("musiq", batch_size=2)
    assert m.preflight() == []
    m.load("cpu")
    assert torch.equal(m.model.net.head.weight, sd["head.weight"])
    images = [img(6), img(7)]
    batch = m.score_batch(images)
    assert _finite(batch)
    assert batch[0] != batch[1]  # the input reaches the score
    assert batch == pytest.approx([m.score_batch([x])[0] for x in images], rel=1e-4, abs=1e-5)
    _definition_names_files(m)


# -- MANIQA -----------------------------------------------------------------------------
@pytest.mark.slow
def test_maniqa_standin(wdir):
    """pyiqa's MANIQA (KonIQ options: scale 0.8) on a random timm ViT-B/8, saved as a state
    dict under the real name: loaded strictly with no hub download. Two 224x224 images:
    finite, batch equals one by one (crops of one image are not mixed with another's)."""
    from pyiqa.archs.maniqa_arch import MANIQA

    from bench.imagemetrics.nets import _timm_without_download

    torch.manual_seed(3)
    with _timm_without_download():
        sd = MANIQA(pretrained=False, scale=0.8).state_dict()
    torch.save(sd, _file(wdir, "maniqa"))
    m = create_metric("maniqa", batch_size=2)
    assert m.preflight() == []
    m.load("cpu")
    assert torch.equal(m.model.net.fc_score[0].weight, sd["fc_score.0.weight"])
    assert torch.equal(m.model.net.vit.patch_embed.proj.weight, sd["vit.patch_embed.proj.weight"])
    # What the definition states: 20 uniform crops, KonIQ's scale. Then 2 crops per image
    # for speed (each crop is a ViT-B/8 pass, ~2 s here): the same crop-and-weigh path.
    assert m.model.net.test_sample == 20 and not m.model.net.training
    m.model.net.test_sample = 2
    images = [img(9, 224, 224), img(10, 224, 224)]
    batch = m.score_batch(images)
    assert _finite(batch)
    assert batch == pytest.approx([m.score_batch([x])[0] for x in images], rel=1e-4, abs=1e-5)
    _definition_names_files(m)


# -- CLIP-IQA ---------------------------------------------------------------------------
def _clip_rn50_torchscript(path) -> dict:
    """OpenAI CLIP RN50 (clip/clip.py's RN50 hyper-parameters) with random weights,
    traced and saved as TorchScript like the published RN50.pt. Returns its state dict."""
    clip = pytest.importorskip("clip")
    from clip.model import CLIP, convert_weights

    torch.manual_seed(4)
    model = CLIP(embed_dim=1024, image_resolution=224, vision_layers=(3, 4, 6, 3), vision_width=64,
                 vision_patch_size=None, context_length=77, vocab_size=49408, transformer_width=512,
                 transformer_heads=8, transformer_layers=12).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, (torch.rand(1, 3, 224, 224), clip.tokenize(["a photo"])), check_trace=False)
    convert_weights(model)  # fp16 as published; the traced module shares these parameters
    torch.jit.save(traced, str(path))
    return {k: v.clone() for k, v in traced.state_dict().items()}


def test_clipiqa_standin(wdir):
    """pyiqa 'clipiqa' reads a TorchScript RN50.pt by path: the rebuilt CLIP holds the
    saved weights (as float32 on CPU); scores are probabilities in (0, 1); batch equals one
    by one; the same image at two sizes in one call comes back in input order."""
    sd = _clip_rn50_torchscript(_file(wdir, "clip_rn50"))
    assert sd["visual.conv1.weight"].dtype == torch.float16
    m = create_metric("clipiqa", batch_size=2)
    assert m.preflight() == []
    m.load("cpu")
    clip_model = m.model.net.clip_model[0]
    assert torch.equal(clip_model.visual.conv1.weight, sd["visual.conv1.weight"].float())
    assert torch.equal(clip_model.token_embedding.weight, sd["token_embedding.weight"].float())
    images = [img(11, 96, 96), img(12, 96, 96), img(13, 64, 80)]
    batch = m.score_batch(images)
    assert _finite(batch)
    assert all(0.0 < v < 1.0 for v in batch)
    assert batch == pytest.approx([m.score_batch([x])[0] for x in images], rel=1e-4, abs=1e-6)
    _definition_names_files(m)
