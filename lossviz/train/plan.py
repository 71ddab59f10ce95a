"""The compiled training plan: any net and any losses, one numpy step.

:func:`compile_net` flattens a net (nested NetGraphs and NetChains, shared
trunks, several outputs, loss layers inside the graph) into nodes in
topological order; each node is an op of :mod:`lossviz.train.ops` reading
and writing named *slots* (one per layer output, one per graph input).
:class:`CompiledStep` adds one head per loss term of the spec
(:mod:`lossviz.train.heads`: closed-form losses, a cross-entropy reading
the logits before a SoftmaxLayer or sigmoid), runs the nodes the heads need
forward into preallocated buffers, and backward from the seeds
``d total / d L_b = scale / B``, accumulating where a slot feeds several
nodes (a shared trunk).

Layers and losses without a closed form, among them every layer and loss
built from a user Python function (``ElementwiseLayer(lambda x: ...)``, a
ThreadingLayer, a user's subclass of a layer or a net, a
:class:`~lossviz.losses.custom.FunctionLossLayer`), run inside the plan as
:class:`~lossviz.train.ops.LayerVJPOp`: autograd on that one layer, every
built-in layer around it keeping its closed-form op.

Parameters live in ONE flat vector (``leaves == [flat]``) with per-layer
views in the sorted-key order of the parameter tree
(:func:`lossviz.train.trees.tree_items`); gradients go to views of one flat
gradient vector. ``working_precision="Real32"`` keeps both, the buffers and
the arithmetic in float32, except for a net or a loss built from a user
Python function, which computes in float64 (a user function may not be
float32-safe; :func:`working_dtype` is the one place that decides);
:meth:`CompiledStep.params` returns float64.

:meth:`CompiledStep.set_spec` swaps the heads and the scales (a student
changing a loss, an option or a ``Scaled`` factor between batches) and keeps
every node, op and buffer of the net (between user and built-in losses too);
it returns False, and the caller makes a new step, only when the new spec
reads a port the net does not have or needs the other precision (asked for
"Real32", a built-in net switching between a built-in loss and a user loss).

Large batches are split in two halves computed on two threads (numpy
releases the GIL in products and large ufuncs) when every op is a numpy
kernel; see :mod:`lossviz.train.fused` for the thresholds.
"""
from __future__ import annotations

import numpy as np

from .fused import (PRECISIONS, _blas_for, _both, _split_at, check_precision, default_threads)
from .heads import LOGIT_LOSSES, _Head, make_head
from .fused import _add
from .ops import (ActivationOp, EuclideanDistanceOp, LayerVJPOp, LinearOp, SoftmaxOp, _SimpleOp, leaf_paths,
                  size_of)
from .trees import tree_items, tree_rebuild

__all__ = ["CompiledStep", "compile_net", "check_spec", "why_not_compiled", "user_function", "working_dtype"]


class Node:
    """One op in the plan: ``ins`` maps the op's input ports to slots, ``outs`` its output ports."""

    __slots__ = ("op", "path", "ins", "outs", "grad_ports")

    def __init__(self, op, path, ins, outs):
        self.op, self.path, self.ins, self.outs = op, path, ins, outs
        self.grad_ports = ()

    def __repr__(self):
        return f"Node({type(self.op).__name__} at {'/'.join(self.path) or '.'})"


class Trunk:
    """The compiled net: ``nodes`` in order, slots of the graph's ``inputs`` and ``outputs``,
    ``producer[slot]`` (the node writing it), ``dims[slot]`` (per-example shape), and ``user``: the
    sentence of :func:`user_function` naming a layer built from a user function, or None."""

    def __init__(self, nodes, inputs, outputs, dims, user=None):
        self.nodes, self.inputs, self.outputs, self.dims, self.user = nodes, inputs, outputs, dims, user
        self.producer = {s: n for n in nodes for s in n.outs.values()}
        self.grad_slots = set()  # slots that depend on parameters
        for n in nodes:
            n.grad_ports = tuple(p for p, s in n.ins.items() if s in self.grad_slots)
            if isinstance(n.op, _Head) and set(n.grad_ports) - set(n.op.grad_inputs):  # e.g. a Target the net computes
                n.op = LayerVJPOp(n.op.layer, n.path, [])
            if n.op.has_params or n.grad_ports:
                self.grad_slots.update(n.outs.values())
            if isinstance(n.op, LayerVJPOp):
                n.op.grad_ports = n.grad_ports


