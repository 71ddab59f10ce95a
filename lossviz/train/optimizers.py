"""Optimizers: in-place updates of a list of parameter arrays.

Each optimizer keeps its state in arrays shaped like the parameters and
updates the parameters in place (no new arrays per step). ``step(params,
grads, lr)`` applies, in order: L2 regularization (``g += l2 * w``), gradient
clipping (by global norm), then the method's update.

======== ============================================================== ===========
method   update                                                          default lr
======== ============================================================== ===========
ADAM     m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;                   0.001
         w -= lr * m_hat / (sqrt(v_hat) + eps)
SGD      u = momentum u + g;  w -= lr * u                                 0.01
RMSProp  v = rho v + (1-rho) g^2;  w -= lr * g / (sqrt(v) + eps)          0.001
SignSGD  w -= lr * sign(g)                                                0.001
======== ============================================================== ===========
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..errors import ParameterError

__all__ = ["Optimizer", "ADAM", "SGD", "RMSProp", "SignSGD", "make_optimizer", "schedule_factor"]


def _check(name, value, low=0.0, high=None, *, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ParameterError(f"{owner}: {name} must be a real number, got {value!r}")
    if value < low or (high is not None and value >= high):
        bounds = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ParameterError(f"{owner}: {name} must be {bounds}, got {value!r}")
    return float(value)


class Optimizer:
    """Base: L2 regularization, gradient clipping, and the in-place update."""

    default_learning_rate = 0.001

    def __init__(self, l2_regularization=0.0, gradient_clipping=None):
        owner = type(self).__name__
        self.l2_regularization = _check("l2_regularization", l2_regularization, owner=owner)
        self.gradient_clipping = (None if gradient_clipping is None
                                  else _check("gradient_clipping", gradient_clipping, owner=owner))
        if self.gradient_clipping == 0:
            raise ParameterError(f"{owner}: gradient_clipping must be positive, got 0")
        self.t = 0

    def start(self, params):
        """Allocate state for ``params`` (a list of arrays)."""
        self.t = 0
        self._start(params)

    def _start(self, params):
        pass

    def adopt(self, old_params, new_params):
        """Carry the optimizer's state (moments, step count) over to another layout of the same parameters.

        ``old_params`` and ``new_params`` hold the same numbers in the same order
        (the sorted-key order of the parameter tree), e.g. one flat vector and one
        array per layer, possibly in another precision: a training step that is
        rebuilt mid-run keeps its Adam moments.
        """
        old_shapes = [np.shape(p) for p in old_params]
        for name, value in list(vars(self).items()):
            if (name.startswith("_") and isinstance(value, list) and len(value) == len(old_shapes)
                    and all(isinstance(v, np.ndarray) and v.shape == s for v, s in zip(value, old_shapes))):
                flat = np.concatenate([np.ravel(v) for v in value]) if value else np.zeros(0)
                out, at = [], 0
                for p in new_params:
                    out.append(flat[at:at + np.size(p)].reshape(np.shape(p)).astype(np.asarray(p).dtype))
                    at += np.size(p)
                setattr(self, name, out)

    def step(self, params, grads, lr):
        """Update ``params`` in place from ``grads`` with learning rate ``lr``."""
        self.t += 1
        if self.l2_regularization:
            grads = [g + self.l2_regularization * w for g, w in zip(grads, params)]
        if self.gradient_clipping is not None:
            norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
            if norm > self.gradient_clipping:
                c = self.gradient_clipping / norm
                grads = [g * c for g in grads]
        self._update(params, grads, lr)

    def __repr__(self):
        opts = {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "t"}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in opts.items())})"


class ADAM(Optimizer):
    """Adam (Kingma & Ba), with bias correction."""

    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8, **kw):
        super().__init__(**kw)
        self.beta1 = _check("beta1", beta1, 0.0, 1.0, owner="ADAM")
        self.beta2 = _check("beta2", beta2, 0.0, 1.0, owner="ADAM")
        self.epsilon = _check("epsilon", epsilon, owner="ADAM")

    def _start(self, params):
        self._m = [np.zeros_like(p) for p in params]
        self._v = [np.zeros_like(p) for p in params]

    def _update(self, params, grads, lr):
        b1, b2 = self.beta1, self.beta2
        step = lr * math.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        eps = self.epsilon * math.sqrt(1.0 - b2**self.t)
        for w, g, m, v in zip(params, grads, self._m, self._v):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            d = np.sqrt(v)
            d += eps
            np.divide(m, d, out=d)
            d *= step
            w -= d


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum."""

    default_learning_rate = 0.01

    def __init__(self, momentum=0.9, **kw):
        super().__init__(**kw)
        self.momentum = _check("momentum", momentum, 0.0, 1.0, owner="SGD")

    def _start(self, params):
        self._u = [np.zeros_like(p) for p in params]

    def _update(self, params, grads, lr):
        for w, g, u in zip(params, grads, self._u):
            u *= self.momentum
            u += g
            w -= lr * u


