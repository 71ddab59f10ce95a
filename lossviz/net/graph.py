"""NetGraph: layers wired by named ports; NetPort names the ends of a wire.

A connection is a tuple ``(src, dst)``; a longer tuple ``(a, b, c)`` chains.
An end is

* a layer name: its only output (as a source) or its "Input" (as a destination);
* ``NetPort("Name")``: a port of the graph itself;
* ``NetPort("layer", "Port")``: one port of a layer;
* a list of sources ``(["a", "b"], "cat")``: the destination layer's inputs in order.

Layer inputs that no connection feeds become graph inputs named after the
layer's port (two layers with an unconnected "Target" share the graph's
"Target"); unconnected layer outputs become graph outputs, as in Wolfram.
"""
from __future__ import annotations

import numpy as np

from ..errors import GraphError, NetTypeError, PortError
from .layer import Layer, match_port_kwargs
from .ports import UNKNOWN, port_type, unify

__all__ = ["NetGraph", "NetPort"]

GRAPH = ""  # node name of the graph's own ports in edge tuples


class NetPort:
    """A port of a graph, ``NetPort("Output")``, or of one layer, ``NetPort("lin", "Input")``."""

    def __init__(self, *path):
        if not 1 <= len(path) <= 2 or not all(isinstance(p, (str, int)) for p in path):
            raise NetTypeError(f"NetPort takes a port name or (layer, port), got {path!r}")
        self.path = tuple(str(p) if isinstance(p, int) else p for p in path)

    def __repr__(self):
        return f"NetPort({', '.join(map(repr, self.path))})"

    def __eq__(self, other):
        return isinstance(other, NetPort) and other.path == self.path

    def __hash__(self):
        return hash(self.path)


def _normalize_layer(x, where):
    from .layers import ElementwiseLayer, LinearLayer

    if isinstance(x, Layer):
        return x
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return LinearLayer(int(x))
    if isinstance(x, tuple) and all(isinstance(d, int) for d in x):
        return LinearLayer(x)
    if isinstance(x, str):
        if x == "Softmax":
            from .layers import SoftmaxLayer

            return SoftmaxLayer()
        return ElementwiseLayer(x)
    if callable(x):
        return ElementwiseLayer(x)
    raise NetTypeError(
        f"{where}: expected a layer, an int (LinearLayer), or an activation name, got {x!r}"
    )


def _node_key(name, layers):
    if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
        name = str(name)
    if name not in layers:
        raise PortError(f"no layer named {name!r}; the layers are {', '.join(map(repr, layers))}")
    return name


