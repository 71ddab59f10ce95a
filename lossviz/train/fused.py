"""Numpy kernels shared by the training plan and the fast forward pass, and FusedForward.

* The activation kernels (``ACTIVATION_KERNELS``: forward into a buffer,
  backward in place, the formulas of :mod:`lossviz.net.primitives`), the
  row reductions and the shifted exponential of softmax and log-sum-exp,
  used by the compiled training step (:mod:`lossviz.train.ops`,
  :mod:`lossviz.train.heads`, :mod:`lossviz.train.plan`).
* Batches on two threads: a large batch is cut in two halves computed on
  two threads (numpy releases the GIL in matrix products and large ufuncs),
  its matrix products on one OpenBLAS thread each (:mod:`lossviz.train.blas`:
  OpenBLAS's own threads spin-wait and collapse when the other core is busy).
  The split depends on the batch size and the work only, never on the
  machine, so one core gives the same bits as two.
* :class:`FusedForward`: the forward pass of a plain chain of LinearLayer,
  named ElementwiseLayer and SoftmaxLayer (the ops of :mod:`lossviz.train.ops`)
  into preallocated buffers, for decision surfaces and other large evaluations.
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
from .trees import tree_items

__all__ = ["FusedForward", "why_not_forward", "check_precision", "default_threads", "ACTIVATION_KERNELS",
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
    """``ufunc.reduce`` of x (rows, k) along its rows into out (rows, 1) (or (rows,)).

    numpy reduces a short last axis one row at a time (30 us for 512 x 3, 140 us
    for 512 x 10); transposed to (k, rows) and reduced over its first axis, the
    reduction runs along contiguous rows, several times faster (the copy costs
    about a microsecond). Long rows (many classes) are reduced in place.
    """
    if x.shape[1] > 64:
        ufunc.reduce(x, 1, None, out, out.ndim == 2)
        return
    ufunc.reduce(np.ascontiguousarray(x.T), 0, None, out[:, 0] if out.ndim == 2 else out)


def row_sums(x):
    """The sums of the rows of x (rows, k): (rows,), by :func:`_rows`."""
    out = np.empty(len(x), x.dtype)
    _rows(_add, x, out)
    return out

def _shifted_exp(z, e, m, s):
    """``e = exp(z - m)`` with ``m`` the row maxima, and ``s`` its row sums: z, e (rows, k); m, s (rows, 1).

    The shared start of softmax (``e / s``) and log-sum-exp (``log s + m``); never overflows.
    """
    _rows(_max, z, m)
    np.subtract(z, m, out=e)
    np.exp(e, out=e)
    _rows(_add, e, s)


# ====================================================================== plain chains
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
    """Ops (:mod:`lossviz.train.ops`) for the layers of a chain, or a reason string."""
    from ..net.layers import ElementwiseLayer, LinearLayer, SoftmaxLayer
    from .ops import ActivationOp, LinearOp, SoftmaxOp

    ops = []
    for i, (path, layer) in enumerate(chain):
        din, dout = layer.inputs[layer.input_port].dims, layer.outputs[next(iter(layer.outputs))].dims
        where = f"layer {'/'.join(path) or type(layer).__name__!r}"
        if din is None or dout is None or not all(isinstance(d, int) for d in din + dout):
            return f"{where}: port sizes unknown or varying"
        if len(dout) > 1 or (len(din) > 1 and not (i == 0 and type(layer) is LinearLayer)):
            return f"{where}: only vectors and scalars are fused"
        if type(layer) is LinearLayer:
            ops.append(LinearOp(path, _size(din), _size(dout), (_size(dout),)))
        elif type(layer) is ElementwiseLayer and layer.function in ACTIVATION_KERNELS:
            ops.append(ActivationOp(layer.function, _size(dout)))
        elif type(layer) is SoftmaxLayer and len(dout) == 1:
            ops.append(SoftmaxOp(_size(dout)))
        else:
            return f"{where}: {type(layer).__name__} has no fused kernel"
    return ops


# ====================================================================== batches on two threads
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
    """One worker thread shared by all compiled steps and FusedForwards (the main thread computes the other half)."""
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


_NO_CONTEXT = contextlib.nullcontext()


# ====================================================================== evaluation only
class FusedForward:
    """Evaluate a plain chain (LinearLayer, named ElementwiseLayer, SoftmaxLayer) on many rows at once, fast.

    For decision surfaces and other large evaluations that need no gradient:
    the forward pass of the compiled step's ops into preallocated buffers, in
    ``working_precision`` ("Real32" by default: about 2.4 times faster than
    float64 on a 200 x 200 grid, and exact to float32 rounding), with large
    inputs split in two halves as in training. The parameters are copied
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
            if op.has_params:
                op.bind(views)
        signature = (self.dtype.str,) + tuple((type(op).__name__, getattr(op, "name", ""), op.n_in, op.n_out)
                                              for op in ops)
        with _FORWARD_LOCK:
            self._buffers = _FORWARD_BUFFERS.pop(signature, None) or {}
            _FORWARD_BUFFERS[signature] = self._buffers  # the most recently used last
            while len(_FORWARD_BUFFERS) > 4:
                _FORWARD_BUFFERS.pop(next(iter(_FORWARD_BUFFERS)))
        self._row_work = sum(op.work() for op in ops)

    def _buffers_for(self, rows, part):
        key = (rows, part)
        bufs = self._buffers.get(key)
        if bufs is None:
            if len(self._buffers) >= 4:
                self._buffers.pop(next(iter(self._buffers)))
            no_grads = _NoGradients()
            bufs = [op.alloc(rows, self.dtype, no_grads) for op in self.ops]
            bufs.append(np.empty((rows, self.ops[0].n_in), self.dtype))
            self._buffers[key] = bufs
        return bufs

    def _run(self, x, bufs):
        np.copyto(bufs[-1], x, casting="unsafe")
        y = bufs[-1]
        for op, buf in zip(self.ops, bufs):
            y = op.fwd1(y, buf)
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
