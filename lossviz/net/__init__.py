"""The engine: ports, layers, NetChain, NetGraph, encoders and decoders."""
from .chain import NetChain
from .coders import NetDecoder, NetEncoder
from .embedding import NetPairEmbeddingOperator
from .graph import NetGraph, NetPort
from .layer import Layer
from .layers import (
    CatenateLayer,
    ElementwiseLayer,
    LinearLayer,
    SoftmaxLayer,
    SummationLayer,
    ThreadingLayer,
    TotalLayer,
)
from .ops import NetExtract, NetInitialize, NetTake
from .ports import PortType

__all__ = [
    "Layer", "PortType", "NetChain", "NetGraph", "NetPort", "NetEncoder", "NetDecoder",
    "LinearLayer", "ElementwiseLayer", "SoftmaxLayer", "ThreadingLayer", "CatenateLayer",
    "TotalLayer", "SummationLayer", "NetPairEmbeddingOperator",
    "NetInitialize", "NetExtract", "NetTake",
]
