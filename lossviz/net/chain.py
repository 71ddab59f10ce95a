"""NetChain: layers applied one after another."""
from __future__ import annotations

from ..errors import GraphError, NetTypeError
from .graph import NetGraph, _normalize_layer

__all__ = ["NetChain"]


class NetChain(NetGraph):
    """Layers in sequence: the output of each feeds the "Input" of the next.

    Parameters
    ----------
    layers : list or dict
        Layers, or shorthands: an int n is ``LinearLayer(n)``, an activation
        name such as ``"Tanh"`` is ``ElementwiseLayer("Tanh")``, ``"Softmax"``
        is ``SoftmaxLayer()``. A list names the layers "1", "2", ...
    input, output, **port_shapes
        Shapes of the chain's ports, e.g. ``input=2``, ``output="Real"`` or
        ``output=NetDecoder("Class", ["Less", "Greater"])``.

    Examples
    --------
    >>> net = NetChain([16, "Tanh", 2, "Softmax"], input=2)
    """

    def __init__(self, layers, input=None, output=None, **port_shapes):
        if isinstance(layers, dict):
            named = {str(k): _normalize_layer(v, f"layer {k!r}") for k, v in layers.items()}
        elif isinstance(layers, (list, tuple)):
            named = {str(i + 1): _normalize_layer(v, f"layer {i + 1}") for i, v in enumerate(layers)}
        else:
            raise NetTypeError(f"NetChain: layers must be a list or a dict, got {type(layers).__name__}")
        if not named:
            raise GraphError("NetChain: needs at least one layer")
        names = list(named)
        connections = [(a, b) for a, b in zip(names[:-1], names[1:])]
        if input is not None:
            port_shapes["input"] = input
        if output is not None:
            port_shapes["output"] = output
        super().__init__(named, connections, **port_shapes)
