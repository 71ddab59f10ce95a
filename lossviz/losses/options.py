"""Option declarations of the loss layers: one :class:`OptionSpec` per constructor option.

Each loss class declares its options once, as a class attribute::

    class HuberLossLayer(LossLayer):
        option_specs = (OptionSpec("rho", "float", 1.0, low=0.0, open_low=True, log=True,
                                   typical=(0.05, 5.0), doc="where the quadratic part ends"),)

        def __init__(self, rho=1.0, **ports):
            self._set_options(rho=rho)
            super().__init__(**ports)

The same declaration serves three readers:

* the layer's own validation (:meth:`OptionSpec.validate`): a bad value is a
  :class:`~lossviz.errors.ParameterError` naming the layer, the option, the value
  and the allowed values (declarative, as scikit-learn's parameter constraints);
* the registry (:func:`lossviz.losses.info` ``(name).option_specs``) and its
  catalogue table;
* widgets, which build a control per option from its kind, range and scale.

:meth:`LossLayer.__init_subclass__ <lossviz.losses.base.LossLayer>` checks that a
class's specs match its constructor: the same names, and each spec's default
equal to the constructor's default. Port shapes (``input=``, ``target=``...) are
not options.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

__all__ = ["OptionSpec", "KINDS"]

#: the kinds of option values
KINDS = ("float", "int", "bool", "choice", "array")


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class OptionSpec:
    """The declaration of one loss option.

    name : the keyword argument ("rho")
    kind : "float" (a real number), "int" (an integer), "bool" (True/False),
        "choice" (one of ``choices``, strings matched ignoring case) or
        "array" (a list of numbers, e.g. one weight per class)
    default : the constructor's default
    low, high : bounds of a number (of each entry of an array); None: unbounded
    log : True when a log-scale slider fits (a positive scale parameter)
    choices : the allowed values of a "choice"
    doc : one line: what the option does
    open_low : True when ``low`` itself is excluded (``rho > 0``)
    optional : True when None is allowed (it switches the option off)
    number_ok : for an "array": a single number is allowed too (applied to every entry)
    callable_ok : a function is allowed too (validated by the loss when it is used)
    typical : ``(lo, hi)``, the range a slider shows by default (inside ``low``, ``high``)
    what : the allowed values in words, where the kind's own wording is not clear enough
        ("an int class index"); error messages use it
    """

    name: str
    kind: str
    default: object = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple = ()
    doc: str = ""
    open_low: bool = False
    optional: bool = False
    number_ok: bool = False
    callable_ok: bool = False
    typical: tuple | None = None
    what: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ParameterError(f"OptionSpec {self.name!r}: kind must be one of {', '.join(KINDS)}, "
                                 f"got {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ParameterError(f"OptionSpec {self.name!r}: a 'choice' needs its choices")

    # ------------------------------------------------------------ description
    def allowed(self) -> str:
        """The allowed values in words ("a finite number > 0", "one of 'last', 'first'")."""
        if self.what:
            text = self.what
        elif self.kind == "bool":
            text = "True or False"
        elif self.kind == "choice":
            text = "one of " + ", ".join(map(repr, self.choices))
        else:
            noun = {"float": "a finite number", "int": "an int", "array": "a list of finite numbers"}[self.kind]
            bounds = self._bounds()
            if self.kind == "array":
                text = noun + (f" (each {bounds})" if bounds else "")
                if self.number_ok:
                    text = "a finite number" + (f" {bounds}" if bounds else "") + " or " + text
            else:
                text = noun + (f" {bounds}" if bounds else "")
        if self.callable_ok:
            text += " or a function"
        if self.optional:
            text += " or None"
        return text

    def _bounds(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.open_low else '>='} {self.low}")
        if self.high is not None:
            parts.append(f"<= {self.high}")
        return " and ".join(parts)

    def describe_default(self) -> str:
        """The default as a table cell shows it (``rho=1``, ``form='Index'``)."""
        value = self.default
        if isinstance(value, float):
            return f"{self.name}={value:g}"
        return f"{self.name}={value!r}"

    # ------------------------------------------------------------ validation
    def _in_range(self, x) -> bool:
        if not math.isfinite(x):
            return False
        if self.low is not None and (x <= self.low if self.open_low else x < self.low):
            return False
        return self.high is None or x <= self.high

    def validate(self, owner: str, value):
        """``value`` normalized (a float, int, bool, the canonical choice, a tuple of floats, None),
        or a ParameterError: ``"<owner>: option 'rho' must be a finite number > 0, got -1"``."""
        if value is None and self.optional:
            return None
        if self.callable_ok and callable(value):
            return value
        out = self._convert(value)
        if out is _BAD:
            raise ParameterError(f"{owner}: option {self.name!r} must be {self.allowed()}, got {value!r}")
        return out

    def _convert(self, value):
        if self.kind == "bool":
            return bool(value) if isinstance(value, (bool, np.bool_)) else _BAD
        if self.kind == "choice":
            for choice in self.choices:
                if isinstance(value, str) and isinstance(choice, str):
                    if value.lower() == choice.lower():
                        return choice
                elif type(value) is type(choice) and value == choice:  # no arrays: their == is elementwise
                    return choice
            return _BAD
        if self.kind == "float":
            return float(value) if _is_number(value) and self._in_range(float(value)) else _BAD
        if self.kind == "int":
            ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
            return int(value) if ok and self._in_range(int(value)) else _BAD
        # "array"
        if _is_number(value):
            return float(value) if self.number_ok and self._in_range(float(value)) else _BAD
        if isinstance(value, (str, bytes, dict)) or callable(value):
            return _BAD
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return _BAD
        if arr.ndim != 1 or arr.size == 0 or not all(self._in_range(x) for x in arr.tolist()):
            return _BAD
        return tuple(float(x) for x in arr)


_BAD = object()
