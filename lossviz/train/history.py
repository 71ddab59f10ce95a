"""Thinning a long history to a min-max envelope: bounded memory, the same picture.

A panel left training appends a batch loss every few microseconds; the session's
:class:`Trace` (``TrainingSession(history_limit=)``) and the panel's curves
(:class:`lossviz.widgets.views.CurveHistory`) keep them bounded by keeping, of each
stretch of batches or rounds, the lowest and the highest value at their own
positions, and :func:`envelope_points` draws at most so many points of a curve.
Pure numpy: training, plots and widgets share it.
"""
from __future__ import annotations

import math
from array import array

import numpy as np

__all__ = ["Trace", "envelope_rows", "thin_rows", "envelope_points"]


def envelope_rows(positions, columns, width):
    """Which rows of a thinned history to keep: a min-max envelope of buckets ``width`` positions wide.

    ``positions`` (increasing numbers: batch or round numbers) are cut into buckets
    ``floor(position / width)``; in each bucket, for each of ``columns`` (float arrays aligned
    with ``positions``; NaN is no value), the row of the lowest and of the highest value is kept
    (the first such row on ties); the first and the last row are always kept. Returns the sorted
    row indices. With power-of-two widths the buckets nest, so thinning a thinned history again
    keeps the envelope of the raw one: every bucket's extremes, and so the global ones.
    """
    x = np.asarray(positions, dtype=float)
    n = len(x)
    if n <= 2:
        return np.arange(n)
    bucket = np.floor_divide(x, float(width))
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    for column in columns:
        y = np.asarray(column, dtype=float)
        nan = np.isnan(y)
        for fill, reduce in ((np.inf, np.minimum), (-np.inf, np.maximum)):
            v = np.where(nan, fill, y) if nan.any() else y
            hit = np.flatnonzero((v == reduce.reduceat(v, starts)[seg]) & ~nan)
            first = hit[np.r_[True, seg[hit][1:] != seg[hit][:-1]]] if len(hit) else hit
            keep[first] = True
    return np.flatnonzero(keep)


def thin_rows(positions, columns, target, width=1):
    """``(rows to keep, bucket width)``: the envelope of :func:`envelope_rows` with the bucket width doubled,
    from ``width`` (the width an earlier thinning reached; 1 keeps every row), until at most ``target`` rows
    are kept or one bucket spans every position. ``columns`` are float arrays aligned with ``positions``."""
    x = np.asarray(positions, dtype=float)
    keep = envelope_rows(x, columns, width) if width > 1 else np.arange(len(x))
    span = x[-1] - x[0] if len(x) else 0.0
    while len(keep) > target and width <= span:
        width *= 2
        keep = keep[envelope_rows(x[keep], [np.asarray(c)[keep] for c in columns], width)]
    return keep, width


