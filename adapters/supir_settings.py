"""SUPIR's sampling settings as its repository ships them, by name.

SUPIR's quality depends strongly on its CFG schedule: ``batchify_sample`` ramps the
text CFG linearly with sigma, from ``spt_linear_CFG`` at the noisiest step to ``s_cfg``
at the last, when ``use_linear_CFG`` is on (upstream/SUPIR/SUPIR/models/SUPIR_model.py:102-107,
upstream/SUPIR/sgm/modules/diffusionmodules/guiders.py:44-49); else it holds ``s_cfg``
constant. The repository runs it in two places, and this module names both:

* ``"test.py"`` (the default): the argparse defaults of the batch script,
  upstream/SUPIR/test.py:23-50 (linear CFG from 1.0 to 4.0, s_noise 1.01, ...).
* ``"Quality"`` and ``"Fidelity"``: the "Param Setting" presets of the gradio demo
  (upstream/SUPIR/gradio_demo.py:290), i.e. what its "Reset Param" button loads
  (``load_and_reset``, gradio_demo.py:147-172), whose CFG values come from
  ``default_setting`` in upstream/SUPIR/options/SUPIR_v0.yaml:157-162.

Keys are the flag names of test.py, so a setting here is passed to the runner under
the same name test.py uses. The positive/negative prompts are not repeated here: both
places use the text of ``model.params.p_p``/``n_p`` in options/SUPIR_v0.yaml:143-150
(checked by tests/conformance/test_supir.py), which ``batchify_sample`` applies when
given ``p_p='default'``/``n_p='default'`` (SUPIR_model.py:96-99).
"""

from __future__ import annotations

from typing import Any

from bench.errors import AdapterError

#: the sampling settings a preset fixes, in test.py's flag names
SAMPLING_KEYS = ("edm_steps", "s_stage1", "s_churn", "s_noise", "s_cfg", "s_stage2", "color_fix_type",
                 "linear_CFG", "linear_s_stage2", "spt_linear_CFG", "spt_linear_s_stage2",
                 "ae_dtype", "diff_dtype")

#: the type test.py parses each setting with (test.py:27-50): a value is passed in this form
TYPES: dict[str, type] = {
    "edm_steps": int, "s_stage1": int, "s_churn": int, "s_noise": float, "s_cfg": float, "s_stage2": float,
    "color_fix_type": str, "linear_CFG": bool, "linear_s_stage2": bool, "spt_linear_CFG": float,
    "spt_linear_s_stage2": float, "ae_dtype": str, "diff_dtype": str,
}
#: test.py's choices (test.py:44, 49-50)
CHOICES: dict[str, tuple[str, ...]] = {
    "color_fix_type": ("None", "AdaIn", "Wavelet"), "ae_dtype": ("fp32", "bf16"), "diff_dtype": ("fp32", "fp16", "bf16"),
}

#: test.py's argparse defaults (upstream/SUPIR/test.py, line of each flag)
TEST_PY: dict[str, Any] = {
    "edm_steps": 50,             # test.py:27
    "s_stage1": -1,              # test.py:28
    "s_churn": 5,                # test.py:29
    "s_noise": 1.01,             # test.py:30
    "s_cfg": 4.0,                # test.py:31
    "s_stage2": 1.0,             # test.py:32
    "color_fix_type": "Wavelet",  # test.py:44
    "linear_CFG": True,          # test.py:45 (store_true with default True: always on from the CLI)
    "linear_s_stage2": False,    # test.py:46
    "spt_linear_CFG": 1.0,       # test.py:47
    "spt_linear_s_stage2": 0.0,  # test.py:48
    "ae_dtype": "bf16",          # test.py:49
    "diff_dtype": "fp16",        # test.py:50
}

#: what gradio_demo.py's load_and_reset sets for both presets (gradio_demo.py:148-162);
#: the dtypes are the demo's radio defaults (gradio_demo.py:263, 266)
_GRADIO_COMMON: dict[str, Any] = {
    "edm_steps": 50,             # default_setting.edm_steps, SUPIR_v0.yaml:162
    "s_stage1": -1.0, "s_churn": 5, "s_noise": 1.003, "s_stage2": 1.0,
    "color_fix_type": "Wavelet", "linear_CFG": True, "linear_s_stage2": False,
    "spt_linear_s_stage2": 0.0, "ae_dtype": "bf16", "diff_dtype": "fp16",
}

PRESETS: dict[str, dict[str, Any]] = {
    "test.py": TEST_PY,
    # s_cfg_Quality / spt_linear_CFG_Quality, SUPIR_v0.yaml:158-159
    "Quality": {**_GRADIO_COMMON, "s_cfg": 7.5, "spt_linear_CFG": 4.0},
    # s_cfg_Fidelity / spt_linear_CFG_Fidelity, SUPIR_v0.yaml:160-161
    "Fidelity": {**_GRADIO_COMMON, "s_cfg": 4.0, "spt_linear_CFG": 1.0},
}

#: test.py's defaults outside the sampler (test.py:24-26)
DEFAULT_SIGN, DEFAULT_SEED, DEFAULT_MIN_SIZE = "Q", 1234, 1024


def resolve(preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The full sampling settings: the named preset with ``overrides`` on top."""
    if preset not in PRESETS:
        raise AdapterError(f"SUPIR: unknown preset '{preset}'; the repository's are {', '.join(PRESETS)} "
                           f"(test.py's defaults, and the gradio demo's Param Setting presets)")
    unknown = sorted(set(overrides) - set(SAMPLING_KEYS))
    if unknown:
        raise AdapterError(f"SUPIR: unknown sampling setting(s) {unknown}; known (test.py's flag names): "
                           f"{', '.join(SAMPLING_KEYS)}")
    settings = {**PRESETS[preset], **{k: v for k, v in overrides.items() if v is not None}}
    out = {}
    for key, value in settings.items():
        kind = TYPES[key]
        if kind is int and float(value) != int(float(value)):
            raise AdapterError(f"SUPIR: {key} must be a whole number (test.py parses it as int), got {value!r}")
        out[key] = int(float(value)) if kind is int else kind(value)
        if key in CHOICES and out[key] not in CHOICES[key]:
            raise AdapterError(f"SUPIR: {key} '{value}' is not one of {', '.join(CHOICES[key])} (test.py)")
    return out
