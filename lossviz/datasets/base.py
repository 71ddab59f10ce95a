"""The :class:`DataSet` every generator returns, argument checks and the train/test split.

A data set is ``n`` examples drawn from a ``numpy.random.Generator`` seeded
with ``random_seed``, shuffled, and split into a training part and a held-out
test part of ``floor(test_fraction * n)`` examples (for classification the
split is stratified: ``floor(test_fraction * n_c)`` of each class ``c``).
Every array is read-only, so a data set cannot be changed by accident.
"""
from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, describe_value

__all__ = ["DataSet", "KINDS"]

#: the kinds of data set: what the targets are
KINDS = ("classification", "regression", "pairs")


@dataclass(frozen=True, eq=False)
class DataSet:
    """A toy data set: training and test data in the form ``NetTrain`` takes.

    Fields
    ------
    train : dict
        ``{port: array}`` with examples on axis 0, e.g. ``{"Input": X, "Output": y}``;
        pass it straight to ``NetTrain(net, ds.train, ...)``.
    test : dict
        The held-out examples, same ports (``validation_set=ds.test``).
    classes : list of str or None
        Names of the class indices ``0 .. k-1`` (``classes[y[i]]`` names
        example ``i``); ``None`` for regression.
    name : str
        The generator's registry name (``lossviz.datasets.load(name)``).
    kind : {"classification", "regression", "pairs"}
        Integer class indices (int64), real targets (float64), or pairs of
        points with a True/False "dissimilar" target (bool).

    Properties ``X``, ``y``, ``X_test``, ``y_test`` give the inputs and the
    targets as arrays; for ``kind="pairs"`` ``X`` is ``(n, 2, d)``: the points
    fed to "Input1" and "Input2" side by side.
    """

    train: dict
    test: dict
    classes: list | None
    name: str
    kind: str

    # ------------------------------------------------------------------ arrays
    @staticmethod
    def _inputs(part):
        if "Input" in part:
            return part["Input"]
        return np.stack([part["Input1"], part["Input2"]], axis=1)

    @property
    def X(self) -> np.ndarray:
        """Training inputs, ``(n_train, d)`` (``(n_train, 2, d)`` for pairs)."""
        return self._inputs(self.train)

    @property
    def y(self) -> np.ndarray:
        """Training targets, ``(n_train,)``: class indices, reals, or True (dissimilar) / False."""
        return self.train["Output"]

    @property
    def X_test(self) -> np.ndarray:
        """Test inputs, ``(n_test, d)`` (``(n_test, 2, d)`` for pairs)."""
        return self._inputs(self.test)

    @property
    def y_test(self) -> np.ndarray:
        """Test targets, ``(n_test,)``."""
        return self.test["Output"]

    # ------------------------------------------------------------------ class weights
    def with_class_weights(self) -> "DataSet":
        """The same data set with a "Weight" port of balanced class weights in train and test.

        ``w_i = n / (k * n_{y_i})`` (``n`` examples in the part, ``k`` classes
        present in it, ``n_c`` examples of class ``c``): every class then
        carries the same total weight ``n / k``, and the weights average to 1. NetTrain feeds
        "Weight" to losses that take it (cross-entropy, focal, ...), so a rare
        class counts as much as a common one.
        """
        if self.kind != "classification":
            raise ParameterError(f"with_class_weights: data set {self.name!r} is {self.kind}; "
                                 f"class weights need a classification data set")

        def weighted(part):
            labels = part["Output"]
            if len(labels) == 0:
                return {**part, "Weight": _frozen(np.zeros(0))}
            counts = np.bincount(labels, minlength=len(self.classes))
            present = np.count_nonzero(counts)
            weights = len(labels) / (present * counts[labels])
            return {**part, "Weight": _frozen(weights)}

        return DataSet(weighted(self.train), weighted(self.test), self.classes, self.name, self.kind)

    # ------------------------------------------------------------------ display
    def _summary(self):
        n_train, n_test = len(self.y), len(self.y_test)
        first = self.train["Input1" if self.kind == "pairs" else "Input"]
        dims = "x".join(map(str, first.shape[1:]))
        what = "pairs of points" if self.kind == "pairs" else "inputs"
        text = [f"{n_train} train + {n_test} test examples", f"{what} of dimension {dims}"]
        if self.classes is not None:
            counts = np.bincount(self.y.astype(np.int64), minlength=len(self.classes))
            text.append("classes " + ", ".join(f"{c!r} ({k})" for c, k in zip(self.classes, counts)))
        if "Weight" in self.train:
            text.append("with class weights")
        return text

    def __repr__(self):
        return f"DataSet({self.name!r}, {self.kind}: " + "; ".join(self._summary()) + ")"

    def _repr_html_(self):
        items = "".join(f"<li>{html.escape(t)}</li>" for t in self._summary())
        return (f"<div class='lossviz-dataset'><b>DataSet {html.escape(self.name)}</b> "
                f"({html.escape(self.kind)})<ul>{items}</ul></div>")

    # ------------------------------------------------------------------ equality
    def __eq__(self, other):
        if not isinstance(other, DataSet):
            return NotImplemented
        if (self.name, self.kind, self.classes) != (other.name, other.kind, other.classes):
            return False
        return all(_same_arrays(a, b) for a, b in ((self.train, other.train), (self.test, other.test)))

    __hash__ = None