class NetGraph(Layer):
    """A net of layers connected by named ports.

    Parameters
    ----------
    layers : list or dict
        Layers (or shorthands: an int is ``LinearLayer(n)``, an activation
        name is ``ElementwiseLayer(name)``). A list names them "1", "2", ...
    connections : sequence of tuples
        See the module docstring.
    **port_shapes
        Shapes of the graph's ports by name, e.g. ``Input=2``,
        ``Output=NetDecoder("Class", ["a", "b"])`` (names case-insensitive).
    """

    def __init__(self, layers, connections=(), **port_shapes):
        if isinstance(layers, dict):
            named = {str(k): _normalize_layer(v, f"layer {k!r}") for k, v in layers.items()}
        elif isinstance(layers, (list, tuple)):
            named = {str(i + 1): _normalize_layer(v, f"layer {i + 1}") for i, v in enumerate(layers)}
        else:
            raise NetTypeError(f"NetGraph: layers must be a list or a dict, got {type(layers).__name__}")
        if not named:
            raise GraphError("NetGraph: needs at least one layer")
        if isinstance(connections, dict):
            connections = list(connections.items())
        in_edges, out_map = _parse_connections(named, connections)
        self._assemble(named, in_edges, out_map, port_shapes)

    # ------------------------------------------------------------------ building
    def _assemble(self, layers, in_edges, out_map, port_shapes, port_types=None, auto_outputs=True):
        """Complete the wiring, order the layers, infer every port type."""
        in_edges = dict(in_edges)
        for name, layer in layers.items():
            for port in layer.inputs:
                # an optional input (a loss's "Weight") is a graph port only when connected to one
                if port not in layer.optional_inputs:
                    in_edges.setdefault((name, port), (GRAPH, port))
        fed = {src for src in in_edges.values()}
        explicit = set(out_map)
        out_map = dict(out_map)
        used_outputs = set(out_map.values()) | fed
        for name, layer in layers.items() if auto_outputs else ():
            for port in layer.outputs:
                if (name, port) not in used_outputs:
                    if port in out_map:
                        other = out_map[port]
                        clash = (f"graph output {port!r} is fed by layer {other[0]!r} and layer {name!r} "
                                 f"leaves its output {port!r} unconnected" if port in explicit else
                                 f"layers {other[0]!r} and {name!r} both leave an output {port!r} unconnected")
                        raise GraphError(
                            f"{clash}; connect them to graph ports with distinct names, e.g. "
                            f"({name!r}, NetPort({port + '2'!r}))"
                        )
                    out_map[port] = (name, port)
        order = _topological_order(layers, in_edges)  # first: a cycle also leaves no output unconnected
        if not out_map:
            raise GraphError("NetGraph: the graph has no output ports")
        graph_inputs = []
        for node, port in in_edges.values():
            if node == GRAPH and port not in graph_inputs:
                graph_inputs.append(port)
        clash = set(graph_inputs) & set(out_map)
        if clash:
            port = sorted(clash)[0]
            readers = sorted({n for (n, _), src in in_edges.items() if src == (GRAPH, port)}, key=list(layers).index)
            feeder = out_map[port][0]
            if feeder in readers:
                why = (f"that is a cycle through NetPort({port!r}): layer {feeder!r} would take its own output "
                       f"as input")
            else:
                why = (f"a graph port is either an input or an output; to feed layer {readers[0]!r} from layer "
                       f"{feeder!r}, connect them directly: ({feeder!r}, {readers[0]!r})")
            raise GraphError(
                f"NetGraph: {port!r} is both an input and an output port of the graph (layer {feeder!r} feeds "
                f"NetPort({port!r}) and layer {readers[0]!r} reads it); {why}"
            )

        self.layers = dict(layers)
        self._in_edges = in_edges
        self._out_map = out_map
        self.input_names = tuple(graph_inputs)
        self.output_names = tuple(out_map)
        self.order = order
        self.optional_inputs = tuple(
            p for p in graph_inputs
            if all(layers[n].optional_inputs and q in layers[n].optional_inputs
                   for (n, q), src in in_edges.items() if src == (GRAPH, p))
        )
        specs = match_port_kwargs(self.input_names + self.output_names, port_shapes,
                                  owner=type(self).__name__)
        types = dict(port_types or {})
        self.inputs = {p: port_type(specs.get(p), port=p) if p in specs else types.get(p, UNKNOWN)
                       for p in self.input_names}
        self.outputs = {p: port_type(specs.get(p), port=p) if p in specs else types.get(p, UNKNOWN)
                        for p in self.output_names}
        self._infer()

    def _infer(self):
        """Unify the types at both ends of every wire until nothing changes."""
        for _ in range(100):
            before = (dict(self.inputs), dict(self.outputs), {n: (l.inputs, l.outputs) for n, l in self.layers.items()})
            for (node, port), (snode, sport) in self._in_edges.items():
                dst = self.layers[node]
                where = f"connection {_end_name(snode, sport, True)} -> {_end_name(node, port, False)}"
                # unify(expected, got): the destination expects its type and gets the source's
                if snode == GRAPH:
                    t = unify(dst.inputs[port], self.inputs[sport], where=where)
                    self.inputs[sport] = t
                else:
                    src = self.layers[snode]
                    t = unify(dst.inputs[port], src.outputs[sport], where=where)
                    self.layers[snode] = src.refine(outs={sport: _bare(t, src.outputs[sport])}, name=snode)
                self.layers[node] = self.layers[node].refine(ins={port: t}, name=node)
            for gport, (node, port) in self._out_map.items():
                src = self.layers[node]
                where = f"connection {_end_name(node, port, True)} -> NetPort({gport!r})"
                t = unify(self.outputs[gport], src.outputs[port], where=where)
                self.outputs[gport] = t
                self.layers[node] = src.refine(outs={port: t}, name=node)
            after = (self.inputs, self.outputs, {n: (l.inputs, l.outputs) for n, l in self.layers.items()})
            if before == after:
                return
        raise GraphError("NetGraph: shape inference did not settle")  # pragma: no cover

    # ------------------------------------------------------------------ parameters
    @property
    def params(self):
        """``{layer name: params}`` for the layers that have parameters (None if any is uninitialized)."""
        if not self.initialized:
            return None
        return {n: l.params for n, l in self.layers.items() if _has_params(l)}

    @params.setter
    def params(self, value):  # Layer.__init__ compatibility; graphs keep params in their layers
        if value is not None:
            raise AttributeError("set a graph's parameters with with_params()")

    @property
    def initialized(self):
        return all(l.initialized for l in self.layers.values())

    def param_shapes(self):
        # each layer's shapes once: asking _has_params first would double the work per nesting level
        shapes = {n: l.param_shapes() for n, l in self.layers.items()}
        return {n: s for n, s in shapes.items() if s}

    @property
    def parameter_count(self):
        counts = [l.parameter_count for l in self.layers.values()]
        return None if any(c is None for c in counts) else int(sum(counts))

    def initialize(self, rng, *, force=False, name=None):
        layers = {n: l.initialize(rng, force=force, name=n) for n, l in self.layers.items()}
        return self._replace(layers=layers)

    def with_params(self, params):
        params = params or {}
        unknown = set(params) - set(self.layers)
        if unknown:
            raise PortError(f"parameters given for unknown layer {sorted(unknown)[0]!r}")
        layers = {n: (l.with_params(params.get(n, {})) if _has_params(l) else l) for n, l in self.layers.items()}
        return self._replace(layers=layers)

    # ------------------------------------------------------------------ computing
    def apply(self, params, inputs):
        values = {(GRAPH, p): v for p, v in inputs.items()}
        params = params or {}
        for name in self.order:
            layer = self.layers[name]
            ins = {}
            for port in layer.inputs:
                v = values.get(self._in_edges.get((name, port)))
                if v is not None:
                    ins[port] = v
            outs = layer.apply(params.get(name, {}), ins)
            for port, v in outs.items():
                values[(name, port)] = v
        return {g: values[src] for g, src in self._out_map.items()}

    def refine(self, ins=None, outs=None, *, name=None):
        label = f"layer {name!r}" if name else type(self).__name__
        new_ins = {n: unify(t, (ins or {}).get(n, UNKNOWN), where=f"{label}, port {n!r}") for n, t in self.inputs.items()}
        new_outs = {n: unify(t, (outs or {}).get(n, UNKNOWN), where=f"{label}, port {n!r}") for n, t in self.outputs.items()}
        if new_ins == self.inputs and new_outs == self.outputs:
            return self
        new = self._replace(inputs=new_ins, outputs=new_outs, layers=dict(self.layers))
        new._infer()
        return new

    # ------------------------------------------------------------------ structure
    def producer(self, port):
        """The innermost layer that computes output ``port`` (for automatic loss choice)."""
        if port not in self._out_map:
            raise PortError(f"no output port {port!r}; the outputs are {', '.join(map(repr, self._out_map))}")
        node, p = self._out_map[port]
        layer = self.layers[node]
        return layer.producer(p) if isinstance(layer, NetGraph) else layer

    def source_of(self, node, port):
        """What feeds input ``port`` of layer ``node``: ``(layer name, port)``, ``("", graph port)``,
        or None for an optional input left unconnected."""
        return self._in_edges.get((node, port))

    def output_source(self, port):
        """``(layer name, port)`` that graph output ``port`` comes from."""
        return self._out_map[port]

    def __len__(self):
        return len(self.layers)

    def config(self):
        return {"layers": list(self.layers), "edges": sorted(self._in_edges.items()), "outputs": self._out_map}

    def _replace(self, **attrs):
        new = super()._replace(**attrs)
        if "layers" not in attrs:
            new.layers = dict(self.layers)
        new.inputs, new.outputs = dict(new.inputs), dict(new.outputs)
        return new

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        return (self._in_edges == other._in_edges and self._out_map == other._out_map
                and self.inputs == other.inputs and self.outputs == other.outputs
                and self.layers.keys() == other.layers.keys()
                and all(self.layers[k] == other.layers[k] for k in self.layers))

    def __hash__(self):
        # consistent with __eq__: equal graphs have the same ports and layer names
        return hash((type(self), tuple(self.inputs), tuple(self.outputs), tuple(self.layers)))


