"""The thread count of numpy's OpenBLAS, set for the duration of a block (no dependency, no-op elsewhere).

OpenBLAS splits a large matrix product over all cores and its threads spin
while they wait; when another thread or process holds a core, a 512x256x256
product gets several times slower. The compiled training step therefore runs
its products on one BLAS thread each, and uses the second core itself by
splitting the batch (see :mod:`lossviz.train.plan`).

The library is found among the shared objects the process has loaded
(``/proc/self/maps``), so this works with the OpenBLAS that numpy's wheels
bundle and does nothing with other BLAS libraries or on other systems.
"""
from __future__ import annotations

import ctypes
import glob
import os

__all__ = ["blas_threads", "BlasThreads"]

_NAMES = [  # (set, get) in the spellings OpenBLAS builds use
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
]


def _find():
    import numpy as np

    paths = []
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
    except OSError:
        pass
    paths += glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*"))
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _NAMES:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype, getter.restype = [ctypes.c_int], None, ctypes.c_int
                return setter, getter
    return None


class BlasThreads:
    """``with BlasThreads(1): ...`` runs the block with OpenBLAS on ``n`` threads, then restores the count."""

    _funcs = False  # not looked up yet

    def __init__(self, n):
        self.n = n
        if BlasThreads._funcs is False:
            BlasThreads._funcs = _find()
        self._saved = None

    @property
    def available(self):
        return BlasThreads._funcs is not None

    def __enter__(self):
        if self.available:
            setter, getter = BlasThreads._funcs
            self._saved = getter()
            if self._saved != self.n:
                setter(self.n)
        return self

    def __exit__(self, *exc):
        if self.available and self._saved is not None and self._saved != self.n:
            BlasThreads._funcs[0](self._saved)
        return False


def blas_threads():
    """The current OpenBLAS thread count, or None when numpy's BLAS is not an OpenBLAS we can find."""
    b = BlasThreads(0)
    return b._funcs[1]() if b.available else None
