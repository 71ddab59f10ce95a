"""The fused training step: a plain chain of known layers plus a closed-form loss, in numpy.

:class:`~lossviz.train.steps.AutogradStep` traces every primitive with
autograd, which costs about 9 us each (``shared/notes/performance.md``); a
teaching-sized step is mostly that overhead. When the net is a chain of

* ``LinearLayer`` (``y = x W^T + b``),
* ``ElementwiseLayer`` with a named function (``"Tanh"``, ``"Ramp"``, ...),
* ``SoftmaxLayer``,

and the resolved loss is ONE attached term whose gradient is known in closed
form, :class:`FusedStep` runs the forward pass into preallocated buffers,
keeps the activations, and runs the hand-written backward pass from them: no
tracing, no recomputation, no large temporaries. Known losses (with their
default options only):

=========================================  ===============================  =================================
loss                                       on the output of                 computed from
=========================================  ===============================  =================================
``CrossEntropyLossLayer("Index")``         ``SoftmaxLayer``                 the logits: ``lse(z) - z[t]``
``CrossEntropyLossLayer("Probabilities")`` ``SoftmaxLayer``                 the logits: ``sum t (lse(z) - z)``
``CrossEntropyLossLayer("Binary")``        ``ElementwiseLayer("Sigmoid")``  the logits: ``softplus(z) - t z``
``MeanSquaredLossLayer()``                 anything                         the output: ``mean (y - t)^2``
``MeanAbsoluteLossLayer()``                anything                         the output: ``mean |y - t|``
=========================================  ===============================  =================================

The cross-entropies work on the logits, so they stay exact where softmax or
sigmoid saturate (the unfused losses clamp ``log p`` at -100 there, and their
gradient vanishes); elsewhere loss and gradient equal autograd's to rounding
(about 1e-15 relative).

Parameters live in ONE flat vector (``leaves == [flat]``) with per-layer
views, in the sorted-key order of the parameter tree, so the optimizer
updates everything with a handful of numpy calls. A batch that carries a
"Weight" goes through an :class:`AutogradStep` sharing the same parameters.

Speed (measured in ``benchmarks/``, see ``benchmarks/RESULTS.md``):

* ``working_precision="Real32"`` keeps the flat vector, buffers and
  arithmetic in float32 (about twice as fast on wide nets);
  :meth:`FusedStep.params` always returns float64 arrays.
* Large steps run their matrix products on one OpenBLAS thread
  (:mod:`lossviz.train.blas`) and split the batch in two halves computed on
  two threads instead; OpenBLAS's own threads spin-wait and collapse when the
  other core is busy.
* float64 ``tanh`` of large arrays goes through ``exp``
  (:func:`lossviz.net.fastmath.tanh`), which numpy vectorizes on AVX2
  machines where its ``tanh`` is a libm call per element.
"""
from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

from ..net.fastmath import tanh
from .blas import BlasThreads
from .trees import tree_items, tree_rebuild

__all__ = ["FusedStep", "FusedForward", "fusion_plan", "why_not_fused", "why_not_forward", "check_precision",
           "PRECISIONS"]

#: working_precision -> numpy dtype
PRECISIONS = {"Real64": np.float64, "Real32": np.float32}


def check_precision(working_precision):
    """ParameterError unless ``working_precision`` is "Real64" or "Real32"."""
    if not isinstance(working_precision, str) or working_precision not in PRECISIONS:
        from ..errors import ParameterError

        raise ParameterError(f"NetTrain: working_precision must be 'Real64' or 'Real32', got {working_precision!r}")


# ====================================================================== activations
# name -> (forward(x, out), backward(g, y, x, tmp): g *= f'(x) in place).
# Shapes: all (batch, n). The formulas match lossviz.net.primitives.

def _tanh_fwd(x, out):
    tanh(x, out=out)


def _tanh_bwd(g, y, x, tmp):
    np.multiply(y, y, out=tmp)
    np.subtract(1.0, tmp, out=tmp)
    g *= tmp


def _ramp_fwd(x, out):
    np.maximum(x, 0.0, out=out)


def _ramp_bwd(g, y, x, tmp):
    np.greater(x, 0.0, out=tmp)
    g *= tmp


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def _sigmoid_fwd(x, out):
    out[...] = _sigmoid(x)