def _bare(t, like):
    """``t`` without the coder unless the source already had one (decoders stay where declared)."""
    return t if like.coder is not None or t.coder is None else type(t)(t.dims, t.kind, None)


def _has_params(layer):
    shapes = layer.param_shapes()
    return bool(shapes)


def _end_name(node, port, is_src):
    if node == GRAPH:
        return f"NetPort({port!r})"
    return f"NetPort({node!r}, {port!r})"


def _parse_connections(layers, connections):
    """Turn the user's connection tuples into ``in_edges`` and ``out_map``."""
    in_edges, out_map = {}, {}
    for conn in connections:
        if not isinstance(conn, (tuple, list)) or len(conn) < 2:
            raise NetTypeError(f"a connection is a tuple (source, destination, ...), got {conn!r}")
        for src, dst in zip(conn[:-1], conn[1:]):
            if isinstance(src, list):
                dst_layer = _dst_layer(layers, dst)
                if getattr(layers[dst_layer], "variadic", False):
                    layers[dst_layer] = layers[dst_layer].with_input_count(len(src))
                names = list(layers[dst_layer].inputs)
                if len(names) != len(src):
                    raise GraphError(
                        f"connection {src!r} -> {dst!r}: {len(src)} sources for a layer with inputs "
                        f"{', '.join(map(repr, names))}"
                    )
                ends = [(s, NetPort(dst_layer, n)) for s, n in zip(src, names)]
            else:
                ends = [(src, dst)]
            for s, d in ends:
                s_end = _source(layers, s)
                d_kind, d_end = _destination(layers, d)
                if d_kind == "graph":
                    if s_end[0] == GRAPH:
                        raise GraphError(f"connection {s!r} -> {d!r}: a graph port cannot feed a graph port directly")
                    if d_end in out_map and out_map[d_end] != s_end:
                        raise GraphError(f"graph output {d_end!r} is fed by two connections")
                    out_map[d_end] = s_end
                else:
                    if d_end in in_edges and in_edges[d_end] != s_end:
                        raise GraphError(
                            f"input {d_end[1]!r} of layer {d_end[0]!r} is fed by two connections "
                            f"({_end_name(*in_edges[d_end], True)} and {_end_name(*s_end, True)})"
                        )
                    in_edges[d_end] = s_end
    return in_edges, out_map


