"""What the forkserver of the local executor imports once, before it forks workers.

Workers of the torch-based stage families (:data:`bench.scaleout.pool.ZYGOTE_FAMILIES`)
are forked from one server process per run, which has imported these libraries: a
worker then starts in milliseconds instead of importing torch and pyiqa itself
(about 2.4 s of CPU and 600 MB of page reads on the 2-core machine, per worker and
per stage). The server only imports: it runs no torch or OpenCV computation, so no
library thread pool exists yet when it forks (forking a process whose OpenMP pool
has started is what makes a child hang). One library thread is set before the
imports, as each worker runs with one (:func:`bench.scaleout.pool.set_library_threads`).

A library that is not installed is left out: the worker imports what it needs itself.
"""

from __future__ import annotations

import importlib
import os

#: imported in this order; each one that is installed
LIBRARIES = ("numpy", "torch", "torchvision", "cv2", "PIL.Image", "pyiqa")

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
for _name in LIBRARIES:
    try:
        importlib.import_module(_name)
    except ImportError:
        pass