def _sigmoid_bwd(g, y, x, tmp):
    np.subtract(1.0, y, out=tmp)
    tmp *= y
    g *= tmp


def _generic(f, df):
    """An activation from ``f(x)`` and ``df(y, x) = f'(x)`` (allocating: for the rarer ones)."""
    def fwd(x, out):
        out[...] = f(x)

    def bwd(g, y, x, tmp):
        g *= df(y, x)

    return fwd, bwd


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805
_GELU_C = np.sqrt(2.0 / np.pi)


def _gelu_grad(y, x):
    t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)


ACTIVATION_KERNELS = {
    "Tanh": (_tanh_fwd, _tanh_bwd),
    "Ramp": (_ramp_fwd, _ramp_bwd),
    "LogisticSigmoid": (_sigmoid_fwd, _sigmoid_bwd),
    "SoftPlus": _generic(lambda x: np.logaddexp(0.0, x), lambda y, x: _sigmoid(x)),
    "ELU": _generic(lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
                    lambda y, x: np.where(x > 0, 1.0, y + 1.0)),
    "SELU": _generic(lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
                     lambda y, x: np.where(x > 0, _SELU_SCALE, y + _SELU_SCALE * _SELU_ALPHA)),
    "GELU": _generic(lambda x: 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x**3))), _gelu_grad),
    "Swish": _generic(lambda x: x * _sigmoid(x), lambda y, x: _sigmoid(x) + y * (1.0 - _sigmoid(x))),
    "HardTanh": _generic(lambda x: np.clip(x, -1.0, 1.0), lambda y, x: np.abs(x) < 1),
    "HardSigmoid": _generic(lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0), lambda y, x: (np.abs(x) < 3) / 6.0),
    "Sin": _generic(np.sin, lambda y, x: np.cos(x)),
    "Cos": _generic(np.cos, lambda y, x: -np.sin(x)),
    "Exp": _generic(np.exp, lambda y, x: y),
    "Log": _generic(np.log, lambda y, x: 1.0 / x),
    "Abs": _generic(np.abs, lambda y, x: np.sign(x)),
    "Square": _generic(np.square, lambda y, x: 2.0 * x),
    "Sqrt": _generic(np.sqrt, lambda y, x: 0.5 / y),
}


# ====================================================================== layer ops
# ufunc.reduce(array, axis, dtype, out, keepdims): np.sum/np.max cost several us more per call
_add, _max = np.add, np.maximum


def _rows(ufunc, x, out):
    """``ufunc.reduce`` of x (rows, k) along its rows into out (rows, 1).

    numpy reduces a short last axis one row at a time (20 us for 512 x 2);
    for a few columns, k - 1 elementwise calls on column views are 10x faster.
    """
    k = x.shape[1]
    if k > 8:
        ufunc.reduce(x, 1, None, out, True)
        return
    np.copyto(out, x[:, :1])
    for j in range(1, k):
        ufunc(out, x[:, j:j + 1], out=out)

def _shifted_exp(z, e, m, s):
    """``e = exp(z - m)`` with ``m`` the row maxima, and ``s`` its row sums: z, e (rows, k); m, s (rows, 1).

    The shared start of softmax (``e / s``) and log-sum-exp (``log s + m``); never overflows.
    """
    _rows(_max, z, m)
    np.subtract(z, m, out=e)
    np.exp(e, out=e)
    _rows(_add, e, s)


class _Buffers:
    """Per-batch-size arrays of one op (attributes set by the op's ``alloc``)."""


class _LinearOp:
    """``z = x W^T + b``: x (batch, m) -> z (batch, n); W (n, m), b (n,) are views of the flat vector."""

    def __init__(self, path, n_in, n_out):
        self.path, self.n_in, self.n_out = path, n_in, n_out

    def bind(self, views):
        self.W, self.b = views[self.path + ("Weights",)], views[self.path + ("Biases",)]

    def alloc(self, B, dtype, first, gviews):
        """Buffers for ``B`` rows; the gradients go to ``gviews`` (views of one flat gradient vector)."""
        buf = _Buffers()
        buf.y = np.empty((B, self.n_out), dtype)
        buf.gx = None if first else np.empty((B, self.n_in), dtype)
        buf.gW, buf.gb = gviews[self.path + ("Weights",)], gviews[self.path + ("Biases",)]
        buf.ones = np.ones(B, dtype)  # the bias gradient as a product: 3x faster than a column sum
        return buf

    def forward(self, x, buf):
        buf.x = x
        np.matmul(x, self.W.T, out=buf.y)
        buf.y += self.b
        return buf.y

    def backward(self, g, buf):
        """``g``: d loss / d z (batch, n). Fills the parameter gradients; returns d loss / d x or None."""
        np.matmul(g.T, buf.x, out=buf.gW)
        np.matmul(buf.ones, g, out=buf.gb)
        if buf.gx is None:
            return None
        np.matmul(g, self.W, out=buf.gx)
        return buf.gx


