"""Losses from plain functions, as :func:`lossviz.losses.register` makes them.

theanets' custom-loss example, a step function averaged over the outputs, is::

    @lossviz.losses.register("step")
    def step(input):
        return input > 0

    lossviz.losses.get("step")({"Input": [1.0, -2.0, 3.0]})    # 2/3

The function receives batched arrays (a leading batch dimension) and returns
the elementwise or per-example loss, shape ``(batch, ...)``; the layer then
applies the shared reduction and weights (:mod:`lossviz.losses.base`). Its
positional parameters without defaults are the ports, ``(input)`` or
``(input, target)``; its keyword parameters with defaults are the layer's
options. Port shapes are not tied to each other: the function sees whatever it
is given. To be trainable it must be written with ``autograd.numpy``.
"""
from __future__ import annotations

import inspect
import re

import autograd.numpy as anp

from ..errors import NetTypeError, ShapeError
from .base import LossLayer

__all__ = ["FunctionLossLayer", "function_loss"]


class FunctionLossLayer(LossLayer):
    """A loss computed by a plain function (base of the classes :func:`function_loss` makes)."""

    function = None

    def __init__(self, **kwargs):
        defaults = self._defaults()
        for name in self.options:
            setattr(self, name, kwargs.pop(name, defaults[name]))
        super().__init__(**kwargs)

    @classmethod
    def _defaults(cls):
        params = inspect.signature(cls.function).parameters
        return {name: params[name].default for name in cls.options}

    @classmethod
    def option_defaults(cls) -> dict:
        """The function's keyword parameters and their defaults."""
        return cls._defaults()

    @classmethod
    def option_names(cls) -> list:
        return list(cls.options)

    def port_dims(self, port, input_dims):
        return None

    def input_dims_from(self, port, t):
        return None

    def elementwise_dims(self, input_dims):
        return None

    def elementwise(self, data):
        args = [data["Input"]] + ([data["Target"]] if self.has_target else [])
        out = self.function(*args, **{name: getattr(self, name) for name in self.options})
        batch = anp.shape(data["Input"])[0]
        if anp.ndim(out) == 0 or anp.shape(out)[0] != batch:
            raise ShapeError(
                f"{type(self).__name__}: the loss function {self.function.__name__!r} returned shape "
                f"{anp.shape(out)}; it must return one loss per example or per element, batch first "
                f"({batch}, ...)"
            )
        return out


def function_loss(f, name: str) -> type:
    """A FunctionLossLayer subclass computing ``f`` (see the module docstring)."""
    params = list(inspect.signature(f).parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ports = [p for p in params if p.default is p.empty and p.kind in positional]
    options = [p.name for p in params if p.default is not p.empty]
    if not 1 <= len(ports) <= 2 or len(ports) + len(options) != len(params):
        raise NetTypeError(
            f"register({name!r}): a loss function takes (input) or (input, target) and keyword options "
            f"with defaults, got {f.__name__}{inspect.signature(f)}"
        )
    camel = "".join(part.capitalize() for part in re.split(r"[^0-9a-zA-Z]+", name) if part)
    return type(
        f"{camel}LossLayer",
        (FunctionLossLayer,),
        {
            "function": staticmethod(f),
            "options": tuple(options),
            "input_names": ("Input", "Target", "Weight") if len(ports) == 2 else ("Input", "Weight"),
            "__doc__": f.__doc__ or f"The loss computed by {f.__name__}.",
            "__module__": f.__module__,
        },
    )
