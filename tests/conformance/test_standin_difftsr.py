"""Stand-in end to end: our DiffTSR adapter runs the *real* DiffTSR pipeline on a CPU.

A stand-in, not a quality check: the model is the real ``DiffTSR_pipline`` built from
a tiny variant of the real ``model/DiffTSR_config.yaml`` (same target classes, only
size keys smaller) with random weights saved in the real checkpoint formats
(``standin_weights.py``). What it proves is the loop: the adapter crops each text
line, :mod:`tair_bench_adapters.runners.difftsr_run` loads the config and checkpoints at the
paths the real code opens, runs ``DiffTSR_sample`` (all 200 DDIM steps the pipeline
fixes, model/DiffTSR.py:43-44) on each 512x128 crop in one process, the outputs come
back under the names the adapter reads, and are pasted into the right place of an
image of the input's size.

The official code is CUDA-only (model/DiffTSR.py:116-120, text_prediction.py:25, 44, 48,
65; transocr.py:323, 346, 361); ``standin_site/sitecustomize.py`` redirects exactly
those calls to the CPU in the subprocess, and blocks the network there.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import yaml

from tair_bench_adapters.difftsr import FILES, LINE_SIZE, RUNNER, DiffTSR

from . import standin

pytestmark = pytest.mark.slow

P = "model.params."
#: size keys of the real model/DiffTSR_config.yaml and their stand-in values (GroupNorm
#: needs multiples of 32 channels; attention -- the middle block always has one -- only at
#: latent stride 4, where a 32x128 latent has 256 positions: vanilla softmax attention over
#: more is most of the CPU time; the text predictor has no config: it is built at full
#: size). Target classes and every other key stay as upstream wrote them.
TINY = {
    P + "transformer_dim": 64,
    P + "IDM_Unet_config.params.model_channels": 32,
    P + "IDM_Unet_config.params.channel_mult": [1, 2, 2],
    P + "IDM_Unet_config.params.attention_resolutions": [4],
    P + "IDM_Unet_config.params.num_res_blocks": 1,
    P + "IDM_Unet_config.params.num_heads": 2,
    P + "IDM_Unet_config.params.context_dim": 32,
    P + "TDM_Decoder_config.params.transformer_dim": 64,
    P + "TDM_Decoder_config.params.transformer_heads": 2,
    P + "TDM_Decoder_config.params.transformer_depth": 1,
    P + "TDM_Decoder_config.params.transformer_local_heads": 1,
    P + "MoM_module_config.params.MoM_Unet.params.channel_mult": [1, 2, 2],
    P + "MoM_module_config.params.MoM_Unet.params.num_res_blocks": 1,
    P + "MoM_module_config.params.MoM_Unet.params.num_heads": 2,
    P + "MoM_module_config.params.MoM_Transformer.params.n_embed": 32,
    P + "MoM_module_config.params.MoM_Transformer.params.n_layer": 1,
    P + "VAE_model_config.params.ddconfig.ch": 32,
    P + "VAE_model_config.params.ddconfig.num_res_blocks": 1,
}


def _scene(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A textured 'upsampled' scene image (DiffTSR's input_mode)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (*shape, 3), dtype=np.uint8)


def _box(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """A text-line polygon, top edge first (left to right), as SA-Text/TESTR give them."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def test_standin_difftsr_real_pipeline_restores_two_scene_images(upstream, tmp_path, monkeypatch, no_network):
    """Stand-in weights, real code: two scene images, one text line each, one process, the
    crops come back as 512x128 PNGs under the crop names and are pasted into their boxes."""
    repo = standin.copy_snapshot(upstream("DiffTSR"), tmp_path / "DiffTSR")
    config = repo / "model" / "DiffTSR_config.yaml"
    real_targets = standin.targets(yaml.safe_load(config.read_text()))
    changed = standin.shrink_yaml(config, TINY)
    assert standin.targets(yaml.safe_load(config.read_text())) == real_targets
    written = standin.write_weights(repo, "difftsr")

    restorer = DiffTSR(repo=str(repo), env=standin.subprocess_env(), device="cpu", feather=2)
    for path, _ in FILES:  # every file the real code opens is now there ...
        assert (repo / path).is_file(), path
    problems = restorer.preflight()
    # ... so the only problem left is the device (the official code is CUDA-only)
    assert len(problems) == 1 and "CUDA only" in problems[0], problems

    images = [_scene((96, 200), 1), _scene((80, 240), 2)]
    polygons = [[_box(20, 30, 180, 66)], [_box(30, 20, 210, 56)]]
    ids = ["scene_a", "scene_b"]
    start = time.perf_counter()
    with standin.record_commands(monkeypatch) as commands, standin.read_back_spy(restorer) as reads:
        outs = restorer.restore_batch(images, None, ids=ids, polygons=polygons)
    seconds = time.perf_counter() - start

    # one process (one model load) for both crops, our runner inside the copied checkout
    assert [c["argv"][1] for c in commands] == [str(RUNNER)]
    assert commands[0]["returncode"] == 0
    # the runner wrote one PNG per crop, under the crop's name, at DiffTSR's line size
    crop_ids = [f"{i}__line000" for i in ids]
    assert len(reads) == 1 and reads[0]["files"] == sorted(f"{c}.png" for c in crop_ids)
    assert reads[0]["shapes"] == {c: (LINE_SIZE[1], LINE_SIZE[0], 3) for c in crop_ids}

    for img, out, (poly,) in zip(images, outs, polygons):
        assert out.shape == img.shape and out.dtype == np.uint8
        (x0, y0), (x1, y1) = poly[0], poly[2]
        far = np.ones(img.shape[:2], bool)
        far[y0 - 4:y1 + 4, x0 - 4:x1 + 4] = False  # box plus more than the 2 px feather
        assert np.array_equal(out[far], img[far]), "pixels away from the text line must stay the input's"
        assert not np.array_equal(out[y0:y1, x0:x1], img[y0:y1, x0:x1]), "the model's crop was not pasted in"

    standin.log_run("test_standin_difftsr", commands, [i.shape for i in images], [o.shape for o in outs], seconds,
                    crops_out=[list(s) for s in reads[0]["shapes"].values()], weights=written.split("\n")[:-1],
                    config_changes={k: list(v) for k, v in changed.items()})