class _ActivationOp:
    """An elementwise function: (batch, n) -> (batch, n); backward works in place on ``g``."""

    def __init__(self, name, n):
        self.name, self.n_in, self.n_out = name, n, n
        self._fwd, self._bwd = ACTIVATION_KERNELS[name]

    def alloc(self, B, dtype, first, gviews):
        buf = _Buffers()
        buf.y = np.empty((B, self.n_out), dtype)
        buf.tmp = np.empty((B, self.n_out), dtype)
        return buf

    def forward(self, x, buf):
        buf.x = x
        self._fwd(x, buf.y)
        return buf.y

    def backward(self, g, buf):
        self._bwd(g, buf.y, buf.x, buf.tmp)
        return g


class _SoftmaxOp:
    """Softmax over the last axis: (batch, n) -> (batch, n)."""

    name = "Softmax"

    def __init__(self, n):
        self.n_in = self.n_out = n

    def alloc(self, B, dtype, first, gviews):
        buf = _Buffers()
        buf.y = np.empty((B, self.n_out), dtype)
        buf.tmp = np.empty((B, self.n_out), dtype)
        buf.m = np.empty((B, 1), dtype)
        buf.s = np.empty((B, 1), dtype)
        return buf

    def forward(self, x, buf):
        _shifted_exp(x, buf.y, buf.m, buf.s)
        buf.y /= buf.s
        return buf.y

    def backward(self, g, buf):
        np.multiply(g, buf.y, out=buf.tmp)
        _rows(_add, buf.tmp, buf.s)
        g -= buf.s
        g *= buf.y
        return g


# ====================================================================== loss heads
class _Head:
    """A loss on the last op's output ``z`` (rows, k) and the target ``t``.

    ``loss(z, t, buf)``: the SUM over the rows of the per-example losses (each
    a mean over the k elements, or the cross-entropy of one class vector);
    ``loss_and_grad(z, t, buf, norm) -> (sum, d(norm * sum)/dz)`` with
    ``norm = scale / batch size``. Sums, not means, so that parts of a batch
    add up.
    """

    def alloc(self, B, k, dtype):
        buf = _Buffers()
        buf.g = np.empty((B, k), dtype)
        buf.col = np.empty((B, 1), dtype)
        buf.col2 = np.empty((B, 1), dtype)
        buf.sum = np.empty((B, 1), dtype)
        return buf

    def target(self, t, z):
        return np.reshape(t, z.shape)


class _SoftmaxIndexHead(_Head):
    """CrossEntropyLossLayer("Index") on softmax(z): per example ``log sum exp z - z[t]``; t int (rows,)."""

    def target(self, t, z):
        return t

    def _lse(self, z, buf):
        """buf.g = exp(z - max), buf.sum = its row sums, buf.col = log sum exp z; all (rows, 1)."""
        _shifted_exp(z, buf.g, buf.col2, buf.sum)
        np.log(buf.sum, out=buf.col)
        buf.col += buf.col2

    def alloc(self, B, k, dtype):
        buf = super().alloc(B, k, dtype)
        buf.rows = np.arange(0, B * k, k)  # flat index of each row's first entry
        buf.picked = np.empty(B, np.int64)
        return buf

    def loss(self, z, t, buf):
        self._lse(z, buf)
        np.add(buf.rows, t, out=buf.picked)  # flat indices of the target entries
        return float(_add.reduce(buf.col, None)) - float(_add.reduce(z.ravel()[buf.picked]))

    def loss_and_grad(self, z, t, buf, norm):
        value = self.loss(z, t, buf)
        g = buf.g
        np.divide(g, buf.sum, out=g)    # softmax(z)
        g.ravel()[buf.picked] -= 1.0
        g *= norm
        return value, g


