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

from ..errors import DataError, NetTypeError, ParameterError, describe_value
from .coders import NetDecoder, NetEncoder
from .graph import NetGraph
from .ports import PortType

__all__ = ["save", "load", "NetFileNotFoundError"]

FORMAT = "lossviz-net"
VERSION = 1
_KEY = "__lossviz__"
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or an empty zip


class NetFileNotFoundError(DataError, FileNotFoundError):
    """``load`` of a path where there is no file (a lossviz DataError and a FileNotFoundError)."""


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


def _path(path, what):
    """``path`` as a str, or a NetTypeError when it is not a file name."""
    try:
        return os.fspath(path)
    except TypeError:
        raise NetTypeError(
            f"{what}: path must be a file name (a str or a pathlib.Path), got {describe_value(path)}"
        ) from None


def save(net, path):
    """Write ``net`` to ``path`` (a ``.npz`` file); the round trip is exact.

    The folder must exist; a directory or an unwritable place is refused with a
    :class:`ParameterError` naming the path.
    """
    from .layer import Layer

    if not isinstance(net, Layer):
        raise NetTypeError(f"save: expected a layer or net, got {type(net).__name__}")
    name = _path(path, "save")
    if os.path.isdir(name):
        raise ParameterError(
            f"save: {name!r} is a directory; give a file name such as "
            f"{os.path.join(name, 'net.npz')!r}"
        )
    folder = os.path.dirname(name)
    if folder and not os.path.isdir(folder):
        raise ParameterError(f"save: the folder {folder!r} of {name!r} does not exist; create it first")
    arrays = {}
    doc = {"format": FORMAT, "version": VERSION, "net": _layer_json(net, arrays, "")}
    arrays[_KEY] = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    try:
        with open(name, "wb") as f:
            np.savez(f, **arrays)
    except OSError as e:
        raise ParameterError(f"save: cannot write {name!r}: {e.strerror or e}") from None


# ------------------------------------------------------------------ reading
def _bad(path, why):
    return DataError(f"{path!s} is not a readable lossviz net file: {why}")


def _entry(doc, key, kind, where):
    """``doc[key]``, checked to be a ``kind`` (dict, list, str); a ValueError naming it otherwise."""
    if not isinstance(doc, dict):
        raise ValueError(f"the record at {where or 'top'} is a {type(doc).__name__}, expected a dict")
    if key not in doc:
        raise ValueError(f"the record at {where or 'top'} has no {key!r} entry")
    value = doc[key]
    if not isinstance(value, kind):
        raise ValueError(f"the {key!r} entry at {where or 'top'} is a {type(value).__name__}, "
                         f"expected a {kind.__name__}")
    return value


def _rows(doc, key, width, where):
    """``doc[key]`` as a list of rows of ``width`` strings (a graph's edges and outputs)."""
    rows = _entry(doc, key, list, where)
    for row in rows:
        if not (isinstance(row, list) and len(row) == width and all(isinstance(x, str) for x in row)):
            raise ValueError(f"an entry of {key!r} at {where or 'top'} is {row!r}, expected a list of "
                             f"{width} strings")
    return rows


def _read_type(doc, where):
    if not isinstance(doc, dict) or doc.get("kind") not in ("Real", "Integer", "Boolean"):
        raise ValueError(f"bad port type at {where}: expected a kind 'Real', 'Integer' or 'Boolean'")
    dims = doc.get("dims")
    if dims is not None:
        if not isinstance(dims, list) or not all(d is None or d == "Varying" or (isinstance(d, int) and d > 0)
                                                for d in dims):
            raise ValueError(f"bad dimensions at {where}: {dims!r}")
        dims = tuple(dims)
    coder = doc.get("coder")
    if coder is not None:
        cls = {"NetEncoder": NetEncoder, "NetDecoder": NetDecoder}.get(
            coder.get("class") if isinstance(coder, dict) else None)
        if cls is None:
            raise ValueError(f"bad coder at {where}: expected a NetEncoder or NetDecoder record")
        try:
            coder = cls.from_config(coder)
        except KeyError as e:
            raise ValueError(f"bad coder at {where}: no {e.args[0]!r} entry") from None
    return PortType(dims, doc["kind"], coder)


def _read_ports(doc, key, where):
    return {n: _read_type(t, f"{where}/{n}") for n, t in _entry(doc, key, dict, where).items()}


