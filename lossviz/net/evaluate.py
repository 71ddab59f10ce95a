"""Evaluation of layers and nets on user data: one example or a batch.

A port of declared rank r reads data of rank r as ONE example and data of
rank r + 1 as a batch; a port whose rank is unknown reads its data as one
example. Labels and strings go through the port's NetEncoder; outputs with a
NetDecoder come back as labels.
"""
from __future__ import annotations

import numpy as np

from ..errors import DataError, NetTypeError, PortError, ShapeError, close_match, describe_shape
from .ports import VARYING, PortType

__all__ = ["evaluate", "to_batch"]


def _as_array(data, t: PortType, port: str):
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError):
        arr = np.empty(0, dtype=object)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise DataError(
            f"port {port!r}: cannot read numeric data from {_short(data)}; expected "
            f"{t.describe()} or a batch of them"
        )
    if t.kind == "Integer":
        if arr.dtype.kind == "f" and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))
                                      or np.any(np.abs(arr) >= 2.0**63)):  # beyond int64
            raise DataError(f"port {port!r}: expected integers (class indices), got {_short(data)}")
        return arr.astype(np.int64, copy=False)
    return arr.astype(float, copy=False)


def _short(x):
    text = repr(x)
    return text if len(text) < 70 else text[:67] + "..."


def _check_dims(arr_shape, dims, port, batch_shape=None):
    for got, want in zip(arr_shape, dims):
        if isinstance(want, int) and got != want:
            what = (f"data of shape {tuple(arr_shape)}" if batch_shape is None else
                    f"a batch of shape {tuple(batch_shape)} (examples of shape {tuple(arr_shape)})")
            raise ShapeError(f"port {port!r}: got {what}, expected {describe_shape(dims)}")


def to_batch(t: PortType, data, port: str):
    """Read one port's data. Returns (examples, is_batch).

    ``examples`` is an array whose first axis runs over the examples (one
    example is a batch of one), or a list of per-example arrays where
    sequences may have different lengths (a batch of "Varying" data, or what
    a NetEncoder returns); :func:`_stack` makes an array of it when it can.
    """
    if t.coder is not None and hasattr(t.coder, "encode"):
        return t.coder.encode(data, port)
    if t.kind == "Boolean":
        try:
            data = np.asarray(data)
        except (ValueError, TypeError):  # ragged nesting: _as_array below says what it cannot read
            pass
        else:
            if data.dtype == bool:
                data = data.astype(float)
    if isinstance(data, (list, tuple)) and t.dims is not None and VARYING in t.dims and data and \
            not np.isscalar(data[0]):
        # a batch of sequences may be ragged: read each example on its own
        items = [_as_array(x, t, port) for x in data]
        if all(x.ndim == len(t.dims) for x in items):
            for x in items:
                _check_dims(x.shape, t.dims, port)
            return items, True
    arr = _as_array(data, t, port)
    if t.dims is None:
        return arr[None], False
    rank = len(t.dims)
    if arr.ndim == rank:
        _check_dims(arr.shape, t.dims, port)
        return arr[None], False
    if arr.ndim == rank + 1:
        _check_dims(arr.shape[1:], t.dims, port, batch_shape=arr.shape)
        return arr, True
    raise ShapeError(
        f"port {port!r}: got data of shape {arr.shape}, expected {t.describe()} "
        f"(shape {tuple('n' if d is None else d for d in t.dims)}) or a batch of them"
    )