class _SoftmaxProbabilitiesHead(_SoftmaxIndexHead):
    """CrossEntropyLossLayer("Probabilities") on softmax(z): ``sum_j t_j (lse(z) - z_j)``; t (rows, k)."""

    def target(self, t, z):
        from ..losses.base import check_distributions

        check_distributions(self.loss_layer, "Target", t)  # the error the unfused loss gives
        return np.reshape(t, z.shape)

    def loss(self, z, t, buf):
        self._lse(z, buf)
        buf.tsum = np.sum(t, axis=1, keepdims=True)
        return float(np.sum(buf.col * buf.tsum)) - float(np.vdot(t, z))

    def loss_and_grad(self, z, t, buf, norm):
        value = self.loss(z, t, buf)
        g = buf.g
        g /= buf.sum
        g *= buf.tsum                    # softmax * sum(t) - t
        g -= t
        g *= norm
        return value, g


class _SigmoidBinaryHead(_Head):
    """CrossEntropyLossLayer("Binary") on sigmoid(z): mean over elements of ``softplus(z) - t z``."""

    def target(self, t, z):
        from ..losses.base import check_in_range

        check_in_range(self.loss_layer, "Target", t, 0.0, 1.0, "probabilities (between 0 and 1)")
        return np.reshape(t, z.shape)

    def loss(self, z, t, buf):
        buf.e = e = np.exp(-np.abs(z))
        per = np.maximum(z, 0.0) - t * z + np.log1p(e)
        return float(_add.reduce(per, None)) / z.shape[1]

    def loss_and_grad(self, z, t, buf, norm):
        value = self.loss(z, t, buf)
        e, g = buf.e, buf.g
        np.divide(np.where(z >= 0, 1.0, e), 1.0 + e, out=g)   # sigmoid(z), stable
        g -= t
        g *= norm / z.shape[1]
        return value, g


class _MeanSquaredHead(_Head):
    """MeanSquaredLossLayer: mean over elements of ``(y - t)^2``."""

    def loss(self, y, t, buf):
        np.subtract(y, t, out=buf.g)
        return float(np.vdot(buf.g, buf.g)) / y.shape[1]

    def loss_and_grad(self, y, t, buf, norm):
        value = self.loss(y, t, buf)
        buf.g *= 2.0 * norm / y.shape[1]
        return value, buf.g


class _MeanAbsoluteHead(_Head):
    """MeanAbsoluteLossLayer: mean over elements of ``|y - t|``."""

    def loss(self, y, t, buf):
        np.subtract(y, t, out=buf.g)
        return float(_add.reduce(np.abs(buf.g), None)) / y.shape[1]

    def loss_and_grad(self, y, t, buf, norm):
        value = self.loss(y, t, buf)
        np.sign(buf.g, out=buf.g)
        buf.g *= norm / y.shape[1]
        return value, buf.g


# ====================================================================== the plan
class _Plan:
    """What FusedStep runs: ops (in order), the head, and where data comes from."""

    def __init__(self, ops, head, input_port, target, scale):
        self.ops, self.head = ops, head
        self.input_port, self.target, self.scale = input_port, target, scale


def _layer_chain(net, path=()):
    """``[(path, layer)]`` if ``net`` is a plain chain (nested chains flattened), else a reason string."""
    from ..net.graph import NetGraph

    if not isinstance(net, NetGraph):
        return [(path, net)]
    if len(net.inputs) != 1 or len(net.outputs) != 1:
        return "the net has several input or output ports"
    (inport,), (outport,) = tuple(net.inputs), tuple(net.outputs)
    out, prev = [], None
    for name in net.order:
        layer = net.layers[name]
        if len(layer.inputs) != 1 or len(layer.outputs) != 1:
            return f"layer {name!r} has several ports"
        want = ("", inport) if prev is None else (prev, next(iter(net.layers[prev].outputs)))
        if net.source_of(name, next(iter(layer.inputs))) != want:
            return "the net is not a plain chain"
        inner = _layer_chain(layer, path + (name,))
        if isinstance(inner, str):
            return inner
        out += inner
        prev = name
    if net.output_source(outport) != (prev, next(iter(net.layers[prev].outputs))):
        return "the net is not a plain chain"
    return out


