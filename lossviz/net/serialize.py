"""Saving and loading nets without pickle.

A saved net is one ``.npz`` file: every parameter array under a generated
key, and the structure as JSON (UTF-8 bytes under the key ``__lossviz__``).
Loading reads arrays with ``allow_pickle=False`` and rebuilds layers only from
a fixed table of lossviz classes, so a tampered file can at worst give an
error, never run code.
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from ..errors import DataError, NetTypeError
from .coders import NetDecoder, NetEncoder
from .graph import NetGraph
from .ports import PortType

__all__ = ["save", "load"]

FORMAT = "lossviz-net"
VERSION = 1
_KEY = "__lossviz__"


def _classes():
    from . import chain, embedding, graph, layers

    table = {}
    for mod in (layers, graph, chain, embedding):
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if isinstance(obj, type):
                table[name] = obj
    try:
        from .. import losses

        for name in getattr(losses, "__all__", ()):
            obj = getattr(losses, name)
            if isinstance(obj, type):
                table[name] = obj
    except ImportError:  # pragma: no cover - losses always ship
        pass
    return table


# ------------------------------------------------------------------ writing
def _type_json(t: PortType):
    coder = None
    if t.coder is not None:
        coder = {"class": type(t.coder).__name__, **t.coder.config()}
    return {"dims": None if t.dims is None else list(t.dims), "kind": t.kind, "coder": coder}


def _layer_json(layer, arrays, path):
    from .embedding import NetPairEmbeddingOperator

    doc = {
        "type": type(layer).__name__,
        "inputs": {n: _type_json(t) for n, t in layer.inputs.items()},
        "outputs": {n: _type_json(t) for n, t in layer.outputs.items()},
    }
    if isinstance(layer, NetGraph):
        doc["layers"] = {n: _layer_json(l, arrays, f"{path}/{n}") for n, l in layer.layers.items()}
        doc["edges"] = [[n, p, s, sp] for (n, p), (s, sp) in layer._in_edges.items()]
        doc["graph_outputs"] = [[g, n, p] for g, (n, p) in layer._out_map.items()]
        return doc
    cfg = layer.config()
    for k, v in cfg.items():
        if isinstance(v, str) and v.startswith("<function"):
            raise NetTypeError(
                f"cannot save {type(layer).__name__} at {path or 'the top'}: it holds a Python {v[1:-1]}; "
                f"only functions given by name (such as \"Tanh\") can be saved (use NetTake/NetExtract "
                f"to save the part without it)"
            )
    doc["config"] = cfg
    if isinstance(layer, NetPairEmbeddingOperator):
        doc["net"] = _layer_json(layer.net, arrays, f"{path}/Net")
        return doc
    if layer.params:
        doc["params"] = {}
        for k, v in layer.params.items():
            key = f"a{len(arrays)}"
            arrays[key] = np.asarray(v)
            doc["params"][k] = key
    return doc


def save(net, path):
    """Write ``net`` to ``path`` (a ``.npz`` file); the round trip is exact."""
    from .layer import Layer

    if not isinstance(net, Layer):
        raise NetTypeError(f"save: expected a layer or net, got {type(net).__name__}")
    arrays = {}
    doc = {"format": FORMAT, "version": VERSION, "net": _layer_json(net, arrays, "")}
    arrays[_KEY] = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    with open(os.fspath(path), "wb") as f:
        np.savez(f, **arrays)


# ------------------------------------------------------------------ reading
def _bad(path, why):
    return DataError(f"{path!s} is not a readable lossviz net file: {why}")


def _read_type(doc, where):
    if not isinstance(doc, dict) or doc.get("kind") not in ("Real", "Integer", "Boolean"):
        raise ValueError(f"bad port type at {where}")
    dims = doc.get("dims")
    if dims is not None:
        if not isinstance(dims, list) or not all(d is None or d == "Varying" or (isinstance(d, int) and d > 0)
                                                for d in dims):
            raise ValueError(f"bad dimensions at {where}")
        dims = tuple(dims)
    coder = doc.get("coder")
    if coder is not None:
        cls = {"NetEncoder": NetEncoder, "NetDecoder": NetDecoder}.get(coder.get("class"))
        if cls is None:
            raise ValueError(f"bad coder at {where}")
        coder = cls.from_config(coder)
    return PortType(dims, doc["kind"], coder)


def _read_layer(doc, arrays, classes, where):
    if not isinstance(doc, dict) or doc.get("type") not in classes:
        raise ValueError(f"unknown layer type {doc.get('type') if isinstance(doc, dict) else doc!r} at {where or 'top'}")
    cls = classes[doc["type"]]
    ins = {n: _read_type(t, f"{where}/{n}") for n, t in doc["inputs"].items()}
    outs = {n: _read_type(t, f"{where}/{n}") for n, t in doc["outputs"].items()}
    if issubclass(cls, NetGraph):
        layers = {n: _read_layer(d, arrays, classes, f"{where}/{n}") for n, d in doc["layers"].items()}
        in_edges = {(n, p): (s, sp) for n, p, s, sp in doc["edges"]}
        out_map = {g: (n, p) for g, n, p in doc["graph_outputs"]}
        net = cls.__new__(cls)
        net._assemble(layers, in_edges, out_map, {}, port_types={**ins, **outs}, auto_outputs=False)
        return net
    cfg = doc.get("config", {})
    if not isinstance(cfg, dict):
        raise ValueError(f"bad config at {where}")
    if "net" in doc:
        layer = cls(_read_layer(doc["net"], arrays, classes, f"{where}/Net"), **cfg)
    else:
        layer = cls(**cfg)
    layer = layer.refine(ins=ins, outs=outs)
    if "params" in doc:
        params = {}
        for k, key in doc["params"].items():
            if key not in arrays:
                raise ValueError(f"missing array {key!r} for {where}/{k}")
            params[k] = arrays[key]
        layer = layer.with_params(params)
    return layer


def load(path):
    """Read a net written by ``net.save(path)``."""
    try:
        with np.load(os.fspath(path), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise _bad(path, f"cannot read it as .npz ({e})") from None
    if _KEY not in arrays:
        raise _bad(path, "it has no lossviz structure record")
    try:
        doc = json.loads(arrays.pop(_KEY).tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise _bad(path, f"its structure record is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _bad(path, "wrong format tag")
    if doc.get("version") != VERSION:
        raise _bad(path, f"version {doc.get('version')!r}, this lossviz reads version {VERSION}")
    try:
        return _read_layer(doc["net"], arrays, _classes(), "")
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        raise _bad(path, str(e)) from None