def _dst_layer(layers, dst):
    if isinstance(dst, NetPort):
        if len(dst.path) != 1:
            raise GraphError(f"a list of sources must feed a layer, not {dst!r}")
        return _node_key(dst.path[0], layers)
    return _node_key(dst, layers)


def _source(layers, s):
    if isinstance(s, NetPort):
        if len(s.path) == 1:
            name = s.path[0]
            if name in layers:  # NetPort("layer") is that layer
                return _source(layers, name)
            return (GRAPH, name)
        node = _node_key(s.path[0], layers)
        port = s.path[1]
        if port not in layers[node].outputs:
            raise PortError(
                f"layer {node!r} has no output port {port!r}; its outputs are "
                f"{', '.join(map(repr, layers[node].outputs))}"
            )
        return (node, port)
    node = _node_key(s, layers)
    outs = list(layers[node].outputs)
    if len(outs) != 1:
        raise GraphError(
            f"layer {node!r} has outputs {', '.join(map(repr, outs))}; name one with NetPort({node!r}, port)"
        )
    return (node, outs[0])


def _destination(layers, d):
    if isinstance(d, NetPort):
        if len(d.path) == 1:
            if d.path[0] in layers:
                return _destination(layers, d.path[0])
            return "graph", d.path[0]
        node = _node_key(d.path[0], layers)
        port = d.path[1]
        if port not in layers[node].inputs:
            raise PortError(
                f"layer {node!r} has no input port {port!r}; its inputs are "
                f"{', '.join(map(repr, layers[node].inputs))}"
            )
        return "layer", (node, port)
    node = _node_key(d, layers)
    ins = list(layers[node].inputs)
    port = "Input" if "Input" in ins else (ins[0] if len(ins) == 1 else None)
    if port is None:
        raise GraphError(
            f"layer {node!r} has inputs {', '.join(map(repr, ins))}; name one with NetPort({node!r}, port)"
        )
    return "layer", (node, port)


