"""Training data in its user forms -> one array per port.

Accepted forms (any port names):

* ``{"Input": X, "Output": Y, ...}``: a dict of ports;
* ``(X, Y)``: inputs of the net's only input port, targets of its only
  output port (as in Wolfram's ``{in1, in2, ...} -> {out1, out2, ...}``);
* ``[(x1, y1), (x2, y2), ...]``: a list of example pairs.

Every array's first axis runs over examples. Class labels are encoded where
the port (or the output's NetDecoder) says so.
"""
from __future__ import annotations

import numpy as np

from ..errors import DataError, PortError, ShapeError, describe_shape
from ..losses.base import one_based_hint
from ..net.ports import VARYING, PortType

__all__ = ["as_port_dict", "check_finite", "read_data", "read_examples", "split_validation", "shuffled_batches",
           "is_ragged", "equal_shape_groups"]


def as_port_dict(data, input_port: str | None, target_port: str | None, *, what="data"):
    """Normalize ``data`` to ``{port: raw data}`` (arrays not yet checked)."""
    if isinstance(data, dict):
        if not data:
            raise DataError(f"{what}: the dict is empty")
        return dict(data)
    if isinstance(data, tuple) and len(data) == 2:
        x, y = data
    elif isinstance(data, list) and data and all(isinstance(e, tuple) and len(e) == 2 for e in data):
        x = [e[0] for e in data]
        y = [e[1] for e in data]
    else:
        raise DataError(
            f"{what}: expected a dict {{port: examples}}, a pair (inputs, targets) or a list of "
            f"(input, target) pairs; got {_describe_data(data)}"
        )
    if input_port is None:
        raise DataError(f"{what}: the net has several input ports; give the data as a dict keyed by port name")
    if target_port is None:
        raise DataError(f"{what}: (inputs, targets) needs exactly one target port; give a dict keyed by port name")
    return {input_port: x, target_port: y}


def _describe_data(data) -> str:
    """What ``data`` is, and how to write it, for the message of a data form that is not understood."""
    kind = type(data).__name__
    if isinstance(data, list) and not data:
        return "an empty list (no examples)"
    if (isinstance(data, list) and len(data) == 2 and all(isinstance(e, (list, np.ndarray)) for e in data)
            and len(data[0]) == len(data[1]) != 2):
        return "a list of two lists: write (inputs, targets) as a tuple, with parentheses"
    if isinstance(data, list) and all(isinstance(e, list) and len(e) == 2 for e in data):
        return "a list of lists: write each example as a tuple (input, target), e.g. [(1, 1.9), (2, 4.1)]"
    if isinstance(data, list):
        bad = next(e for e in data if not (isinstance(e, tuple) and len(e) == 2))
        return f"a list whose items are not all (input, target) tuples (one is {bad!r:.60})"
    if isinstance(data, np.ndarray):
        return (f"one array of shape {data.shape}: it holds no targets; give (inputs, targets) or "
                f"{{'Input': inputs, 'Output': targets}}")
    if isinstance(data, tuple):
        return f"a tuple of {len(data)} items; a pair (inputs, targets) has 2"
    return kind


