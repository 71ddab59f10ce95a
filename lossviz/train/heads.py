"""Loss heads of the compiled plan: built-in losses with a closed-form forward and backward.

A head is an op (see :mod:`lossviz.train.ops`) with the loss layer's ports:
``forward({"Input": x, "Target": t, "Weight": w?}) -> {"Loss": L}`` with ``L``
the per-example losses ``(B,)``, exactly as ``layer.apply`` computes them
(the elementwise loss averaged over each example, times a per-example
weight), and ``backward({"Loss": gL}) -> {"Input": gL_b * dL_b/dx}``.
The same validation runs as in the layer (its ``check``, or the same target
checks for the heads that read logits).

``d = x - t``; means over the ``n`` entries of an example:

==========================================  =========================================  ===================
loss (options)                              per entry                                  d/dx
==========================================  =========================================  ===================
mse / l2                                    ``d^2`` / ``d^2 / 2``                      ``2d`` / ``d``
mae                                         ``|d|``                                    ``sign d``
huber(rho), smooth_l1(beta)                 ``d^2/(2 rho)`` if ``|d| < rho`` else      ``d/rho`` or
                                            ``|d| - rho/2``                            ``sign d``
log_cosh                                    ``|d| + log1p(exp(-2|d|)) - log 2``        ``tanh d``
hinge(margin), squared_hinge                ``u = max(0, m - x t)``, ``u`` / ``u^2``   ``-t [u>0]``, ``-2tu``
logistic, sigmoid_bce(pos_weight w)         ``(1-t) x + (1+(w-1)t) softplus(-x)``      ``(1+(w-1)t) s(x) - wt``
cross_entropy("Binary") on a sigmoid        the same on the sigmoid's logits, w = 1
binary_focal(alpha, gamma)                  ``alpha_t (1 - p_t)^gamma`` times the above
poisson_nll (log-rates)                     ``exp(x) - t x`` (+ Stirling's term)       ``exp(x) - t``
contrastive(margin) on distances d          ``t max(m - d, 0)^2 + (1 - t) d^2``
margin_ranking(margin)                      ``max(0, -t (x1 - x2) + m)``               for x1 and x2
==========================================  =========================================  ===================

Class vectors (B, k) from logits ``z`` (the input of a SoftmaxLayer, or the
Input of "softmax_ce"), with coefficients ``a`` (the one-hot target or the
target distribution, smoothed to ``(1 - eps) a + eps / k``, times the class
weights, zero where the index is ``ignore_index``):
``L = lse(z) sum(a) - a.z`` and ``dL/dz = softmax(z) sum(a) - a``;
"categorical_focal" ``L = -alpha_y (1 - p_y)^gamma log p_y`` with
``dL/dz = c (onehot_y - p)``, ``c = dL/dlog p_y``; "kl" (on a SoftmaxLayer's
logits) and "kl_div" ``mean_j t_j (log t_j - log p_j)``; "multiclass_hinge".
Per example: "triplet", "cosine_embedding", "gll" (mean and variance),
"mmd" (Gaussian kernel, sample sets), "ctc" (forward-backward on scaled probabilities).
The cross-entropies on logits stay finite where softmax saturates (the
layer clamps ``log p`` at -100 there); elsewhere they equal the layer to
rounding.

:func:`make_head` returns None for a loss (or an option, or a shape) that
has no closed form here (a user's loss, an option added to a loss since, a
cross-entropy on probabilities that no softmax made, a kernel function); the
plan then runs the layer itself under autograd
(:class:`~lossviz.train.ops.LayerVJPOp`), and the net around it as usual.
"""
from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np

from ..errors import ParameterError
from ..losses.base import LossLayer, check_distributions, check_in_range, class_indices
from ..losses.registry import _builtin
from ..losses.sequence import ctc
from .fused import _add, _rows, _shifted_exp, row_sums
from .ops import Buffers, LayerVJPOp, _Op

try:  # CTC's dynamic program in C, built with the package (setup.py); numpy runs it where that failed
    from . import _ctc as _ctc_kernel
except ImportError:  # pragma: no cover - depends on the build
    _ctc_kernel = None

__all__ = ["make_head", "LOGIT_LOSSES"]

_LOG2 = float(np.log(2.0))


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def _softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


class _Head(_Op):
    """Shared parts: ports, per-example weights, the autograd fallback for elementwise weights.

    ``grad_inputs``: the ports the head differentiates (the plan runs the layer under autograd when a
    net computes another one, e.g. a Target); ``grad`` returns the Input's gradient, or a dict of them.
    """

    out_ports = ("Loss",)
    grad_inputs = ("Input",)

    def __init__(self, layer):
        self.layer = layer
        self.checks = type(layer).check is not LossLayer.check  # the layer checks its data
        self.in_ports = tuple(p for p in layer.inputs)
        self.fallback = LayerVJPOp(layer, (), [])
        self.fallback.grad_ports = self.grad_inputs

    def alloc(self, B, dtype, gviews):
        buf = Buffers()
        buf.dtype = dtype
        buf.fb = None
        return buf

    def forward(self, ins, buf):
        w = ins.get("Weight")
        if w is not None and np.ndim(w) > 1:  # elementwise weights: the layer itself
            buf.fb = self.fallback.alloc(len(w), buf.dtype, {})
            return self.fallback.forward(ins, buf.fb)
        buf.fb = None
        if w is not None:
            check_in_range(self.layer, "Weight", w, 0.0, np.inf, "non-negative weights")
        L = self.loss(ins, buf)
        buf.w = w
        if w is not None:
            L = L * w
        return {"Loss": L}

    def backward(self, gouts, buf, wanted):
        if buf.fb is not None:
            return self.fallback.backward(gouts, buf.fb, wanted)
        gL = gouts["Loss"]
        if buf.w is not None:
            gL = gL * buf.w
        g = self.grad(gL, buf)
        return g if isinstance(g, dict) else {"Input": g}

    def _checked(self, ins):
        """Input and Target after the layer's own checks (which may convert the Target)."""
        if not self.checks:
            return ins["Input"], ins["Target"]
        data = {"Input": ins["Input"], "Target": ins["Target"]}
        self.layer.check(data)
        return data["Input"], data["Target"]


