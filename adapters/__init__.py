"""Restorer adapters, one file per restorer family, registered in :mod:`bench.components`.

The folder ``adapters/`` installs as the import package ``tair_bench_adapters`` (not the bare
``adapters``, which is AdapterHub's package on PyPI).
"""
