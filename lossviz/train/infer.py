"""Shape inference from training data: undeclared port shapes are read off the examples.

Wolfram's ``NetTrain[LinearLayer[], {1 -> 1.9, 2 -> 4.1, 3 -> 6.0, 4 -> 8.1}]``
trains a net whose ports were never declared: their shapes come from the data.
:func:`infer_shapes` does the same for lossviz before anything is initialized:

* an input port of unknown shape gets the shape of one example of its data
  (``[1, 2, 3, 4]`` -> "Real"; an array ``(n, 2)`` -> a vector of 2; sequences
  of different lengths ``[[a, b], [c]]`` -> ``("Varying",)``);
* an output port still of unknown shape after that gets the Input shape its
  loss declares (``CrossEntropyLossLayer("Index", input=3)``), or else the
  shape of one target, when its loss compares the output with a target of the
  output's own shape (mean squared, mean absolute, "Probabilities" and
  "Binary" cross-entropy...); index targets say how many classes there are
  only through a ``NetDecoder`` or such a declared loss, so an undeclared
  class count stays an error that says what to declare.

Declared sizes are never changed: a declared port that disagrees with the data
raises the usual ShapeError when the data is read. What was inferred is
returned (``{port: shape}``, shapes written as in ``input=``) and recorded in
NetTrain's results as ``results["InferredShapes"]``.
"""
from __future__ import annotations

import numpy as np

from ..net.ports import VARYING, PortType

__all__ = ["infer_shapes", "example_dims"]


def example_dims(data):
    """The per-example shape of a list (or array) of examples, or None when it cannot be read.

    Examples are on the first axis: ``[1.0, 2.0]`` -> ``()``, an array ``(n, 3)``
    -> ``(3,)``. A list of sequences of different lengths whose elements agree
    beyond the first axis gives ``("Varying", *rest)``. Strings, labels and
    single values give None (nothing to infer: an encoder or a decoder reads them).
    """
    if isinstance(data, (str, bytes)) or not isinstance(data, (list, tuple, np.ndarray)):
        return None  # one value, a string, or something that is no list of examples
    try:
        arr = np.asarray(data)
    except ValueError:  # ragged: read each example on its own
        arr = None
    if arr is not None and arr.dtype != object:
        if arr.dtype.kind not in "biuf" or arr.ndim == 0 or len(arr) == 0:
            return None
        return tuple(int(d) for d in arr.shape[1:])
    try:
        shapes = {np.shape(np.asarray(x, dtype=float)) for x in data}
    except (TypeError, ValueError):
        return None
    ranks = {len(s) for s in shapes}
    if len(ranks) != 1 or 0 in ranks or len({s[1:] for s in shapes}) != 1:
        return None
    return (VARYING, *next(iter(shapes))[1:])


def _fill(t: PortType, dims):
    """``t`` with its unknown dimensions taken from ``dims`` (None when they do not fit)."""
    if t.dims is None:
        return dims
    if len(t.dims) != len(dims):
        return None
    merged = []
    for have, got in zip(t.dims, dims):
        if have is None:
            merged.append(got)
        elif have == got or (have == VARYING and isinstance(got, int)):
            merged.append(have)
        else:
            return None
    return tuple(merged)


def _needs(t: PortType) -> bool:
    """True for a port whose shape is not fully known and that no encoder or decoder shapes."""
    return t.coder is None and not t.known


def infer_shapes(net, raw: dict, loss_function):
    """``(net with inferred port shapes, {port: inferred shape})`` from raw training data.

    ``raw`` is the training data as ``{port: examples}`` (see
    :func:`lossviz.train.data.as_port_dict`); ``loss_function`` is NetTrain's,
    used to tell which targets have the shape of their output. Ports whose
    data cannot be read, and ports that are declared, are left as they are.
    """
    from .spec import resolve_loss

    inferred = {}
    ins = {}
    for port, t in net.inputs.items():
        if _needs(t) and port in raw:
            dims = example_dims(raw[port])
            dims = None if dims is None else _fill(t, dims)
            if dims is not None:
                ins[port] = PortType(dims, t.kind)
    if ins:
        net = net.refine(ins=ins)
        inferred.update({p: net.inputs[p].spec() for p in ins})
    open_outputs = [p for p, t in net.outputs.items() if _needs(t) and p in raw]
    if not open_outputs:
        return net, inferred
    try:
        spec = resolve_loss(net, loss_function, raw)
    except ValueError:
        return net, inferred  # the loss specification's own error is raised by NetTrain later
    outs = {}
    for term in spec.terms:
        if term.port not in open_outputs or term.target is None or term.loss is None:
            continue
        declared = term.loss.inputs.get("Input")
        if declared is not None and declared.known:  # the loss says it: CrossEntropyLossLayer("Index", input=3)
            outs[term.port] = PortType(declared.dims)
            continue
        target_type = term.loss.inputs.get("Target")
        if target_type is None or target_type.kind == "Integer" or target_type.coder is not None:
            continue  # index targets lack the class axis: only a NetDecoder gives the class count
        dims = example_dims(raw[term.target])
        dims = None if dims is None else _fill(net.outputs[term.port], dims)
        if dims is not None:
            outs[term.port] = PortType(dims)
    if outs:
        net = net.refine(outs=outs)
        inferred.update({p: net.outputs[p].spec() for p in outs})
    return net, inferred
