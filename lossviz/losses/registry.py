"""The loss registry: names and aliases -> loss layers, with metadata for widgets and the spec parser.

>>> from lossviz.losses import get, names, info
>>> get("huber", rho=2.0)                   # a configured HuberLossLayer
>>> get("bce")                              # an alias with preset options: CrossEntropyLossLayer("Binary")
>>> info("mse").pytorch                     # 'torch.nn.MSELoss'
>>> get("gluon.HingeLoss")                  # Gluon's binary hinge, reading axis 0 as the batch
>>> get("theanets.hinge")                   # theanets' multiclass hinge
>>> info("hinge").qualified_names           # ('gluon.HingeLoss', 'keras.hinge', ...)
>>> catalogue()                             # a list of LossInfo, shown as a table in Jupyter

Names are matched ignoring case, spaces, ``_`` and ``-``: "mse",
"mean_squared_error", "MeanSquaredLoss" and "MeanSquaredLossLayer" all name
the same entry. Each class is also known by its class name, with and without
the "Layer" suffix.

Library-qualified names ("gluon.HingeLoss", "theanets.hinge", "keras.hinge",
"torch.nn.MSELoss" or "torch.MSELoss", "wolfram.CrossEntropyLossLayer") are
unambiguous: each names the loss *and* the options that reproduce that
library's definition (Gluon's names also read data as Gluon does,
``batch_axis=0``). Plain aliases that two libraries use for different losses
("hinge": Gluon's binary hinge here, theanets' multiclass hinge is
"theanets.hinge") keep working; :attr:`LossInfo.ambiguous` and the catalogue
table say which library's meaning they take.

:func:`register` adds a loss: a :class:`~lossviz.losses.base.LossLayer`
subclass, or a plain function ``f(input, target)`` (or ``f(input)``) of batched
arrays that returns the elementwise or per-example loss, shape ``(batch, ...)``
(see :mod:`lossviz.losses.custom`). Built-in entries cannot be replaced;
registering a user entry again under the same name replaces it (so a notebook
cell can be re-run).
"""
from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field

from ..errors import NetTypeError, ParameterError
from .base import LossLayer

__all__ = ["LossInfo", "Catalogue", "register", "get", "names", "info", "catalogue"]

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
    qualified : library-qualified name -> the options reproducing that library's definition
        ({"gluon.L2Loss": {"batch_axis": 0}})
    ambiguous : plain alias -> a note on the other libraries' meaning of that name
    """

    name: str
    layer: type
    aliases: tuple = ()
    presets: dict = field(default_factory=dict)
    description: str = ""
    convention: str = "user"
    pytorch: str | None = None
    family: str = "custom"
    qualified: dict = field(default_factory=dict)
    ambiguous: dict = field(default_factory=dict)

    @property
    def qualified_names(self) -> tuple:
        """The library-qualified names of this loss ("gluon.HingeLoss", "torch.nn.MSELoss"...)."""
        return tuple(self.qualified)

    @property
    def option_specs(self) -> tuple:
        """The :class:`~lossviz.losses.options.OptionSpec` of each constructor option (port shapes excluded)."""
        return self.layer.specs()

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
    """True for a loss class defined in lossviz.losses (a class made by exec() may have __module__ None)."""
    return (layer.__module__ or "").startswith("lossviz.losses.")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def register(name: str, aliases=(), *, presets=None, description=None, convention="user",
             pytorch=None, family=None, qualified=None, ambiguous=None):
    """Decorator: register a LossLayer subclass or a plain loss function under ``name``.

    A function ``f(input[, target], **options)`` gets batched arrays (leading
    batch dimension) and returns the elementwise or per-example loss, shape
    ``(batch, ...)``; it must use ``autograd.numpy`` to be trainable. It is
    wrapped in a LossLayer whose options are the function's keyword
    parameters. The decorator returns its argument unchanged.

    ``presets`` maps further aliases to the options they imply
    (``{"bce": {"form": "Binary"}}``); ``qualified`` maps library-qualified
    names ("library.Name", with a dot) to the options reproducing that
    library's definition (a "torch.nn.X" name is also known as "torch.X");
    ``ambiguous`` maps a plain alias to a note on what other libraries mean by
    it. ``description`` defaults to the first line of the docstring.
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
            qualified=_qualified(name, qualified),
            ambiguous=dict(ambiguous or {}),
        )
        _add(entry)
        return obj

    return decorate


def _qualified(name, qualified) -> dict:
    out = {}
    for qname, options in (qualified or {}).items():
        if not isinstance(qname, str) or "." not in qname.strip(".") or qname.startswith("."):
            raise ParameterError(f"register({name!r}): a library-qualified name is 'library.Name', got {qname!r}")
        out[qname] = dict(options)
    return out