def _read_layer(doc, arrays, classes, where):
    if not isinstance(doc, dict) or doc.get("type") not in classes:
        raise ValueError(f"unknown layer type {doc.get('type') if isinstance(doc, dict) else doc!r} at {where or 'top'}")
    cls = classes[doc["type"]]
    ins = _read_ports(doc, "inputs", where)
    outs = _read_ports(doc, "outputs", where)
    if issubclass(cls, NetGraph):
        layers = {n: _read_layer(d, arrays, classes, f"{where}/{n}")
                  for n, d in _entry(doc, "layers", dict, where).items()}
        in_edges = {(n, p): (s, sp) for n, p, s, sp in _rows(doc, "edges", 4, where)}
        out_map = {g: (n, p) for g, n, p in _rows(doc, "graph_outputs", 3, where)}
        for node, port in [*in_edges, *(v for v in in_edges.values() if v[0]), *out_map.values()]:
            if node not in layers:
                raise ValueError(f"a connection at {where or 'top'} names layer {node!r}, which is not one "
                                 f"of its layers {', '.join(map(repr, layers)) or '(none)'}")
        net = cls.__new__(cls)
        net._assemble(layers, in_edges, out_map, {}, port_types={**ins, **outs}, auto_outputs=False)
        return net
    cfg = doc.get("config", {})
    if not isinstance(cfg, dict):
        raise ValueError(f"bad config at {where}: expected a dict of options, got {type(cfg).__name__}")
    inner = (_read_layer(doc["net"], arrays, classes, f"{where}/Net"),) if "net" in doc else ()
    params = None
    if "params" in doc:
        params = {}
        for k, key in _entry(doc, "params", dict, where).items():
            if not isinstance(key, str) or key not in arrays:
                raise ValueError(f"missing array {key!r} for {where}/{k}")
            params[k] = arrays[key]
    try:
        layer = cls(*inner, **cfg).refine(ins=ins, outs=outs)
        return layer if params is None else layer.with_params(params)
    except (ValueError, TypeError) as e:  # an option the class does not take, a shape that does not fit
        raise ValueError(f"bad {doc['type']} at {where or 'top'}: {e}") from None


def _read_arrays(name):
    """Every member of the ``.npz`` at ``name`` as an array, read with ``allow_pickle=False``.

    The first bytes are checked before numpy sees the file, so a ``.npy`` array or
    a text file gets a message about what it is (and never numpy's advice to load
    it with ``allow_pickle``, which lossviz never does).
    """
    try:
        with open(name, "rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise NetFileNotFoundError(
            f"load: there is no file {name!r} (a net file is written by net.save(path))"
        ) from None
    except IsADirectoryError:
        raise ParameterError(f"load: {name!r} is a directory, not a net file written by net.save(path)") from None
    except OSError as e:
        raise _bad(name, f"cannot open it ({e.strerror or e})") from None
    if not head:
        raise _bad(name, "it is empty (0 bytes)")
    if head.startswith(_NPY_MAGIC):
        raise _bad(name, "it is a single numpy array (.npy, as np.save writes), not a net file (.npz, as "
                         "net.save writes)")
    if not head.startswith(_ZIP_MAGICS):
        raise _bad(name, f"it is not a .npz archive (a net file starts with b'PK'; this one starts with "
                         f"{head!r})")
    try:
        with np.load(name, allow_pickle=False) as data:
            arrays = {}
            for key in data.files:
                value = data[key]
                if not isinstance(value, np.ndarray):  # numpy hands back members that are not .npy as bytes
                    raise _bad(name, f"its member {key!r} is not a numpy array (.npy)")
                arrays[key] = value
    except DataError:
        raise
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise _bad(name, "it holds pickled Python objects, which lossviz never loads") from None
        raise _bad(name, f"cannot read it as .npz ({e})") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as e:
        raise _bad(name, f"cannot read it as .npz ({type(e).__name__}: {e})") from None
    return arrays


def load(path):
    """Read a net written by ``net.save(path)``.

    A missing file raises :class:`NetFileNotFoundError` (a DataError and a
    FileNotFoundError); anything that is not an intact net file raises a
    :class:`DataError` saying what is wrong with it.
    """
    name = _path(path, "load")
    arrays = _read_arrays(name)
    if _KEY not in arrays:
        raise _bad(name, f"it has no lossviz structure record ({_KEY!r}); its members are "
                         f"{', '.join(map(repr, arrays)) or 'none'}")
    try:
        doc = json.loads(arrays.pop(_KEY).tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise _bad(name, f"its structure record is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _bad(name, f"wrong format tag: its structure record is not tagged {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise _bad(name, f"version {doc.get('version')!r}, this lossviz reads version {VERSION}")
    if "net" not in doc:
        raise _bad(name, "its structure record has no 'net' entry")
    try:
        return _read_layer(doc["net"], arrays, _classes(), "")
    except RecursionError:
        raise _bad(name, "its structure is nested too deeply") from None
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise _bad(name, _reason(e)) from None


def _reason(e):
    """A tampered file's problem in words (a bare KeyError's text is only the key)."""
    if isinstance(e, KeyError):
        return f"an entry {e.args[0]!r} is missing from its structure record"
    return str(e)
