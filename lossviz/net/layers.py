"""The basic layers: linear, elementwise, softmax, threading, catenate, total, summation.

All ``apply`` methods take batched arrays: ``inputs[port]`` has shape
``(batch, *port_dims)``.
"""
from __future__ import annotations

import inspect

import autograd.numpy as anp
import numpy as np

from ..errors import NetTypeError, ParameterError, ShapeError, describe_shape
from .layer import Layer
from .ports import PortType, port_type, unify
from .primitives import ACTIVATION_ALIASES, ACTIVATIONS, linear, softmax

__all__ = [
    "LinearLayer",
    "ElementwiseLayer",
    "SoftmaxLayer",
    "ThreadingLayer",
    "CatenateLayer",
    "TotalLayer",
    "SummationLayer",
    "activation_names",
]


def activation_names():
    """Names ElementwiseLayer accepts (canonical names first, then aliases)."""
    return list(ACTIVATIONS) + list(ACTIVATION_ALIASES)


def _known(dims):
    return dims is not None and all(isinstance(d, int) for d in dims)


class LinearLayer(Layer):
    """Affine map ``y = W x + b``.

    Parameters
    ----------
    n : int, tuple or None
        Output size: an int (a vector), a shape tuple (the result is reshaped),
        ``()`` for a scalar ("Real"), or None to infer it from what the output
        connects to.

    Ports: "Input" any fixed shape (flattened to m = its size), "Output" the
    shape ``n``. Parameters: "Weights" ``(size(n), m)``, "Biases" ``(size(n),)``.
    """

    def __init__(self, n=None, **ports):
        if n is not None:
            if isinstance(n, str) and n in ("Real", "Scalar"):
                n = ()
            out = port_type(n, port="n")
            if out.dims is None or not _known(out.dims):
                raise ParameterError(f"LinearLayer: n must be an int, a tuple of ints or (), got {n!r}")
            self.n = out.dims
        else:
            self.n = None
        super().__init__(**ports)

    def _propagate(self, ins, outs):
        if self.n is not None:
            outs["Output"] = unify(outs["Output"], PortType(self.n), where="LinearLayer port 'Output'")
        return ins, outs

    def param_shapes(self):
        i, o = self.inputs["Input"], self.outputs["Output"]
        if not (_known(i.dims) and _known(o.dims)):
            return {"Weights": None, "Biases": None}
        n_out = int(np.prod(o.dims, dtype=int))
        return {"Weights": (n_out, int(np.prod(i.dims, dtype=int))), "Biases": (n_out,)}

    def apply(self, params, inputs):
        x = inputs["Input"]
        if x.ndim != 2:  # (n,) scalars or (n, d1, d2...) tensors: rows of prod(d) numbers (n may be 0)
            x = anp.reshape(x, (x.shape[0], int(np.prod(x.shape[1:], dtype=int))))
        y = linear(x, params["Weights"], params["Biases"])
        dims = self.outputs["Output"].dims
        if len(dims) != 1:
            y = anp.reshape(y, (y.shape[0],) + tuple(dims))
        return {"Output": y}

    def config(self):
        if self.n is None:
            return {"n": None}
        if self.n == ():
            return {"n": "Real"}
        return {"n": self.n[0] if len(self.n) == 1 else list(self.n)}


class _SameShape(Layer):
    """A layer whose output has the shape of its input."""

    def _propagate(self, ins, outs):
        t = unify(ins["Input"], PortType(outs["Output"].dims), where=f"{type(self).__name__}")
        ins["Input"] = PortType(t.dims, ins["Input"].kind, ins["Input"].coder)
        outs["Output"] = PortType(t.dims, "Real", outs["Output"].coder)
        return ins, outs


class ElementwiseLayer(_SameShape):
    """Apply a function to every element.

    Parameters
    ----------
    f : str or callable
        A name: ``"Ramp"`` (alias ``"ReLU"``), ``"Tanh"``, ``"LogisticSigmoid"``
        (``"Sigmoid"``), ``"SoftPlus"``, ``"ELU"``, ``"SELU"``, ``"GELU"``
        (tanh approximation), ``"Swish"``, ``"HardTanh"``, ``"HardSigmoid"``,
        ``"Sin"``, ``"Cos"``, ``"Exp"``, ``"Log"``, ``"Abs"``, ``"Square"``,
        ``"Sqrt"``; named functions have hand-written gradients. Or any Python
        function written with ``autograd.numpy`` (differentiated by autograd;
        such a layer cannot be saved).
    """

    def __init__(self, f, **ports):
        if isinstance(f, str):
            name = ACTIVATION_ALIASES.get(f, f)
            if name not in ACTIVATIONS:
                raise ParameterError(
                    f"ElementwiseLayer: unknown function {f!r}; expected a Python function or one of "
                    f"{', '.join(activation_names())}"
                )
            self.function = name
            self._f = ACTIVATIONS[name][0]
        elif callable(f):
            self.function = f
            self._f = f
        else:
            raise NetTypeError(f"ElementwiseLayer: f must be a function name or a callable, got {f!r}")
        super().__init__(**ports)

    def apply(self, params, inputs):
        return {"Output": self._f(inputs["Input"])}

    def config(self):
        return {"f": self.function if isinstance(self.function, str) else _fname(self.function)}


