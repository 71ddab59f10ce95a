"""Equal up to rounding: how the tests compare results that took different computation paths.

Floating-point addition is not associative, so two computations of one formula that add in a
different order may differ in their last bits, and which order a computation takes depends on the
machine:

* OpenBLAS chooses its matrix-product kernel by CPU model (``OPENBLAS_CORETYPE`` overrides the
  choice), by the shapes (one example is a 1-row product, a batch of two a 2-row product) and
  splits the work by thread count;
* numpy's ``exp``, ``log``, ``log1p``, ``tanh`` ... have SIMD versions per instruction set
  (AVX2, AVX-512), each accurate to a few ulps but not bit-identical to the others;
* a float32 computation (NetTrain's "Real32") rounds about 2**29 times more coarsely than float64.

So a test that compares one example with the same example inside a batch, two batch sizes, a
split batch with the whole one, one BLAS thread with two, the compiled training step with autograd,
a closed-form VJP with autograd's, or Real32 with Real64 asserts
``assert_equal_up_to_rounding(actual, expected)``: it passes on every CPU and fails on a real
error (a wrong formula is off by far more than a few ulps).

Exact comparisons remain right where the same operations run on the same shapes twice, on one
machine (the same seed gives the same net; a save/load round trip; a copy; an evaluation repeated),
and for elementwise ``+ - * / sqrt``, which IEEE 754 rounds correctly on every CPU. Such tests say
why in a comment.
"""
from __future__ import annotations

import numpy as np

__all__ = ["assert_equal_up_to_rounding", "ROUNDING_ULPS"]

ROUNDING_ULPS = 64
"""The default allowance, in units of the working precision's machine epsilon (float64: 64 * 2.2e-16
= 1.4e-14, float32: 64 * 1.2e-7 = 7.6e-6): room for a few ulps per operation through a small net."""

_PRECISIONS = {"Real64": np.float64, "Real32": np.float32}


def assert_equal_up_to_rounding(actual, expected, *, ulps=ROUNDING_ULPS, precision=None, err_msg=""):
    """Assert that ``actual`` equals ``expected`` except for floating-point rounding.

    Every float entry must satisfy

        |actual - expected| <= ulps * eps * (|expected| + scale)

    where ``eps`` is the machine epsilon of ``precision`` and ``scale`` the largest finite
    ``|expected|`` of that array: a relative tolerance, plus an absolute floor at the array's scale
    for entries that cancel to nearly 0 (their rounding error is that of the terms they came from,
    not of their own size). NaN must meet NaN, and an infinity the same infinity.

    Parameters
    ----------
    actual, expected
        Numbers, arrays, or dicts / lists / tuples of them (a dict of class probabilities, a
        parameter tree), with the same structure, keys and shapes. Entries that are not floats
        (labels, class indices, booleans) must be equal.
    ulps : float
        The allowance in machine epsilons (default :data:`ROUNDING_ULPS`). Raise it, with a comment,
        for results that rounding errors pass through many steps (a trained net).
    precision : None, "Real32", "Real64" or a numpy float dtype
        The working precision of the computations compared. None: the coarser float dtype of
        ``actual`` and ``expected``. Name "Real32" when a float32 computation hands back float64
        results (NetTrain's trained parameters, its validation losses).
    err_msg : str
        Added to the failure message, after the place of the offending entry.
    """
    eps = None if precision is None else np.finfo(_PRECISIONS.get(precision, precision)).eps
    _compare(actual, expected, ulps, eps, err_msg, where="")


def _compare(actual, expected, ulps, eps, err_msg, where):
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where or 'value'}: expected a dict, got {type(actual).__name__}"
        keys, want = sorted(actual, key=str), sorted(expected, key=str)
        assert keys == want, f"{where or 'value'}: keys {keys} != {want}"
        for key in expected:
            _compare(actual[key], expected[key], ulps, eps, err_msg, f"{where}[{key!r}]")
        return
    if isinstance(expected, (list, tuple)) and _as_array(expected) is None:
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), \
            f"{where or 'value'}: expected a sequence of length {len(expected)}, got {actual!r}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, ulps, eps, err_msg, f"{where}[{i}]")
        return
    a, e = np.asarray(actual), np.asarray(expected)
    message = f"{where or 'value'} {err_msg}".strip()
    assert a.shape == e.shape, f"{message}: shape {a.shape} != {e.shape}"
    if a.dtype.kind != "f" and e.dtype.kind != "f":
        np.testing.assert_array_equal(a, e, err_msg=message)  # labels and indices: no rounding
        return
    if eps is None:
        floats = [x.dtype for x in (a, e) if x.dtype.kind == "f"]
        eps = max(np.finfo(d).eps for d in floats)
    finite = np.abs(e[np.isfinite(e)].astype(np.float64))
    scale = finite.max() if finite.size else 0.0
    tol = ulps * eps
    np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=tol, atol=tol * scale,
                               equal_nan=True, err_msg=f"{message} (equal up to {ulps} ulps of eps={eps:.3g})")


def _as_array(x):
    """A list that numpy reads as one array of numbers or strings is that array (compared with one
    scale); a ragged list, or one holding dicts, is None (compared entry by entry)."""
    try:
        arr = np.asarray(x)
    except ValueError:  # ragged
        return None
    return None if arr.dtype == object else arr
