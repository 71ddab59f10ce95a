"""Closed-form gradients for the common losses: one autograd primitive each.

autograd traces every numpy call it differentiates, at about 10 us a call (see
``notes/performance.md``). The losses that every training step evaluates are
therefore single primitives whose vector-Jacobian products (VJPs) are written
out, one ``defvjp`` line per argument: the squared, absolute and Huber errors,
the cross-entropy of probabilities (index or distribution targets, as
coefficients ``a``; index targets also read directly, without a one-hot
``a``), PyTorch's binary cross-entropy, the softmax cross-entropy
and the sigmoid binary cross-entropy from logits, plus ``log_softmax``,
``sigmoid``, the clamped ``log`` and ``pick`` (the entry of each class vector
at its index) the other losses are built from. They are elementwise (or reduce
only the class axis); the loss layers do the reduction over examples.

Numerical conventions, the same throughout lossviz:

* ``log`` of a probability is clamped at ``LOG_FLOOR = -100``, as PyTorch's
  ``BCELoss`` does, so a probability of exactly 0 or 1 gives a finite loss
  (at most 100 per element) instead of ``inf``.
* The gradient of ``-log p`` is ``-1 / max(p, PROB_EPS)``, with PyTorch's
  ``PROB_EPS = 1e-12`` (in float32, as PyTorch has it): finite at ``p = 0``.
* Logits go through log-sum-exp and ``log1p(exp(-|x|))`` forms: stable for any
  finite logit (``+-100`` included).

Arguments of one call have the same shape (the coefficients ``a`` of the
cross-entropies included), except ``pos_weight``, which broadcasts against
the input.
"""
from __future__ import annotations

import numpy as np
from autograd.extend import defvjp, primitive

__all__ = [
    "LOG_FLOOR",
    "PROB_EPS",
    "squared_error",
    "absolute_error",
    "huber",
    "clamped_log",
    "probability_cross_entropy",
    "index_cross_entropy",
    "pick",
    "binary_cross_entropy",
    "softmax_cross_entropy",
    "sigmoid_cross_entropy",
    "log_softmax",
    "sigmoid",
]

LOG_FLOOR = -100.0
#: PyTorch's BCELoss floor on p (1 - p): the C++ float constant 1e-12f, about 9.9999999600e-13
PROB_EPS = float(np.float32(1e-12))


# ----------------------------------------------------------------- helpers (plain numpy)
def _log_softmax(z, axis=-1):
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


