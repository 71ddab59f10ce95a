"""Regression losses: the distance between a real-valued prediction and its target.

Every loss here is elementwise: Input and Target have the same shape (any
rank), the elementwise loss has that shape too, and the loss of an example is
its mean (see :mod:`lossviz.losses.base`). ``d = input - target`` below.
"""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from .base import BATCH_FIRST, LossLayer
from .options import OptionSpec
from .primitives import absolute_error, huber, squared_error
from .registry import register

__all__ = [
    "MeanSquaredLossLayer",
    "MeanAbsoluteLossLayer",
    "L2LossLayer",
    "HuberLossLayer",
    "SmoothL1LossLayer",
    "LogCoshLossLayer",
    "log_cosh",
]


def log_cosh(x, t):
    """``log(cosh(d))`` elementwise, computed as ``|d| + log1p(exp(-2|d|)) - log 2`` (no overflow)."""
    ad = anp.abs(x - t)
    return ad + anp.log1p(anp.exp(-2.0 * ad)) - np.log(2.0)


@register(
    "mse",
    aliases=("mean_squared_error", "mean_squared", "MeanSquaredLoss", "MeanSquaredError", "squared_error"),
    convention="Wolfram",
    pytorch="torch.nn.MSELoss",
    family="regression",
    qualified={"wolfram.MeanSquaredLossLayer": {}, "theanets.mse": BATCH_FIRST,
               "theanets.MeanSquaredError": BATCH_FIRST, "torch.nn.MSELoss": {}, "keras.mean_squared_error": {},
               "keras.MeanSquaredError": {}},
)
class MeanSquaredLossLayer(LossLayer):
    """Mean of the squared distance between input and target: ``mean(d**2)``.

    Ports: "Input" and "Target", real tensors of one shape (any rank; a scalar
    is fine); "Loss" is the mean over the elements of each example.
    Options: none.
    Convention: Wolfram's MeanSquaredLossLayer; the same as PyTorch's
    ``MSELoss``, Keras's ``mean_squared_error`` and theanets' "mse" (theanets
    averages weighted errors as ``sum(w d**2) / sum(w)``; lossviz's weights
    multiply, see :mod:`lossviz.losses.base`). Gluon's ``L2Loss`` is half of it
    (registered as "l2").
    """

    def elementwise(self, data):
        return squared_error(data["Input"], data["Target"])


@register(
    "mae",
    aliases=("l1", "mean_absolute_error", "MeanAbsoluteLoss", "MeanAbsoluteError", "L1Loss", "absolute_error"),
    convention="Wolfram",
    pytorch="torch.nn.L1Loss",
    family="regression",
    qualified={"wolfram.MeanAbsoluteLossLayer": {}, "theanets.mae": BATCH_FIRST,
               "theanets.MeanAbsoluteError": BATCH_FIRST, "gluon.L1Loss": BATCH_FIRST, "torch.nn.L1Loss": {},
               "keras.mean_absolute_error": {}, "keras.MeanAbsoluteError": {}},
)
class MeanAbsoluteLossLayer(LossLayer):
    """Mean of the absolute distance between input and target: ``mean(|d|)``.

    Ports: "Input" and "Target", real tensors of one shape (any rank).
    Options: none.
    Convention: Wolfram's MeanAbsoluteLossLayer; also Gluon's ``L1Loss`` (which
    averages over the non-batch axes despite its formula's sum), PyTorch's
    ``L1Loss`` and theanets' "mae". The gradient at ``d = 0`` is 0, as PyTorch's.
    """

    def elementwise(self, data):
        return absolute_error(data["Input"], data["Target"])