def _qualified_keys(entry: LossInfo) -> dict:
    keys = {}
    for qname, options in entry.qualified.items():
        keys[_norm(qname)] = options
        if qname.startswith("torch.nn."):
            keys.setdefault(_norm("torch." + qname[len("torch.nn."):]), options)
    return keys


def _add(entry: LossInfo):
    keys = {_norm(entry.name): {}}
    for alias in entry.aliases:
        keys.setdefault(_norm(alias), {})
    for alias, options in entry.presets.items():
        keys[_norm(alias)] = options
    keys.update(_qualified_keys(entry))
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
        spelled = {_norm(n): n for n in names(aliases=True, qualified=True)}
        close = [spelled[k] for k in difflib.get_close_matches(_norm(name), spelled, n=3, cutoff=0.6)]
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ParameterError(f"unknown loss {name!r}{hint} (lossviz.losses.names() lists them)")
    return found


def get(name, **options):
    """A loss layer from a registry name, alias or library-qualified name, configured with ``options``
    (and port shapes).

    ``get("huber", rho=2.0)``; ``get("cross_entropy", form="Binary", input=3)``;
    ``get("gluon.L2Loss")`` (Gluon's definition and reading of data);
    ``get("theanets.hinge")``. Options given here override those a name implies.
    A LossLayer passed instead of a name is returned as it is.
    """
    if isinstance(name, LossLayer) and not options:
        return name
    canonical, preset = _resolve(name)
    return _ENTRIES[canonical].layer(**{**preset, **options})


def names(aliases: bool = False, qualified: bool = False) -> list:
    """The canonical names of the registered losses, in registration order; with ``aliases=True``
    also every alias and preset, with ``qualified=True`` every library-qualified name (after each
    loss's canonical name; the short forms "torch.X" of "torch.nn.X" are accepted by :func:`get`
    but not listed)."""
    out = []
    for entry in _ENTRIES.values():
        out.append(entry.name)
        if aliases:
            out += list(entry.aliases) + list(entry.presets)
        if qualified:
            out += list(entry.qualified)
    return out


def info(name) -> LossInfo:
    """The :class:`LossInfo` of a registry name or alias."""
    return _ENTRIES[_resolve(name)[0]]


def catalogue() -> "Catalogue":
    """Every :class:`LossInfo`, in registration order: a list, shown as a table in Jupyter."""
    return Catalogue(_ENTRIES.values())


class Catalogue(list):
    """A list of :class:`LossInfo` that shows itself as a table.

    ``_repr_html_`` is an HTML table (name and aliases, description with the
    notes on ambiguous names, family, convention, ports, options with
    defaults, qualified names, PyTorch equivalent); ``repr`` is one block of
    text per loss.
    """

    def _repr_html_(self) -> str:
        esc = html.escape
        head = ("name", "description", "family", "convention", "ports", "options (defaults)", "qualified names",
                "PyTorch")
        widths = ("10em", "24em", "", "", "", "11em", "", "12em")
        rows = []
        for e in self:
            notes = "".join(f"<br><small><b>{esc(a)}</b>: {esc(n)}</small>" for a, n in e.ambiguous.items())
            cells = (
                f"<b>{esc(e.name)}</b>" + (f"<br><small>{esc(', '.join(e.aliases))}</small>" if e.aliases else ""),
                esc(_plain(e.description)) + notes,
                esc(e.family),
                esc(e.convention),
                esc(", ".join(e.ports)),
                "<br>".join(f"<code>{esc(s.describe_default())}</code>" for s in e.option_specs) or "-",
                "<br>".join(f"<small><code>{esc(q)}</code></small>" for q in e.qualified) or "-",
                f"<small>{esc(e.pytorch or '-')}</small>",
            )
            rows.append("<tr>" + "".join(
                f"<td style='text-align:left;vertical-align:top{f';min-width:{w}' if w else ''}'>{c}</td>"
                for c, w in zip(cells, widths)) + "</tr>")
        header = "".join(f"<th style='text-align:left'>{h}</th>" for h in head)
        return (f"<table class='lossviz-catalogue' style='font-size:90%'><thead><tr>{header}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")

    def __repr__(self) -> str:
        blocks = [f"Catalogue of {len(self)} losses"]
        for e in self:
            options = ", ".join(s.describe_default() for s in e.option_specs) or "none"
            lines = [f"{e.name} ({e.family}, {e.convention}): {_plain(e.description)}",
                     f"    ports: {', '.join(e.ports)}; options: {options}"]
            if e.qualified:
                lines.append(f"    qualified names: {', '.join(e.qualified)}")
            if e.pytorch:
                lines.append(f"    PyTorch: {e.pytorch}")
            lines += [f"    {alias!r}: {note}" for alias, note in e.ambiguous.items()]
            blocks.append("\n".join(lines))
        return "\n".join(blocks)


def _plain(text: str) -> str:
    return text.replace("``", "")
