"""Fixtures for the conformance tests: the real upstream snapshots.

A test asks for ``upstream("TAIR")`` and gets the snapshot folder. Where the
snapshots are absent (no ``shared/upstream`` next to the project folder and no
``$TAIR_BENCH_UPSTREAM``) the test is skipped with that reason; in CI they are
present, and ``CI=true`` turns a missing folder into a failure, so nothing is
skipped silently there -- TESTR included.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.upstream import UPSTREAM_ENV, upstream_repo

#: the snapshots :data:`bench.upstream.PINNED_COMMITS` pins: CI must have every one
SHARED_SNAPSHOTS = ("DiffBIR", "SeeSR", "SUPIR", "TAIR", "DiffTSR", "Real-ESRGAN", "BasicSR", "TESTR")


@pytest.fixture
def upstream():
    def get(name: str) -> Path:
        path = upstream_repo(name)
        if path is None:
            reason = (f"upstream snapshot '{name}' not found (../shared/upstream/{name} beside the project, "
                      f"or ${UPSTREAM_ENV}/{name})")
            if os.environ.get("CI") == "true":
                pytest.fail(reason + "; CI must have it")
            pytest.skip(reason)
        return path

    return get
