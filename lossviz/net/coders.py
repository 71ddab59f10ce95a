"""NetEncoder and NetDecoder: turn labels and strings into arrays and back.

Class indices are 0-based (the Python convention; Wolfram counts from 1).
"""
from __future__ import annotations

import math
from collections.abc import Hashable

import numpy as np

from ..errors import DataError, NetTypeError, ParameterError, close_match

__all__ = ["NetEncoder", "NetDecoder", "DEFAULT_CHARACTERS"]

#: the default alphabet of NetEncoder("Characters"): printable ASCII, space first (95 characters:
#: letters of both cases, digits, punctuation), so "Hello, World!" encodes as written
DEFAULT_CHARACTERS = "".join(chr(c) for c in range(32, 127))


def _labels(labels, what):
    if isinstance(labels, str) or not hasattr(labels, "__iter__"):
        raise NetTypeError(f"{what}: labels must be a list of class labels, got {labels!r}")
    labels = list(labels)
    if len(labels) < 2:
        raise ParameterError(f"{what}: needs at least 2 labels, got {labels!r}")
    if len(set(map(_key, labels))) != len(labels):
        raise ParameterError(f"{what}: labels must be distinct, got {labels!r}")
    return labels


def _key(label):
    return label.item() if isinstance(label, np.generic) else label


class _Coder:
    _types = ()

    def __init__(self, type, *args, output="Index", length=None):
        if type not in self._types:
            raise ParameterError(
                f"{self.__class__.__name__}: unknown type {type!r}; expected one of {self._types}"
            )
        self.type = type
        if type == "Class":
            (labels,) = args or (None,)
            self.labels = _labels(labels, f'{self.__class__.__name__}("Class")')
            self._index = {_key(lab): i for i, lab in enumerate(self.labels)}
        elif type == "Characters":
            alphabet = args[0] if args else DEFAULT_CHARACTERS
            self.labels = list(alphabet)
            if len(set(self.labels)) != len(self.labels):
                raise ParameterError(f"NetEncoder('Characters'): repeated characters in {alphabet!r}")
            self._index = {c: i for i, c in enumerate(self.labels)}
        elif type == "Boolean":
            if args:
                raise ParameterError(f"{self.__class__.__name__}('Boolean') takes no labels")
            self.labels = [False, True]
        if output not in ("Index", "UnitVector"):
            raise ParameterError(f"{self.__class__.__name__}: output must be 'Index' or 'UnitVector', got {output!r}")
        self.output = output
        if length is not None and (isinstance(length, bool) or not isinstance(length, (int, np.integer))
                                   or length < 1):
            raise ParameterError(f"{self.__class__.__name__}: length must be a positive int or None, got {length!r}")
        self.length = None if length is None else int(length)

    def mapped(self, n):
        """Wolfram's port shape ``{n, coder}``: this coder mapped over a sequence of n items.

        For "Class" and "Boolean" an example is a list of n labels (dims
        ``(n, *dims)``); for "Characters", whose examples already are
        sequences, a string of exactly n characters.
        """
        return type(self)(self.type, *self._args(), output=self.output, length=n)

    def _args(self):
        if self.type == "Boolean":
            return ()
        return ("".join(self.labels),) if self.type == "Characters" else (self.labels,)

    def _one(self):
        """The same coder for one item (without ``length``)."""
        return type(self)(self.type, *self._args(), output=self.output) if self.length else self

    def __eq__(self, other):
        return (
            type(self) is type(other)
            and self.type == other.type
            and self.labels == other.labels
            and self.output == other.output
            and self.length == other.length
        )

    def __hash__(self):
        return hash((type(self).__name__, self.type, len(self.labels)))

    def __repr__(self):
        name = self.__class__.__name__
        extra = ', output="UnitVector"' if self.output == "UnitVector" else ""
        if self.type == "Boolean":
            text = f'{name}("Boolean")'
        elif self.type == "Characters":
            alphabet = "".join(map(str, self.labels))
            text = (f'{name}("Characters"{extra})' if alphabet == DEFAULT_CHARACTERS else
                    f'{name}("Characters", {alphabet!r}{extra})')
        else:
            labels = self.labels if len(self.labels) <= 6 else self.labels[:5] + ["..."]
            text = f'{name}("Class", {labels!r}{extra})'
        return f"({self.length}, {text})" if self.length else text

    def config(self):
        cfg = {"type": self.type, "labels": None if self.type == "Boolean" else
               ("".join(self.labels) if self.type == "Characters" else [_key(x) for x in self.labels]),
               "output": self.output}
        if self.length:
            cfg["length"] = self.length
        return cfg

    @classmethod
    def from_config(cls, cfg):
        args = () if cfg["labels"] is None else (cfg["labels"],)
        return cls(cfg["type"], *args, output=cfg.get("output", "Index"), length=cfg.get("length"))


