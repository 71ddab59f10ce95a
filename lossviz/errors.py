"""lossviz's own errors.

Every error a user can provoke is one of these: a ``ValueError`` or ``TypeError``
subclass whose message names the port, layer or parameter involved, the value
or shape it got, and what was expected.
"""
from __future__ import annotations

__all__ = [
    "LossvizError",
    "PortError",
    "ShapeError",
    "GraphError",
    "DataError",
    "SpecError",
    "ParameterError",
    "NetTypeError",
    "describe_shape",
    "describe_value",
    "check_random_seed",
    "close_match",
]


class LossvizError(Exception):
    """Base class of every error raised by lossviz."""


class PortError(LossvizError, ValueError):
    """An unknown or missing port name."""


class ShapeError(LossvizError, ValueError):
    """Data or a connection whose shape does not match the port's."""


class GraphError(LossvizError, ValueError):
    """A net that cannot be built: cycles, dangling or ambiguous connections."""


class DataError(LossvizError, ValueError):
    """Training or evaluation data in a form lossviz cannot use."""


class SpecError(LossvizError, ValueError):
    """A LossFunction specification that cannot be resolved."""


class ParameterError(LossvizError, ValueError):
    """A bad keyword argument value (names the parameter)."""


class NetTypeError(LossvizError, TypeError):
    """An argument of the wrong type (names the parameter)."""


def describe_shape(shape) -> str:
    """Human-readable form of a per-example shape: ``()`` -> ``a scalar``."""
    if shape is None:
        return "any shape"
    shape = tuple(shape)
    if shape == ():
        return "a scalar"
    dims = ["n" if d is None else ("Varying" if d == "Varying" else str(d)) for d in shape]
    if len(shape) == 1:
        return f"a vector of length {dims[0]}"
    return "a tensor of dimensions " + "\u00d7".join(dims)


def describe_value(value, limit: int = 60) -> str:
    """Short repr of a user value for an error message."""
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            return f"an array of shape {value.shape} and dtype {value.dtype}"
    except ImportError:  # pragma: no cover
        pass
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def close_match(name, options):
    """The option ``name`` was probably meant to be, or None.

    Same letters in another case first ("input" -> "Input"), then the nearest
    spelling by :func:`difflib.get_close_matches` (cutoff 0.6: "Inptu" -> "Input").
    Only strings are compared.
    """
    import difflib

    if not isinstance(name, str):
        return None
    options = [o for o in options if isinstance(o, str)]
    folded = [o for o in options if o.lower() == name.strip().lower()]
    if folded:
        return folded[0]
    near = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return near[0] if near else None


def check_random_seed(value, where: str):
    """``value`` as a ``random_seed``: None, or an int >= 0 (numpy integers too).

    Returns None or a Python int. Anything else (a bool, a negative or fractional
    number, a string) raises :class:`ParameterError` naming ``random_seed``, the
    value and what was expected; ``where`` names the function, e.g. "NetTrain".
    """
    import numbers

    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value >= 0:
            return int(value)
        raise ParameterError(
            f"{where}: random_seed must be None or an int >= 0, got {value!r} (a negative int)"
        )
    kind = "a bool" if isinstance(value, bool) else f"a {type(value).__name__}"
    raise ParameterError(
        f"{where}: random_seed must be None or an int >= 0, got {describe_value(value)} ({kind})"
    )
