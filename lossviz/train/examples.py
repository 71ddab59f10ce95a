"""The loss of each example under a loss specification.

:func:`example_losses` answers "which examples does this loss care about?":
for a data set of n examples it returns the (n,) array whose entry i is the
total loss NetTrain would report for a batch holding example i alone,

    loss_i = sum over terms k of  scale_k * L_k(net(x_i), t_i)

with array-valued losses summed over their elements, as in training. The mean
of the array is the loss of the whole data set (every loss in the catalogue
is a mean over examples), so the entries show how much each example adds.
"""
from __future__ import annotations

import numpy as np

from .data import as_port_dict, read_data
from .spec import Automatic, resolve_loss
from .steps import sub_losses_per_example

__all__ = ["example_losses"]


def example_losses(net, data, loss_function=Automatic, *, spec=None, chunk=4096):
    """The loss of every example of ``data``: an (n,) float64 array.

    Parameters
    ----------
    net : an initialized net.
    data : any data form NetTrain takes: ``{port: examples}``, ``(inputs,
        targets)`` or a list of (input, target) pairs; class labels are encoded
        by the net's decoder.
    loss_function : any LossFunction form (default Automatic), resolved as
        NetTrain resolves it; ignored when ``spec`` (a resolved
        LossSpecification) is given.
    chunk : examples evaluated at once (bounds memory for large sets).

    Entry i equals the loss layer(s) evaluated on example i alone, scaled and
    summed over the specification's terms; computed in float64 by the engine.
    """
    from ..errors import NetTypeError
    from ..net.layer import Layer

    if not isinstance(net, Layer):
        raise NetTypeError(f"example_losses: net must be a lossviz net, got {type(net).__name__}")
    if not net.initialized:
        raise NetTypeError("example_losses: the net is not initialized; use NetInitialize(net) or NetTrain")
    in_port = next(iter(net.inputs)) if len(net.inputs) == 1 else None
    out_port = next(iter(net.outputs)) if len(net.outputs) == 1 else None
    raw = as_port_dict(data, in_port, out_port)
    if spec is None:
        spec = resolve_loss(net, loss_function, raw)
    arrays = read_data(net, spec, raw, "data")
    n = len(next(iter(arrays.values())))
    scales = [t.scale for t in spec.terms for _ in t.names]
    total = np.zeros(n)
    with np.errstate(all="ignore"):
        for lo in range(0, n, chunk):
            rows = {p: a[lo:lo + chunk] for p, a in arrays.items()}
            outs = net.apply(net.params, {p: rows[p] for p in net.inputs if p in rows})
            for scale, values in zip(scales, sub_losses_per_example(spec, outs, rows)):
                total[lo:lo + chunk] += scale * np.asarray(values, dtype=float)
    return total
