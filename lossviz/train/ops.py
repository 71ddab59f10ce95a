"""The ops of a compiled training plan: one per layer of a net, with a forward and a closed-form backward.

An op computes one layer on a batch of ``B`` rows. Ports are named as the
layer names them; values are arrays ``(B, *port dims)``.

``forward(ins, buf) -> outs``
    ``ins`` and ``outs`` map port names to arrays; ``buf`` holds the op's
    preallocated arrays for this batch size (from ``alloc``) and what the
    backward pass needs.
``backward(gouts, buf, wanted) -> gins``
    ``gouts`` maps output ports to ``d total / d output`` (same shapes);
    the op writes its parameter gradients into the views it was given at
    ``alloc`` and returns ``d total / d input`` for the input ports in
    ``wanted``. An op may overwrite the arrays of ``gouts`` (they are
    consumed once).

Known layers get numpy kernels working in preallocated buffers (no tracing):

=====================================  ==========================================
layer                                  op
=====================================  ==========================================
``LinearLayer``                        :class:`LinearOp`: ``z = x W^T + b``
``ElementwiseLayer`` (a named f)       :class:`ActivationOp`: ``y = f(x)``, ``g f'(x)``
``SoftmaxLayer``                       :class:`SoftmaxOp`: over the last axis
``NetPairEmbeddingOperator``           its net's ops twice (shared weights, the
(Euclidean)                            gradients added) and
                                       :class:`EuclideanDistanceOp`
=====================================  ==========================================

Every other layer (CatenateLayer, TotalLayer, SummationLayer, a
ThreadingLayer, a cosine NetPairEmbeddingOperator, a layer made from a user function)
runs as a :class:`LayerVJPOp`: its own ``apply`` differentiated by autograd,
the layer alone. ``threadsafe`` tells whether two halves of a batch may run
on two threads at once (autograd's tracer is not made for that).
"""
from __future__ import annotations

import numpy as np

from .fused import ACTIVATION_KERNELS, _add, _rows, _shifted_exp
from .trees import tree_items

__all__ = ["Buffers", "LinearOp", "ActivationOp", "SoftmaxOp", "EuclideanDistanceOp", "LayerVJPOp", "size_of"]


def size_of(dims):
    """Number of entries of an example of shape ``dims`` (1 for a scalar)."""
    return int(np.prod(dims, dtype=int)) if dims else 1


class Buffers:
    """Per-batch-size arrays of one op (attributes set by the op's ``alloc``)."""


class _Op:
    """Shared bookkeeping: the layer's path in the parameter tree, its buffers per (rows, part)."""

    threadsafe = True
    has_params = False
    in_ports = ("Input",)
    out_ports = ("Output",)

    def evaluate(self, ins, buf):
        """The forward pass when no backward pass follows (the same, for the numpy kernels)."""
        return self.forward(ins, buf)

    def buffers(self, rows, part, dtype, gviews):
        """The buffers for ``rows`` rows of batch part ``part`` (allocated once, then reused)."""
        cache = self.__dict__.setdefault("_bufs", {})
        buf = cache.get((rows, part))
        if buf is None:
            if len(cache) >= 8:  # batch sizes: training, the last batch, evaluation chunks
                cache.pop(next(iter(cache)))
            buf = cache[(rows, part)] = self.alloc(rows, dtype, gviews)
        return buf

    def alloc(self, B, dtype, gviews):
        return Buffers()

    def work(self):
        """Multiply-adds per row (an exp or tanh counts as 20): decides when a batch is split."""
        return 0


class _SimpleOp(_Op):
    """An op of one "Input" and one "Output": ``fwd1(x, buf) -> y`` and ``bwd1(g, buf, want) -> dx or None``
    on arrays; ``forward``/``backward`` are the dict forms."""

    def forward(self, ins, buf):
        return {"Output": self.fwd1(ins["Input"], buf)}

    def backward(self, gouts, buf, wanted):
        g = self.bwd1(gouts["Output"], buf, bool(wanted))
        return {} if g is None else {"Input": g}


