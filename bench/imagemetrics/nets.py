"""pyiqa network metrics (DISTS, NIQE, MUSIQ, MANIQA, CLIP-IQA) loaded from the
weights directory, never from the network.

Each class names its files in ``weights`` (keys of :data:`bench.io.weights.MANIFEST`);
``_load`` first calls :func:`bench.io.weights.require` for all of them, so a missing
file raises ``WeightsMissing`` before pyiqa is even imported. Which file each
metric uses, and how pyiqa 0.1.16 loads it, was read from ``pyiqa/archs/*_arch.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from bench.errors import BenchError
from bench.io.weights import MANIFEST, load_checkpoint, require

from .base import to_tensor
from .dists_tiled import HALO, TILE, fits_one_tile, tiled_dists
from .niqe_strips import strip_normalization
from .pyiqa_wrap import PyiqaMetric, load_state, pyiqa_version


class _NetMetric(PyiqaMetric):
    def _paths(self) -> dict:
        return {n: require(n, f"metric '{self.name}'") for n in self.weights}

    def _files(self) -> str:
        return ", ".join(MANIFEST[n].filename for n in self.weights)

    @property
    def definition(self) -> str:  # type: ignore[override]
        return (f"pyiqa {pyiqa_version()} '{self.pyiqa_name}' with pyiqa's default options, weights {self._files()} "
                f"from the tair-bench weights dir; RGB float32 in [0, 1] (uint8/255), no resize by tair-bench "
                f"(the model's own preprocessing applies). {self.note}")

    note = ""


@contextmanager
def _vgg16_features_from(path) -> Iterator[None]:
    """pyiqa's DISTS calls torchvision's ``vgg16(weights='IMAGENET1K_V1')`` and keeps only
    its ``.features`` (``dists_arch.py``, ``DISTS.__init__``). Hand it exactly that: VGG16's
    feature layers (torchvision's own ``make_layers(cfgs['D'])``) with the ``features.*``
    tensors of our file, memory-mapped, so neither the classifier's 120 M parameters nor
    the download is ever touched (building and loading the whole VGG16 costs ~1.1 GB at
    load time)."""
    import torchvision
    from torchvision.models import vgg

    original = torchvision.models.vgg16

    def vgg16(*args, **kwargs):
        features = vgg.make_layers(vgg.cfgs["D"], batch_norm=False)
        state = load_checkpoint(path, "metric 'dists'", mmap=True)
        try:
            features.load_state_dict({k.removeprefix("features."): v for k, v in state.items()
                                      if k.startswith("features.")})
        except RuntimeError as exc:
            raise BenchError(f"metric 'dists': {path} is not torchvision's VGG16 state dict "
                             f"({str(exc).splitlines()[0]}); re-fetch it") from None
        return SimpleNamespace(features=features)

    torchvision.models.vgg16 = vgg16
    try:
        yield
    finally:
        torchvision.models.vgg16 = original


class Dists(_NetMetric):
    """DISTS (Ding et al. 2020): VGG16 texture/structure similarity, lower is better."""

    name = "dists"
    summary = "DISTS, pyiqa (VGG16)"
    header = "DISTS"
    tolerance = 0.01
    mode = "fr"
    higher_is_better = False  # pyiqa: lower_better=True
    pyiqa_name = "dists"
    weights = ("vgg16", "dists")
    note = (f"VGG16 trunk: torchvision IMAGENET1K_V1 file; alpha/beta: pyiqa's DISTS_weights file. A pair with a "
            f"side over {TILE + 2 * HALO} px is scored in {TILE}-px tiles with {HALO}-px halos: the same statistics "
            f"(float64 sums over the positions each tile owns), equal to pyiqa's forward to float rounding "
            f"(bench/imagemetrics/dists_tiled.py).")

    def _score(self, preds, refs, instances):
        """pyiqa's forward for pairs that fit in one tile; larger pairs in tiles, the same
        statistics with bounded memory (:mod:`bench.imagemetrics.dists_tiled`)."""
        small = [i for i, p in enumerate(preds) if fits_one_tile(*p.shape[:2])]
        out: list = [None] * len(preds)
        if small:
            for i, v in zip(small, super()._score([preds[i] for i in small], [refs[i] for i in small], None)):
                out[i] = v
        for i, (p, r) in enumerate(zip(preds, refs)):  # sizes already checked by score_batch (check_pairs)
            if out[i] is None:
                out[i] = tiled_dists(self.model.net, to_tensor([p], self.device), to_tensor([r], self.device))
        return out

    def _load(self, device: str) -> None:
        p = self._paths()
        with _vgg16_features_from(p["vgg16"]):
            self.model = self._create(device, pretrained=False)
        load_state(self.model.net, p["dists"], "metric 'dists'", strict=False, required=("alpha", "beta"))
        self.model.net.to(device)


class Niqe(_NetMetric):
    """NIQE (Mittal et al. 2013) with pyiqa's pristine-model parameters, lower is better."""

    name = "niqe"
    summary = "NIQE, pyiqa (no reference)"
    header = "NIQE"
    tolerance = 0.1
    mode = "nr"
    higher_is_better = False  # pyiqa: lower_better=True
    pyiqa_name = "niqe"
    weights = ("niqe",)
    note = ("Y channel of YIQ, as pyiqa's default (test_y_channel=True, color_space='yiq'); its 7x7 local "
            "normalization computed in row strips, the same values (bench/imagemetrics/niqe_strips.py).")

    def _score(self, preds, refs, instances):
        """pyiqa's NIQE, its local normalization in row strips (:mod:`bench.imagemetrics.niqe_strips`)."""
        with strip_normalization():
            return super()._score(preds, refs, instances)

    def _load(self, device: str) -> None:
        self.model = self._create(device, pretrained_model_path=str(self._paths()["niqe"]))


class Musiq(_NetMetric):
    """MUSIQ (Ke et al. 2021) trained on KonIQ-10k, higher is better."""

    name = "musiq"
    summary = "MUSIQ KonIQ, pyiqa (no reference)"
    header = "MUSIQ"
    tolerance = 1.0
    mode = "nr"
    higher_is_better = True
    pyiqa_name = "musiq"
    weights = ("musiq",)
    note = "KonIQ-10k checkpoint, multi-scale patches at longer sides 224 and 384 (pyiqa default)."

    def _load(self, device: str) -> None:
        # pyiqa loads pretrained_model_path strictly itself.
        self.model = self._create(device, pretrained_model_path=str(self._paths()["musiq"]))


@contextmanager
def _timm_without_download() -> Iterator[None]:
    """pyiqa's MANIQA calls ``timm.create_model('vit_base_patch8_224', pretrained=True)``
    (a hub download) and then overwrites every weight with its own checkpoint,
    loaded strictly. Building the ViT with ``pretrained=False`` is therefore the
    same network with no download."""
    import timm

    original = timm.create_model

    def create_model(*args, **kwargs):
        kwargs["pretrained"] = False
        return original(*args, **kwargs)

    timm.create_model = create_model
    try:
        yield
    finally:
        timm.create_model = original


class Maniqa(_NetMetric):
    """MANIQA (Yang et al. 2022) trained on KonIQ-10k, higher is better."""

    name = "maniqa"
    summary = "MANIQA KonIQ, pyiqa (no reference)"
    header = "MANIQA"
    mode = "nr"
    higher_is_better = True
    pyiqa_name = "maniqa"
    weights = ("maniqa",)
    note = "KonIQ-10k checkpoint; 20 uniform 224x224 crops averaged (pyiqa eval mode, deterministic)."

    def _load(self, device: str) -> None:
        path = self._paths()["maniqa"]
        with _timm_without_download():
            self.model = self._create(device, pretrained=False)
        load_state(self.model.net, path, "metric 'maniqa'", strict=True)
        self.model.net.to(device)


class ClipIqa(_NetMetric):
    """CLIP-IQA (Wang et al. 2023), pyiqa's prompt-ensemble variant on CLIP RN50, higher is better."""

    name = "clipiqa"
    summary = "CLIP-IQA RN50, pyiqa (no reference)"
    header = "CLIPIQA"
    mode = "nr"
    higher_is_better = True
    pyiqa_name = "clipiqa"
    weights = ("clip_rn50",)
    note = "OpenAI CLIP RN50; 5 antonym prompt pairs averaged (pyiqa 'clipiqa', not 'clipiqa+')."

    def _load(self, device: str) -> None:
        # pyiqa's clip loader accepts a file path in place of the model name.
        self.model = self._create(device, backbone=str(self._paths()["clip_rn50"]))