def _size(dims):
    return int(np.prod(dims, dtype=int)) if dims else 1


def _ops(chain):
    """Ops for the layers of a chain, or a reason string."""
    from ..net.layers import ElementwiseLayer, LinearLayer, SoftmaxLayer

    ops = []
    for i, (path, layer) in enumerate(chain):
        din, dout = layer.inputs[layer.input_port].dims, layer.outputs[next(iter(layer.outputs))].dims
        where = f"layer {'/'.join(path) or type(layer).__name__!r}"
        if din is None or dout is None or not all(isinstance(d, int) for d in din + dout):
            return f"{where}: port sizes unknown or varying"
        if len(dout) > 1 or (len(din) > 1 and not (i == 0 and type(layer) is LinearLayer)):
            return f"{where}: only vectors and scalars are fused"
        if type(layer) is LinearLayer:
            ops.append(_LinearOp(path, _size(din), _size(dout)))
        elif type(layer) is ElementwiseLayer and layer.function in ACTIVATION_KERNELS:
            ops.append(_ActivationOp(layer.function, _size(dout)))
        elif type(layer) is SoftmaxLayer and len(dout) == 1:
            ops.append(_SoftmaxOp(_size(dout)))
        else:
            return f"{where}: {type(layer).__name__} has no fused kernel"
    return ops


_LOSSES = {  # (class name, form) -> (head class, what the last op must be, or None for anything)
    ("CrossEntropyLossLayer", "Index"): (_SoftmaxIndexHead, "Softmax"),
    ("CrossEntropyLossLayer", "Probabilities"): (_SoftmaxProbabilitiesHead, "Softmax"),
    ("CrossEntropyLossLayer", "Binary"): (_SigmoidBinaryHead, "LogisticSigmoid"),
    ("MeanSquaredLossLayer", None): (_MeanSquaredHead, None),
    ("MeanAbsoluteLossLayer", None): (_MeanAbsoluteHead, None),
}


def _has_default_options(loss, form):
    """True when ``loss`` is configured like a freshly made layer of its form (no extra options)."""
    try:
        fresh = type(loss)(form) if form is not None else type(loss)()
    except Exception:  # noqa: BLE001 - any failure means: not the layer we know
        return False
    ports = {p.lower() for p in (*loss.inputs, *loss.outputs)}
    mine = {k: v for k, v in loss.config().items() if k.lower() not in ports}
    default = {k: v for k, v in fresh.config().items() if k.lower() not in ports}
    return mine == default


def why_not_fused(net, spec):
    """None if :class:`FusedStep` can train ``net`` on ``spec``, else the reason (a sentence)."""
    plan = _make_plan(net, spec)
    return plan if isinstance(plan, str) else None


def fusion_plan(net, spec):
    """The :class:`_Plan` for ``net`` and ``spec``, or None when they need autograd."""
    plan = _make_plan(net, spec)
    return None if isinstance(plan, str) else plan


def _make_plan(net, spec):
    if not net.initialized:
        return "the net is not initialized"
    if len(spec.terms) != 1:
        return "several loss terms"
    term = spec.terms[0]
    loss = term.loss
    if loss is None or term.target is None:
        return "the loss is an output port of the net"
    if not type(loss).__module__.startswith("lossviz.losses"):
        return f"{type(loss).__name__} is not a built-in loss"
    form = loss.config().get("form")
    known = _LOSSES.get((type(loss).__name__, form))
    if known is None or not _has_default_options(loss, form):
        return f"{type(loss).__name__}({form or ''}) with these options has no fused kernel"
    chain = _layer_chain(net)
    if isinstance(chain, str):
        return chain
    ops = _ops(chain)
    if isinstance(ops, str):
        return ops
    head_cls, last = known
    if last is not None:
        if getattr(ops[-1], "name", None) != last:
            return f"{type(loss).__name__}({form}) is fused only on a {last} output"
        ops = ops[:-1]  # the head works on the logits
    if not any(isinstance(op, _LinearOp) for op in ops):
        return "no LinearLayer to train"
    head = head_cls()
    head.loss_layer = loss
    return _Plan(ops, head, next(iter(net.inputs)), term.target, term.scale)