class LinearOp(_SimpleOp):
    """``z = x W^T + b``: x (B, *in dims) flattened to (B, m) -> z (B, n) shaped (B, *out dims).

    ``W`` (n, m) and ``b`` (n,) are views of the flat parameter vector (:meth:`bind`).
    Backward: ``dW = g^T x``, ``db = 1^T g``, ``dx = g W``.
    """

    has_params = True
    #: add the parameter gradients to the views instead of writing them (a second use of shared weights)
    accumulate = False

    def __init__(self, path, n_in, n_out, out_dims):
        self.path, self.n_in, self.n_out, self.out_dims = path, n_in, n_out, tuple(out_dims)

    def bind(self, views):
        self.W, self.b = views[self.path + ("Weights",)], views[self.path + ("Biases",)]

    def alloc(self, B, dtype, gviews):
        buf = Buffers()
        buf.y = np.empty((B, self.n_out), dtype)
        buf.out = buf.y if len(self.out_dims) == 1 else buf.y.reshape((B,) + self.out_dims)
        buf.gx = np.empty((B, self.n_in), dtype)
        buf.gW, buf.gb = gviews[self.path + ("Weights",)], gviews[self.path + ("Biases",)]
        buf.ones = np.ones(B, dtype)  # the bias gradient as a product: 3x faster than a column sum
        if self.accumulate:
            buf.tW, buf.tb = np.empty_like(buf.gW), np.empty_like(buf.gb)
        return buf

    def fwd1(self, x, buf):
        buf.shape = x.shape
        if x.ndim != 2:
            x = x.reshape(len(x), -1)
        buf.x = x
        np.matmul(x, self.W.T, out=buf.y)
        buf.y += self.b
        return buf.out

    def bwd1(self, g, buf, want):
        if g.ndim != 2:
            g = g.reshape(len(g), -1)
        if self.accumulate:
            np.matmul(g.T, buf.x, out=buf.tW)
            np.matmul(buf.ones, g, out=buf.tb)
            buf.gW += buf.tW
            buf.gb += buf.tb
        else:
            np.matmul(g.T, buf.x, out=buf.gW)
            np.matmul(buf.ones, g, out=buf.gb)
        if not want:
            return None
        np.matmul(g, self.W, out=buf.gx)
        return buf.gx if len(buf.shape) == 2 else buf.gx.reshape(buf.shape)

    def work(self):
        return self.n_in * self.n_out


class ActivationOp(_SimpleOp):
    """A named elementwise function ``y = f(x)`` (any shape); backward ``g f'(x)``, in place on ``g``."""

    def __init__(self, name, n):
        self.name, self.n = name, n
        self.n_in = self.n_out = n
        self._fwd, self._bwd = ACTIVATION_KERNELS[name]

    def alloc(self, B, dtype, gviews):
        buf = Buffers()
        buf.y = np.empty((B, self.n), dtype)
        buf.tmp = np.empty((B, self.n), dtype)
        return buf

    def fwd1(self, x, buf):
        buf.shape = x.shape
        buf.x = x = x.reshape(len(x), -1) if x.ndim != 2 else x
        self._fwd(x, buf.y)
        return buf.y.reshape(buf.shape) if x.shape != buf.shape else buf.y

    def bwd1(self, g, buf, want):
        self._bwd(g.reshape(len(g), -1) if g.ndim != 2 else g, buf.y, buf.x, buf.tmp)
        return g

    def work(self):
        return 20 * self.n


class SoftmaxOp(_SimpleOp):
    """Softmax over the last axis of (B, n) vectors; backward ``y (g - sum(g y))``."""

    name = "Softmax"

    def __init__(self, n):
        self.n = self.n_in = self.n_out = n

    def alloc(self, B, dtype, gviews):
        buf = Buffers()
        buf.y = np.empty((B, self.n), dtype)
        buf.tmp = np.empty((B, self.n), dtype)
        buf.m = np.empty((B, 1), dtype)
        buf.s = np.empty((B, 1), dtype)
        return buf

    def fwd1(self, x, buf):
        _shifted_exp(x, buf.y, buf.m, buf.s)
        buf.y /= buf.s
        return buf.y

    def bwd1(self, g, buf, want):
        np.multiply(g, buf.y, out=buf.tmp)
        _rows(_add, buf.tmp, buf.s)
        g -= buf.s
        g *= buf.y
        return g

    def work(self):
        return 20 * self.n


