"""What the CLI prints for an error: one line per problem, our own message even when the
error was raised in a Ray worker (Ray wraps it with the remote traceback)."""

from __future__ import annotations

import errno

from bench.cli import error_lines
from bench.errors import SuiteError, WriteFailed


def test_an_error_from_a_ray_worker_prints_as_our_own_line():
    from ray.exceptions import RayTaskError

    ours = WriteFailed(errno.ENOSPC, "no space left on device (ENOSPC); free space", "/c/images/ab/x.png")
    wrapped = RayTaskError("run", "Traceback (most recent call last): ...", ours).as_instanceof_cause()
    assert isinstance(wrapped, WriteFailed) and "pid=" in str(wrapped)  # what Ray hands the driver: its own text
    assert error_lines(wrapped) == ["cannot write /c/images/ab/x.png: no space left on device (ENOSPC); free space"]


def test_a_suites_errors_print_one_line_each():
    exc = SuiteError("two problems", ["s.yaml: metrics.image[0]: unknown 'psnrr' (did you mean 'psnr'?)",
                                      "s.yaml: spotter.name: missing"])
    assert error_lines(exc) == exc.problems