# ====================================================================== the step
#: A batch is split in two halves when each half has at least this many rows and the step at
#: least this much work (rows x multiply-adds per row, activations weighted). The halves run on
#: two threads when there are two cores (numpy releases the GIL in matrix products and in ufuncs
#: over large arrays), one after the other otherwise: the split, and so every bit of the result,
#: does not depend on the machine.
PARALLEL_MIN_ROWS = 64
PARALLEL_MIN_WORK = 2_000_000
#: Matrix products run on one OpenBLAS thread when a step has at least this much work
#: (OpenBLAS's own threads spin-wait and slow down badly when the other core is busy).
SINGLE_BLAS_MIN_WORK = 1_000_000

_POOL = None


def _pool():
    """One worker thread shared by all fused steps (the main thread computes the other half)."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lossviz-fused")
    return _POOL


def default_threads():
    """2 when this process may use two cores or more (CPU affinity and container limits count), else 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return min(2, cores)


def _split_at(rows, row_work):
    """Where a batch of ``rows`` rows is cut in two halves, or None to compute it whole."""
    if rows >= 2 * PARALLEL_MIN_ROWS and rows * row_work >= PARALLEL_MIN_WORK:
        return rows // 2
    return None


def _blas_for(rows, row_work):
    """The BLAS thread setting for a computation of this size (a context manager)."""
    return BlasThreads(1) if rows * row_work >= SINGLE_BLAS_MIN_WORK else _NO_CONTEXT


def _both(threads, run, first, second):
    """``(run(*first), run(*second))``: concurrently on the pool's thread when ``threads > 1``.

    numpy's error state belongs to a thread: the worker runs under the caller's, so a step
    under ``np.errstate(all="ignore")`` stays quiet in both halves.
    """
    if threads == 1:
        return run(*first), run(*second)
    state = np.geterr()

    def in_callers_errstate():
        with np.errstate(**state):
            return run(*second)

    other = _pool().submit(in_callers_errstate)
    return run(*first), other.result()


