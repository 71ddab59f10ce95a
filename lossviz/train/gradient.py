"""One forward and backward pass, outside NetTrain (Gluon's ``autograd.record(); l.backward()``)."""
from __future__ import annotations

from ..net.layer import Layer
from ..net.ops import NetInitialize
from ..errors import NetTypeError
from .data import as_port_dict
from .infer import infer_shapes
from .spec import Automatic, resolve_loss

__all__ = ["loss_and_gradient"]


def loss_and_gradient(net, data, loss_function=Automatic):
    """The loss of ``net`` on ``data`` and its gradient with respect to the parameters.

    ``data`` and ``loss_function`` take every form NetTrain takes. Returns
    ``(loss, gradient)``: the total loss (batch mean, scales applied) and a
    parameter tree shaped like ``net.params``. An uninitialized net is
    initialized with seed 0 first.

    The Gluon loop

        with autograd.record():
            l = loss(net(X), y)
        l.backward()

    computes the same kind of step with one difference of scale: Gluon's ``l``
    holds one loss per example and ``l.backward()`` differentiates their SUM,
    while this function differentiates their MEAN (as NetTrain does). For a
    batch of n examples, Gluon's gradient is ``n`` times ``grads`` of
    ``loss, grads = loss_and_gradient(net, (X, y), loss)``.
    """
    from .data import read_data
    from .steps import AutogradStep

    if not isinstance(net, Layer):
        raise NetTypeError(f"loss_and_gradient: expected a net, got {type(net).__name__}")
    in_port = next(iter(net.inputs)) if len(net.inputs) == 1 else None
    out_port = next(iter(net.outputs)) if len(net.outputs) == 1 else None
    raw = as_port_dict(data, in_port, out_port)
    net, _ = infer_shapes(net, raw, loss_function)  # undeclared port shapes from the data, as NetTrain
    if not net.initialized:
        net = NetInitialize(net, random_seed=0)
    spec = resolve_loss(net, loss_function, raw)
    step = AutogradStep(net, spec)
    subs, grads = step.step(read_data(net, spec, raw, "data"))
    scales = [t.scale for t in spec.terms for _ in t.names]
    return float(subs @ scales), step.params(grads)
