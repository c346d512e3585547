"""Network metrics with stand-in checkpoints: files with the real names and formats
but random weights, made here. They exercise loading, batching and aggregation;
their values mean nothing and are never compared with published scores.

Also: with no weights and HF_HUB_OFFLINE=1, every network metric reports one line
per missing file and raises WeightsMissing on load, without touching the network.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import WeightsMissing
from bench.imagemetrics import create_metric
from bench.io import weights
from bench.records import TextInstance

torch = pytest.importorskip("torch")
pytest.importorskip("lpips")
pytest.importorskip("pyiqa")

NETWORK_METRICS = ["lpips", "text_lpips", "dists", "niqe", "musiq", "maniqa", "clipiqa", "fid"]


@pytest.fixture(scope="module")
def standin_dir(tmp_path_factory):
    """A weights dir with a random torchvision AlexNet under its real file name, a
    NIQE parameter file (zero mean, identity covariance) and a random FID Inception."""
    import scipy.io
    import torchvision

    from bench.imagemetrics.inception import build_fid_inception

    d = tmp_path_factory.mktemp("standin-weights")
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), d / weights.MANIFEST["alexnet"].filename)
    scipy.io.savemat(d / weights.MANIFEST["niqe"].filename, {"mu_prisparam": np.zeros((1, 36)), "cov_prisparam": np.eye(36)})
    torch.save(build_fid_inception().state_dict(), d / weights.MANIFEST["inception_fid"].filename)
    return d


@pytest.fixture
def standin(standin_dir, monkeypatch, no_network):
    monkeypatch.setenv(weights.ENV_DIR, str(standin_dir))
    return standin_dir


def img(seed: int, h: int = 64, w: int = 96) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_offline_empty_weights_dir(tmp_path, monkeypatch, no_network):
    """Empty weights dir: one preflight line per missing file, naming the file and the
    fetch command; load raises WeightsMissing; nothing tries the network (no retry loop)."""
    monkeypatch.setenv(weights.ENV_DIR, str(tmp_path))
    for name in NETWORK_METRICS:
        m = create_metric(name)
        lines = m.preflight()
        assert len(lines) == len(m.weights) >= 1, name
        for line, wname in zip(lines, m.weights):
            assert "\n" not in line
            assert weights.MANIFEST[wname].filename in line
            assert f"python -m bench weights fetch {wname}" in line
        with pytest.raises(WeightsMissing):
            m.load("cpu")


def test_lpips_standin_loads_trunk_and_batches(standin):
    """The trunk holds exactly the saved AlexNet weights; identical images score 0;
    a batch (with two sizes) equals the images scored one by one."""
    m = create_metric("lpips", batch_size=2)
    m.load("cpu")
    saved = torch.load(standin / weights.MANIFEST["alexnet"].filename)
    assert torch.equal(m.model.net.slice1[0].weight, saved["features.0.weight"])
    assert torch.equal(getattr(m.model.net.slice5, "10").weight, saved["features.10.weight"])
    refs = [img(1), img(2), img(3, 80, 80)]
    preds = [img(4), refs[1], img(5, 80, 80)]
    batch = m.score_batch(preds, refs)
    assert batch[1] == pytest.approx(0.0, abs=1e-7)
    single = [m.score_batch([p], [r])[0] for p, r in zip(preds, refs)]
    assert batch == pytest.approx(single, rel=1e-5, abs=1e-7)
    assert batch[0] > 0


def test_text_lpips_standin_is_mean_over_word_crops(standin):
    """Two words: the image score is the mean of LPIPS over the two 64-px-high crops,
    computed by hand with the same network; a '###' word is left out."""
    from bench.imagemetrics.lpips_metric import lpips_distance
    from bench.io.images import bicubic_resize

    ref, pred = img(6, 96, 160), img(7, 96, 160)
    words = [TextInstance(((10, 10), (90, 10), (90, 40), (10, 40)), "HELLO"),
             TextInstance(((100, 50), (150, 50), (150, 90), (100, 90)), "HI"),
             TextInstance(((0, 0), (5, 0), (5, 5), (0, 5)), "###")]
    m = create_metric("text_lpips")
    got = m.score_batch([pred, pred], [ref, ref], [words, []])
    hand = []
    for x0, y0, x1, y1 in [(10, 10, 90, 40), (100, 50, 150, 90)]:
        w = max(64, round((x1 - x0) * 64 / (y1 - y0)))
        pc = bicubic_resize(np.ascontiguousarray(pred[y0:y1, x0:x1]), (w, 64))
        rc = bicubic_resize(np.ascontiguousarray(ref[y0:y1, x0:x1]), (w, 64))
        hand.append(lpips_distance(m.model, [pc], [rc], "cpu")[0])
    assert got[0] == pytest.approx(np.mean(hand), rel=1e-6)
    assert got[1] is None and m.last_reasons[1] == "no cared GT text polygon in this image"


def test_niqe_standin_params_file(standin):
    """NIQE reads our .mat (not pyiqa's download); batch equals one-by-one; finite."""
    m = create_metric("niqe", batch_size=2)
    assert m.mode == "nr" and not m.higher_is_better
    images = [img(8, 128, 128), img(9, 128, 128), img(10, 128, 128)]
    batch = m.score_batch(images)
    assert all(np.isfinite(v) for v in batch)
    assert batch == pytest.approx([m.score_batch([x])[0] for x in images], rel=1e-5)


def test_fid_standin_inception(standin):
    """The real FID Inception architecture with random weights, loaded strictly from the
    real file name: 2048-d features, batch-size independent. (The 2048-d Fréchet distance itself is
    tested on small closed-form cases in test_imagemetrics_fid.py: sqrtm of 2048x2048 is slow here.)"""
    m = create_metric("fid", batch_size=2)
    images = [img(11, 48, 48), img(12, 48, 48), img(13, 40, 56)]
    f2 = m.features(images)
    assert f2.shape == (3, 2048)
    f1 = create_metric("fid", batch_size=1).features(images)
    assert np.allclose(f1, f2, rtol=1e-4, atol=1e-5)
    assert "pt_inception-2015-12-05-6726825d.pth" in m.definition