@register(
    "l2",
    aliases=("L2Loss", "half_squared_error"),
    convention="Gluon",
    pytorch="torch.nn.MSELoss (times 1/2)",
    family="regression",
    qualified={"gluon.L2Loss": BATCH_FIRST},
    ambiguous={"l2": "Gluon's L2Loss, half the squared error; 'mse' (Wolfram, PyTorch, Keras, theanets) is the "
                     "whole squared error"},
)
class L2LossLayer(LossLayer):
    """Half the mean squared distance: ``mean(d**2 / 2)``.

    Ports: "Input" and "Target", real tensors of one shape (any rank).
    Options: none.
    Convention: Gluon's ``L2Loss``, with its factor 1/2 (so its gradient is
    ``d``); it is half of "mse" (Wolfram's MeanSquaredLossLayer, PyTorch's
    ``MSELoss``). With per-example weights ``[1, 2]``, ones against twos give
    ``[0.5, 1.0]``, as Gluon's ``L2Loss()(x, y, sample_weight)`` does.
    """

    def elementwise(self, data):
        return squared_error(data["Input"], data["Target"], 0.5)


@register("huber", aliases=("HuberLoss", "smoothed_l1"), convention="Gluon",
          pytorch="torch.nn.SmoothL1Loss(beta=rho)", family="regression",
          qualified={"gluon.HuberLoss": BATCH_FIRST},
          ambiguous={"HuberLoss": "Gluon's HuberLoss(rho) here; PyTorch's and Keras's HuberLoss(delta) are delta "
                                  "times it (equal at their default delta = 1)"})
class HuberLossLayer(LossLayer):
    """Huber loss: ``d**2 / (2 rho)`` where ``|d| < rho``, else ``|d| - rho / 2``; then the mean.

    Quadratic near the target, linear (like L1) beyond ``rho``, continuous with
    a continuous slope.
    Ports: "Input" and "Target", real tensors of one shape (any rank).
    Options: ``rho`` (> 0, default 1): where the quadratic part ends.
    Convention: Gluon's ``HuberLoss(rho)``, which is PyTorch's
    ``SmoothL1Loss(beta=rho)``. PyTorch's and Keras's ``HuberLoss(delta)`` are
    ``delta`` times this with ``rho = delta``.
    """

    option_specs = (
        OptionSpec("rho", "float", 1.0, low=0.0, open_low=True, log=True, typical=(0.05, 5.0),
                   doc="where the quadratic part ends: |d| < rho is quadratic, beyond it linear"),
    )

    def __init__(self, rho=1.0, **ports):
        self._set_options(rho=rho)
        super().__init__(**ports)

    def elementwise(self, data):
        return huber(data["Input"], data["Target"], self.rho)


@register("smooth_l1", aliases=("SmoothL1Loss",), convention="PyTorch", pytorch="torch.nn.SmoothL1Loss",
          family="regression", qualified={"torch.nn.SmoothL1Loss": {}})
class SmoothL1LossLayer(LossLayer):
    """Smooth L1 loss: ``d**2 / (2 beta)`` where ``|d| < beta``, else ``|d| - beta / 2``; then the mean.

    Ports: "Input" and "Target", real tensors of one shape (any rank).
    Options: ``beta`` (>= 0, default 1); ``beta = 0`` is the L1 loss.
    Convention: PyTorch's ``SmoothL1Loss(beta)``; the same function as Gluon's
    ``HuberLoss(rho=beta)`` ("huber"), under PyTorch's name and option.
    """

    option_specs = (
        OptionSpec("beta", "float", 1.0, low=0.0, typical=(0.0, 5.0),
                   doc="where the quadratic part ends (0: the L1 loss)"),
    )

    def __init__(self, beta=1.0, **ports):
        self._set_options(beta=beta)
        super().__init__(**ports)

    def elementwise(self, data):
        return huber(data["Input"], data["Target"], self.beta)


@register("log_cosh", aliases=("logcosh", "LogCosh"), convention="Keras", family="regression",
          qualified={"keras.log_cosh": {}, "keras.LogCosh": {}})
class LogCoshLossLayer(LossLayer):
    """Log-cosh loss: ``mean(log(cosh(d)))``, about ``d**2 / 2`` near 0 and ``|d| - log 2`` far away.

    Ports: "Input" and "Target", real tensors of one shape (any rank).
    Options: none.
    Convention: Keras's ``LogCosh`` (PyTorch has none); computed without
    overflow as ``|d| + log1p(exp(-2|d|)) - log 2``.
    """

    def elementwise(self, data):
        return log_cosh(data["Input"], data["Target"])
