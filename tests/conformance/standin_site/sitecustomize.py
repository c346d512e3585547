"""Start-up patches for the *stand-in* end-to-end runs of real upstream code on a CPU.

The stand-in tests (``tests/conformance/test_standin_*.py``) run the official
inference code in a subprocess with this folder first on ``PYTHONPATH``, so Python
imports this module at start-up. It does three things, all only for that subprocess:

1. **No network.** Every socket connection fails, so code that would fetch weights
   (``torch.hub``, Hugging Face, open_clip) fails loudly instead of downloading.
2. **CUDA -> CPU, only where no CUDA device exists.** The upstream code hard-codes
   CUDA in places (DiffTSR); each redirect below names the upstream lines that need it.
   On a machine with a GPU nothing is redirected. (DiffBIR's one CUDA-only call,
   ``torch.cuda.synchronize`` in its VRAM monitor, is handled by our own runner,
   adapters/runners/diffbir_run.py, so it is not patched here.)
3. **One typing alias** the pinned code expects from its own older torch (below).

Nothing here changes numerics: the redirected calls would only have moved tensors.
"""

from __future__ import annotations

import socket


def _refuse(*args, **kwargs):
    raise OSError("stand-in run: network access is blocked (tests/conformance/standin_site/sitecustomize.py)")


socket.socket.connect = _refuse  # type: ignore[method-assign]
socket.create_connection = _refuse  # type: ignore[assignment]


def _redirect_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        return

    def _is_cuda(arg) -> bool:
        return (isinstance(arg, torch.device) and arg.type == "cuda") or (
            isinstance(arg, str) and arg.split(":")[0] == "cuda")

    # upstream/DiffTSR/model/TDM/models/text_prediction.py:25 (Transformer(...).cuda()) and
    # upstream/DiffTSR/model/TDM/models/transocr.py:346 (ResNet(...).cuda()): module stays on the CPU.
    torch.nn.Module.cuda = lambda self, device=None: self  # type: ignore[method-assign]

    # upstream/DiffTSR/model/TDM/models/text_prediction.py:44,48,65 and
    # upstream/DiffTSR/model/TDM/models/transocr.py:323,361: tensor.cuda() stays on the CPU.
    torch.Tensor.cuda = lambda self, *a, **k: self  # type: ignore[method-assign]

    # upstream/DiffTSR/model/DiffTSR.py:118-119 (register_buffer moves every schedule buffer
    # to torch.device("cuda") even when line 28 chose 'cpu'): .to(<cuda>) becomes .to("cpu").
    real_to = torch.Tensor.to

    def to(self, *args, **kwargs):
        if args and _is_cuda(args[0]):
            args = ("cpu",) + args[1:]
        if _is_cuda(kwargs.get("device")):
            kwargs["device"] = "cpu"
        return real_to(self, *args, **kwargs)

    torch.Tensor.to = to  # type: ignore[method-assign]


def _torch_typing_alias() -> None:
    """upstream/DiffBIR/diffbir/sampler/edm_sampler.py:145 annotates ``x_size: torch.Tuple[int]``.
    Older torch (DiffBIR pins 2.2.2, requirements.txt:2) re-exported ``typing.Tuple`` as
    ``torch.Tuple``; the harness's torch does not, so importing ``diffbir.sampler`` fails.
    Restore the alias (an annotation only; nothing runs through it)."""

    import torch

    if not hasattr(torch, "Tuple"):
        torch.Tuple = tuple  # type: ignore[attr-defined]


_redirect_cuda()
_torch_typing_alias()