def read_examples(t: PortType, data, port: str, *, decoder=None) -> np.ndarray:
    """One port's examples as an array whose first axis runs over examples."""
    if decoder is not None and decoder.looks_like_labels(data):
        arr, is_batch = decoder.encode_target(data, port)
        if not is_batch:
            raise DataError(f"port {port!r}: expected a list of examples, got the single label {data!r}")
        return arr
    if t.coder is not None and hasattr(t.coder, "encode"):
        arrays, is_batch = t.coder.encode(data, port)
        if not is_batch:
            raise DataError(f"port {port!r}: expected a list of examples, got one example {data!r}")
        if len({a.shape for a in arrays}) > 1:
            return _ragged(arrays)  # strings of different lengths
        return np.stack(arrays)
    if t.dims is not None and VARYING in t.dims and isinstance(data, (list, tuple)):
        examples = _read_sequences(t, data, port)
        if examples is not None:
            return examples
    try:
        arr = np.asarray(data)
    except ValueError:
        raise ShapeError(f"port {port!r}: the examples have different shapes; expected each to be "
                         f"{t.describe()}") from None
    if arr.dtype == bool:
        arr = arr.astype(float)
    if arr.dtype.kind not in "iuf":
        where = _first_non_number(arr)
        labels = arr.dtype.kind in "US" and where.startswith("example")
        raise DataError(f"port {port!r}: cannot read numbers from {where}; expected "
                        + ("numbers" if t.dims is None else f"{t.describe()} per example")
                        + ("; labels (strings) are read through a NetDecoder('Class', labels) on the net's "
                           "output, or a NetEncoder on an input" if labels else ""))
    if arr.ndim == 0:
        raise DataError(f"port {port!r}: expected a list of examples, got the single value {arr.item()!r}")
    if t.dims is not None:
        if t.dims == (1,) and arr.ndim == 1:
            # n numbers for a port of vectors of length 1 (y of shape (n,) for a net with one output, as
            # Gluon, Keras and scikit-learn accept): unambiguous, n examples
            arr = arr[:, None]
        if arr.ndim != len(t.dims) + 1:
            one = arr.shape == tuple(t.dims)
            got = "one example" if one else f"data of shape {arr.shape}"
            raise ShapeError(
                f"port {port!r}: got {got}, expected a list of examples each {describe_shape(t.dims)} "
                f"(an array of shape (n, {', '.join('?' if not isinstance(d, int) else str(d) for d in t.dims)}))"
                .replace(", )", ",)")
            )
        for got, want in zip(arr.shape[1:], t.dims):
            if isinstance(want, int) and got != want:
                raise ShapeError(f"port {port!r}: got examples of shape {arr.shape[1:]}, expected "
                                 f"{describe_shape(t.dims)}")
    if t.kind == "Integer":
        if arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
            raise DataError(f"port {port!r}: expected integer class indices, got fractional values")
        return arr.astype(np.int64)
    return arr.astype(float)


def _first_non_number(arr: np.ndarray) -> str:
    """Where in ``arr`` (examples on axis 0) the first value that is not a number is, in words."""
    if arr.ndim:
        for i, example in enumerate(arr):
            for value in np.ravel(np.asarray(example, dtype=object)):
                try:
                    float(value)
                except (TypeError, ValueError):
                    value = value.item() if isinstance(value, np.generic) else value
                    return f"example {i} (0-based), which holds {value!r:.60}"
        if arr.dtype.kind in "US" and len(arr):
            return (f"text: example 0 (0-based) is {np.ravel(arr[0])[0].item()!r:.60}, numbers written as strings "
                    f"(np.asarray(x, dtype=float) converts them)")
    return f"data of type {arr.dtype}"


def _ragged(arrays) -> np.ndarray:
    """Examples of different shapes as a 1-D object array of per-example arrays (see :func:`is_ragged`)."""
    out = np.empty(len(arrays), dtype=object)
    for i, a in enumerate(arrays):
        out[i] = a
    return out


def _read_sequences(t: PortType, data, port):
    """A list of "Varying" sequences of different lengths as a ragged object array (None if they agree)."""
    items = []
    for i, x in enumerate(data):
        try:
            a = np.asarray(x, dtype=np.int64 if t.kind == "Integer" else float)
        except (TypeError, ValueError):
            raise DataError(f"port {port!r}: cannot read numbers from example {i} (0-based), {x!r}; expected "
                            f"{t.describe()}") from None
        if a.ndim != len(t.dims) or any(isinstance(w, int) and g != w for g, w in zip(a.shape, t.dims)):
            raise ShapeError(f"port {port!r}: example {i} (0-based) has shape {a.shape}, expected "
                             f"{describe_shape(t.dims)}")
        items.append(a)
    if not items or len({a.shape for a in items}) == 1:
        return None
    return _ragged(items)