# ====================================================================== user functions
def user_function(net):
    """A sentence naming the first layer (or loss) of ``net`` built from a user Python function, or None.

    Such layers compile too (as :class:`~lossviz.train.ops.LayerVJPOp`); they decide the precision
    (:func:`working_dtype`).
    """
    from ..net.embedding import NetPairEmbeddingOperator
    from ..net.graph import NetGraph
    from ..net.layers import ElementwiseLayer, ThreadingLayer

    if not (type(net).__module__ or "").startswith("lossviz."):  # a user's class, or a loss made from a function
        return f"{type(net).__name__} is not a built-in {'loss' if getattr(net, 'is_loss', False) else 'layer'}"
    if isinstance(net, NetGraph):
        for name, layer in net.layers.items():
            found = user_function(layer)
            if found:
                return f"layer {name!r}: {found}" if not found.startswith("layer") else found
        return None
    if isinstance(net, NetPairEmbeddingOperator):
        return user_function(net.net)
    if isinstance(net, (ElementwiseLayer, ThreadingLayer)) and callable(net.function):
        # (a function made by exec() without a __name__ has __module__ None)
        if not (getattr(net.function, "__module__", None) or "").startswith("lossviz."):
            return f"{type(net).__name__} computes a user function"
        return None
    if getattr(net, "is_loss", False) and not _builtin_loss(net):
        return f"{type(net).__name__} is not a built-in loss"
    return None


def spec_user_function(spec):
    """A sentence naming the first loss of ``spec`` built from a user Python function, or None."""
    for term in spec.terms:
        found = user_function(term.loss) if term.loss is not None else None
        if found:
            return found
    return None


def working_dtype(trunk, spec, working_precision):
    """``(dtype, reason)``: what a CompiledStep computes ``spec`` on ``trunk`` in, and why not as asked.

    The one place that decides the precision: ``working_precision`` ("Real64"
    or "Real32"; reason None), except float64 when "Real32" is asked for a
    net or a loss of ``spec`` built from a user Python function (reason: the
    sentence naming it): autograd computes such a function in whatever
    precision it is given, and a user function may not be float32-safe.
    """
    check_precision(working_precision)
    if working_precision != "Real64":
        found = trunk.user or spec_user_function(spec)
        if found:
            return np.dtype(np.float64), found
    return np.dtype(PRECISIONS[working_precision]), None


def _builtin_loss(layer):
    from ..losses.custom import FunctionLossLayer
    from ..losses.registry import _builtin

    return _builtin(type(layer)) and not isinstance(layer, FunctionLossLayer)


# ====================================================================== compiling
def _op_for(layer, path):
    """The fastest op that computes ``layer`` exactly."""
    from ..net.layers import ElementwiseLayer, LinearLayer, SoftmaxLayer

    din = layer.inputs[next(iter(layer.inputs))].dims if layer.inputs else None
    dout = layer.outputs[next(iter(layer.outputs))].dims if layer.outputs else None
    known = din is not None and dout is not None and all(isinstance(d, int) for d in din + dout)
    if known and type(layer) is LinearLayer:
        return LinearOp(path, size_of(din), size_of(dout), dout)
    if known and type(layer) is ElementwiseLayer and isinstance(layer.function, str):
        from .fused import ACTIVATION_KERNELS

        if layer.function in ACTIVATION_KERNELS:
            return ActivationOp(layer.function, size_of(dout))
    if known and type(layer) is SoftmaxLayer and len(dout) == 1:
        return SoftmaxOp(size_of(dout))
    if getattr(layer, "is_loss", False) and known:
        made = make_head(layer, din)
        if made is not None:
            return made[0]
    return LayerVJPOp(layer, path, leaf_paths(layer))