def _fname(f):
    return f"<function {getattr(f, '__name__', repr(f))}>"


class SoftmaxLayer(_SameShape):
    """Softmax over the last dimension: ``y_i = exp(x_i) / sum_j exp(x_j)``.

    Input and Output: a vector (or a tensor; the last dimension is normalized).
    """

    def apply(self, params, inputs):
        return {"Output": softmax(inputs["Input"])}


def _input_names(k):
    return ("Input",) if k == 1 else tuple(f"Input{i}" for i in range(1, k + 1))


class _MultiInput(Layer):
    """A layer with k inputs ``Input1..Inputk``; NetGraph may set k from a connection."""

    variadic = True

    def __init__(self, inputs=2, **ports):
        if isinstance(inputs, int):
            if inputs < 1:
                raise ParameterError(f"{type(self).__name__}: inputs must be >= 1, got {inputs}")
            names = _input_names(inputs)
        else:
            names = tuple(inputs)
            if not names or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
                raise ParameterError(f"{type(self).__name__}: inputs must be distinct port names, got {inputs!r}")
        self.input_names = names
        super().__init__(**ports)

    def with_input_count(self, k):
        """A copy with k inputs (used by NetGraph for ``([a, b], layer)`` connections)."""
        if len(self.input_names) == k:
            return self
        cfg = self.config()
        cfg["inputs"] = k
        return type(self)(**cfg)

    def config(self):
        names = self.input_names
        return {"inputs": len(names) if names == _input_names(len(names)) else list(names)}


class ThreadingLayer(_MultiInput):
    """Combine several inputs elementwise with ``f``: ``Output = f(Input1, Input2, ...)``.

    Parameters
    ----------
    f : callable
        Written with ``autograd.numpy`` (e.g. ``lambda a, b: (a - b) ** 2``); its
        number of arguments sets the number of inputs.
    inputs : list of str, optional
        Port names; default ``Input1, Input2, ...``. A loss net takes
        ``inputs=["Input", "Target"]``.

    All inputs have one shape (broadcast), the output has that shape.
    """

    variadic = False

    def __init__(self, f, inputs=None, **ports):
        if not callable(f):
            raise NetTypeError(f"ThreadingLayer: f must be a function, got {f!r}")
        self.function = f
        if inputs is None:
            try:
                params = inspect.signature(f).parameters.values()
                inputs = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)
            except (TypeError, ValueError):
                inputs = 2
        super().__init__(inputs=inputs, **ports)

    def _propagate(self, ins, outs):
        t = outs["Output"]
        for n, it in ins.items():
            t = unify(t, PortType(it.dims), where=f"ThreadingLayer port {n!r}")
        outs["Output"] = PortType(t.dims, "Real", outs["Output"].coder)
        for n in ins:
            ins[n] = PortType(t.dims, ins[n].kind, ins[n].coder)
        return ins, outs

    def apply(self, params, inputs):
        return {"Output": self.function(*(inputs[n] for n in self.input_names))}

    def config(self):
        return {"f": _fname(self.function), **super().config()}


class TotalLayer(ThreadingLayer):
    """Elementwise sum of its inputs (all of one shape)."""

    variadic = True

    def __init__(self, inputs=2, **ports):
        super().__init__(_total, inputs=inputs, **ports)

    def config(self):
        return _MultiInput.config(self)


def _total(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


class CatenateLayer(_MultiInput):
    """Join its inputs along their first (per-example) dimension.

    Inputs of shapes ``(n1, ...), (n2, ...)`` give ``(n1 + n2, ...)``; scalars
    count as vectors of length 1.
    """

    def _propagate(self, ins, outs):
        dims = [t.dims for t in ins.values()]
        if all(_known(d) for d in dims):
            rest = {tuple(d[1:]) for d in dims if len(d) > 0}
            if len(rest) > 1:
                raise ShapeError(
                    "CatenateLayer: inputs must agree beyond their first dimension, got "
                    + ", ".join(describe_shape(d) for d in dims)
                )
            tail = next(iter(rest), ())
            total = sum(d[0] if d else 1 for d in dims)
            outs["Output"] = unify(outs["Output"], PortType((total,) + tail), where="CatenateLayer port 'Output'")
        return ins, outs

    def apply(self, params, inputs):
        xs = [inputs[n] for n in self.input_names]
        xs = [x[:, None] if x.ndim == 1 else x for x in xs]
        return {"Output": anp.concatenate(xs, axis=1)}


class SummationLayer(Layer):
    """Sum of all elements of the input: any shape -> "Real"."""

    def __init__(self, **ports):
        super().__init__(**ports)
        self.outputs["Output"] = unify(self.outputs["Output"], PortType(()), where="SummationLayer port 'Output'")

    def apply(self, params, inputs):
        x = inputs["Input"]
        return {"Output": anp.sum(anp.reshape(x, (x.shape[0], -1)), axis=1)}