class FusedStep:
    """A training step for a plain chain with a closed-form loss (see the module docstring).

    ``leaves``: ``[flat]``, all parameters in one vector of ``working_precision``;
    ``step(batch) -> (sub-losses (1,), [flat gradient])``; ``evaluate(batch) -> sub-losses (1,)``;
    ``params(leaves=None)``: the parameter tree (float64 copies) for ``net.with_params``.

    ``batch`` maps the net's input port to an array (batch, *input dims) and the
    loss's target key to (batch, *output dims) (class indices (batch,) for "Index").
    ``threads``: 2 to compute the halves of a large batch on two threads, 1 to
    compute them one after the other (the same bits; default:
    :func:`default_threads`).
    """

    def __init__(self, net, spec, *, working_precision="Real64", plan=None, threads=None):
        plan = plan or fusion_plan(net, spec)
        if plan is None:
            raise ValueError(f"FusedStep cannot train this net: {why_not_fused(net, spec)}")
        self.net, self.spec, self.plan = net, spec, plan
        self.dtype = np.dtype(PRECISIONS[working_precision])
        self.threads = threads if threads is not None else default_threads()
        leaves = tree_items(net.params)
        self._paths = [p for p, _ in leaves]
        self._shapes = [np.shape(a) for _, a in leaves]
        self._offsets = np.cumsum([0] + [int(np.size(a)) for _, a in leaves])
        flat = np.concatenate([np.ravel(a) for _, a in leaves]).astype(self.dtype)
        self.leaves = [flat]
        self._grads = [np.empty_like(flat), np.empty_like(flat)]  # one per half of a split batch
        self._bind(flat)
        self._buffers = {}
        self._autograd = None
        # work per row: multiply-adds of the products, plus elementwise work (an exp or tanh
        # costs about as much as 20 multiply-adds)
        self._row_work = sum(op.n_in * op.n_out if isinstance(op, _LinearOp) else 20 * op.n_out
                             for op in plan.ops)

    # ------------------------------------------------------------------ parameters
    def _views(self, flat):
        return {p: flat[a:b].reshape(s) for p, a, b, s in
                zip(self._paths, self._offsets[:-1], self._offsets[1:], self._shapes)}

    def _bind(self, flat):
        self._flat = flat
        views = self._views(flat)
        for op in self.plan.ops:
            if isinstance(op, _LinearOp):
                op.bind(views)

    def params(self, leaves=None):
        """The parameter tree: float64 copies of the flat vector (``leaves`` or the current one)."""
        flat = (leaves if leaves is not None else self.leaves)[0]
        views = self._views(flat)
        return tree_rebuild(self.net.params, [views[p].astype(np.float64) for p in self._paths])

    # ------------------------------------------------------------------ computing
    def _buffers_for(self, rows, part):
        """Buffers for ``rows`` rows, writing gradients to ``self._grads[part]``."""
        key = (rows, part)
        bufs = self._buffers.get(key)
        if bufs is None:
            if len(self._buffers) >= 8:  # batch sizes: training, the last batch, evaluation chunks
                self._buffers.pop(next(iter(self._buffers)))
            ops, gviews = self.plan.ops, self._views(self._grads[part])
            bufs = [op.alloc(rows, self.dtype, i == 0, gviews) for i, op in enumerate(ops)]
            bufs.append(self.plan.head.alloc(rows, ops[-1].n_out, self.dtype))
            bufs.append(np.empty((rows, ops[0].n_in), self.dtype))  # the input, cast to dtype
            self._buffers[key] = bufs
        return bufs

    def _inputs(self, batch):
        if self.leaves[0] is not self._flat:  # NetTrain restored a last good vector
            self._bind(self.leaves[0])
        x = batch[self.plan.input_port]
        return np.reshape(x, (len(x), -1)), batch[self.plan.target]

    def _forward(self, x, t, bufs):
        if x.dtype != self.dtype:
            np.copyto(bufs[-1], x, casting="unsafe")
            x = bufs[-1]
        for op, buf in zip(self.plan.ops, bufs):
            x = op.forward(x, buf)
        return x, self.plan.head.target(t, x), bufs

    def _part(self, x, t, bufs, norm):
        """Forward and backward on some rows; returns their summed loss (the gradient goes where ``bufs`` say)."""
        z, t, bufs = self._forward(x, t, bufs)
        n = len(self.plan.ops)
        value, g = self.plan.head.loss_and_grad(z, t, bufs[n], norm)
        for op, buf in zip(reversed(self.plan.ops), reversed(bufs[:n])):
            g = op.backward(g, buf)
            if g is None:
                break
        return value

    def step(self, batch):
        if "Weight" in batch:
            return self._weighted().step(batch)
        x, t = self._inputs(batch)
        B = len(x)
        norm = self.plan.scale / B
        h = _split_at(B, self._row_work)
        with _blas_for(B, self._row_work):
            if h is None:
                value = self._part(x, t, self._buffers_for(B, 0), norm)
            else:  # buffers looked up here: the worker thread never touches the cache
                first, second = _both(self.threads, self._part, (x[:h], t[:h], self._buffers_for(h, 0), norm),
                                      (x[h:], t[h:], self._buffers_for(B - h, 1), norm))
                value = first + second
                self._grads[0] += self._grads[1]
        return np.array([value / B]), [self._grads[0]]

    def evaluate(self, batch):
        if "Weight" in batch:
            return self._weighted().evaluate(batch)
        x, t = self._inputs(batch)
        z, t, bufs = self._forward(x, t, self._buffers_for(len(x), 0))
        return np.array([self.plan.head.loss(z, t, bufs[len(self.plan.ops)]) / len(x)])

    # ------------------------------------------------------------------ weights: autograd
    def _weighted(self):
        """Batches with a "Weight" use AutogradStep on views of the same flat vector."""
        if self._autograd is None or self._autograd_flat is not self.leaves[0]:
            from .steps import AutogradStep

            step = AutogradStep(self.net, self.spec)
            views = self._views(self.leaves[0])
            step.leaves = [views[p] for p in self._paths]
            self._autograd, self._autograd_flat = step, self.leaves[0]
        return _FlatGradients(self._autograd, self._grads[0])


_NO_CONTEXT = contextlib.nullcontext()


class _FlatGradients:
    """Adapts an AutogradStep to return its gradients as the one flat vector FusedStep uses."""

    def __init__(self, step, flat_grad):
        self._step, self._grad = step, flat_grad

    def step(self, batch):
        subs, grads = self._step.step(batch)
        np.concatenate([np.ravel(g) for g in grads], out=self._grad, casting="unsafe")
        return subs, [self._grad]

    def evaluate(self, batch):
        return self._step.evaluate(batch)



