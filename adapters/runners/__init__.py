"""Small stand-alone scripts run *inside* an official repository (cwd = repo) by
:mod:`tair_bench_adapters.subprocess_driver`, for repositories whose own script cannot read
an arbitrary input folder or per-image prompts. They import only the repository's
own modules and never the harness, so they run in the repository's environment.
Each takes ``--inputs --outputs --prompts --steps --seed --cfg --device``.
"""