class NetEncoder(_Coder):
    """Turns labels or strings into arrays on an input port.

    ``NetEncoder("Class", labels)``
        a label -> its 0-based index, shape ``()`` ("Integer"); with
        ``output="UnitVector"`` a one-hot vector of length ``len(labels)``.
    ``NetEncoder("Characters", alphabet)``
        a string -> the sequence of 0-based character indices, shape
        ``("Varying",)``; with ``output="UnitVector"`` one-hot rows.
    ``NetEncoder("Boolean")``
        True/False -> 1/0.
    """

    _types = ("Class", "Characters", "Boolean")

    @property
    def dims(self):
        n = len(self.labels)
        if self.type == "Characters":
            steps = self.length or "Varying"
            return (steps,) if self.output == "Index" else (steps, n)
        if self.type == "Boolean":
            item = ()
        else:
            item = () if self.output == "Index" else (n,)
        return (self.length, *item) if self.length else item

    @property
    def kind(self):
        if self.type == "Boolean":
            return "Boolean"
        return "Integer" if self.output == "Index" else "Real"

    def is_single(self, data) -> bool:
        """True when ``data`` is one example rather than a batch of them."""
        if self.type == "Characters":
            # a string, or anything that is not a list of strings (encode_one then says what it expected)
            return isinstance(data, str) or not isinstance(data, (list, tuple, np.ndarray))
        if self.length and self.type != "Characters":  # one example is a list of n labels
            if not isinstance(data, (list, tuple, np.ndarray)) or len(data) == 0:
                return True
            return not isinstance(data[0], (list, tuple, np.ndarray)) or (
                isinstance(data[0], tuple) and _key(data[0]) in self._index)
        if isinstance(data, (list, tuple, np.ndarray)) and not (
            isinstance(data, tuple) and _key(data) in self._index
        ):
            return False
        return True

    def encode_one(self, x, port="Input"):
        if self.length:
            return self._encode_sequence(x, port)
        if self.type == "Boolean":
            if isinstance(x, (bool, np.bool_)) or x in (0, 1):
                return np.asarray(float(bool(x)))
            raise DataError(f"port {port!r}: expected True or False, got {x!r}")
        if self.type == "Characters":
            if not isinstance(x, str):
                raise DataError(f"port {port!r}: expected a string, got {x!r}")
            try:
                idx = np.array([self._index[c] for c in x], dtype=np.int64)
            except KeyError as e:
                raise DataError(
                    f"port {port!r}: character {e.args[0]!r} of {x!r} is not in the encoder's alphabet "
                    f"{''.join(self.labels)!r}"
                ) from None
        else:
            key = _key(x)
            if not isinstance(key, Hashable) or key not in self._index:
                raise DataError(f"port {port!r}: {x!r} is not one of the classes {self.labels!r}"
                                f"{_suggestion(key, self.labels)}")
            idx = np.asarray(self._index[key], dtype=np.int64)
        if self.output == "UnitVector":
            return np.eye(len(self.labels))[idx]
        return idx

    def _encode_sequence(self, x, port):
        """One example of a ``(n, encoder)`` port: n items (n characters), each encoded."""
        n = self.length
        if self.type == "Characters":
            if not isinstance(x, str) or len(x) != n:
                raise DataError(f"port {port!r}: expected a string of {n} characters, got {x!r}")
            return self._one().encode_one(x, port)
        items = list(x) if isinstance(x, (list, tuple, np.ndarray)) else None
        if items is None or len(items) != n:
            raise DataError(f"port {port!r}: expected a list of {n} labels, got {x!r}")
        one = self._one()
        return np.stack([one.encode_one(item, port) for item in items])

    def encode(self, data, port="Input"):
        """Encode one example or a batch; returns (list of arrays, is_batch)."""
        if self.is_single(data):
            return [self.encode_one(data, port)], False
        encoded = []
        for i, x in enumerate(data):
            try:
                encoded.append(self.encode_one(x, port))
            except DataError as e:  # say which example: the first wrong label may be deep in the list
                raise DataError(f"{e}; at example {i} (0-based) of {len(data)}") from None
        return encoded, True


