"""Which losses fit a net's output port: plain functions the loss rows call (no widgets here).

A registry loss *fits* output ``port`` when lossviz can attach it there and train with the given
data: :func:`lossviz.train.resolve_loss` accepts ``{port: loss}``, :func:`read_data` reads the
targets it needs from the data, and the loss evaluates to finite numbers on the first few examples.
That is decided by trying (a handful of milliseconds per loss), not by a hand-kept table, so a
newly registered loss appears in the panel when it fits.

>>> choices = fitting_losses(net, (X, labels), "Output")
>>> [c.label for c in choices]          # ['cross_entropy (Index)', 'hinge', 'focal', ...]
>>> choices[0].layer(gamma=2.0)         # the configured loss layer
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, LossvizError, NetTypeError

__all__ = ["LossChoice", "fitting_losses", "automatic_loss", "port_data", "output_rows", "head"]


@dataclass(frozen=True)
class LossChoice:
    """One entry of a port's loss menu.

    label : what the menu shows ("huber", "cross_entropy (Binary)").
    name : the registry's canonical name.
    preset : options fixed by the entry (a registry preset such as ``{"form": "Binary"}``).
    """

    label: str
    name: str
    preset: dict = field(default_factory=dict)

    def layer(self, **options):
        """The loss layer with this entry's preset and ``options`` (the options win)."""
        from .. import losses

        return losses.get(self.name, **{**self.preset, **options})


def head(values, k):
    """The first ``k`` examples of one port's data (array, list or anything sliceable)."""
    try:
        return values[:k]
    except TypeError:
        return list(values)[:k]


def port_data(net, data):
    """``data`` in any NetTrain form -> ``{port: raw examples}`` (not yet read)."""
    from ..train.data import as_port_dict

    data = getattr(data, "train", data)  # a lossviz.datasets DataSet trains on its .train part
    ins = [p for p in net.inputs if p not in net.optional_inputs]
    outs = list(net.outputs)
    return as_port_dict(data, ins[0] if len(ins) == 1 else None, outs[0] if len(outs) == 1 else None)


def _initialized(net):
    from ..net.ops import NetInitialize

    return net if net.initialized else NetInitialize(net, random_seed=0)


def output_rows(net):
    """The ports a panel shows a loss row for: ``[(port, is_loss_port)]``, every output of the net."""
    from ..train.spec import _is_loss_port

    return [(p, bool(_is_loss_port(net, p))) for p in net.outputs]


def _subset(raw, net, port, k):
    """The net's inputs, ``port``'s targets and the weights, first ``k`` examples."""
    keep = set(net.inputs) | {port, "Weight"}
    return {p: head(v, k) for p, v in raw.items() if p in keep}


def _fits(net, port, layer, raw):
    from ..train.data import read_data
    from ..train.spec import resolve_loss
    from .views import point_losses

    spec = resolve_loss(net, {port: layer}, raw)
    arrays = read_data(net, spec, raw)
    values = point_losses(net, spec, arrays)
    return bool(np.all(np.isfinite(values)))


def fitting_losses(net, data, port, *, examples=8) -> list:
    """The registry losses that fit output ``port`` of ``net`` with ``data``, as :class:`LossChoice` s.

    Every registry entry is tried with its default options and with each of its presets (so
    ``cross_entropy`` can appear as "cross_entropy (Index)" and "cross_entropy (Binary)"); an entry
    whose options have no usable defaults (e.g. the CTC loss's blank class) is listed when one of its
    presets fits. Choices that build the same layer appear once. ``examples``: how many examples the
    trial evaluation reads.
    """
    from .. import losses
    from ..net.layer import Layer

    if not isinstance(net, Layer):
        raise NetTypeError(f"fitting_losses: expected a lossviz net, got {type(net).__name__}")
    if port not in net.outputs:
        raise DataError(f"fitting_losses: the net has no output port {port!r}; its outputs are "
                        f"{', '.join(map(repr, net.outputs))}")
    trial_net = _initialized(net)
    raw = _subset(port_data(net, data), net, port, examples)
    found, seen = [], set()
    for entry in losses.catalogue():
        candidates = [(entry.name, {})] + [(alias, dict(opts)) for alias, opts in entry.presets.items()]
        for label, preset in candidates:
            try:
                layer = losses.get(entry.name, **preset)
                key = (type(layer).__name__, repr(sorted(layer.config().items())))
                if key in seen:
                    continue
                if _fits(trial_net, port, layer, raw):
                    seen.add(key)
                    text = entry.name if not preset else f"{label} ({entry.name}: "
                    text += "" if not preset else ", ".join(f"{k}={v!r}" for k, v in preset.items()) + ")"
                    found.append(LossChoice(text, entry.name, preset))
            except (LossvizError, ValueError, TypeError, KeyError, IndexError, ZeroDivisionError):
                continue
    return found


def automatic_loss(net, data, port) -> str:
    """What ``Automatic`` resolves to on ``port``, as the menu shows it.

    ``"Automatic: CrossEntropyLossLayer('Index')"``; ``"Automatic: the port itself"`` on a loss port.
    """
    from ..train.spec import Automatic, _short, resolve_loss

    raw = _subset(port_data(net, data), net, port, 8)
    term = resolve_loss(net, {port: Automatic}, raw).terms[0]
    return "Automatic: " + ("the port itself" if term.loss is None else _short(term.loss))
