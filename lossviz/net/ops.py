"""Functions on nets: NetInitialize, NetExtract (and Part syntax), NetTake."""
from __future__ import annotations

import numpy as np

from ..errors import NetTypeError, PortError, check_random_seed
from .graph import GRAPH, NetGraph, NetPort
from .layer import Layer

__all__ = ["NetInitialize", "NetExtract", "NetTake"]


def NetInitialize(net, random_seed=None, *, force=False):
    """Return a copy of ``net`` whose parameters all have values.

    Weights are Glorot-uniform, biases zero. Parameters that already have
    values are kept unless ``force=True``. ``random_seed`` is None (fresh
    randomness) or an int >= 0; the same seed gives the same parameters, bit
    for bit, on any machine with the same NumPy version (``numpy.random.default_rng``
    draws scaled by a correctly rounded square root: no sum whose rounding depends
    on the CPU or the thread count).
    """
    if not isinstance(net, Layer):
        raise NetTypeError(f"NetInitialize: expected a layer or net, got {type(net).__name__}")
    rng = np.random.default_rng(check_random_seed(random_seed, "NetInitialize"))
    return net.initialize(rng, force=force)


def NetExtract(net, *path):
    """A layer of a net, or an array of a layer.

    ``NetExtract(net, "name")`` is the layer called "name" (an int is a
    0-based position); ``NetExtract(net, "a", "b")`` goes into nested nets;
    ``NetExtract(layer, "Weights")`` is a parameter array. Part syntax
    ``net["a"]`` and ``net["a", "b"]`` is the same.
    """
    if len(path) == 1 and isinstance(path[0], tuple):
        path = path[0]
    if not path:
        return net
    key, rest = path[0], path[1:]
    if isinstance(net, NetGraph):
        names = list(net.layers)
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            if not -len(names) <= key < len(names):
                raise PortError(f"position {key} is out of range: the net has {len(names)} layers")
            key = names[key]
        if key in net.layers:
            return NetExtract(net.layers[key], *rest)
        raise PortError(f"no layer named {key!r}; the layers are {', '.join(map(repr, names))}")
    inner = getattr(net, "net", None)
    if key == "Net" and inner is not None:
        return NetExtract(inner, *rest)
    shapes = net.param_shapes()
    if key in shapes and not rest:
        if net.params is None or key not in net.params:
            raise PortError(f"{type(net).__name__}: parameter {key!r} is not initialized")
        return np.array(net.params[key])
    raise PortError(
        f"{type(net).__name__} has no part {key!r}; its parameters are {', '.join(map(repr, shapes)) or 'none'}"
    )


def NetTake(net, ports):
    """Keep only what the given output port(s) need.

    ``NetTake(training_net, "Output")`` removes the layers and input ports
    that do not feed "Output" (Wolfram: "remove all but the desired output
    and input"). Ports are names or graph ports, as Wolfram writes
    ``NetTake[net, {NetPort["Input"], NetPort["Output"]}]``:
    ``NetTake(net, [NetPort("Input"), NetPort("Output")])``.
    """
    if not isinstance(net, NetGraph):
        raise NetTypeError(f"NetTake: expected a NetGraph or NetChain, got {type(net).__name__}")
    wanted = [_port_name(p) for p in ([ports] if isinstance(ports, (str, NetPort)) else list(ports))]
    outputs = [p for p in wanted if p not in net.inputs]
    for p in outputs:
        if p not in net.outputs:
            raise PortError(
                f"NetTake: {p!r} is not a port of the net; its outputs are {', '.join(map(repr, net.outputs))}"
            )
    if not outputs:
        raise PortError("NetTake: name at least one output port to keep")
    keep, stack = set(), [net.output_source(p)[0] for p in outputs]
    while stack:
        node = stack.pop()
        if node in keep:
            continue
        keep.add(node)
        for port in net.layers[node].inputs:
            src = net.source_of(node, port)
            if src is not None and src[0] != GRAPH:
                stack.append(src[0])
    layers = {n: l for n, l in net.layers.items() if n in keep}
    in_edges = {k: v for k, v in net._in_edges.items() if k[0] in keep}
    out_map = {p: net.output_source(p) for p in outputs}
    types = {**net.inputs, **net.outputs}
    new = NetGraph.__new__(NetGraph)
    new._assemble(layers, in_edges, out_map, {}, port_types=types, auto_outputs=False)
    for p in wanted:
        if p in net.inputs and p not in new.inputs:
            raise PortError(f"NetTake: input {p!r} does not feed {', '.join(map(repr, outputs))}")
    return new


def _port_name(port):
    """A graph port's name from ``"Output"`` or ``NetPort("Output")`` (a TypeError for anything else)."""
    if isinstance(port, NetPort):
        if len(port.path) != 1:
            raise NetTypeError(f"NetTake: {port!r} names a port of layer {port.path[0]!r}; NetTake keeps ports of "
                               f"the net itself, e.g. NetPort({port.path[1]!r}) when the net has that port")
        return port.path[0]
    if not isinstance(port, str):
        raise NetTypeError(f"NetTake: a port is a name or NetPort(name), got {port!r}")
    return port
