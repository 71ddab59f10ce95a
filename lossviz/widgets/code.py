"""A panel's loss configuration as a LossFunction object, and as the NetTrain call that reproduces it.

:class:`PortSetting` is what one loss row holds (no widgets). :func:`loss_function` turns the rows
into the ``loss_function=`` NetTrain takes; :func:`loss_function_source` writes the same value as
Python source; :func:`nettrain_code` writes the whole call ("Show code"), runnable as shown where
``net`` and ``data`` are the objects the panel was given::

    from lossviz import NetTrain, Scaled, losses

    results = NetTrain(
        net, data, "All",
        loss_function={"Output": (losses.get("huber", rho=2.0), Scaled(0.5))},
        batch_size=32, method="ADAM", learning_rate=0.01, random_seed=0, max_training_rounds=40,
    )
    trained = results["TrainedNet"]
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import SpecError

__all__ = ["PortSetting", "loss_function", "loss_function_source", "nettrain_code", "layer_source"]


@dataclass(frozen=True)
class PortSetting:
    """The loss on one output port.

    port : the output port.
    choice : ``"Automatic"``, ``"off"``, or a :class:`~lossviz.widgets.fit.LossChoice`.
    options : the loss's options that differ from their defaults ({} for Automatic).
    scale : the factor r of ``Scaled(r)``; 0 keeps the term (still measured) but it no longer
        contributes to the gradient.
    is_loss_port : True when the port is itself a loss (then only Automatic, i.e. the port, or off).
    """

    port: str
    choice: object = "Automatic"
    options: dict = field(default_factory=dict)
    scale: float = 1.0
    is_loss_port: bool = False

    @property
    def off(self) -> bool:
        return isinstance(self.choice, str) and self.choice == "off"

    @property
    def automatic(self) -> bool:
        return isinstance(self.choice, str) and self.choice == "Automatic"

    def layer(self):
        """The configured loss layer (None for Automatic and off)."""
        if isinstance(self.choice, str):
            return None
        return self.choice.layer(**self.options)

    def describe(self) -> str:
        """Short text for change marks and status: ``Output: huber(rho=2) x0.5``."""
        if self.off:
            return f"{self.port}: off"
        what = "Automatic" if self.automatic else self.choice.label
        if self.options:
            what += "(" + ", ".join(f"{k}={_short_value(v)}" for k, v in self.options.items()) + ")"
        return f"{self.port}: {what}" + (f" \u00d7{self.scale:g}" if self.scale != 1.0 else "")


def _short_value(v):
    return f"{v:.3g}" if isinstance(v, float) else repr(v) if isinstance(v, str) else str(v)


def _active(settings):
    active = [s for s in settings if not s.off]
    if not active:
        raise SpecError("loss_function: every loss row is off; switch at least one port's loss on")
    return active


def loss_function(settings):
    """The ``loss_function=`` for NetTrain / TrainingSession: ``{port: lspec}`` over the rows not off.

    A row becomes ``lspec`` = the loss layer (or ``Automatic``), or ``(lspec, Scaled(r))`` when its
    scale is not 1; a loss port becomes ``Scaled(r)`` (the port itself, scaled) or ``Automatic``.
    Raises :class:`~lossviz.errors.SpecError` when every row is off.
    """
    from ..train.spec import Automatic, Scaled

    spec = {}
    for s in _active(settings):
        if s.is_loss_port:
            spec[s.port] = Scaled(s.scale) if s.scale != 1.0 else Automatic
            continue
        inner = Automatic if s.automatic else s.layer()
        spec[s.port] = (inner, Scaled(s.scale)) if s.scale != 1.0 else inner
    return spec


def layer_source(setting) -> str:
    """``losses.get("huber", rho=2.0)`` for a row's chosen loss."""
    args = [repr(setting.choice.name)]
    args += [f"{k}={v!r}" for k, v in {**setting.choice.preset, **setting.options}.items()]
    return f"losses.get({', '.join(args)})"


def loss_function_source(settings):
    """Python source of :func:`loss_function` (None when it is plain Automatic on every port)."""
    active = _active(settings)
    if len(active) == len(settings) and all(s.automatic and s.scale == 1.0 for s in active):
        return None
    items = []
    for s in active:
        if s.is_loss_port:
            value = f"Scaled({s.scale!r})" if s.scale != 1.0 else "Automatic"
        else:
            inner = "Automatic" if s.automatic else layer_source(s)
            value = f"({inner}, Scaled({s.scale!r}))" if s.scale != 1.0 else inner
        items.append(f"{s.port!r}: {value}")
    return "{" + ", ".join(items) + "}"


def nettrain_code(settings, options: dict, *, net="net", data="data", setup: str = "", notes=()) -> str:
    """The NetTrain call that trains with these loss rows and ``options`` (NetTrain keyword -> value).

    ``net`` and ``data`` are the names the call uses; ``setup`` is source placed before it (the
    playground's data set and net); ``notes`` become comment lines at the top (e.g. the changes made
    during the run, which one call cannot replay).
    """
    lf = loss_function_source(settings)
    kwargs = []
    if lf is not None:
        kwargs.append(f"loss_function={lf}")
    kwargs += [f"{k}={_option_source(v)}" for k, v in options.items() if v is not None]
    body = ",\n    ".join([f"{net}, {data}, \"All\""] + kwargs)
    source = f"results = NetTrain(\n    {body},\n)\ntrained = results[\"TrainedNet\"]\n"
    names = ["NetTrain"] + [n for n in ("Automatic", "Scaled") if n + "(" in source or n + "," in source
                                         or n + "}" in source or n + ")" in source]
    imports = f"from lossviz import {', '.join(names)}"
    if "losses.get(" in source:
        imports += ", losses"
    head = "".join(f"# {line}\n" for line in notes)
    return head + imports + "\n" + (setup.rstrip() + "\n" if setup else "") + "\n" + source


def _option_source(v):
    from ..train.spec import Scaled

    if isinstance(v, Scaled):
        return f"Scaled({v.r!r})"
    return repr(v)