class EuclideanDistanceOp(_Op):
    """``d = |e1 - e2|`` per row (NetPairEmbeddingOperator's distance); d/de1 ``g (e1 - e2) / d`` (0 at d = 0),
    d/de2 its negative."""

    in_ports = ("Input1", "Input2")

    def forward(self, ins, buf):
        a, b = ins["Input1"], ins["Input2"]
        buf.shape = a.shape
        buf.diff = diff = a.reshape(len(a), -1) - b.reshape(len(b), -1)
        buf.d = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        return {"Output": buf.d}

    def backward(self, gouts, buf, wanted):
        d = buf.d
        c = np.where(d > 0, gouts["Output"] / np.where(d > 0, d, 1.0), 0.0).astype(d.dtype, copy=False)
        ga = (buf.diff * c[:, None]).reshape(buf.shape)
        return {"Input1": ga, "Input2": -ga}

    def work(self):
        return 0


class LayerVJPOp(_Op):
    """Any layer, by autograd: ``apply`` traced on the batch, its VJP run backward.

    This is how a plan runs a layer without a closed form, among them every
    layer and loss built from a user Python function: autograd on this one
    layer, the ops around it in closed form. Parameters are read from views
    of the flat vector (``bind``), their gradients written to views of the
    flat gradient. Only what carries a gradient is traced, each array as its
    own root (no container boxes: a tuple or dict of boxes costs autograd
    about as much as the layer's arithmetic); an input that carries no
    gradient (data) is closed over. A loss layer
    that keeps :class:`~lossviz.losses.base.LossLayer`'s ``apply`` reads and
    checks its data untraced, and traces its elementwise loss and the
    reduction only. Outputs are cast to the step's dtype (float outputs;
    integer ones stay).
    """

    threadsafe = False

    def __init__(self, layer, path, param_paths, dtype=None):
        from ..losses.base import LossLayer

        self.layer, self.path = layer, path
        self.in_ports, self.out_ports = tuple(layer.inputs), tuple(layer.outputs)
        self.param_paths = param_paths  # the layer's leaves, relative to its own tree
        self.has_params = bool(param_paths)
        self.template = layer.params if self.has_params else None
        self.grad_ports = ()  # the inputs that carry a gradient (set by the plan)
        self._views = []
        # LossLayer.apply = _reduce(elementwise(_read(inputs))): _read (checks) need not be traced
        self._loss = isinstance(layer, LossLayer) and type(layer).apply is LossLayer.apply

    def bind(self, views):
        self._views = [views[self.path + p] for p in self.param_paths]

    def alloc(self, B, dtype, gviews):
        buf = Buffers()
        buf.gviews = [gviews[self.path + p] for p in self.param_paths]
        buf.dtype = dtype
        return buf

    def _params(self, leaves):
        from .trees import tree_rebuild

        return tree_rebuild(self.template, leaves) if self.has_params else (self.layer.params or {})

    def evaluate(self, ins, buf):
        """The forward pass without tracing (no backward will follow)."""
        out = self.layer.apply(self._params(self._views), ins)
        return {n: _cast(out[n], buf.dtype) for n in self.out_ports}

    def forward(self, ins, buf):
        layer, outs_names, k = self.layer, self.out_ports, len(self._views)
        traced = [p for p in self.in_ports if p in self.grad_ports and p in ins]
        fixed = {p: v for p, v in ins.items() if p not in traced}
        read = False
        if self._loss and not self.has_params:
            data = layer._read(ins)  # the layer's own checks, on the plain arrays
            if all(data[p] is ins[p] for p in traced):  # nothing it converted carries a gradient
                fixed, read = data, True

        def run(boxes):
            values = dict(fixed)
            values.update(zip(traced, boxes[k:]))
            if read:  # LossLayer.apply after its _read
                out = {"Loss": layer._reduce(layer.elementwise(values), values.get("Weight"), layer.mask(values))}
            else:
                out = layer.apply(self._params(boxes[:k]), values)
            return [out[n] for n in outs_names]

        outs, buf.ends, buf.roots = _trace(run, list(self._views) + [ins[p] for p in traced])
        for n, v in zip(outs_names, outs):
            if np.asarray(v).dtype == object:
                raise _not_differentiable(layer, self.path, n, v)
        buf.traced = traced
        buf.shapes = {p: np.shape(ins[p]) for p in self.grad_ports if p in ins}
        return {n: _cast(v, buf.dtype) for n, v in zip(outs_names, outs)}

    def backward(self, gouts, buf, wanted):
        gs = [gouts[n] if gouts.get(n) is not None else None for n in self.out_ports]
        grads = _backward(buf.ends, gs, buf.roots)
        k = len(buf.gviews)
        for view, g in zip(buf.gviews, grads[:k]):
            if g is None:
                view[...] = 0.0
            else:
                np.copyto(view, g, casting="unsafe")
        got = dict(zip(buf.traced, grads[k:]))
        out, seen = {}, set()
        for p in wanted:
            if p not in buf.shapes:  # no value came in
                continue
            g = got.get(p)
            if g is None:  # no path to the outputs: 0
                out[p] = np.zeros(buf.shapes[p], buf.dtype)
                continue
            if np.shape(g) != buf.shapes[p]:
                g = np.broadcast_to(g, buf.shapes[p])
            # a fresh array per port (autograd may hand one array to two): the plan's ops change theirs in place
            g = np.array(g, dtype=buf.dtype) if id(g) in seen or not g.flags.writeable else \
                np.asarray(g, dtype=buf.dtype)
            seen.add(id(g))
            out[p] = g
        return out

    def work(self):
        return 0