def _flatten(layer, path, feeds, nodes, dims, copy=()):
    """Append the nodes computing ``layer`` fed from ``feeds`` ({input port: slot}); return {output port: slot}.

    ``copy`` tells apart the slots of a net computed twice with the same parameters (a pair embedding).
    """
    from ..net.embedding import NetPairEmbeddingOperator
    from ..net.graph import NetGraph

    if isinstance(layer, NetPairEmbeddingOperator) and layer.distance == "EuclideanDistance" \
            and type(layer).apply is NetPairEmbeddingOperator.apply:
        pair = _flatten_pair(layer, path, feeds, dims, copy)
        if pair is not None:
            nodes += pair
            return pair[-1].outs
    if isinstance(layer, NetGraph) and type(layer).apply is NetGraph.apply:  # else its own apply: one op
        values = {}
        for name in layer.order:
            sub = layer.layers[name]
            sub_feeds = {}
            for port in sub.inputs:
                src = layer.source_of(name, port)
                if src is None:
                    continue
                slot = feeds.get(src[1]) if src[0] == "" else values.get(src)
                if slot is not None:
                    sub_feeds[port] = slot
            for port, slot in _flatten(sub, path + (name,), sub_feeds, nodes, dims, copy).items():
                values[(name, port)] = slot
        return {g: values[layer.output_source(g)] for g in layer.outputs}
    outs = {p: ("slot",) + copy + path + (p,) for p in layer.outputs}
    for p, slot in outs.items():
        dims[slot] = layer.outputs[p].dims
    nodes.append(Node(_op_for(layer, path), path, dict(feeds), outs))
    return outs


def _flatten_pair(layer, path, feeds, dims, copy):
    """The nodes of a Euclidean NetPairEmbeddingOperator: its net on each input, with the same weights
    (the first copy's LinearOps add their gradients to the second's), then the distance; None when its
    net has parameters outside LinearLayers (then the operator runs as one autograd op)."""
    (port,), (out,) = tuple(layer.net.inputs), tuple(layer.net.outputs)
    first, second = [], []
    e1 = _flatten(layer.net, path + ("Net",), {port: feeds["Input1"]}, first, dims, copy + (("pair", 1),))[out]
    e2 = _flatten(layer.net, path + ("Net",), {port: feeds["Input2"]}, second, dims, copy + (("pair", 2),))[out]
    if any(n.op.has_params and not isinstance(n.op, LinearOp) for n in first):
        return None
    for n in first:  # backward runs the second copy first: it writes, the first adds
        if isinstance(n.op, LinearOp):
            n.op.accumulate = True
    slot = ("slot",) + copy + path + ("Output",)
    dims[slot] = ()
    distance = Node(EuclideanDistanceOp(), path, {"Input1": e1, "Input2": e2}, {"Output": slot})
    return first + second + [distance]


def compile_net(net):
    """The :class:`Trunk` of ``net``, or the reason it cannot be compiled (a sentence)."""
    if not net.initialized:
        return "the net is not initialized"
    inputs = {p: ("in", p) for p in net.inputs}
    dims = {s: net.inputs[p].dims for p, s in inputs.items()}
    nodes = []
    outputs = _flatten(net, (), dict(inputs), nodes, dims)
    covered = set()
    for n in nodes:
        if isinstance(n.op, LinearOp):
            covered.update({n.path + ("Weights",), n.path + ("Biases",)})
        elif isinstance(n.op, LayerVJPOp):
            covered.update(n.path + p for p in n.op.param_paths)
    missing = [p for p, _ in tree_items(net.params or {}) if p not in covered]
    if missing:
        return f"parameter {'/'.join(missing[0])} belongs to no op"
    return Trunk(nodes, inputs, outputs, dims, user_function(net))


def why_not_compiled(net, spec):
    """None if :class:`CompiledStep` can train ``net`` on ``spec``, else the reason (a sentence)."""
    trunk = compile_net(net)
    if isinstance(trunk, str):
        return trunk
    return check_spec(trunk, spec)


def check_spec(trunk, spec):
    """None if the compiled ``trunk`` can compute ``spec`` (its ports exist), else the reason (a sentence).

    Any loss can: a built-in one as a closed-form head where there is one, any other (a user's) as a
    :class:`~lossviz.train.ops.LayerVJPOp` head.
    """
    for term in spec.terms:
        if term.port not in trunk.outputs:
            return f"the net has no output port {term.port!r}"
    return None