def _topological_order(layers, in_edges):
    """The layer names in an order where every layer comes after the layers that feed it.

    A depth-first search over the "is fed by" relation, iterative so that long
    chains do not exhaust Python's recursion; the order is the same as the
    recursive post-order (layers in declaration order, their sources likewise).
    A cycle raises a GraphError naming its layers and the connections that close it.
    """
    position = {n: i for i, n in enumerate(layers)}
    deps = {n: set() for n in layers}
    wires = {}  # (source layer, destination layer) -> (source port, destination port), the first one
    for (node, port), (snode, sport) in in_edges.items():
        if snode != GRAPH:
            deps[node].add(snode)
            wires.setdefault((snode, node), (sport, port))
    deps = {n: sorted(d, key=position.__getitem__) for n, d in deps.items()}
    order, state = [], {}
    for root in layers:
        if root in state:
            continue
        state[root] = "active"
        stack = [(root, iter(deps[root]))]
        while stack:
            node, pending = stack[-1]
            for dep in pending:
                if state.get(dep) == "active":
                    path = [n for n, _ in stack]
                    raise _cycle_error(path[path.index(dep):], wires)
                if dep not in state:
                    state[dep] = "active"
                    stack.append((dep, iter(deps[dep])))
                    break
            else:
                stack.pop()
                state[node] = "done"
                order.append(node)
    return order


def _cycle_error(path, wires):
    """GraphError for a cycle; ``path[i]`` is fed by ``path[i + 1]`` and the last is fed by ``path[0]``."""
    flow = [path[0], *reversed(path[1:]), path[0]]  # in the direction the data flows
    links = [(a, b, *wires[a, b]) for a, b in zip(flow[:-1], flow[1:])]
    detail = ", ".join(f"{_end_name(a, sp, True)} -> {_end_name(b, dp, False)}" for a, b, sp, dp in links)
    if len(path) == 1:
        what = f"layer {path[0]!r} feeds its own input ({detail})"
    else:
        what = f"through the connections {detail}"
    return GraphError(
        f"NetGraph: the connections form a cycle: {' -> '.join(map(repr, flow))}: {what}; a layer cannot "
        f"take its own output as input, directly or through other layers: remove one of these connections"
    )