def is_ragged(arr) -> bool:
    """True for a port whose examples have different shapes ("Varying" sequences of different lengths).

    Such a port is held as a 1-D object array of per-example arrays: nothing
    is padded. A batch of them is computed in groups of equal shape
    (:func:`equal_shape_groups`), so each example's loss is exactly its loss
    alone, and the batch's loss is the mean over its examples.
    """
    return arr.dtype == object


def equal_shape_groups(batch: dict):
    """Split a batch holding ragged ports into ``[(sub-batch of stacked arrays, size)]`` of equal shapes.

    Examples keep their order within a group; groups come in the order of
    their first example. A batch without ragged ports is one group.
    """
    ragged = [p for p, a in batch.items() if is_ragged(a)]
    n = len(next(iter(batch.values())))
    if not ragged:
        return [(batch, n)]
    groups = {}
    for i in range(n):
        groups.setdefault(tuple(np.shape(batch[p][i]) for p in ragged), []).append(i)
    out = []
    for idx in groups.values():
        out.append(({p: (np.stack(list(a[idx])) if p in ragged else a[idx]) for p, a in batch.items()}, len(idx)))
    return out


def check_lengths(arrays: dict, what="data"):
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k!r}: {n}" for k, n in lengths.items())
        raise DataError(f"{what}: ports have different numbers of examples ({detail})")
    n = next(iter(lengths.values()))
    if n == 0:
        raise DataError(f"{what}: no examples")
    return n


def split_validation(arrays: dict, fraction: float, rng):
    """Hold out ``fraction`` of the examples (chosen by ``rng``) as a validation set."""
    n = check_lengths(arrays)
    k = int(round(n * fraction))
    if not 0 < k < n:
        raise DataError(f"validation_set=Scaled({fraction:g}) holds out {k} of {n} examples; "
                        f"need at least one for each of training and validation")
    perm = rng.permutation(n)
    held, kept = perm[:k], perm[k:]
    return {p: a[kept] for p, a in arrays.items()}, {p: a[held] for p, a in arrays.items()}


#: rows gathered at once by :func:`shuffled_batches` are at most this many bytes (or one batch)
GATHER_BYTES = 8 * 2**20


