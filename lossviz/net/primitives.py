"""Closed-form gradients: layers as single autograd primitives.

autograd traces every numpy call it sees and pays about 9 us per traced
primitive (see ``shared/notes/performance.md``). A teaching-sized training
step is all such overhead, so the layers whose gradient is known in closed
form are ONE primitive each, with a hand-written VJP that reuses the forward
output where it can (``tanh'`` = ``1 - y**2``, ``sigmoid'`` = ``y (1 - y)``).
Custom layers written with ``autograd.numpy`` still get autograd for free.

Shapes: ``x`` is ``(batch, m)``, ``W`` is ``(n, m)`` (Wolfram's layout), ``b`` is ``(n,)``.
"""
from __future__ import annotations

import numpy as np
from autograd.extend import defvjp, primitive

from .fastmath import tanh as fast_tanh

__all__ = ["linear", "softmax", "ACTIVATIONS", "euclidean_distance"]


@primitive
def linear(x, W, b):
    """``x @ W.T + b``: (batch, m), (n, m), (n,) -> (batch, n)."""
    out = x @ W.T
    out += b
    return out


defvjp(
    linear,
    lambda ans, x, W, b: lambda g: g @ W,
    lambda ans, x, W, b: lambda g: g.T @ x,
    lambda ans, x, W, b: lambda g: g.sum(axis=0),
)


@primitive
def softmax(x):
    """Softmax over the last axis, shifted by the max for stability."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


defvjp(softmax, lambda y, x: lambda g: y * (g - (g * y).sum(axis=-1, keepdims=True)))


def _activation(forward, backward):
    """An elementwise primitive whose VJP is ``g * backward(y, x)``."""
    f = primitive(forward)
    defvjp(f, lambda y, x: lambda g: g * backward(y, x))
    return f


def _sigmoid(x):
    # exp of -|x| never overflows: for x >= 0, 1/(1+e^-x); else e^x/(1+e^x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805
_GELU_C = np.sqrt(2.0 / np.pi)


def _gelu(x):
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))


def _gelu_grad(y, x):
    t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)


def _swish_grad(y, x):
    s = _sigmoid(x)
    return s + y * (1.0 - s)


#: name -> (primitive, formula). The formula is shown in docs and reprs.
ACTIVATIONS = {
    "Ramp": (_activation(lambda x: np.maximum(x, 0.0), lambda y, x: x > 0), "max(x, 0)"),
    "Tanh": (_activation(fast_tanh, lambda y, x: 1.0 - y * y), "tanh(x)"),
    "LogisticSigmoid": (_activation(_sigmoid, lambda y, x: y * (1.0 - y)), "1/(1+exp(-x))"),
    "SoftPlus": (_activation(lambda x: np.logaddexp(0.0, x), lambda y, x: _sigmoid(x)), "log(1+exp(x))"),
    "ELU": (
        _activation(lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
                    lambda y, x: np.where(x > 0, 1.0, y + 1.0)),
        "x if x>0 else exp(x)-1",
    ),
    "SELU": (
        _activation(
            lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
            lambda y, x: np.where(x > 0, _SELU_SCALE, y + _SELU_SCALE * _SELU_ALPHA),
        ),
        "1.0507*(x if x>0 else 1.6733*(exp(x)-1))",
    ),
    "GELU": (_activation(_gelu, _gelu_grad), "x/2*(1+tanh(sqrt(2/pi)(x+0.044715x^3)))"),
    "Swish": (_activation(lambda x: x * _sigmoid(x), _swish_grad), "x/(1+exp(-x))"),
    "HardTanh": (_activation(lambda x: np.clip(x, -1.0, 1.0), lambda y, x: np.abs(x) < 1), "clip(x, -1, 1)"),
    "HardSigmoid": (
        _activation(lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0), lambda y, x: (np.abs(x) < 3) / 6.0),
        "clip(x/6 + 1/2, 0, 1)",
    ),
    "Sin": (_activation(np.sin, lambda y, x: np.cos(x)), "sin(x)"),
    "Cos": (_activation(np.cos, lambda y, x: -np.sin(x)), "cos(x)"),
    "Exp": (_activation(np.exp, lambda y, x: y), "exp(x)"),
    "Log": (_activation(np.log, lambda y, x: 1.0 / x), "log(x)"),
    "Abs": (_activation(np.abs, lambda y, x: np.sign(x)), "|x|"),
    "Square": (_activation(np.square, lambda y, x: 2.0 * x), "x^2"),
    "Sqrt": (_activation(np.sqrt, lambda y, x: 0.5 / y), "sqrt(x)"),
}

#: other spellings users type
ACTIVATION_ALIASES = {"ReLU": "Ramp", "Relu": "Ramp", "Sigmoid": "LogisticSigmoid", "Softplus": "SoftPlus",
                      "SiLU": "Swish"}


@primitive
def euclidean_distance(a, b):
    """Row-wise ``||a - b||_2``: (batch, m), (batch, m) -> (batch,). Gradient 0 at distance 0."""
    return np.sqrt(((a - b) ** 2).sum(axis=-1))


def _dist_grad(d, a, b):
    safe = np.where(d > 0, d, 1.0)
    return np.where(d[:, None] > 0, (a - b) / safe[:, None], 0.0)


defvjp(
    euclidean_distance,
    lambda d, a, b: lambda g: g[:, None] * _dist_grad(d, a, b),
    lambda d, a, b: lambda g: -g[:, None] * _dist_grad(d, a, b),
)