# ====================================================================== the step
class _Heads:
    """What one spec adds to the trunk: head nodes, the loss slots with their scales, the schedules."""

    def __init__(self, trunk, spec):
        self.nodes, self.losses = [], []  # losses: (slot, scale) per sub-loss, in spec.sub_loss_names order
        for i, term in enumerate(spec.terms):
            slot = trunk.outputs[term.port]
            if term.loss is None:
                self.losses.append((slot, term.scale))
                continue
            self.nodes.append(self._head(trunk, term, slot, i))
            self.losses += [(self.nodes[-1].outs[o], term.scale) for o in term.loss.outputs]
        needed = {s for n in self.nodes for s in n.ins.values()} | {s for s, _ in self.losses}
        forward = []
        for n in reversed(trunk.nodes):
            if any(s in needed for s in n.outs.values()):
                forward.append(n)
                needed.update(n.ins.values())
        self.forward = forward[::-1] + self.nodes
        self.backward = [n for n in reversed(self.forward) if n.op.has_params or n.grad_ports]
        self.grad_slots = set(trunk.grad_slots)
        self.grad_slots.update(s for n in self.nodes if n.grad_ports for s in n.outs.values())
        trained = {id(n) for n in self.backward}
        self.idle = [n for n in trunk.nodes if n.op.has_params and id(n) not in trained]  # gradient 0
        self.threadsafe = all(n.op.threadsafe for n in self.forward)
        self.work = sum(n.op.work() for n in self.forward)
        self._compile()

    def _compile(self):
        """Number the slots and turn the schedules into instruction tuples (the step's inner loop)."""
        ids = {}
        for n in self.forward:
            for s in (*n.ins.values(), *n.outs.values()):
                ids.setdefault(s, len(ids))
        for s, _ in self.losses:
            ids.setdefault(s, len(ids))
        self.ids = ids
        self.inputs = [(s[1], i) for s, i in ids.items() if s[0] == "in"]  # (batch key, id)
        self.loss_ids = [ids[s] for s, _ in self.losses]
        consumers = {}  # gradient contributions per slot: accumulate only where several meet
        for n in self.backward:
            for p in n.grad_ports:
                consumers[ids[n.ins[p]]] = consumers.get(ids[n.ins[p]], 0) + 1
        for i in self.loss_ids:
            consumers[i] = consumers.get(i, 0) + 1
        self.shared = {i for i, c in consumers.items() if c > 1}
        self.code_forward = []
        for n in self.forward:
            trains = bool(n.op.has_params or n.grad_ports)
            if isinstance(n.op, _SimpleOp):
                self.code_forward.append((n, True, trains, ids[n.ins["Input"]], ids[n.outs["Output"]]))
            else:
                self.code_forward.append((n, False, trains, tuple((p, ids[v]) for p, v in n.ins.items()),
                                          tuple((p, ids[v]) for p, v in n.outs.items())))
        self.code_backward = []
        for n in self.backward:
            if isinstance(n.op, _SimpleOp):
                want = "Input" in n.grad_ports
                self.code_backward.append((n, True, want, ids[n.ins["Input"]] if want else -1, ids[n.outs["Output"]]))
            else:
                self.code_backward.append((n, False, n.grad_ports, tuple((p, ids[n.ins[p]]) for p in n.grad_ports),
                                           tuple((p, ids[v]) for p, v in n.outs.items())))

    @staticmethod
    def _head(trunk, term, slot, i):
        loss = term.loss
        producer = trunk.producer.get(slot)
        logits_of = getattr(producer.op, "name", None) if producer is not None else None
        if logits_of not in LOGIT_LOSSES.values() or (type(producer.op) not in (SoftmaxOp, ActivationOp)):
            logits_of = None
        grad_ports = ("Input",) if slot in trunk.grad_slots else ()
        made = make_head(loss, trunk.dims.get(slot), logits_of=logits_of, grad_ports=grad_ports)
        ins = {"Input": slot}
        if made is None:
            op = LayerVJPOp(loss, (), [])
            op.grad_ports = grad_ports
        else:
            op, reads_logits = made
            if reads_logits:
                ins["Input"] = producer.ins["Input"]
        if term.target is not None:
            ins["Target"] = ("in", term.target)
        if term.weight:
            ins["Weight"] = ("in", "Weight")
        node = Node(op, ("loss", str(i)), ins, {o: ("loss", i, o) for o in loss.outputs})
        node.grad_ports = grad_ports
        return node


