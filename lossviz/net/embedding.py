"""NetPairEmbeddingOperator: one net applied to two inputs, then a distance."""
from __future__ import annotations

import autograd.numpy as anp

from ..errors import NetTypeError, ParameterError
from .layer import Layer
from .ports import PortType, unify
from .primitives import euclidean_distance

__all__ = ["NetPairEmbeddingOperator"]

_EPS = 1e-12


class NetPairEmbeddingOperator(Layer):
    """Embed "Input1" and "Input2" with the same net and output their distance.

    Parameters
    ----------
    net : Layer
        The embedding net (one input, one output); its parameters are shared
        by both inputs.
    distance : {"EuclideanDistance", "CosineDistance"}
        ``||e1 - e2||`` or ``1 - e1.e2 / (|e1| |e2|)``.

    Ports: "Input1", "Input2" (the net's input shape), "Output" a "Real"
    distance. NetTrain attaches ContrastiveLossLayer to it automatically.
    """

    input_names = ("Input1", "Input2")

    def __init__(self, net, distance="EuclideanDistance", **ports):
        if not isinstance(net, Layer) or len(net.inputs) != 1 or len(net.outputs) != 1:
            raise NetTypeError("NetPairEmbeddingOperator: net must be a layer or net with one input and one output")
        if distance not in ("EuclideanDistance", "CosineDistance"):
            raise ParameterError(
                f"NetPairEmbeddingOperator: distance must be 'EuclideanDistance' or 'CosineDistance', got {distance!r}"
            )
        self.net = net
        self.distance = distance
        super().__init__(**ports)

    def _propagate(self, ins, outs):
        port = next(iter(self.net.inputs))
        t = self.net.inputs[port]
        for n in self.input_names:
            t = unify(t, ins[n], where=f"NetPairEmbeddingOperator port {n!r}")
        if t != self.net.inputs[port]:
            self.net = self.net.refine(ins={port: t})
        ins = {n: PortType(t.dims, t.kind, ins[n].coder) for n in self.input_names}
        outs["Output"] = unify(outs["Output"], PortType(()), where="NetPairEmbeddingOperator port 'Output'")
        return ins, outs

    @property
    def params(self):
        return {"Net": self.net.params} if self.net.initialized else None

    @params.setter
    def params(self, value):
        if value is not None:
            self.net = self.net.with_params(value["Net"])

    @property
    def initialized(self):
        return self.net.initialized

    def param_shapes(self):
        return {"Net": self.net.param_shapes()}

    @property
    def parameter_count(self):
        return self.net.parameter_count

    def initialize(self, rng, *, force=False, name=None):
        return self._replace(net=self.net.initialize(rng, force=force, name=name))

    def with_params(self, params):
        return self._replace(net=self.net.with_params(params["Net"]))

    def producer(self, port):
        return self

    def apply(self, params, inputs):
        (port,), (out,) = self.net.inputs, self.net.outputs
        p = params["Net"] if params else None
        e1 = self.net.apply(p, {port: inputs["Input1"]})[out]
        e2 = self.net.apply(p, {port: inputs["Input2"]})[out]
        e1 = anp.reshape(e1, (e1.shape[0], -1))
        e2 = anp.reshape(e2, (e2.shape[0], -1))
        if self.distance == "EuclideanDistance":
            return {"Output": euclidean_distance(e1, e2)}
        dot = anp.sum(e1 * e2, axis=1)
        norms = anp.sqrt(anp.sum(e1 * e1, axis=1) * anp.sum(e2 * e2, axis=1) + _EPS)
        return {"Output": 1.0 - dot / norms}

    def config(self):
        return {"distance": self.distance}