# ====================================================================== elementwise losses
class _ElementwiseHead(_Head):
    """``L_b = mean over entries of f(x, t)``; ``dL_b/dx = f'(x, t) / n``. Subclasses give ``value``."""

    def loss(self, ins, buf):
        x, t = self._checked(ins)
        if t.shape != x.shape:
            t = t.reshape(x.shape)
        v, buf.slope = self.value(x, t)
        B = len(x)
        buf.n = v.size // B if B else 1
        buf.shape = x.shape
        return row_sums(v.reshape(B, -1)) / buf.n

    def grad(self, gL, buf):
        c = (gL / buf.n).reshape((-1,) + (1,) * (len(buf.shape) - 1))
        return (buf.slope() * c).astype(buf.dtype, copy=False)


class _MeanSquared(_ElementwiseHead):
    """``k d^2`` (k = 1, or 1/2 for "l2"): the gradient in place on ``d``."""

    def __init__(self, layer, half=False):
        super().__init__(layer)
        self.k = 0.5 if half else 1.0

    def loss(self, ins, buf):
        x, t = ins["Input"], ins["Target"]
        B = len(x)
        x2 = x.reshape(B, -1)
        buf.d = d = np.subtract(x2, t.reshape(x2.shape))
        buf.n, buf.shape = x2.shape[1], x.shape
        return row_sums(d * d) * (self.k / buf.n)

    def grad(self, gL, buf):
        d = buf.d
        d *= (gL * (2.0 * self.k / buf.n))[:, None]
        return d.reshape(buf.shape) if len(buf.shape) != 2 else d


class _MeanAbsolute(_ElementwiseHead):
    def value(self, x, t):
        d = x - t
        return np.abs(d), lambda: np.sign(d)


class _Huber(_ElementwiseHead):
    def __init__(self, layer, rho):
        super().__init__(layer)
        self.rho = rho

    def value(self, x, t):
        d, rho = x - t, self.rho
        ad = np.abs(d)
        if rho == 0:
            return ad, lambda: np.sign(d)
        inside = ad < rho
        return (np.where(inside, (0.5 / rho) * d * d, ad - 0.5 * rho),
                lambda: np.where(inside, d / rho, np.sign(d)))


class _LogCosh(_ElementwiseHead):
    def value(self, x, t):
        d = x - t
        ad = np.abs(d)
        return ad + np.log1p(np.exp(-2.0 * ad)) - _LOG2, lambda: np.tanh(d)


class _Hinge(_ElementwiseHead):
    def __init__(self, layer, squared):
        super().__init__(layer)
        self.margin, self.squared = layer.margin, squared

    def value(self, x, t):
        u = np.maximum(0.0, self.margin - x * t)
        if self.squared:
            return u * u, lambda: -2.0 * t * u
        return u, lambda: -t * (u > 0)


class _SigmoidCrossEntropy(_ElementwiseHead):
    """``(1 - t) x + (1 + (w - 1) t) softplus(-x)`` from logits; ``signed``: labels -1/1 mapped to 0/1."""

    def __init__(self, layer, pos_weight=1.0, signed=False, check_target=None):
        super().__init__(layer)
        self.pos_weight, self.signed, self.check_target = pos_weight, signed, check_target

    def _checked(self, ins):
        if self.check_target is None:
            return super()._checked(ins)
        self.check_target(ins["Target"])
        return ins["Input"], ins["Target"]

    def value(self, x, t):
        if self.signed:
            t = (t + 1.0) / 2.0
        w = self.pos_weight
        coef = 1.0 + (w - 1.0) * t if np.ndim(w) or w != 1.0 else 1.0
        v = (1.0 - t) * x + coef * _softplus(-x)
        return v, lambda: coef * _sigmoid(x) - w * t


class _BinaryFocal(_ElementwiseHead):
    """``alpha_t (1 - p_t)^gamma ce`` with ``p = s(x)``, ``ce = softplus(x) - t x``, ``p_t = p t + (1-p)(1-t)``."""

    def __init__(self, layer):
        super().__init__(layer)
        self.alpha, self.gamma = layer.alpha, layer.gamma

    def value(self, x, t):
        p = _sigmoid(x)
        ce = (1.0 - t) * x + _softplus(-x)
        q = 1.0 - (p * t + (1.0 - p) * (1.0 - t))  # 1 - p_t
        g = self.gamma
        mod = q ** g
        a = 1.0 if self.alpha is None else self.alpha * t + (1.0 - self.alpha) * (1.0 - t)

        def slope():  # d/dx: mod (p - t) + ce g q^(g-1) dq/dx, dq/dx = -p (1 - p) (2t - 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                dmod = np.where(q > 0, g * q ** (g - 1.0), 0.0) if g else 0.0
            return a * (mod * (p - t) - ce * dmod * p * (1.0 - p) * (2.0 * t - 1.0))

        return a * mod * ce, slope


