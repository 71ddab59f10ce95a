"""LossFunction specifications: every form of Wolfram's NetTrain option, resolved.

=========================================  ===============================================
``loss_function=``                         meaning
=========================================  ===============================================
``Automatic`` (default)                    attach a loss to every output port, or use the
                                           net's existing loss outputs
``"Port"``                                 the output port "Port" is a loss to minimize
a loss layer or loss net                   attach it to the net's only output port
``("Port", lspec)``, ``{"Port": lspec}``   a loss for one output; lspec a loss layer, a
                                           loss net, ``Automatic`` or ``Scaled(r)``
``[spec1, spec2, ...]``                    minimize several losses at once
``(lspec, Scaled(r))``                     scale a loss by r (negative r maximizes)
=========================================  ===============================================

Strings always mean ports: a registry name such as ``"huber"`` is not a loss
spec, ``lossviz.losses.get("huber")`` is.

Automatic attachment follows the layer that produces the output port:

=====================================  ==========================================
producer                               attached loss
=====================================  ==========================================
SoftmaxLayer                           CrossEntropyLossLayer("Index"), or
                                       ("Probabilities") for probability targets
ElementwiseLayer("LogisticSigmoid")    CrossEntropyLossLayer("Binary")
NetPairEmbeddingOperator               ContrastiveLossLayer()
a loss layer                           used unchanged (the port is a loss)
anything else                          MeanSquaredLossLayer()
=====================================  ==========================================
"""
from __future__ import annotations

import html
import numbers
from dataclasses import dataclass, field

import numpy as np

from ..errors import NetTypeError, SpecError
from ..net.graph import NetGraph
from ..net.layer import Layer
from ..net.ports import PortType

__all__ = ["Automatic", "Scaled", "LossTerm", "LossSpecification", "resolve_loss"]