class RMSProp(Optimizer):
    """RMSProp: divide by a running root-mean-square of the gradient."""

    def __init__(self, rho=0.9, epsilon=1e-8, **kw):
        super().__init__(**kw)
        self.rho = _check("rho", rho, 0.0, 1.0, owner="RMSProp")
        self.epsilon = _check("epsilon", epsilon, owner="RMSProp")

    def _start(self, params):
        self._v = [np.zeros_like(p) for p in params]

    def _update(self, params, grads, lr):
        for w, g, v in zip(params, grads, self._v):
            v *= self.rho
            v += (1.0 - self.rho) * (g * g)
            w -= lr * g / (np.sqrt(v) + self.epsilon)


class SignSGD(Optimizer):
    """Step by the sign of the gradient."""

    def _update(self, params, grads, lr):
        for w, g in zip(params, grads):
            w -= lr * np.sign(g)


_METHODS = {"ADAM": ADAM, "SGD": SGD, "RMSPROP": RMSProp, "SIGNSGD": SignSGD}


def make_optimizer(method, *, l2_regularization=0.0, gradient_clipping=None) -> Optimizer:
    """``method``: a name ("ADAM", "SGD", "RMSProp", "SignSGD"), ``(name, {options})`` or an Optimizer."""
    if isinstance(method, Optimizer):
        if l2_regularization:
            method.l2_regularization = _check("l2_regularization", l2_regularization, owner="NetTrain")
        if gradient_clipping is not None:
            method.gradient_clipping = _check("gradient_clipping", gradient_clipping, owner="NetTrain")
        return method
    options = {}
    if isinstance(method, tuple) and len(method) == 2 and isinstance(method[1], dict):
        method, options = method
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise ParameterError(
            f"NetTrain: unknown method {method!r}; expected one of 'ADAM', 'SGD', 'RMSProp', 'SignSGD', "
            f"(name, {{options}}) or an optimizer object"
        )
    try:
        return _METHODS[method.upper()](l2_regularization=l2_regularization,
                                        gradient_clipping=gradient_clipping, **options)
    except TypeError as e:
        raise ParameterError(f"NetTrain: bad options for method {method!r}: {e}") from None


def schedule_factor(schedule, progress: float) -> float:
    """Learning-rate multiplier at ``progress`` in [0, 1] of the planned training.

    ``schedule``: None (constant), "Cosine", "Linear" (decay to 0), or a
    function of progress returning the multiplier.
    """
    if schedule is None:
        return 1.0
    if schedule == "Cosine":
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
    if schedule == "Linear":
        return max(0.0, 1.0 - progress)
    return float(schedule(progress))


def check_schedule(schedule):
    if schedule is None or schedule in ("Cosine", "Linear") or callable(schedule):
        return schedule
    raise ParameterError(
        f"NetTrain: learning_rate_schedule must be None, 'Cosine', 'Linear' or a function of the "
        f"training progress in [0, 1]; got {schedule!r}"
    )