def shuffled_batches(arrays: dict, perm, batch_size: int):
    """Yield ``{port: rows perm[i:i + batch_size]}`` for consecutive batches of a permutation.

    Rows are gathered several batches at a time (up to :data:`GATHER_BYTES`)
    and batches are views of that block: one ``np.take`` per block instead of
    one fancy-indexing call per port and batch (``a[idx]`` of a 2-D array is
    about 10 times slower than ``np.take(a, idx, axis=0)``), which is a
    measurable part of a small training step. The batches hold the same rows in the same order as
    ``{p: a[perm[i:i + batch_size]]}`` would; the last one may be shorter.
    """
    row_bytes = sum(a[:1].nbytes for a in arrays.values()) or 1
    per_block = max(1, GATHER_BYTES // (row_bytes * batch_size))
    step = per_block * batch_size
    for lo in range(0, len(perm), step):
        idx = perm[lo:lo + step]
        block = {p: np.take(a, idx, axis=0) for p, a in arrays.items()}  # 10x faster than a[idx] on 2-D
        for j in range(0, len(idx), batch_size):
            yield {p: b[j:j + batch_size] for p, b in block.items()}


def unknown_ports(arrays, allowed, what="data", spec=None):
    extra = [k for k in arrays if k not in allowed]
    if extra:
        # a target for an output whose loss takes none: say which loss that is (SoftmaxLayer() given as a loss)
        untargeted = [t for t in getattr(spec, "terms", ()) if t.port == extra[0] and t.target is None]
        hint = (f" (the loss on output {extra[0]!r}, {type(untargeted[0].loss).__name__}, has no 'Target' port, "
                f"so it reads no target; is it the loss you meant?)" if untargeted else "")
        raise PortError(f"{what}: port {extra[0]!r} is not used by the training net; it reads "
                        f"{', '.join(map(repr, allowed))}{hint}")


def read_data(net, spec, raw, what="data"):
    """Read raw data (a port dict) into arrays for the net's inputs and the spec's targets and weights.

    Returns ``{port: array}`` with examples on axis 0; every port the spec needs
    is checked (present, readable, of one length, finite), unknown ports are
    refused. Every error's message starts with ``what`` ("data",
    "validation_set"), so a mistake in the validation set says so.
    """
    try:
        return _read_data(net, spec, raw, what)
    except (DataError, ShapeError, PortError) as e:
        if str(e).startswith(f"{what}:"):
            raise
        raise type(e)(f"{what}: {e}") from None


def _read_data(net, spec, raw, what):
    arrays = {}
    for p in net.inputs:
        if p in raw:
            arrays[p] = read_examples(net.inputs[p], raw[p], p)
        elif p not in net.optional_inputs:
            raise PortError(f"{what}: no data for the net's input port {p!r}; the data has "
                            f"{', '.join(map(repr, raw))}")
    allowed = list(net.inputs)
    for t in spec.terms:
        if t.target is None:
            continue
        allowed.append(t.target)
        if t.target not in raw:
            raise PortError(f"{what}: no data for {t.target!r}, the target of the loss on output {t.port!r}; "
                            f"the data has {', '.join(map(repr, raw))}")
        coder = net.outputs[t.port].coder
        decoder = coder if hasattr(coder, "encode_target") else None
        target = raw[t.target] if decoder is not None else _indices_as_unit_vectors(t, net.outputs[t.port],
                                                                                      raw[t.target])
        arrays[t.target] = read_examples(t.loss.inputs["Target"], target, t.target, decoder=decoder)
        if decoder is not None and decoder.looks_like_labels(raw[t.target]):
            arrays[t.target] = _labels_for_loss(t, net.outputs[t.port], arrays[t.target])
        _check_targets(t, arrays[t.target])
    if any(t.weight for t in spec.terms):
        allowed.append("Weight")
        if "Weight" in raw:
            arrays["Weight"] = _read_weights(spec, raw["Weight"])
    unknown_ports(raw, allowed, what, spec)
    check_lengths(arrays, what)
    check_finite(arrays, what)
    return arrays


def check_finite(arrays: dict, what="data"):
    """Refuse NaN and infinite values before training, naming the port, the example and the value.

    A single NaN makes every loss and gradient NaN, and training would stop as
    "diverged" after its first batch with advice about the learning rate; the
    data is what needs fixing. One pass of ``np.isfinite`` per port (integer
    arrays cannot hold either).
    """
    for port, arr in arrays.items():
        if is_ragged(arr):
            bad = [i for i, x in enumerate(arr) if x.dtype.kind in "fc" and not np.isfinite(x).all()]
            if bad:
                raise DataError(f"{what}: port {port!r}, example {bad[0]} (0-based) holds NaN or an infinite "
                                f"value; training needs finite numbers")
            continue
        if arr.dtype.kind not in "fc" or np.isfinite(arr).all():
            continue
        bad = ~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)  # per example
        first = int(np.argmax(bad))
        example = np.asarray(arr[first])
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(example))[0]) if example.ndim else ()
        value = example[where].item()
        at = f" at position {list(where)}" if where else ""
        count = int(bad.sum())
        others = f" ({count} of the {len(arr)} examples hold such values)" if count > 1 else ""
        raise DataError(
            f"{what}: port {port!r}, example {first} (0-based) holds {value!r}{at}{others}; training needs "
            f"finite numbers: remove or replace those examples (np.isfinite(x) finds them)"
        )