class CompiledStep:
    """A training step for any net and any losses (see the module docstring).

    ``leaves``: ``[flat]``, all parameters in one vector of ``dtype``: ``working_precision``, or float64 for
    a net or loss built from a user function (:func:`working_dtype`; ``float64_because`` names it, or None);
    ``step(batch) -> (sub-losses (n,), [flat gradient])``; ``evaluate(batch) -> sub-losses (n,)``;
    ``params(leaves=None)``: the parameter tree (float64 copies) for ``net.with_params``;
    ``set_spec(spec) -> bool``: compute another spec on the same net from the next batch on (False: the
    caller makes a new step, see :meth:`set_spec`).

    ``batch`` maps the net's input ports, the terms' target keys and an
    optional "Weight" to arrays with a leading batch axis. ``threads``: 2 to
    compute the halves of a large batch on two threads, 1 one after the
    other (the same bits; default: :func:`~lossviz.train.fused.default_threads`).
    """

    def __init__(self, net, spec, *, working_precision="Real64", trunk=None, threads=None):
        check_precision(working_precision)
        trunk = trunk if trunk is not None else compile_net(net)
        reason = trunk if isinstance(trunk, str) else check_spec(trunk, spec)
        if reason:
            raise ValueError(f"CompiledStep cannot train this net: {reason}")
        self.net, self.trunk, self.working_precision = net, trunk, working_precision
        self.dtype, self.float64_because = working_dtype(trunk, spec, working_precision)
        self.threads = threads if threads is not None else default_threads()
        leaves = tree_items(net.params or {})
        self._paths = [p for p, _ in leaves]
        self._shapes = [np.shape(a) for _, a in leaves]
        self._offsets = np.cumsum([0] + [int(np.size(a)) for _, a in leaves])
        flat = np.concatenate([np.ravel(a) for _, a in leaves] or [np.zeros(0)]).astype(self.dtype)
        self.leaves = [flat]
        self._grads = [np.zeros_like(flat), np.zeros_like(flat)]  # one per half of a split batch
        self._gviews = [self._views(g) for g in self._grads]
        self._seeds = {}
        self._bind(flat)
        self.set_spec(spec)

    # ------------------------------------------------------------------ spec
    def set_spec(self, spec):
        """Compute ``spec`` from now on (same net, same parameters): swaps the heads and scales only.

        Returns True; False (nothing changed) when ``spec`` reads a port the net does not have, or
        needs the other precision (:func:`working_dtype`: "Real32" asked, and a user loss comes or goes
        on a net of built-in layers): the caller then makes a new step.
        """
        if check_spec(self.trunk, spec):
            return False
        dtype, because = working_dtype(self.trunk, spec, self.working_precision)
        if dtype != self.dtype:
            return False
        self.float64_because = because
        self.spec, self.heads = spec, _Heads(self.trunk, spec)
        self._bufs = {}  # (rows, part) -> {node: buffers}: a lookup table, the buffers stay with the ops
        self._scales = np.array([scale for _, scale in self.heads.losses])
        return True

    # ------------------------------------------------------------------ parameters
    def _views(self, flat):
        return {p: flat[a:b].reshape(s) for p, a, b, s in
                zip(self._paths, self._offsets[:-1], self._offsets[1:], self._shapes)}

    def _bind(self, flat):
        self._flat = flat
        views = self._views(flat)
        for n in self.trunk.nodes:
            if n.op.has_params:
                n.op.bind(views)

    def params(self, leaves=None):
        """The parameter tree: float64 copies of the flat vector (``leaves`` or the current one)."""
        flat = (leaves if leaves is not None else self.leaves)[0]
        views = self._views(flat)
        return tree_rebuild(self.net.params or {}, [views[p].astype(np.float64) for p in self._paths])

    # ------------------------------------------------------------------ computing
    def _inputs(self, batch):
        """The slot values with the batch's arrays filled in (float data in the step's dtype, class
        indices as they are), and the batch size."""
        if self.leaves[0] is not self._flat:  # NetTrain restored a last good vector
            self._bind(self.leaves[0])
        values = [None] * len(self.heads.ids)
        B = None
        for key, i in self.heads.inputs:
            value = batch.get(key)
            if value is None:
                continue
            kind = value.dtype.kind
            if kind == "f":
                if value.dtype != self.dtype:
                    value = value.astype(self.dtype)
            elif kind in "bu":
                value = value.astype(self.dtype if kind == "b" else np.int64)
            values[i] = value
            B = len(value)
        return values, B

    def _run(self, values, rows, part, train):
        """Forward (and backward when ``train``) on some rows; returns the sums of the sub-losses.

        ``values``: the list of slot values (inputs filled in); gradients go to ``self._grads[part]``.
        """
        heads, gviews = self.heads, self._gviews[part]
        bufs = self._buffers(rows, part)
        for n, simple, trains, src, dst in heads.code_forward:
            op, buf = n.op, bufs[n]
            if simple:
                values[dst] = op.fwd1(values[src], buf)
                continue
            ins = {p: values[i] for p, i in src if values[i] is not None}
            outs = op.forward(ins, buf) if train and trains else op.evaluate(ins, buf)
            for p, i in dst:
                values[i] = outs[p]
        sums = np.array([_add.reduce(values[i], None) for i in heads.loss_ids], dtype=float)
        total = self._rows if train else rows  # the whole batch's rows (a split batch: both halves)
        means = [total] * len(sums)  # d sub-loss j / d its values: 1 / means[j]
        for j, i in enumerate(heads.loss_ids):
            v = values[i]
            n = v.shape[0] if v.ndim else 1
            if n != rows:  # not one value per example (a user loss's batch mean, say): its own mean over its
                means[j] = n  # first axis, as sub_losses_per_example takes it; the caller divides by the rows
                sums[j] *= total / n
        if not train:
            return sums
        for n in heads.idle:
            for p in n.op.param_paths if isinstance(n.op, LayerVJPOp) else (("Weights",), ("Biases",)):
                gviews[n.path + p][...] = 0.0
        grads = [None] * len(values)
        shared = heads.shared
        for j, (i, scale) in enumerate(zip(heads.loss_ids, self._scales)):
            g = self._seed(j, values[i], scale / means[j], part)
            grads[i] = g if grads[i] is None else grads[i] + g
        for n, simple, want, src, dst in heads.code_backward:
            if simple:
                g = n.op.bwd1(grads[dst], bufs[n], want)
                if want:
                    grads[src] = g if grads[src] is None else grads[src] + g
                continue
            gouts = {p: grads[i] for p, i in dst}
            gins = n.op.backward(gouts, bufs[n], want)
            for p, i in src:
                g = gins[p]
                if i in shared and grads[i] is not None:
                    grads[i] = grads[i] + g
                else:
                    grads[i] = g
        return sums

    def _buffers(self, rows, part):
        """{node: its buffers} for ``rows`` rows of batch part ``part`` (the ops keep them across specs)."""
        key = (rows, part)
        bufs = self._bufs.get(key)
        if bufs is None:
            if len(self._bufs) >= 8:
                self._bufs.pop(next(iter(self._bufs)))
            gviews = self._gviews[part]
            bufs = self._bufs[key] = {n: n.op.buffers(rows, part, self.dtype, gviews) for n in self.heads.forward}
        return bufs

    def _seed(self, j, value, v, part):
        """``d total / d value of sub-loss j``: ``v`` everywhere, in a reused array (ops may change it in place)."""
        key = (j, np.shape(value), part)
        seed = self._seeds.get(key)
        if seed is None:
            seed = self._seeds[key] = np.empty(np.shape(value), self.dtype)
        seed.fill(v)
        return seed

    def _split(self, batch, B):
        """Where to cut the batch in two halves, or None."""
        w = batch.get("Weight")
        if not self.heads.threadsafe or (w is not None and np.ndim(w) > 1):
            return None
        return _split_at(B, self.heads.work)

    def step(self, batch):
        values, B = self._inputs(batch)
        self._rows = B
        h = self._split(batch, B)
        with _blas_for(B, self.heads.work):
            if h is None:
                sums = self._run(values, B, 0, True)
            else:
                first = [None if v is None else v[:h] for v in values]
                second = [None if v is None else v[h:] for v in values]
                for part, rows in ((0, h), (1, B - h)):  # buffers made here: the worker never allocates
                    self._buffers(rows, part)
                a, b = _both(self.threads, self._run, (first, h, 0, True), (second, B - h, 1, True))
                sums = a + b
                self._grads[0] += self._grads[1]
        return sums / B, [self._grads[0]]

    def evaluate(self, batch):
        values, B = self._inputs(batch)
        with _blas_for(B, self.heads.work):
            return self._run(values, B, 0, False) / B
