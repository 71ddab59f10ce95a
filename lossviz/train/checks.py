"""Declarative checks of NetTrain's and TrainingSession's options: messages name the option and the value."""
from __future__ import annotations

import math
import numbers

from ..errors import NetTypeError, ParameterError

__all__ = ["check_int", "check_positive", "stopping_criterion", "check_callbacks"]


def check_int(name, value, low, allow_none=True, owner="NetTrain"):
    """``value`` as an int >= ``low`` (None passes when ``allow_none``); ParameterError naming ``name`` otherwise."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ParameterError(f"{owner}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def check_positive(name, value, owner="NetTrain"):
    """``value`` as a positive finite float (None passes); ParameterError naming ``name`` otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 or not math.isfinite(value):
        raise ParameterError(f"{owner}: {name} must be a positive number, got {value!r}")
    return float(value)


def stopping_criterion(criterion):
    """``training_stopping_criterion`` -> (patience or None, min_delta)."""
    if criterion is None:
        return None, 0.0
    if isinstance(criterion, dict):
        unknown = set(criterion) - {"patience", "min_delta"}
        if unknown:
            raise ParameterError(f"NetTrain: training_stopping_criterion has unknown key {sorted(unknown)[0]!r}; "
                                 f"expected 'patience' and 'min_delta'")
        delta = criterion.get("min_delta", 0.0)
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not math.isfinite(delta) or delta < 0:
            raise ParameterError(f"NetTrain: training_stopping_criterion['min_delta'] must be a finite number "
                                 f">= 0, got {delta!r}")
        return (check_int("training_stopping_criterion['patience']", criterion.get("patience", 3), 1),
                float(delta))
    return check_int("training_stopping_criterion", criterion, 1), 0.0


def check_callbacks(callbacks):
    """A callback or a list of them, as a list; NetTypeError for anything not callable."""
    cbs = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    for cb in cbs:
        if not callable(cb):
            raise NetTypeError(f"NetTrain: callbacks must be functions of an event, got {cb!r}")
    return cbs
