"""Thinning a long history to a min-max envelope: bounded memory, the same picture.

A panel left training appends a batch loss every few microseconds; the session
(:class:`lossviz.train.session.Trace`, ``history_limit=``) and the panel's curves
(:class:`lossviz.widgets.views.CurveHistory`) keep them bounded by keeping, of each
stretch of batches or rounds, the lowest and the highest value at their own
positions, and :func:`envelope_points` draws at most so many points of a curve.
Pure numpy: training, plots and widgets share it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["envelope_rows", "thin_rows", "envelope_points"]


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