def _clog(p):
    """``max(log p, -100)``."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), LOG_FLOOR)


def _clog_in_place(q):
    """``max(log q, -100)`` of a new array ``q`` (the caller's own), in place when ``q`` holds floats."""
    with np.errstate(divide="ignore"):
        q = np.log(q, out=q if q.dtype.kind == "f" else None)
    return np.maximum(q, LOG_FLOOR, out=q)


def _clog1m(p):
    """``max(log(1 - p), -100)``."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log1p(-p), LOG_FLOOR)


def _huber_value(d, rho):
    ad = np.abs(d)
    if rho == 0:
        return ad
    return np.where(ad < rho, 0.5 * d * d / rho, ad - 0.5 * rho)


def _huber_slope(d, rho):
    if rho == 0:
        return np.sign(d)
    return np.where(np.abs(d) < rho, d / rho, np.sign(d))


# ----------------------------------------------------------------- activations
@primitive
def log_softmax(z, axis=-1):
    """``z - logsumexp(z)`` along ``axis``, shifted by the maximum for stability."""
    return _log_softmax(z, axis)


defvjp(
    log_softmax,
    lambda ans, z, axis=-1: lambda g: g - np.exp(ans) * np.sum(g, axis=axis, keepdims=True),
)


@primitive
def sigmoid(x):
    """``1 / (1 + exp(-x))`` without overflow for large ``|x|``."""
    return _sigmoid(x)


defvjp(sigmoid, lambda ans, x: lambda g: g * ans * (1.0 - ans))


# ----------------------------------------------------------------- regression
def _difference(x, t, scale=1.0):
    """``x - t`` as a new array (0-d for scalars) of the result's dtype, which the caller may overwrite."""
    return np.asarray(np.subtract(x, t, dtype=np.result_type(x, t, scale)))


@primitive
def squared_error(x, t, scale=1.0):
    """``scale * (x - t)**2`` elementwise.

    One temporary (the difference, squared and scaled in place), so a large
    batch costs one allocation, as the hand-written ``(x - t)**2`` does.
    """
    d = _difference(x, t, scale)
    np.multiply(d, d, out=d)
    if scale != 1.0:
        d *= scale
    return d


defvjp(
    squared_error,
    lambda ans, x, t, scale=1.0: lambda g: g * (2.0 * scale) * (x - t),
    lambda ans, x, t, scale=1.0: lambda g: g * (-2.0 * scale) * (x - t),
)


@primitive
def absolute_error(x, t):
    """``|x - t|`` elementwise; its gradient at ``x == t`` is 0 (PyTorch's ``sign``)."""
    return np.abs(x - t)


defvjp(
    absolute_error,
    lambda ans, x, t: lambda g: g * np.sign(x - t),
    lambda ans, x, t: lambda g: -g * np.sign(x - t),
)


@primitive
def huber(x, t, rho=1.0):
    """``d**2 / (2 rho)`` where ``|d| < rho``, else ``|d| - rho/2`` (``d = x - t``); ``rho = 0`` is ``|d|``."""
    return _huber_value(x - t, rho)


defvjp(
    huber,
    lambda ans, x, t, rho=1.0: lambda g: g * _huber_slope(x - t, rho),
    lambda ans, x, t, rho=1.0: lambda g: -g * _huber_slope(x - t, rho),
)


# ----------------------------------------------------------------- probabilities
@primitive
def clamped_log(p):
    """``max(log p, -100)`` elementwise, with gradient ``1 / max(p, 1e-12)``."""
    return _clog(p)


defvjp(clamped_log, lambda ans, p: lambda g: g / np.maximum(p, PROB_EPS))


@primitive
def probability_cross_entropy(p, a):
    """``-sum_c a_c max(log p_c, -100)`` over the last axis.

    ``p``: probabilities ``(..., C)``; ``a``: coefficients of the same shape (a
    target distribution, a one-hot index, or either scaled by class weights).
    """
    return -np.sum(a * _clog(p), axis=-1)


defvjp(
    probability_cross_entropy,
    lambda ans, p, a: lambda g: -g[..., None] * a / np.maximum(p, PROB_EPS),
    lambda ans, p, a: lambda g: -g[..., None] * _clog(p),
)


def _offsets(shape, y):
    """Offsets into the flattened ``p`` (of ``shape``, classes last) of the entries ``p[..., y]``."""
    offsets = np.arange(np.size(y))
    offsets *= shape[-1]
    offsets += np.ravel(y)
    return offsets


def _pick(p, y):
    return np.ravel(p)[_offsets(np.shape(p), y)].reshape(np.shape(y))


def _spread(v, y, shape):
    """Zeros of ``shape`` (classes last) holding ``v`` at ``[..., y]``: the inverse of :func:`pick`."""
    out = np.zeros(shape, dtype=np.result_type(v))
    out.reshape(-1)[_offsets(shape, y)] = np.ravel(v)
    return out


@primitive
def pick(p, y):
    """``p[..., y]``: the entry of each class vector ``p`` (last axis) at its int class index ``y``.

    ``p``: ``(..., C)``; ``y``: ``(...)``; the result has ``y``'s shape. One
    gather, where ``sum(where(onehot(y), p, 0), -1)`` takes a one-hot mask, a
    masked copy and a sum over the class axis; the gradient puts ``g`` at ``y``.
    """
    return _pick(p, y)


defvjp(pick, lambda ans, p, y: lambda g: _spread(g, y, np.shape(p)))


@primitive
def index_cross_entropy(p, y, w=1.0):
    """``-w max(log p[..., y], -100)``: the cross-entropy of probabilities against class indices.

    ``p``: probabilities ``(..., C)``; ``y``: int class indices ``(...)``; ``w``:
    a number or one coefficient per index ``(...)`` (a class weight, 0 for an
    ignored position); the result has ``y``'s shape. It is
    ``probability_cross_entropy(p, a)`` for the one-hot ``a = w * onehot(y)``
    when ``p`` is finite, read from the ``y`` entries alone: no one-hot array, no
    log of the other classes. The gradient is ``-w / max(p_y, 1e-12)`` at ``y``,
    0 elsewhere.
    """
    log_p = _clog_in_place(_pick(p, y))
    log_p = log_p.astype(np.result_type(log_p, np.float64), copy=False)  # the dense form's dtype
    return np.multiply(log_p, np.negative(w), out=log_p)


defvjp(
    index_cross_entropy,
    lambda ans, p, y, w=1.0: lambda g: _spread(-g * w / np.maximum(_pick(p, y), PROB_EPS), y, np.shape(p)),
)


@primitive
def binary_cross_entropy(p, t, pos_weight=1.0):
    """``-(w t log p + (1 - t) log(1 - p))`` elementwise, logs clamped at -100 (PyTorch's ``BCELoss``).

    The gradient with respect to ``p`` is PyTorch's,
    ``(p (1 - t) - w t (1 - p)) / max(p (1 - p), 1e-12)``; for ``w = 1`` that is
    ``(p - t) / max(p (1 - p), 1e-12)``.
    """
    return -(pos_weight * t * _clog(p) + (1.0 - t) * _clog1m(p))


defvjp(
    binary_cross_entropy,
    lambda ans, p, t, pos_weight=1.0: lambda g: g
    * (p * (1.0 - t) - pos_weight * t * (1.0 - p))
    / np.maximum(p * (1.0 - p), PROB_EPS),
    lambda ans, p, t, pos_weight=1.0: lambda g: g * (_clog1m(p) - pos_weight * _clog(p)),
)


# ----------------------------------------------------------------- logits
@primitive
def softmax_cross_entropy(z, a):
    """``-sum_c a_c log softmax(z)_c`` over the last axis, fused and stable.

    ``z``: logits ``(..., C)``; ``a``: coefficients of the same shape. The
    gradient with respect to ``z`` is ``softmax(z) * sum(a) - a``.
    """
    return -np.sum(a * _log_softmax(z), axis=-1)


defvjp(
    softmax_cross_entropy,
    lambda ans, z, a: lambda g: g[..., None]
    * (np.exp(_log_softmax(z)) * np.sum(a, axis=-1, keepdims=True) - a),
    lambda ans, z, a: lambda g: -g[..., None] * _log_softmax(z),
)


@primitive
def sigmoid_cross_entropy(x, t, pos_weight=1.0):
    """Binary cross-entropy of ``sigmoid(x)`` against ``t``, elementwise, from the logit ``x``.

    ``(1 - t) x + (1 + (w - 1) t) softplus(-x)``: PyTorch's ``BCEWithLogitsLoss``
    and Gluon's ``SigmoidBCELoss`` formula (``w = pos_weight``). The gradient is
    ``(1 + (w - 1) t) sigmoid(x) - w t``.
    """
    return (1.0 - t) * x + (1.0 + (pos_weight - 1.0) * t) * _softplus(-x)


defvjp(
    sigmoid_cross_entropy,
    lambda ans, x, t, pos_weight=1.0: lambda g: g
    * ((1.0 + (pos_weight - 1.0) * t) * _sigmoid(x) - pos_weight * t),
    lambda ans, x, t, pos_weight=1.0: lambda g: g * ((pos_weight - 1.0) * _softplus(-x) - x),
)