class NetDecoder(_Coder):
    """Turns an output array back into labels.

    ``NetDecoder("Class", labels)``
        reads a probability vector of length ``len(labels)`` and gives the most
        probable label; ``net(x, "Probabilities")`` gives ``{label: p}``.
    ``NetDecoder("Boolean")``
        reads a probability ``p`` and gives ``p > 0.5``.
    """

    _types = ("Class", "Boolean")

    @property
    def dims(self):
        item = () if self.type == "Boolean" else (len(self.labels),)
        return (self.length, *item) if self.length else item

    @property
    def kind(self):
        return "Real"

    def decode(self, probs, prop=None, *, port="Output"):
        """One example: the label (see :meth:`_decode_one`); a list of n of them for a ``(n, decoder)`` port."""
        if self.length:
            one = self._one()
            return [one._decode_one(p, prop, port=port) for p in np.asarray(probs, dtype=float)]
        return self._decode_one(probs, prop, port=port)

    def _decode_one(self, probs, prop=None, *, port="Output"):
        """Decode one example's array. ``prop``: None (the label), "Probabilities",
        "Probability"+label via (prop, label), or "Decision".

        Probabilities that are NaN name no class: asking for the label (or the
        Decision) then raises a DataError naming ``port``; "Probabilities" still
        shows the raw values."""
        probs = np.asarray(probs, dtype=float)
        if self.type == "Boolean":
            p = float(probs)
            if prop == "Probabilities":
                return {True: p, False: 1.0 - p}
            if prop in (None, "Decision"):
                if math.isnan(p):
                    raise _undecidable(probs, port)
                return p > 0.5
        elif prop == "Probabilities":
            return {lab: float(p) for lab, p in zip(self.labels, probs)}
        elif prop in (None, "Decision"):
            i = int(np.argmax(probs))  # the first NaN if there is one: argmax takes NaN for the maximum
            if math.isnan(probs[i]):
                raise _undecidable(probs, port)
            return self.labels[i]
        raise ParameterError(
            f"NetDecoder: unknown property {prop!r}; expected None, 'Decision' or 'Probabilities'"
        )

    def encode_target(self, data, port="Output"):
        """Targets given as labels -> 0-based indices (or 0/1 for Boolean).

        Returns (array, is_batch). Used by NetTrain to feed loss targets.
        """
        enc = NetEncoder(self.type, *(() if self.type == "Boolean" else (self.labels,)), length=self.length)
        arrays, is_batch = enc.encode(data, port)
        return np.stack(arrays), is_batch

    def looks_like_labels(self, data) -> bool:
        """True if ``data`` (one target or a sequence of them) is meant as this decoder's labels.

        Looks at the first 50 items: labels if they all are labels, or if any of them
        is neither a number nor a list of numbers (a string, say) - then a wrong
        label among them is a mistake to report by :meth:`encode_target`, not data
        to read as class indices or probabilities.
        """
        if isinstance(data, np.ndarray) and data.dtype.kind in "fc":
            return False  # probabilities, not labels
        single = not isinstance(data, (list, tuple, np.ndarray))
        items = [data] if single else list(data[:50])
        if self.length:  # examples are lists of labels: look at their items
            items = [y for x in items for y in (x if isinstance(x, (list, tuple, np.ndarray)) else [x])]
        if not items:
            return False
        if self.type == "Boolean":
            if all(isinstance(x, (bool, np.bool_)) for x in items):
                return True
        elif all(isinstance(_key(x), Hashable) and _key(x) in self._index for x in items):
            return True
        return any(_is_label_like(x) for x in items)


def _is_label_like(x) -> bool:
    """True for a value that cannot be numeric data: neither a number nor an array or list."""
    if isinstance(x, (bool, np.bool_, int, float, np.number)):
        return False
    return not isinstance(x, (list, tuple, np.ndarray))  # arrays: probability vectors, read as numbers


def _suggestion(key, labels) -> str:
    """ " (did you mean 'Less'?)" when ``key`` is a near spelling of a string label, else ""."""
    near = close_match(key, labels)
    return f" (did you mean {near!r}?)" if near is not None else ""


def _undecidable(probs, port):
    """The DataError for NaN probabilities: no class is the most probable one (nor is True or False)."""
    what = ("class probabilities are {}, so no class is the most probable" if probs.ndim else
            "probability is {}, so it is neither True nor False")
    return DataError(
        f"port {port!r}: the net's {what.format(np.array2string(probs, precision=3))}; the input (or a "
        f"parameter) probably holds NaN or an infinite value; net(x, \"Probabilities\") shows the raw values"
    )
