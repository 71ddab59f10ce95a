"""The registry of data set generators: ``names()`` and ``load(name, **options)``.

A generator registers itself with ``@generator("name")``; a playground
widget lists ``names()`` in a dropdown and calls ``load(name, noise=...)``.
"""
from __future__ import annotations

import difflib
import inspect

from ..errors import NetTypeError, ParameterError

__all__ = ["generator", "names", "load", "options"]

_GENERATORS: dict = {}


def generator(name: str):
    """Decorator: register a data set function under ``name`` (returns the function unchanged)."""

    def decorate(function):
        if name in _GENERATORS:
            raise ParameterError(f"datasets: the name {name!r} is already registered")
        _GENERATORS[name] = function
        return function

    return decorate


def names() -> list:
    """The registered data set names, in registration order (the Playground's six first)."""
    return list(_GENERATORS)


def options(name: str) -> dict:
    """``{option: default}`` of the data set ``name`` (``n``, ``noise``, ``random_seed``, ... )."""
    return {p.name: p.default for p in inspect.signature(_lookup(name)).parameters.values()}


def load(name: str, **options_):
    """The data set ``name`` made with ``options`` (any option its function takes), e.g.
    ``load("spiral", n=400, noise=0.1, random_seed=0)``."""
    function = _lookup(name)
    accepted = inspect.signature(function).parameters
    unknown = [k for k in options_ if k not in accepted]
    if unknown:
        raise ParameterError(f"datasets.load({name!r}): unknown option {unknown[0]!r}; {name!r} takes "
                             f"{', '.join(accepted)}")
    return function(**options_)


def _lookup(name):
    if not isinstance(name, str):
        raise NetTypeError(f"datasets: a data set name must be a string, got {name!r}")
    if name not in _GENERATORS:
        close = difflib.get_close_matches(name, _GENERATORS, n=2, cutoff=0.6)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ParameterError(f"datasets: unknown data set {name!r}{hint} (the data sets are "
                             f"{', '.join(map(repr, _GENERATORS))})")
    return _GENERATORS[name]