def _same_arrays(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and np.array_equal(a[k], b[k]) for k in a)


def _frozen(array) -> np.ndarray:
    out = np.ascontiguousarray(array)
    out.setflags(write=False)
    return out


# ---------------------------------------------------------------------- checks
def check_int(owner, name, value, low, *, allow_none=False):
    """``int(value)``, or a ParameterError unless it is an int ``>= low`` (bools refused; None if allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < low:
        want = f"{'None or ' if allow_none else ''}an int >= {low}"
        raise ParameterError(f"{owner}: {name} must be {want}, got {describe_value(value)}")
    return int(value)


def check_real(owner, name, value, *, low=None, high=None, open_low=False, open_high=False):
    """``float(value)``, or a ParameterError unless it is a finite real in the given interval."""
    ok = (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
          and math.isfinite(value))
    ok = ok and (low is None or (value > low if open_low else value >= low))
    ok = ok and (high is None or (value < high if open_high else value <= high))
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if open_low else '>='} {low:g}")
        if high is not None:
            bounds.append(f"{'<' if open_high else '<='} {high:g}")
        want = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
        raise ParameterError(f"{owner}: {name} must be {want}, got {describe_value(value)}")
    return float(value)


def check_common(owner, n, noise, random_seed, test_fraction, *, min_n=2):
    """Check the options every generator takes; return ``(n, noise, rng, test_fraction)``.

    ``n``: an int ``>= min_n``; ``noise``: finite, ``>= 0``; ``test_fraction``
    in ``[0, 1)``; ``random_seed``: None (fresh entropy) or an int ``>= 0``,
    which seeds ``numpy.random.default_rng`` so the same seed gives the same
    data, bit for bit.
    """
    n = check_int(owner, "n", n, min_n)
    noise = check_real(owner, "noise", noise, low=0.0)
    test_fraction = check_real(owner, "test_fraction", test_fraction, low=0.0, high=1.0, open_high=True)
    random_seed = check_int(owner, "random_seed", random_seed, 0, allow_none=True)
    return n, noise, np.random.default_rng(random_seed), test_fraction


def class_counts(n: int, k: int) -> np.ndarray:
    """``n`` examples over ``k`` classes as evenly as possible: the first ``n % k`` get one more."""
    return np.full(k, n // k) + (np.arange(k) < n % k)


# ---------------------------------------------------------------------- split
def split_indices(rng, n: int, test_fraction: float, labels=None):
    """Shuffle ``range(n)`` and hold out a test part: ``(train_idx, test_idx)``, each in shuffled order.

    Without ``labels`` the first ``floor(test_fraction * n)`` shuffled indices
    are the test part. With ``labels`` the split is stratified: the first
    ``floor(test_fraction * n_c)`` shuffled examples of each class ``c``.
    """
    perm = rng.permutation(n)
    if labels is None:
        held = np.zeros(n, dtype=bool)
        held[: math.floor(test_fraction * n)] = True
    else:
        shuffled = np.asarray(labels)[perm]
        held = np.zeros(n, dtype=bool)
        for c in np.unique(shuffled):
            where = np.flatnonzero(shuffled == c)
            held[where[: math.floor(test_fraction * len(where))]] = True
    return perm[~held], perm[held]


def from_parts(name, kind, train: dict, test: dict, classes=None) -> DataSet:
    """A :class:`DataSet` of ``{port: array}`` parts, the arrays made contiguous and read-only."""
    freeze = lambda part: {port: _frozen(a) for port, a in part.items()}  # noqa: E731
    return DataSet(freeze(train), freeze(test), list(classes) if classes is not None else None, name, kind)


def make_dataset(name, kind, inputs, targets, rng, test_fraction, *, classes=None) -> DataSet:
    """Shuffle and split ``inputs`` ``(n, d)`` and ``targets`` ``(n,)`` into a :class:`DataSet`.

    Classification targets become int64 class indices and the split is
    stratified; regression targets become float64.
    """
    stratify = kind == "classification"
    targets = np.asarray(targets, dtype=np.int64 if stratify else np.float64)
    inputs = np.asarray(inputs, dtype=np.float64)
    train, test = split_indices(rng, len(targets), test_fraction, targets if stratify else None)
    return from_parts(name, kind, {"Input": inputs[train], "Output": targets[train]},
                      {"Input": inputs[test], "Output": targets[test]}, classes)