class _AutomaticType:
    """The default of ``loss_function``: choose losses automatically."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self):
        return "Automatic"

    def __reduce__(self):
        return (_AutomaticType, ())


Automatic = _AutomaticType()


class Scaled:
    """``Scaled(r)``: multiply a loss by the real number r (negative r maximizes it)."""

    def __init__(self, r):
        if isinstance(r, bool) or not isinstance(r, numbers.Real) or not np.isfinite(r):
            raise SpecError(f"Scaled needs a finite real number, got {r!r}")
        self.r = float(r)

    def __repr__(self):
        return f"Scaled({self.r:g})"

    def __eq__(self, other):
        return isinstance(other, Scaled) and other.r == self.r

    def __hash__(self):
        return hash(("Scaled", self.r))


@dataclass(frozen=True)
class LossTerm:
    """One resolved loss.

    port : the net's output port the loss reads.
    loss : the attached loss layer/net, or None when ``port`` is itself a loss.
    scale : the factor r of ``Scaled(r)``.
    target : the data key feeding the loss's "Target" (the port's name), or None.
    weight : True if the loss takes a "Weight" from the data when given.
    reason : why this loss (for automatic choices).
    names : the sub-loss names this term reports (one per loss output).
    """

    port: str
    loss: Layer | None
    scale: float = 1.0
    target: str | None = None
    weight: bool = False
    reason: str = ""
    names: tuple = field(default=())

    def describe(self) -> str:
        what = "the port itself" if self.loss is None else _short(self.loss)
        text = f"{self.port!r}: {what}"
        if self.scale != 1.0:
            text += f" \u00d7 {self.scale:g}"
        if self.target:
            text += f", target from data {self.target!r}"
        return text


def _short(layer):
    cfg = layer.config()
    form = cfg.get("form")
    if form is not None:
        return f"{type(layer).__name__}({form!r})"
    return f"{type(layer).__name__}()"


@dataclass(frozen=True)
class LossSpecification:
    """The resolved LossFunction: what NetTrain minimizes, and why.

    ``terms`` lists :class:`LossTerm`; the total loss is
    ``sum(term.scale * mean over the batch of term's loss)``.
    """

    terms: tuple

    @property
    def sub_loss_names(self):
        return tuple(n for t in self.terms for n in t.names)

    def __repr__(self):
        lines = ["LossSpecification:"]
        for t in self.terms:
            lines.append(f"  {t.describe()}")
            if t.reason:
                lines.append(f"      ({t.reason})")
        return "\n".join(lines)

    def _repr_html_(self):
        rows = "".join(
            f"<tr><td>{html.escape(t.port)}</td><td>{html.escape(_short(t.loss) if t.loss else 'the port itself')}</td>"
            f"<td>{t.scale:g}</td><td>{html.escape(t.target or '')}</td><td>{html.escape(t.reason)}</td></tr>"
            for t in self.terms
        )
        return ("<table><thead><tr><th>port</th><th>loss</th><th>scale</th><th>target</th><th>why</th>"
                f"</tr></thead><tbody>{rows}</tbody></table>")


# ---------------------------------------------------------------------- resolving
def _producer(net, port):
    if isinstance(net, NetGraph):
        return net.producer(port)
    producer = getattr(net, "producer", None)
    return producer(port) if producer else net


def _is_loss_port(net, port):
    return bool(getattr(_producer(net, port), "is_loss", False))


def _has_parameters(layer):
    """True when the layer (or a layer inside the net) has trainable parameters."""
    def any_shape(shapes):
        return any(any_shape(v) if isinstance(v, dict) else True for v in shapes.values())

    try:
        return any_shape(layer.param_shapes())
    except (TypeError, ValueError, AttributeError):
        return False


def _check_loss_net(layer, where):
    """A loss layer or a net with "Input" and optional "Target"/"Weight" ports."""
    if not getattr(layer, "is_loss", False) and _has_parameters(layer):
        raise SpecError(
            f"{where}: a {type(layer).__name__} is not a loss: it has trainable parameters. Pass a loss layer "
            f"(e.g. MeanSquaredLossLayer(), or lossviz.losses.get(name)) or a parameter-free net with an "
            f"'Input' and optional 'Target' port that outputs the loss"
        )
    ins = set(layer.inputs)
    allowed = {"Input", "Target", "Weight"}
    if "Input" not in ins or not ins <= allowed or not layer.outputs:
        raise SpecError(
            f"{where}: {type(layer).__name__} cannot be a loss: a loss takes an 'Input' and optional "
            f"'Target' port and outputs the loss, but its inputs are {', '.join(map(repr, layer.inputs))}"
            + ("; name a ThreadingLayer's ports with inputs=['Input', 'Target']" if ins and "Input" not in ins else "")
        )
    return layer


def _class_targets(net, port):
    t = net.outputs[port]
    return t.coder if (t.coder is not None and getattr(t.coder, "type", None) == "Class") else None


def _looks_like_probabilities(target, out_type: PortType):
    """True if the data for a softmax output are probability vectors rather than indices."""
    if target is None or out_type.dims is None:
        return False
    try:
        arr = np.asarray(target, dtype=float)
    except (TypeError, ValueError):
        return False
    return arr.ndim == len(out_type.dims) + 1 and arr.shape[-1] == out_type.dims[-1]


def _automatic_loss(net, port, target_data):
    from .. import losses

    producer = _producer(net, port)
    name = type(producer).__name__
    out_type = net.outputs[port]
    if name == "SoftmaxLayer":
        coder = _class_targets(net, port)
        if coder is None and _looks_like_probabilities(target_data, out_type):
            return losses.CrossEntropyLossLayer("Probabilities"), (
                f"{port!r} comes from a SoftmaxLayer and the targets are probability vectors")
        via = f" (targets encoded by {coder!r})" if coder is not None else ""
        return losses.CrossEntropyLossLayer("Index"), f"{port!r} comes from a SoftmaxLayer{via}"
    if name == "ElementwiseLayer" and getattr(producer, "function", None) == "LogisticSigmoid":
        return losses.CrossEntropyLossLayer("Binary"), f"{port!r} comes from ElementwiseLayer('LogisticSigmoid')"
    if name == "NetPairEmbeddingOperator":
        return losses.ContrastiveLossLayer(), f"{port!r} comes from a NetPairEmbeddingOperator"
    return losses.MeanSquaredLossLayer(), f"{port!r} comes from {name}, not a softmax, sigmoid or embedding"


def _attach(net, port, loss, scale, reason, where):
    loss = _check_loss_net(loss, where)
    out_type = net.outputs[port]
    try:
        loss = loss.refine(ins={"Input": PortType(out_type.dims, out_type.kind)}, name=type(loss).__name__)
    except ValueError as e:
        raise SpecError(f"{where}: the loss does not fit output {port!r} ({out_type.describe()}): {e}") from None
    names = tuple(loss.outputs)
    names = (port,) if len(names) == 1 else tuple(f"{port}/{n}" for n in names)
    return LossTerm(
        port=port, loss=loss, scale=scale, target=port if "Target" in loss.inputs else None,
        weight="Weight" in loss.inputs, reason=reason, names=names,
    )


def _port_term(net, port, scale, where):
    if port not in net.outputs:
        if port in net.inputs:
            raise SpecError(f"{where}: {port!r} is an input port; a loss must be an output port "
                            f"({', '.join(map(repr, net.outputs))})")
        hint = ""
        try:
            from .. import losses

            if port.lower() in {n.lower() for n in losses.names()}:
                hint = f"; to use the registered loss {port!r}, pass lossviz.losses.get({port!r})"
        except ImportError:  # pragma: no cover
            pass
        raise SpecError(f"{where}: the net has no output port {port!r}; its outputs are "
                        f"{', '.join(map(repr, net.outputs))}{hint}")
    t = net.outputs[port]
    if t.coder is not None or t.kind != "Real":
        raise SpecError(f"{where}: output {port!r} ({t.describe()}) is not a loss: a loss port carries real numbers")
    reason = "" if _is_loss_port(net, port) else f"{port!r} is used as a loss as it is (array values are summed)"
    return LossTerm(port=port, loss=None, scale=scale, reason=reason, names=(port,))


def _split_scale(spec, where):
    """``(lspec, Scaled(r))`` -> (lspec, r); ``Scaled(r)`` -> (Automatic, r)."""
    if isinstance(spec, Scaled):
        return None, spec.r
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Scaled):
        return spec[0], spec[1].r
    if isinstance(spec, tuple) and len(spec) == 2 and spec[1] is not None and not isinstance(spec[0], str):
        if isinstance(spec[1], (numbers.Number, str)):
            raise SpecError(f"{where}: write a scale as Scaled(r), e.g. (loss, Scaled({spec[1]!r}))")
    return spec, 1.0


def _port_spec(net, port, lspec, data, where):
    inner, scale = _split_scale(lspec, where)
    if inner is None:  # ("Port", Scaled(r)): the port itself is a loss, as in Wolfram
        return [_port_term(net, port, scale, where)]
    if port not in net.outputs:
        _port_term(net, port, scale, where)  # raises the right error
    if inner is Automatic:
        if _is_loss_port(net, port):
            return [_port_term(net, port, scale, where)]
        loss, reason = _automatic_loss(net, port, data.get(port))
        return [_attach(net, port, loss, scale, "Automatic: " + reason, where)]
    if isinstance(inner, Layer):
        return [_attach(net, port, inner, scale, "", where)]
    raise SpecError(f"{where}: a port's loss must be a loss layer, a loss net, Automatic or Scaled(r); "
                    f"got {inner!r}")


def _resolve(net, spec, data, where):
    if spec is Automatic or spec is None:
        loss_ports = [p for p in net.outputs if _is_loss_port(net, p)]
        if loss_ports:
            return [_port_term(net, p, 1.0, where) for p in loss_ports]
        terms = []
        for p in net.outputs:
            loss, reason = _automatic_loss(net, p, data.get(p))
            terms.append(_attach(net, p, loss, 1.0, "Automatic: " + reason, where))
        return terms
    if isinstance(spec, str):
        return [_port_term(net, spec, 1.0, where)]
    if isinstance(spec, Scaled):
        raise SpecError(f"{where}: Scaled({spec.r:g}) needs a loss to scale, e.g. ('Loss', Scaled({spec.r:g}))")
    if isinstance(spec, Layer):
        if len(net.outputs) != 1:
            raise SpecError(
                f"{where}: a single loss layer attaches to the net's only output, but this net has outputs "
                f"{', '.join(map(repr, net.outputs))}; write ('Port', loss) for one of them"
            )
        return [_attach(net, next(iter(net.outputs)), spec, 1.0, "", where)]
    if isinstance(spec, dict):
        terms = []
        for port, lspec in spec.items():
            if not isinstance(port, str):
                raise SpecError(f"{where}: keys of a loss dict are port names, got {port!r}")
            terms += _port_spec(net, port, lspec, data, f"{where}[{port!r}]")
        return terms
    if isinstance(spec, tuple):
        if len(spec) == 2 and isinstance(spec[0], str):
            return _port_spec(net, spec[0], spec[1], data, where)
        inner, scale = _split_scale(spec, where)
        if scale != 1.0 or inner is not spec:
            terms = _resolve(net, inner, data, where)
            return [_rescale(t, scale) for t in terms]
        raise SpecError(f"{where}: cannot read a loss specification from {spec!r}; expected ('Port', lspec) "
                        f"or (lspec, Scaled(r))")
    if isinstance(spec, list):
        if not spec:
            raise SpecError(f"{where}: an empty list of losses")
        terms = []
        for i, s in enumerate(spec):
            terms += _resolve(net, s, data, f"{where}[{i}]")
        return terms
    raise SpecError(f"{where}: cannot read a loss specification from {spec!r} of type {type(spec).__name__}"
                    f"{_spec_hint(spec)}")


def _spec_hint(spec):
    """What a student probably meant by a loss specification lossviz cannot read."""
    if isinstance(spec, type) and issubclass(spec, Layer):
        return f"; a layer class is not a layer: did you mean {spec.__name__}() (with parentheses)?"
    if callable(spec):
        return ("; a Python function is not a loss layer: register it with lossviz.losses.register('name') and "
                "pass lossviz.losses.get('name'), or wrap it in ThreadingLayer(f, inputs=['Input', 'Target'])")
    return ("; expected Automatic, a port name, a loss layer or net, ('Port', lspec), (lspec, Scaled(r)), "
            "a list of these or a dict {port: lspec}")


def _rescale(term, r):
    from dataclasses import replace

    return replace(term, scale=term.scale * r)


def resolve_loss(net, loss_function=Automatic, data=None) -> LossSpecification:
    """Resolve ``loss_function`` for ``net`` (see the module docstring).

    ``data`` (port -> raw data) lets Automatic tell index targets from
    probability targets; it is only peeked at.
    """
    if not isinstance(net, Layer):
        raise NetTypeError(f"NetTrain: expected a net, got {type(net).__name__}")
    terms = _resolve(net, loss_function, dict(data or {}), "loss_function")
    return LossSpecification(tuple(_distinct_names(terms)))


def _distinct_names(terms):
    """Several losses on one port (theanets' add_loss) report as "Port/LossName"."""
    from dataclasses import replace

    counts = {}
    for t in terms:
        for n in t.names:
            counts[n] = counts.get(n, 0) + 1
    out, seen = [], set()
    for t in terms:
        if any(counts[n] > 1 for n in t.names):
            if t.loss is None:
                raise SpecError(f"loss_function: the port {t.port!r} is given twice as a loss")
            t = replace(t, names=tuple(f"{n}/{type(t.loss).__name__}" for n in t.names))
        for n in t.names:
            if n in seen:
                raise SpecError(f"loss_function: the same loss {type(t.loss).__name__} on {t.port!r} is given twice")
            seen.add(n)
        out.append(t)
    return out


def describe_change(old, new):
    """What changed between two LossSpecifications, in one line ("'Output': MSE() -> Huber(...)")."""
    def by_port(spec):
        return {t.port: t for t in spec.terms}

    before, after = by_port(old), by_port(new)
    parts = []
    for port in list(before) + [p for p in after if p not in before]:
        a, b = before.get(port), after.get(port)
        if a is None:
            parts.append(f"{port!r}: + {_term_text(b)}")
        elif b is None:
            parts.append(f"{port!r}: off")
        elif _term_text(a) != _term_text(b):
            parts.append(f"{port!r}: {_term_text(a)} -> {_term_text(b)}")
    return "; ".join(parts) or "loss unchanged"


def _term_text(term):
    if term.loss is None:
        what = "the port"
    else:
        opts = {k: v for k, v in term.loss.config().items() if k.lower() not in
                {p.lower() for p in (*term.loss.inputs, *term.loss.outputs)}}
        what = type(term.loss).__name__.removesuffix("Layer")
        if opts:
            what += "(" + ", ".join(f"{k}={v!r}" for k, v in opts.items()) + ")"
    return what if term.scale == 1.0 else f"{what} x{term.scale:g}"
