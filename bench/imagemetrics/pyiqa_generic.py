"""Weight-free pyiqa metrics run with pyiqa's default options.

Each is a small subclass of :class:`PyiqaGeneric` that names its pyiqa metric and
declares its mode and direction (``higher_is_better`` is the negation of pyiqa's
``lower_better``); its summary follows from the pyiqa name.
"""

from __future__ import annotations

from typing import Any

from .pyiqa_wrap import PyiqaMetric, pyiqa_version


class PyiqaGeneric(PyiqaMetric):
    """A weight-free pyiqa metric with pyiqa's default options."""

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if "summary" not in cls.__dict__:
            cls.summary = f"pyiqa '{cls.pyiqa_name}' (weight-free, pyiqa defaults)"

    @property
    def definition(self) -> str:  # type: ignore[override]
        return (f"pyiqa {pyiqa_version()} '{self.pyiqa_name}' with pyiqa's default options for it, on RGB float32 "
                "in [0, 1] (uint8/255); no resize, no border crop.")


class MsSsim(PyiqaGeneric):
    name = pyiqa_name = "ms_ssim"


class CwSsim(PyiqaGeneric):
    name = pyiqa_name = "cw_ssim"


class Fsim(PyiqaGeneric):
    name = pyiqa_name = "fsim"


class Vif(PyiqaGeneric):
    name = pyiqa_name = "vif"


class Gmsd(PyiqaGeneric):
    name = pyiqa_name = "gmsd"
    higher_is_better = False


class Nlpd(PyiqaGeneric):
    name = pyiqa_name = "nlpd"
    higher_is_better = False


class Vsi(PyiqaGeneric):
    name = pyiqa_name = "vsi"


class Mad(PyiqaGeneric):
    name = pyiqa_name = "mad"
    higher_is_better = False


class Piqe(PyiqaGeneric):
    name = pyiqa_name = "piqe"
    mode = "nr"
    higher_is_better = False
    header = "PIQE"