def envelope_points(x, y, max_points=1000):
    """At most about ``max_points`` points of a curve (x, y) that look the same drawn.

    A long curve's x range is cut into ``max_points // 2 - 1`` equal buckets and each bucket keeps
    its lowest and its highest point, in their order (spikes stay visible, which striding or
    averaging would hide); the first and the newest point stay. Buckets of x, not of point counts:
    a history thinned unevenly (dense in its newest rounds) draws as the whole one does.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(y)
    if n <= max_points:
        return x, y
    buckets = max(1, max_points // 2 - 1)
    width = (x[-1] - x[0]) / buckets
    if not width > 0:  # no x range: every point at one x
        pick = np.unique(np.r_[0, np.argmin(y), np.argmax(y), n - 1])
        return x[pick], y[pick]
    pick = envelope_rows(x - x[0], [y], width)
    return x[pick], y[pick]


class Trace:
    """Float64 columns with one row per batch or per round, kept whole or thinned to a bounded size.

    Rows are appended at positions 1, 2, 3, ... (the batch or round number, over the run); a
    column is a name (any hashable), and a row may lack some columns (NaN). Numbers are kept as
    float64 (8 bytes each, not a Python float's 32).

    ``limit=None`` keeps every row. With a ``limit``, :meth:`fit` (called by the session after
    every round and at the end of a run) thins the rows once more than ``limit`` are kept: to a
    min-max envelope (:func:`thin_rows`) of buckets ``width`` positions
    wide, ``width`` a power of two doubled until at most half the limit is kept. So the first row,
    the newest row and, for every column, the lowest and the highest value of every bucket are kept,
    at their own positions (:meth:`positions`); newer rows are kept whole until the next thinning.

    The newest rows are in ``tail`` (one ``array('d')`` per column, positions ``folded + 1``
    onwards); training appends the batch losses to ``tail[...]`` directly (the hot path pays no
    method call). The thinned rows before them are numpy arrays.
    """

    def __init__(self, names=(), limit=None):
        self.limit = limit
        self.width = 1  # bucket width (positions) of the thinned rows
        self.folded = 0  # the position of the last thinned row: tail rows come after it
        self._head_x = np.zeros(0)
        self._head = {}
        self.tail = {}
        for name in names:
            self.add_column(name)

    # ---------------------------------------------------------------- writing
    def add_column(self, name):
        """A new column, NaN in every row kept so far (no error if it exists)."""
        if name not in self.tail:
            self._head[name] = np.full(len(self._head_x), math.nan)
            self.tail[name] = array("d", [math.nan]) * self._tail_length()

    def _tail_length(self):
        return len(next(iter(self.tail.values()))) if self.tail else 0

    def append(self, row):
        """Add a row ``{column: value}`` (missing columns NaN, new names become columns)."""
        tail = self.tail
        for name in row:
            if name not in tail:
                self.add_column(name)
        for name, column in tail.items():
            column.append(row.get(name, math.nan))

    def update_last(self, row):
        """Add or change numbers of the newest row."""
        for name, value in row.items():
            self.add_column(name)
            self.tail[name][-1] = value

    def fit(self):
        """Thin the rows when more than ``limit`` are kept (see the class); True if it thinned."""
        if self.limit is None or len(self) <= self.limit:
            return False
        self._thin()
        return True

    def _thin(self):
        # every row but the newest goes through the envelope; the newest stays as the tail
        k = self._tail_length() - 1
        if k <= 0:
            return
        names = list(self.tail)
        x = np.concatenate([self._head_x, np.arange(self.folded + 1, self.folded + k + 1, dtype=float)])
        cols = [np.concatenate([self._head[n], np.frombuffer(self.tail[n], dtype=float)[:k]]) for n in names]
        # the tail's raw rows join the buckets of the thinned ones; wider only when needed
        keep, self.width = thin_rows(x, cols, max(2, (self.limit - 1) // 2), self.width)
        self._head_x = x[keep]
        self._head = {n: c[keep] for n, c in zip(names, cols)}
        self.folded += k
        for n in names:
            del self.tail[n][:k]

    # ---------------------------------------------------------------- reading
    def __len__(self):
        """Rows kept."""
        return len(self._head_x) + self._tail_length()

    def __bool__(self):
        return self.count > 0

    @property
    def count(self):
        """Rows appended in all (kept or not)."""
        return self.folded + self._tail_length()

    @property
    def thinned(self):
        """True when some rows were dropped."""
        return len(self) < self.count

    def snapshot(self):
        """``(positions, {column: values})`` of the kept rows, read at one moment: the position (the 1-based
        batch or round number; a ``range`` while every row is kept) and the values (lists of floats) of
        each. Rows appended meanwhile (batch losses appended by training in another thread) are left
        out; nothing else may change the trace meanwhile (the session reads it under its history lock).
        """
        n = self._tail_length()
        return self._positions(n), {name: self._head[name].tolist() + column[:n].tolist()
                                    for name, column in self.tail.items()}

    def _positions(self, n):
        count = self.folded + n
        if len(self._head_x) + n == count:
            return range(1, count + 1)
        return self._head_x.astype(np.int64).tolist() + list(range(self.folded + 1, count + 1))

    def positions(self):
        """The position (1-based batch or round number) of each kept row: a ``range`` while every row is kept."""
        return self._positions(self._tail_length())

    def column(self, name):
        """The kept values of a column, as a list of floats (NaN for every row when there is no such column)."""
        if name not in self.tail:
            return [math.nan] * len(self)
        return self._head[name].tolist() + self.tail[name].tolist()

    def first(self, name):
        """The first row's value of a column (the first row is always kept)."""
        return float(self._head[name][0]) if len(self._head_x) else self.tail[name][0]

    def last(self, name):
        """The newest row's value of a column (None when there is no row)."""
        column = self.tail.get(name)
        if column:
            return column[-1]
        head = self._head.get(name)
        return float(head[-1]) if head is not None and len(head) else None

    def last_row(self, names):
        """``{name: value}`` of the newest row, for the ``names`` it has a number in."""
        return {n: v for n in names if (v := self.last(n)) is not None and not math.isnan(v)}