# ====================================================================== evaluation only
class FusedForward:
    """Evaluate a plain chain (the layers FusedStep knows) on many rows at once, fast.

    For decision surfaces and other large evaluations that need no gradient:
    the forward pass of :class:`FusedStep` into preallocated buffers, in
    ``working_precision`` ("Real32" by default: about 2.4 times faster than
    float64 on a 200 x 200 grid, and exact to float32 rounding), with large
    inputs split in two halves as in FusedStep. The parameters are copied
    once, at construction: make a new FusedForward for another net.

    ``FusedForward(net)(x)``: x (rows, *input dims) -> float64 array (rows, n)
    of the net's output (n = 1 for a scalar output). Raises ValueError when the
    net is not such a chain (see :func:`why_not_forward`).

    The work buffers are shared by all FusedForwards of the same architecture
    and precision (a live plot makes one per trained net; allocating a 200 x
    200 grid's buffers anew would take longer than the evaluation), so calls
    are serialized by a lock.
    """

    def __init__(self, net, working_precision="Real32", *, threads=None):
        check_precision(working_precision)
        ops = _forward_ops(net)
        if isinstance(ops, str):
            raise ValueError(f"FusedForward cannot evaluate this net: {ops}")
        self.net, self.ops = net, ops
        self.dtype = np.dtype(PRECISIONS[working_precision])
        self.threads = threads if threads is not None else default_threads()
        views = {p: np.array(a, self.dtype) for p, a in tree_items(net.params)}  # copies
        for op in ops:
            if isinstance(op, _LinearOp):
                op.bind(views)
        signature = (self.dtype.str,) + tuple((type(op).__name__, getattr(op, "name", ""), op.n_in, op.n_out)
                                              for op in ops)
        with _FORWARD_LOCK:
            self._buffers = _FORWARD_BUFFERS.pop(signature, None) or {}
            _FORWARD_BUFFERS[signature] = self._buffers  # the most recently used last
            while len(_FORWARD_BUFFERS) > 4:
                _FORWARD_BUFFERS.pop(next(iter(_FORWARD_BUFFERS)))
        self._row_work = sum(op.n_in * op.n_out if isinstance(op, _LinearOp) else 20 * op.n_out for op in ops)

    def _buffers_for(self, rows, part):
        key = (rows, part)
        bufs = self._buffers.get(key)
        if bufs is None:
            if len(self._buffers) >= 4:
                self._buffers.pop(next(iter(self._buffers)))
            no_grads = _NoGradients()
            bufs = [op.alloc(rows, self.dtype, True, no_grads) for op in self.ops]
            bufs.append(np.empty((rows, self.ops[0].n_in), self.dtype))
            self._buffers[key] = bufs
        return bufs

    def _run(self, x, bufs):
        np.copyto(bufs[-1], x, casting="unsafe")
        y = bufs[-1]
        for op, buf in zip(self.ops, bufs):
            y = op.forward(y, buf)
        return y.astype(np.float64)

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        x = np.reshape(x, (len(x), -1))
        if x.shape[1] != self.ops[0].n_in:
            raise ValueError(f"FusedForward: expected rows of {self.ops[0].n_in} numbers, got an array of "
                             f"shape {x.shape}")
        B = len(x)
        h = _split_at(B, self._row_work)
        with _FORWARD_LOCK, np.errstate(all="ignore"), _blas_for(B, self._row_work):
            if h is None:
                return self._run(x, self._buffers_for(B, 0))
            halves = _both(self.threads, self._run, (x[:h], self._buffers_for(h, 0)),
                           (x[h:], self._buffers_for(B - h, 1)))
            return np.concatenate(halves)


_FORWARD_BUFFERS = {}  # architecture signature -> {(rows, part): buffers}, at most 4
_FORWARD_LOCK = threading.RLock()


class _NoGradients(dict):
    """Gradient views for ops that only run forward: there are none."""

    def __missing__(self, key):
        return None


def _forward_ops(net):
    """The ops of a plain chain, or the reason it is not one (a sentence)."""
    if not net.initialized:
        return "the net is not initialized"
    chain = _layer_chain(net)
    if isinstance(chain, str):
        return chain
    return _ops(chain)


def why_not_forward(net):
    """None if :class:`FusedForward` can evaluate ``net``, else the reason."""
    ops = _forward_ops(net)
    return ops if isinstance(ops, str) else None
