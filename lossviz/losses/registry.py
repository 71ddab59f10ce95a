"""The loss registry: names and aliases -> loss layers, with metadata for widgets and the spec parser.

>>> from lossviz.losses import get, names, info
>>> get("huber", rho=2.0)                   # a configured HuberLossLayer
>>> get("bce")                              # an alias with preset options: CrossEntropyLossLayer("Binary")
>>> info("mse").pytorch                     # 'torch.nn.MSELoss'

Names are matched ignoring case, spaces, ``_`` and ``-``: "mse",
"mean_squared_error", "MeanSquaredLoss" and "MeanSquaredLossLayer" all name
the same entry. Each class is also known by its class name, with and without
the "Layer" suffix.

:func:`register` adds a loss: a :class:`~lossviz.losses.base.LossLayer`
subclass, or a plain function ``f(input, target)`` (or ``f(input)``) of batched
arrays that returns the elementwise or per-example loss, shape ``(batch, ...)``
(see :mod:`lossviz.losses.custom`). Built-in entries cannot be replaced;
registering a user entry again under the same name replaces it (so a notebook
cell can be re-run).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from ..errors import NetTypeError, ParameterError
from .base import LossLayer

__all__ = ["LossInfo", "register", "get", "names", "info", "catalogue"]

_ENTRIES: dict = {}  # canonical name -> LossInfo
_LOOKUP: dict = {}  # normalized name or alias -> (canonical name, preset options)


@dataclass(frozen=True)
class LossInfo:
    """What the registry knows about one loss.

    name : the canonical registry name ("mse")
    layer : the LossLayer subclass that :func:`get` builds
    aliases : other names for it
    presets : alias -> options it implies ({"bce": {"form": "Binary"}})
    description : one line
    convention : whose definition it follows where libraries differ
        ("Wolfram", "Gluon", "theanets", "PyTorch", "Keras", "torchvision", or "user")
    pytorch : the PyTorch equivalent ("torch.nn.MSELoss"), or None if PyTorch has none
    family : "regression", "classification", "probabilistic", "embedding", "sequence" or "custom"
    """

    name: str
    layer: type
    aliases: tuple = ()
    presets: dict = field(default_factory=dict)
    description: str = ""
    convention: str = "user"
    pytorch: str | None = None
    family: str = "custom"

    @property
    def has_target(self) -> bool:
        return self.layer.has_target

    @property
    def ports(self) -> tuple:
        """The input port names (the optional "Weight" last)."""
        return tuple(self.layer.input_names)

    @property
    def options(self) -> list:
        """The keyword options of the layer's constructor."""
        return self.layer.option_names()

    @property
    def builtin(self) -> bool:
        return _builtin(self.layer)


def _builtin(layer) -> bool:
    return layer.__module__.startswith("lossviz.losses.")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def register(name: str, aliases=(), *, presets=None, description=None, convention="user",
             pytorch=None, family=None):
    """Decorator: register a LossLayer subclass or a plain loss function under ``name``.

    A function ``f(input[, target], **options)`` gets batched arrays (leading
    batch dimension) and returns the elementwise or per-example loss, shape
    ``(batch, ...)``; it must use ``autograd.numpy`` to be trainable. It is
    wrapped in a LossLayer whose options are the function's keyword
    parameters. The decorator returns its argument unchanged.

    ``presets`` maps further aliases to the options they imply
    (``{"bce": {"form": "Binary"}}``). ``description`` defaults to the first
    line of the docstring.
    """
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"register: a loss name must be a non-empty string, got {name!r}")
    if isinstance(aliases, str):
        aliases = (aliases,)

    def decorate(obj):
        from .custom import function_loss

        if isinstance(obj, type) and issubclass(obj, LossLayer):
            layer = obj
        elif callable(obj) and not isinstance(obj, type):
            layer = function_loss(obj, name)
        else:
            raise NetTypeError(
                f"register({name!r}): expected a LossLayer subclass or a function f(input, target), "
                f"got {obj!r}"
            )
        doc = (layer.__doc__ or "").strip()
        entry = LossInfo(
            name=name,
            layer=layer,
            aliases=tuple(aliases),
            presets={k: dict(v) for k, v in (presets or {}).items()},
            description=description or (doc.splitlines()[0] if doc else name),
            convention=convention,
            pytorch=pytorch,
            family=family or (layer.__module__.rsplit(".", 1)[-1] if _builtin(layer) else "custom"),
        )
        _add(entry)
        return obj

    return decorate


def _add(entry: LossInfo):
    keys = {_norm(entry.name): {}}
    for alias in entry.aliases:
        keys.setdefault(_norm(alias), {})
    for alias, options in entry.presets.items():
        keys[_norm(alias)] = options
    for alias in (entry.layer.__name__, entry.layer.__name__.removesuffix("Layer")):
        if _LOOKUP.get(_norm(alias), (entry.name,))[0] == entry.name:  # class names only if free
            keys.setdefault(_norm(alias), {})
    old = _ENTRIES.get(entry.name)
    if old is not None and old.builtin:
        raise ParameterError(f"register: {entry.name!r} is a built-in loss and cannot be replaced")
    for key in keys:
        owner = _LOOKUP.get(key)
        if owner is not None and owner[0] != entry.name:
            raise ParameterError(f"register: the name {key!r} of {entry.name!r} already names the loss {owner[0]!r}")
    if old is not None:
        for key in [k for k, (n, _) in _LOOKUP.items() if n == entry.name]:
            del _LOOKUP[key]
    _ENTRIES[entry.name] = entry
    for key, options in keys.items():
        _LOOKUP[key] = (entry.name, options)


def _resolve(name):
    if not isinstance(name, str):
        raise NetTypeError(f"a loss name must be a string, got {name!r}")
    found = _LOOKUP.get(_norm(name))
    if found is None:
        spelled = {_norm(n): n for n in names(aliases=True)}
        close = [spelled[k] for k in difflib.get_close_matches(_norm(name), spelled, n=3, cutoff=0.6)]
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ParameterError(f"unknown loss {name!r}{hint} (lossviz.losses.names() lists them)")
    return found


def get(name, **options):
    """A loss layer from a registry name or alias, configured with ``options`` (and port shapes).

    ``get("huber", rho=2.0)``; ``get("cross_entropy", form="Binary", input=3)``.
    A LossLayer passed instead of a name is returned as it is.
    """
    if isinstance(name, LossLayer) and not options:
        return name
    canonical, preset = _resolve(name)
    return _ENTRIES[canonical].layer(**{**preset, **options})


def names(aliases: bool = False) -> list:
    """The canonical names of the registered losses, in registration order (with ``aliases=True``
    also every alias and preset)."""
    out = []
    for entry in _ENTRIES.values():
        out.append(entry.name)
        if aliases:
            out += list(entry.aliases) + list(entry.presets)
    return out


def info(name) -> LossInfo:
    """The :class:`LossInfo` of a registry name or alias."""
    return _ENTRIES[_resolve(name)[0]]


def catalogue() -> list:
    """Every :class:`LossInfo`, in registration order."""
    return list(_ENTRIES.values())