class _Ends:
    """A node whose parents are a layer's output nodes: autograd's toposort from several outputs."""

    __slots__ = ("parents",)

    def __init__(self, parents):
        self.parents = parents


def _trace(fun, values):
    """``fun(boxes) -> [outputs]`` traced by autograd with each of ``values`` its own root.

    Returns the output values, their nodes (None for an output that does not depend on ``values``) and
    the root nodes (:func:`_backward` takes them).
    """
    from autograd.core import VJPNode
    from autograd.tracer import isbox, new_box, trace_stack

    with trace_stack.new_trace() as t:
        roots = [VJPNode.new_root() for _ in values]
        boxes = [new_box(v, t, r) for v, r in zip(values, roots)]
        outs = fun(boxes)
        vals, ends = [], []
        for o in outs:
            if isbox(o) and o._trace == t:
                vals.append(o._value)
                ends.append(o._node)
            else:
                vals.append(o)
                ends.append(None)
    return vals, ends, roots


def _backward(ends, gs, roots):
    """Autograd's backward pass from several outputs (nodes ``ends``, gradients ``gs``) to ``roots``:
    the gradient of each root, None where no output depends on it."""
    from autograd.core import add_outgrads
    from autograd.util import toposort

    outgrads = {}
    for node, g in zip(ends, gs):
        if node is not None and g is not None:
            outgrads[node] = add_outgrads(outgrads.get(node), g)
    got = {}
    if outgrads:
        top = _Ends(list(outgrads))
        for node in toposort(top):
            if node is top:
                continue
            outgrad = outgrads.pop(node)
            if not node.parents:  # a root
                got[node] = outgrad[0]
                continue
            for parent, ingrad in zip(node.parents, node.vjp(outgrad[0])):
                outgrads[parent] = add_outgrads(outgrads.get(parent), ingrad)
    return [got.get(r) for r in roots]


def _not_differentiable(layer, path, port, value):
    from ..errors import NetTypeError

    where = f" at {'/'.join(path)}" if path else ""
    return NetTypeError(
        f"{type(layer).__name__}{where}: port {port!r} came out as an array of Python objects "
        f"({_short_repr(value)}) when autograd traced it, so its gradient cannot be computed; write the "
        f"layer's function with autograd.numpy (import autograd.numpy as anp; anp.tanh, anp.where ...), "
        f"not with numpy functions that autograd cannot see into (np.vectorize, np.asarray, Python loops "
        f"that fill an array)")


def _short_repr(value, limit=80):
    text = repr(value).replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _cast(v, dtype):
    v = np.asarray(v)
    return v.astype(dtype, copy=False) if v.dtype.kind == "f" else v


def leaf_paths(layer):
    """The paths of a layer's parameters in its own tree (sorted-key order)."""
    params = layer.params if layer.initialized else None
    return [p for p, _ in tree_items(params)] if params else []