class _Poisson(_ElementwiseHead):
    """From log-rates x: ``exp(x) - t x`` (+ Stirling's term of t, a constant); d/dx ``exp(x) - t``."""

    def value(self, x, t):
        e = np.exp(x)
        v = e - t * x
        if self.layer.compute_full:
            big = t > 1
            tb = np.where(big, t, 2.0)
            v = v + np.where(big, tb * np.log(tb) - tb + 0.5 * np.log(2.0 * np.pi * tb), 0.0)
        return v, lambda: e - t


class _Contrastive(_ElementwiseHead):
    """On distances d: ``t max(m - d, 0)^2 + (1 - t) d^2``; d/dd ``-2 t max(m - d, 0) + 2 (1 - t) d``."""

    def value(self, d, t):
        gap = np.maximum(self.layer.margin - d, 0.0)
        return t * gap * gap + (1.0 - t) * d * d, lambda: -2.0 * t * gap + 2.0 * (1.0 - t) * d


class _MarginRanking(_ElementwiseHead):
    """``max(0, -t (x1 - x2) + margin)``; d/dx1 ``-t [> 0]``, d/dx2 ``t [> 0]``."""

    grad_inputs = ("Input", "Input2")

    def _checked(self, ins):
        data = {"Input": ins["Input"], "Input2": ins["Input2"], "Target": ins["Target"]}
        self.layer.check(data)
        return data["Input"], (data["Input2"], data["Target"])

    def value(self, x, rest):
        x2, t = rest
        u = np.maximum(0.0, -np.reshape(t, x.shape) * (x - np.reshape(x2, x.shape)) + self.layer.margin)
        return u, lambda: -np.reshape(t, x.shape) * (u > 0)

    def loss(self, ins, buf):
        x, rest = self._checked(ins)
        v, buf.slope = self.value(x, rest)
        B = len(x)
        buf.n, buf.shape = (v.size // B if B else 1), x.shape
        return row_sums(v.reshape(B, -1)) / buf.n

    def grad(self, gL, buf):
        g = super().grad(gL, buf)
        return {"Input": g, "Input2": -g}


class _Triplet(_Head):
    """``max(|p - a|^2 - |n - a|^2 + margin, 0)`` per example; where > 0: d/da ``2 (n - p)``,
    d/dp ``2 (p - a)``, d/dn ``-2 (n - a)``."""

    grad_inputs = ("Input", "Positive", "Negative")

    def loss(self, ins, buf):
        a, p, n = ins["Input"], ins["Positive"], ins["Negative"]
        B = len(a)
        buf.shape = a.shape
        buf.dp, buf.dn = dp, dn = (p - a).reshape(B, -1), (n - a).reshape(B, -1)
        u = row_sums(dp * dp) - row_sums(dn * dn) + self.layer.margin
        buf.on = u > 0
        return np.maximum(u, 0.0)

    def grad(self, gL, buf):
        c = (2.0 * np.where(buf.on, gL, 0.0))[:, None].astype(buf.dp.dtype, copy=False)
        gp, gn = buf.dp * c, -(buf.dn * c)
        return {"Input": (-gp - gn).reshape(buf.shape), "Positive": gp.reshape(buf.shape),
                "Negative": gn.reshape(buf.shape)}


class _CosineEmbedding(_Head):
    """``1 - cos(a, b)`` where t = 1, ``max(0, cos - margin)`` where t = -1, over the last axis;
    ``cos = a.b / sqrt((|a|^2 + eps)(|b|^2 + eps))``, d cos/da ``= b / N - cos a / (|a|^2 + eps)``."""

    grad_inputs = ("Input", "Input2")

    def loss(self, ins, buf):
        data = {"Input": ins["Input"], "Input2": ins["Input2"], "Target": ins["Target"]}
        self.layer.check(data)
        a, b, t = data["Input"], data["Input2"], np.reshape(data["Target"], (len(data["Input"]),))
        eps = _COSINE_EPS
        aa, bb = row_sums(a * a) + eps, row_sums(b * b) + eps
        norm = np.sqrt(aa * bb)
        cos = row_sums(a * b) / norm
        buf.a, buf.b, buf.aa, buf.bb, buf.norm, buf.cos = a, b, aa, bb, norm, cos
        similar = t == 1
        buf.dcos = np.where(similar, -1.0, (cos - self.layer.margin > 0).astype(float))
        return np.where(similar, 1.0 - cos, np.maximum(0.0, cos - self.layer.margin))

    def grad(self, gL, buf):
        c = (gL * buf.dcos)[:, None]
        cos = buf.cos[:, None]
        ga = c * (buf.b / buf.norm[:, None] - cos * buf.a / buf.aa[:, None])
        gb = c * (buf.a / buf.norm[:, None] - cos * buf.b / buf.bb[:, None])
        return {"Input": ga.astype(buf.dtype, copy=False), "Input2": gb.astype(buf.dtype, copy=False)}


class _GaussianNLL(_Head):
    """Per entry ``(log v + (x - t)^2 / v [+ log 2 pi]) / 2`` with ``v = max(var, eps)`` (the clamp in the
    value only), summed over the last axis; d/dx ``(x - t) / v``, d/dvar ``(1/v - (x - t)^2 / v^2) / 2``."""

    grad_inputs = ("Input", "Variance")

    def loss(self, ins, buf):
        data = {"Input": ins["Input"], "Variance": ins["Variance"], "Target": ins["Target"]}
        self.layer.check(data)
        x, var, t = data["Input"], data["Variance"], np.reshape(data["Target"], np.shape(data["Input"]))
        v = np.maximum(var, self.layer.eps)
        d = x - t
        buf.v, buf.d = v, d
        per = 0.5 * (np.log(v) + d * d / v + (np.log(2.0 * np.pi) if self.layer.full else 0.0))
        return row_sums(per)

    def grad(self, gL, buf):
        c = gL[:, None]
        return {"Input": (c * buf.d / buf.v).astype(buf.dtype, copy=False),
                "Variance": (c * 0.5 * (1.0 / buf.v - buf.d * buf.d / (buf.v * buf.v))).astype(buf.dtype,
                                                                                               copy=False)}


class _MaximumMeanDiscrepancy(_Head):
    """Gaussian-kernel MMD of sample sets x (B, n, d) and y (B, m, d), ``k = exp(-|a - b|^2 / s)``:
    ``L = mean k(x, x) - 2 mean k(x, y) + mean k(y, y)``;
    ``dL/dx_i = -4/(s n^2) sum_i' k_ii' (x_i - x_i') + 4/(s n m) sum_j k_ij (x_i - y_j)``."""

    def loss(self, ins, buf):
        x, y = self._checked(ins)
        buf.shape = x.shape
        if x.ndim == 2:  # n one-dimensional samples
            x, y = x[:, :, None], y[:, :, None]
        s = float(self.layer.kernel)

        def kernel(a, b):  # (B, n, m, d) differences and the (B, n, m) kernel
            diff = a[:, :, None, :] - b[:, None, :, :]
            sq = diff[..., 0] ** 2 if diff.shape[-1] == 1 else np.einsum("bijd,bijd->bij", diff, diff)
            return diff, np.exp(sq * (-1.0 / s))

        buf.dxx, buf.kxx = kernel(x, x)
        buf.dxy, buf.kxy = kernel(x, y)
        _, kyy = kernel(y, y)
        buf.s, buf.n, buf.m = s, x.shape[1], y.shape[1]
        def mean(k):
            return row_sums(k.reshape(len(k), -1)) / (k.shape[1] * k.shape[2])

        return mean(buf.kxx) - 2.0 * mean(buf.kxy) + mean(kyy)

    def grad(self, gL, buf):
        s, n, m = buf.s, buf.n, buf.m
        def pull(k, diff):  # sum_j k_ij (x_i - z_j): (B, n, d)
            if diff.shape[-1] == 1:
                B, n_, m_ = k.shape
                return row_sums((k * diff[..., 0]).reshape(B * n_, m_)).reshape(B, n_, 1)
            return np.einsum("bij,bijd->bid", k, diff)

        gx = pull(buf.kxy, buf.dxy) * (4.0 / (s * n * m)) - pull(buf.kxx, buf.dxx) * (4.0 / (s * n * n))
        gx *= gL[:, None, None]
        return gx.reshape(buf.shape).astype(buf.dtype, copy=False)


class _CTC(_Head):
    """CTC by the forward-backward algorithm, from logits x (B, T, C).

    Extended labels ``l'`` (a blank between and around the labels, S = 2L + 1 states); the
    forward variables ``alpha_t(s)`` (including step t's emission) and backward ``beta_t(s)`` (the
    steps after t) in probability space, each step rescaled (Rabiner's scaling: the scales add up to
    ``log p``). ``L = -log p``; with the state occupancies
    ``occ_t(s) = alpha_t(s) beta_t(s) / sum_s alpha_t(s) beta_t(s)``,
    ``dL/dx_t(c) = softmax(x_t)(c) - sum_{s: l'_s = c} occ_t(s)``. The states past a padded target's
    end emit nothing.

    The softmax runs in numpy in the working precision; the dynamic program and the gradient run in
    float64 in C (``lossviz/train/_ctc.c``, built with the package; state-major, the batch innermost)
    or, where that extension could not be built, in numpy (:func:`_ctc_numpy`). The emissions are
    float64 (a float32 probability underflows for logits about 100 apart and would zero every path):
    the kernel recomputes a probability below 1e-30 from the logits, numpy computes them all as
    ``exp(x - lse)``. An example that even the scaled float64 arithmetic cannot carry (an emission, a
    step's sum or an occupancy normaliser below the smallest normal float64: logits about 708 apart,
    or a loss above about 700 nats on confident blanks) comes back NaN from either path and is
    recomputed by the layer's log-space algorithm under autograd (:func:`_ctc_in_log_space`).
    """

    def loss(self, ins, buf):
        x, labels = self._checked(ins)
        B, T, C = x.shape
        blank = C - 1 if self.layer.blank_label == "last" else 0
        z = x.reshape(B * T, C)  # the softmax in the working precision
        m = np.empty((B * T, 1), x.dtype)
        s = np.empty((B * T, 1), x.dtype)
        e = np.empty(z.shape, x.dtype)
        _shifted_exp(z, e, m, s)
        p = e / s  # (B T, C)
        if _ctc_kernel is not None:
            buf.grad, log_p = p.astype(np.float64, copy=False).reshape(B, T, C), np.empty(B)  # p, then dL/dx
            _ctc_kernel.loss_and_gradient(np.ascontiguousarray(x), m, s, np.ascontiguousarray(labels, np.int64),
                                          blank, B, T, C, labels.shape[1], buf.grad, log_p)
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # extremes: in log space below
                buf.grad, log_p = _ctc_numpy(x, p, m, s, labels, blank)
        if not np.isfinite(_add.reduce(log_p)):  # both paths mark an example they could not carry with NaN
            _ctc_in_log_space(x, labels, blank, ~np.isfinite(log_p), buf.grad, log_p)
        return (-log_p).astype(x.dtype, copy=False)

    def grad(self, gL, buf):
        return (buf.grad * gL[:, None, None]).astype(buf.dtype, copy=False)


def _ctc_in_log_space(x, labels, blank, rows, grad, log_p):
    """Recompute the examples ``rows`` (a mask) with the layer's log-space forward algorithm and autograd.

    The scaled dynamic program loses an example when even a rescaled probability underflows: a loss
    above about 700 nats on confident blanks, or a class that dominates the targets' by about 710 (its
    occupancies underflow in every state, or a step's sum falls below the smallest float64). The layer's
    own algorithm works with logs and has no such limit; it is far slower, which only these rows pay.
    Writes their ``log p`` and ``dL/dx`` (for L = -log p) in place.
    """
    xs, ls = np.asarray(x[rows], np.float64), labels[rows]
    log_p[rows] = -ctc(xs, ls, blank)
    grad[rows] = autograd.grad(lambda v: anp.sum(ctc(v, ls, blank)))(xs)


def _ctc_numpy(x, p, m, s, labels, blank):
    """CTC's loss and gradient in numpy: ``(dL/dx (B, T, C) float64, log p (B,))``, like the C kernel.

    x: logits (B, T, C); p: their softmax (B T, C); m, s: its row maxima and row sums of ``exp(x - m)``
    (B T, 1); labels (B, L) padded with -1. The emissions are float64 ``exp(x - lse)`` (a float32
    probability that underflows would zero every path). The recursions run state-major, on (S, B)
    arrays: the shifts ``s - 1``, ``s - 2`` are row offsets of a buffer with two zero rows, and the sums
    over states add whole rows, so each time step is a handful of numpy calls on contiguous blocks
    whatever the batch size. (The fallback where the C kernel could not be built, and the reference the
    tests hold it to.)
    """
    B, T, C = x.shape
    lse = (m[:, 0].astype(np.float64) + np.log(s[:, 0].astype(np.float64))).reshape(B, T).T  # (T, B)
    lengths = _add.reduce(labels >= 0, 1, np.int64)
    S = 2 * labels.shape[1] + 1
    ext = np.full((S, B), blank)  # l'_s per example, state-major
    ext[1::2] = np.where(labels >= 0, labels, blank).T
    skip = np.zeros((S + 2, B))  # rows S, S + 1 stay 0: the backward shift reads them
    skip[2:S] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    index = (np.arange(T) * C)[:, None, None] + (np.arange(B) * (T * C) + ext)
    # the emissions (T, S, B); 0 on the padding states past an example's last one, which no path visits
    # (the blank they would emit draws probability into them, and the final states' share of each scaled
    # step would underflow on a long sequence)
    used = np.arange(S)[:, None] <= 2 * lengths  # (S, B)
    emit = np.exp(x.ravel()[index] - lse[:, None, :])
    # an emission a path may need that underflowed to a subnormal number or to 0 (logits about 708 apart)
    imprecise = ((emit < np.finfo(np.float64).tiny) & used).any(axis=(0, 1))
    emit *= used
    # alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1) + skip(s) alpha_{t-1}(s-2)) p_t(l'_s); each step
    # sits in rows 2: of a buffer whose two first rows are 0, so alpha_{t-1}(s-1) and (s-2) are views
    alpha = np.zeros((T, S + 2, B))
    scales = np.empty((T, B))
    tmp = np.empty((S, B))
    a0 = alpha[0, 2:]
    a0[:2] = emit[0, :2]
    for t in range(T):
        a = alpha[t, 2:]
        if t:
            prev = alpha[t - 1]
            np.add(prev[2:], prev[1:-1], out=a)
            np.multiply(prev[:-2], skip[:S], out=tmp)
            a += tmp
            a *= emit[t]
        _add.reduce(a, 0, None, scales[t])
        a /= scales[t]
    alpha = alpha[:, 2:]
    states = np.arange(S)[:, None]
    final = (states == 2 * lengths) | (states == 2 * lengths - 1)  # the states a path may end in (S, B)
    log_p = _add.reduce(np.log(scales), 0) + np.log(_add.reduce(alpha[T - 1], 0, where=final))
    # beta_t(s) = sum over s' in {s, s+1, s+2 (if skip(s+2))} of beta_{t+1}(s') p_{t+1}(l'_s'):
    # q = beta_{t+1} p_{t+1} in a buffer with two trailing zero rows makes the shifts views
    beta = np.empty((T, S, B))
    beta[T - 1] = final
    beta[T - 1] /= _add.reduce(final, 0, np.float64)
    q = np.zeros((S + 2, B))
    for t in range(T - 2, -1, -1):
        b = beta[t]
        np.multiply(beta[t + 1], emit[t + 1], out=q[:S])
        np.add(q[:S], q[1:S + 1], out=b)
        np.multiply(q[2:], skip[2:], out=tmp)
        b += tmp
        b /= _add.reduce(b, 0)
    occupancy = alpha * beta
    occupancy /= _add.reduce(occupancy, 1)[:, None]
    taken = np.bincount(index.ravel(), weights=occupancy.ravel(), minlength=B * T * C)
    grad = (p.ravel() - taken).reshape(B, T, C)
    # the caller recomputes in log space the examples this arithmetic could not carry, as with the C kernel
    log_p[imprecise | ~np.isfinite(grad).all(axis=(1, 2))] = np.nan
    return grad, log_p


_COSINE_EPS = float(np.float32(1e-12))  # lossviz.losses.embedding's


def _softmax_parts(z, buf):
    """``buf.e = exp(z - max)``, ``buf.s`` its row sums (B, 1); returns ``lse(z)`` (B,). Buffers kept per shape.

    (numpy reduces a short last axis slowly; :func:`lossviz.train.fused._rows` reduces a transposed copy.)
    """
    if getattr(buf, "e", None) is None or buf.e.shape != z.shape or buf.e.dtype != z.dtype:
        B = len(z)
        buf.e, buf.m, buf.s = np.empty(z.shape, z.dtype), np.empty((B, 1), z.dtype), np.empty((B, 1), z.dtype)
        buf.rows = np.arange(B)
    _shifted_exp(z, buf.e, buf.m, buf.s)
    return np.log(buf.s[:, 0]) + buf.m[:, 0]


def _xlogx(t):
    positive = t > 0
    return np.where(positive, t * np.log(np.where(positive, t, 1.0)), 0.0)


# ====================================================================== class vectors from logits
class _KullbackLeibler(_Head):
    """``mean_j (t_j log t_j - t_j log p_j)`` over the k entries of (B, k).

    ``log p = z - lse(z)`` from logits z (kl on a SoftmaxLayer's input, kl_div with
    from_logits=False), or the Input itself (kl_div's log-probabilities);
    d/dz ``(p sum(t) - t) / k``, or ``-t / k`` for log-probabilities.
    """

    def __init__(self, layer, log_probabilities, own_checks):
        super().__init__(layer)
        self.log_probabilities, self.own_checks = log_probabilities, own_checks

    def loss(self, ins, buf):
        z, t = ins["Input"], ins["Target"]
        if self.own_checks:
            z, t = self._checked(ins)
        else:
            check_in_range(self.layer, "Target", t, 0.0, 1.0, "probabilities (between 0 and 1)")
        t = np.reshape(t, z.shape)
        k = z.shape[1]
        buf.t, buf.k = t, k
        if self.log_probabilities:
            logp = z
        else:
            lse = _softmax_parts(z, buf)
            buf.p = buf.e / buf.s
            logp = z - lse[:, None]
        return (row_sums(_xlogx(t)) - row_sums(t * logp)) / k

    def grad(self, gL, buf):
        c = (gL / buf.k)[:, None]
        if self.log_probabilities:
            return (-buf.t * c).astype(buf.dtype, copy=False)
        g = buf.p * row_sums(buf.t)[:, None]
        g -= buf.t
        g *= c
        return g.astype(buf.dtype, copy=False)


class _MulticlassHinge(_Head):
    """``max(0, max_{j != y} z_j - z_y + margin)`` on (B, k); d/dz ``+1`` at the rival, ``-1`` at y, where > 0."""

    def loss(self, ins, buf):
        z, y = self._checked(ins)
        B, k = z.shape
        rows = np.arange(B)
        masked = z.copy()
        masked[rows, y] = -np.inf
        rival = masked.argmax(axis=1)
        u = z[rows, rival] - z[rows, y] + self.layer.margin
        buf.rows, buf.y, buf.rival, buf.on, buf.shape = rows, y, rival, u > 0, z.shape
        return np.maximum(u, 0.0)

    def grad(self, gL, buf):
        g = np.zeros(buf.shape, buf.dtype)
        c = np.where(buf.on, gL, 0.0)
        g[buf.rows, buf.rival] += c
        g[buf.rows, buf.y] -= c
        return g



class _SoftmaxCrossEntropy(_Head):
    """``L = lse(z) sum(a) - a.z`` on logits z (B, k); ``a`` from the target (see the module docstring)."""

    def __init__(self, layer, *, sparse, class_weights, label_smoothing, ignore_index, log_probabilities=False,
                 own_checks=False):
        super().__init__(layer)
        self.sparse, self.eps, self.ignore_index = sparse, label_smoothing, ignore_index
        self.class_weights = None if class_weights is None else np.asarray(class_weights, float)
        self.log_probabilities, self.own_checks = log_probabilities, own_checks

    def _target(self, z, t):
        k = z.shape[1]
        if self.class_weights is not None and len(self.class_weights) != k:
            raise ParameterError(
                f"{type(self.layer).__name__}: option 'class_weights' has {len(self.class_weights)} entries, but "
                f"port 'Input' has {k} classes")
        if self.own_checks:
            _, t = self._checked({"Input": z, "Target": t})
            return t
        if self.sparse:
            return class_indices(self.layer, "Target", t, k, self.ignore_index)
        check_distributions(self.layer, "Target", t)
        return np.reshape(t, z.shape)

    def _coefficients(self, z, t):
        B, k = z.shape
        if self.sparse:
            valid = None if self.ignore_index is None else t != self.ignore_index
            a = np.zeros((B, k), z.dtype)
            a.ravel()[np.arange(0, B * k, k) + (t if valid is None else np.where(valid, t, 0))] = 1.0
        else:
            a = np.asarray(t, z.dtype)
        if self.eps:
            a = a * (1.0 - self.eps) + self.eps / k
        if self.class_weights is not None:
            a = a * self.class_weights.astype(z.dtype)
        if self.sparse and self.ignore_index is not None:
            a = a * valid[:, None]
        return a

    def loss(self, ins, buf):
        z = ins["Input"]
        t = self._target(z, ins["Target"])
        buf.a = a = self._coefficients(z, t)
        if self.log_probabilities:
            return -row_sums(a * z)
        lse = _softmax_parts(z, buf)
        buf.asum = asum = row_sums(a)
        return lse * asum - row_sums(a * z)

    def grad(self, gL, buf):
        if self.log_probabilities:
            return -buf.a * gL[:, None]
        g = buf.e / buf.s
        g *= buf.asum[:, None]
        g -= buf.a
        g *= gL[:, None]
        return g


class _IndexCrossEntropy(_Head):
    """The common case without options: ``L = lse(z) - z[y]``; class indices y (B,); buffers reused."""

    def __init__(self, layer):
        super().__init__(layer)

    def alloc(self, B, dtype, gviews):
        buf = super().alloc(B, dtype, gviews)
        buf.flat_rows = None
        return buf

    def loss(self, ins, buf):
        z = ins["Input"]
        B, k = z.shape
        y = class_indices(self.layer, "Target", ins["Target"], k)
        if buf.flat_rows is None or buf.flat_rows.size != B or buf.k != k:
            buf.flat_rows, buf.k = np.arange(0, B * k, k), k
            buf.e, buf.m, buf.s = np.empty((B, k), z.dtype), np.empty((B, 1), z.dtype), np.empty((B, 1), z.dtype)
        _shifted_exp(z, buf.e, buf.m, buf.s)
        buf.picked = buf.flat_rows + y
        return (np.log(buf.s[:, 0]) + buf.m[:, 0]) - z.ravel()[buf.picked]

    def grad(self, gL, buf):
        g = buf.e
        g /= buf.s
        g.ravel()[buf.picked] -= 1.0
        g *= gL[:, None]
        return g


class _CategoricalFocal(_Head):
    """``L = -alpha_y (1 - p_y)^gamma log p_y`` on logits z (B, k); y class indices (B,)."""

    def __init__(self, layer):
        super().__init__(layer)
        self.alpha, self.gamma = layer.alpha, layer.gamma

    def loss(self, ins, buf):
        z = ins["Input"]
        x, y = self._checked(ins)
        lse = _softmax_parts(z, buf)
        buf.p = p = buf.e / buf.s
        rows = buf.rows
        logp = z[rows, y] - lse
        py = p[rows, y]
        q = 1.0 - py
        g = self.gamma
        alpha = 1.0 if self.alpha is None else (np.asarray(self.alpha)[y] if np.ndim(self.alpha) else self.alpha)
        mod = q ** g
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(q > 0, g * q ** (g - 1.0), 0.0) if g else 0.0
        # dL/dlog p_y = -alpha (mod - g q^(g-1) p_y log p_y)   (d q / d log p_y = -p_y)
        buf.c = -alpha * (mod - slope * py * logp)
        buf.y, buf.rows = y, rows
        return -alpha * mod * logp

    def grad(self, gL, buf):
        g = -buf.p
        g[buf.rows, buf.y] += 1.0
        g *= (buf.c * gL)[:, None]
        return g


# ====================================================================== choosing
#: loss heads that read the logits of the op producing their Input: (class name, form) -> that op's name
LOGIT_LOSSES = {
    ("CrossEntropyLossLayer", "Index"): "Softmax",
    ("CrossEntropyLossLayer", "Probabilities"): "Softmax",
    ("CrossEntropyLossLayer", "Binary"): "LogisticSigmoid",
    ("KullbackLeiblerLossLayer", None): "Softmax",
}


def _known_options(layer, names):
    """True when every option the layer reports is one of ``names`` (a loss with an option added
    elsewhere falls back to autograd safely)."""
    return set(layer.config()) <= set(names)


def make_head(layer, input_dims, *, logits_of=None, grad_ports=("Input",)):
    """A closed-form head for the built-in loss ``layer``, or None.

    ``input_dims``: the per-example shape of its Input. ``logits_of``: the
    name of the op producing the Input ("Softmax", "LogisticSigmoid") when the
    plan offers that op's input (the logits) instead; the head then reads
    them. ``grad_ports``: the inputs that need a gradient (only "Input" is
    supported in closed form). Returns ``(head, reads_logits)`` or None.
    """
    if not _builtin(type(layer)):
        return None
    made = _make_head(layer, input_dims, logits_of)
    if made is not None and set(grad_ports) - set(made[0].grad_inputs):
        return None  # the net computes an input the closed form takes as data
    return made


def _make_head(layer, input_dims, logits_of):
    name = type(layer).__name__
    cfg = layer.config()
    vector = input_dims is not None and len(input_dims) == 1
    form = cfg.get("form")
    if name == "CrossEntropyLossLayer" and _known_options(layer, ("form", "class_weights", "label_smoothing",
                                                                  "ignore_index")):
        if form in ("Index", "Probabilities") and logits_of == "Softmax" and vector:
            plain = form == "Index" and not layer.class_weights and not layer.label_smoothing \
                and layer.ignore_index is None
            if plain:
                return _IndexCrossEntropy(layer), True
            return _SoftmaxCrossEntropy(layer, sparse=form == "Index", class_weights=layer.class_weights,
                                        label_smoothing=layer.label_smoothing,
                                        ignore_index=layer.ignore_index), True
        if form == "Binary" and logits_of == "LogisticSigmoid":
            def check(t):
                check_in_range(layer, "Target", t, 0.0, 1.0, "probabilities (between 0 and 1)")

            return _SigmoidCrossEntropy(layer, check_target=check), True
        return None
    if name == "SoftmaxCrossEntropyLossLayer" and vector and _known_options(
            layer, ("axis", "sparse_label", "from_logits", "class_weights", "label_smoothing", "ignore_index")):
        if layer.axis not in (-1, 0):
            return None
        return _SoftmaxCrossEntropy(layer, sparse=layer.sparse_label, class_weights=layer.class_weights,
                                    label_smoothing=layer.label_smoothing, ignore_index=layer.ignore_index,
                                    log_probabilities=layer.from_logits, own_checks=True), False
    if name == "CategoricalFocalLossLayer" and vector and _known_options(layer, ("alpha", "gamma")):
        return _CategoricalFocal(layer), False
    if name == "MulticlassHingeLossLayer" and vector and _known_options(layer, ("margin",)):
        return _MulticlassHinge(layer), False
    if name == "KullbackLeiblerLossLayer" and vector and logits_of == "Softmax" and not layer.config():
        return _KullbackLeibler(layer, log_probabilities=False, own_checks=False), True
    if name == "KLDivLossLayer" and vector and _known_options(layer, ("from_logits", "axis")) \
            and layer.axis in (-1, 0):
        return _KullbackLeibler(layer, log_probabilities=layer.from_logits, own_checks=True), False
    simple = {
        ("MeanSquaredLossLayer", ()): lambda: _MeanSquared(layer),
        ("L2LossLayer", ()): lambda: _MeanSquared(layer, half=True),
        ("MeanAbsoluteLossLayer", ()): lambda: _MeanAbsolute(layer),
        ("HuberLossLayer", ("rho",)): lambda: _Huber(layer, layer.rho),
        ("SmoothL1LossLayer", ("beta",)): lambda: _Huber(layer, layer.beta),
        ("LogCoshLossLayer", ()): lambda: _LogCosh(layer),
        ("HingeLossLayer", ("margin",)): lambda: _Hinge(layer, squared=False),
        ("SquaredHingeLossLayer", ("margin",)): lambda: _Hinge(layer, squared=True),
        ("LogisticLossLayer", ("label_format",)): lambda: _SigmoidCrossEntropy(
            layer, signed=layer.label_format == "signed"),
        ("BinaryFocalLossLayer", ("alpha", "gamma")): lambda: _BinaryFocal(layer),
        ("ContrastiveLossLayer", ("margin",)): lambda: _Contrastive(layer),
    }
    for (cls, options), build in simple.items():
        if name == cls and _known_options(layer, options):
            return build(), False
    if name == "MarginRankingLossLayer" and _known_options(layer, ("margin",)):
        return _MarginRanking(layer), False
    if name == "TripletLossLayer" and _known_options(layer, ("margin",)):
        return _Triplet(layer), False
    if name == "CosineEmbeddingLossLayer" and vector and _known_options(layer, ("margin",)):
        return _CosineEmbedding(layer), False
    if name == "GaussianLogLikelihoodLossLayer" and vector and _known_options(layer, ("full", "eps")):
        return _GaussianNLL(layer), False
    if name == "MaximumMeanDiscrepancyLossLayer" and _known_options(layer, ("kernel",)) \
            and not callable(layer.kernel):
        return _MaximumMeanDiscrepancy(layer), False
    if name == "CTCLossLayer" and _known_options(layer, ("blank_label",)):
        return _CTC(layer), False
    if name == "PoissonNLLLossLayer" and _known_options(layer, ("from_logits", "compute_full", "epsilon")) \
            and layer.from_logits:
        return _Poisson(layer), False
    if name == "SigmoidBinaryCrossEntropyLossLayer" and _known_options(layer, ("from_sigmoid", "pos_weight")):
        if layer.from_sigmoid:
            return None
        w = 1.0 if layer.pos_weight is None else (np.asarray(layer.pos_weight) if np.ndim(layer.pos_weight)
                                                   else layer.pos_weight)
        if np.ndim(w) and (not input_dims or input_dims[-1] != len(w)):
            return None  # the layer's check gives the error
        return _SigmoidCrossEntropy(layer, pos_weight=w), False
    return None