def read_inputs(layer, data):
    """Map user data to ``{port: (examples, is_batch)}`` for the layer's inputs."""
    names = tuple(layer.inputs)
    if isinstance(data, dict):  # a dict is never one example: it is data keyed by port name
        unknown = [k for k in data if k not in names]
        if unknown:
            raise PortError(unknown_port_message(unknown[0], names, tuple(layer.outputs)))
        port_data = dict(data)
    elif len(names) == 1:
        port_data = {names[0]: data}
    else:
        raise NetTypeError(
            f"this net has input ports {', '.join(map(repr, names))}: give its data as a dict "
            f"keyed by port name"
        )
    missing = [n for n in names if n not in port_data and n not in layer.optional_inputs]
    if missing:
        raise PortError(
            f"missing data for input port {missing[0]!r}; this net's input ports are "
            f"{', '.join(map(repr, names))}"
        )
    read = {n: to_batch(layer.inputs[n], v, n) for n, v in port_data.items()}
    batched = {n for n, (_, b) in read.items() if b}
    if batched and len(batched) != len(read):
        single = next(n for n in read if n not in batched)
        raise ShapeError(
            f"port {single!r} got one example but port {next(iter(batched))!r} got a batch; "
            f"give every port a batch of the same length"
        )
    lengths = {n: len(v) for n, (v, _) in read.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{n!r}: {k}" for n, k in lengths.items())
        raise ShapeError(f"ports got batches of different lengths ({detail})")
    return read, bool(batched)


def unknown_port_message(name, inputs, outputs=()):
    """Why ``name`` is not an input port: "unknown port 'Inptu'; the net's inputs are 'Input' (did you
    mean 'Input'?)", or that it is an output port."""
    listed = ", ".join(map(repr, inputs))
    if name in outputs:
        return f"{name!r} is an output port of the net, not an input; the net's inputs are {listed}"
    text = f"unknown port {name!r}; the net's inputs are {listed}"
    guess = close_match(name, inputs)
    return text + (f" (did you mean {guess!r}?)" if guess is not None else "")


def _stack(examples):
    """The examples as one array with a leading batch axis, or None when their shapes differ."""
    if isinstance(examples, np.ndarray):
        return examples
    shapes = {np.shape(x) for x in examples}
    if len(shapes) == 1:
        return np.stack(examples)
    return None  # ragged


def evaluate(layer, data, prop=None):
    """Evaluate ``layer`` on ``data`` (see module docstring).

    Returns an array (or label) for a net with one output port, a dict
    ``{port: value}`` for several. ``prop`` may name one output port, or be
    "Probabilities" for an output with a class decoder.
    """
    if not layer.initialized:
        raise NetTypeError(
            f"{type(layer).__name__} has parameters that are not initialized; use "
            f"NetInitialize(net) or train it with NetTrain"
        )
    read, is_batch = read_inputs(layer, data)
    stacked = {n: _stack(v) for n, (v, _) in read.items()}
    if all(s is not None for s in stacked.values()):
        results = _run(layer, stacked)
    else:  # ragged sequences: one example at a time
        size = len(next(iter(read.values()))[0])
        results = {n: [] for n in layer.outputs}
        for i in range(size):
            outs = _run(layer, {n: v[i][None] for n, (v, _) in read.items()})
            for n, v in outs.items():
                results[n].append(v[0])
    return _present(layer, results, is_batch, prop)


def _run(layer, inputs):
    with np.errstate(all="ignore"):
        outs = {n: np.asarray(v) for n, v in layer.apply(layer.params, inputs).items()}
    # every returned array is the caller's own: none may share memory with the input data
    # or with another output (one layer output can feed two output ports)
    taken = list(inputs.values())
    for n, v in outs.items():
        if any(np.may_share_memory(v, other) for other in taken):
            outs[n] = v = v.copy()
        taken.append(v)
    return outs


def _present(layer, results, is_batch, prop):
    names = list(layer.outputs)
    want = names
    decode_prop = None
    if prop is not None:
        if prop in layer.outputs:
            want = [prop]
        elif prop in ("Probabilities", "Decision"):
            decode_prop = prop
        else:
            raise PortError(
                f"unknown output {prop!r}; this net's output ports are {', '.join(map(repr, names))}"
                f" (or 'Probabilities' for a class decoder)"
            )
    out = {}
    for n in want:
        coder = layer.outputs[n].coder
        values = results[n]
        if coder is not None and hasattr(coder, "decode"):
            values = _decode(coder, values, decode_prop, n, is_batch)
        elif decode_prop is not None and len(want) == 1:
            raise PortError(f"output port {n!r} has no class decoder, so it has no {decode_prop!r}")
        elif not is_batch:
            values = [values[0].item() if np.ndim(values[0]) == 0 else values[0]]
        else:
            stacked = _stack(values)  # ragged outputs stay a list of arrays
            values = stacked if stacked is not None else list(values)
        out[n] = values if is_batch else values[0]
    return out[want[0]] if len(want) == 1 else out


def _decode(coder, values, prop, port, is_batch):
    """Each example's output through the port's decoder; a batch's error names the example."""
    decoded = []
    for i, v in enumerate(values):
        try:
            decoded.append(coder.decode(v, prop, port=port))
        except DataError as e:
            if not is_batch:
                raise
            raise DataError(f"{e}; at example {i} (0-based) of {len(values)}") from None
    return decoded