def _indices_as_unit_vectors(term, out_type, data):
    """Integer class indices (n,) given for a loss that compares a k-vector output with a k-vector
    target (MeanSquaredLossLayer on a softmax, say) become unit vectors (n, k); anything else is
    returned as it is."""
    dims = out_type.dims
    if (term.loss.inputs["Target"].kind == "Integer" or dims is None or len(dims) != 1
            or not isinstance(dims[0], int) or dims[0] < 2):
        return data
    try:
        arr = np.asarray(data)
    except ValueError:
        return data
    if arr.ndim != 1 or arr.dtype.kind not in "iu" or not arr.size or arr.min() < 0 or arr.max() >= dims[0]:
        return data
    return np.eye(dims[0])[arr]


def _labels_for_loss(term, out_type, indices):
    """Class labels read through a decoder are 0-based indices (n,); a loss that compares the
    output with a vector of the output's size (MeanSquaredLossLayer, CrossEntropyLossLayer
    "Probabilities" ...) gets them as unit vectors (n, k), as Wolfram's "UnitVector" encoding does."""
    dims = out_type.dims
    wants_vectors = term.loss.inputs["Target"].kind != "Integer"
    if (wants_vectors and indices.ndim == 1 and indices.dtype.kind in "iu" and dims is not None
            and len(dims) == 1 and isinstance(dims[0], int) and dims[0] > 1):
        return np.eye(dims[0])[indices]
    return indices


def _read_weights(spec, data):
    """The "Weight" port: one weight per example, or weights shaped like each weighted loss's elements.

    Per-element weights are theanets' weighted targets (its autoencoder example
    weighs every output element): an array ``(n, *e)`` where ``e`` is the
    elementwise shape of the loss (the output's shape for MSE), or of that rank
    and broadcastable to it, like Gluon's ``(n, 1)``. The loss layer checks
    and applies them (see :mod:`lossviz.losses.base`, "Weights").
    """
    declared = _weight_type(spec)
    if declared.dims not in (None, ()):
        return read_examples(declared, data, "Weight")  # the loss was given weight=shape: that shape
    arr = read_examples(PortType(None), data, "Weight")
    if arr.ndim == 1:
        return arr
    if arr.shape[1:] == (1,) and all(_elementwise_dims(t) == () for t in spec.terms if t.weight):
        return arr[:, 0]  # a column of weights (keepdims) for losses with one value per example
    for t in spec.terms:
        if not t.weight:
            continue
        elem = _elementwise_dims(t)
        if elem is None:
            continue
        fits = len(elem) == arr.ndim - 1 and all(
            g in (1, w) or not isinstance(w, int) for g, w in zip(arr.shape[1:], elem))
        if not fits:
            raise ShapeError(
                f"port 'Weight': got weights of shape {arr.shape[1:]} per example; expected one weight per "
                f"example (an array of shape (n,)) or one per element of the loss on {t.port!r} "
                f"({describe_shape(elem)}, an array of shape (n, {', '.join(map(str, elem))}))".replace(", )", ",)"))
    return arr


def _elementwise_dims(term):
    """The shape of the elementwise values of ``term``'s loss for one example (None when not known)."""
    dims = term.loss.inputs["Input"].dims
    if hasattr(term.loss, "elementwise_dims") and dims is not None:
        return term.loss.elementwise_dims(dims)
    return dims


def _weight_type(spec):
    from ..net.ports import UNKNOWN

    t = next(t for t in spec.terms if t.weight)
    return t.loss.inputs.get("Weight", UNKNOWN)


def _check_targets(term, arr):
    """Targets the loss cannot take get a clear error before training."""
    t = term.loss.inputs["Target"]
    if is_ragged(arr):
        arr = np.concatenate([np.ravel(x) for x in arr])
    if t.kind == "Integer" and term.loss.inputs["Input"].dims:
        n = term.loss.inputs["Input"].dims[-1]
        if isinstance(n, int) and arr.size and (arr.min() < 0 or arr.max() >= n):
            raise DataError(f"port {term.target!r}: class indices must be in 0..{n - 1} (0-based) for "
                            f"the loss on {term.port!r}; got values from {arr.min()} to {arr.max()}"
                            f"{one_based_hint(arr, n)}")
