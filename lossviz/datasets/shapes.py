"""Two classic 2-D classification sets: interleaved half moons and k Gaussian blobs.

Like the Playground's sets they live in about ``[-1, 1]^2``; ``noise`` is the
standard deviation of a Gaussian added to every coordinate (in those units).
"""
from __future__ import annotations

import numpy as np

from .base import DataSet, check_common, check_int, class_counts, make_dataset
from .registry import generator

__all__ = ["moons", "blobs", "blob_points", "BLOB_RADIUS"]

#: blob centres lie on a circle of this radius around the origin
BLOB_RADIUS = 0.6


@generator("moons")
def moons(n=500, *, noise=0.1, random_seed=None, test_fraction=0.25) -> DataSet:
    """Two interleaved half circles (scikit-learn's ``make_moons``, rescaled).

    Before rescaling: the "upper" moon ``(cos t, sin t)``, the "lower" one
    ``(1 - cos t, 0.5 - sin t)``, ``t ~ U(0, pi)``, plus ``N(0, noise^2)`` per
    coordinate; then ``x -> (x - 0.5) / 1.5``, ``y -> (y - 0.25) / 1.5``, and
    ``noise`` is in the units before rescaling (as in scikit-learn).
    ``n - n // 2`` upper, ``n // 2`` lower.

    Returns a classification :class:`DataSet`: "Input" ``(n_train, 2)`` float64,
    at noise 0 in ``[-1, 1] x [-0.5, 0.5]``; "Output" ``(n_train,)`` int64
    (0 "upper", 1 "lower").
    """
    n, noise, rng, test_fraction = check_common("moons", n, noise, random_seed, test_fraction)
    counts = class_counts(n, 2)
    labels = np.repeat(np.arange(2), counts)
    t = rng.uniform(0.0, np.pi, n)
    upper = labels == 0
    x = np.where(upper, np.cos(t), 1.0 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    points = np.stack([x, y], axis=1) + rng.normal(0.0, noise, (n, 2))
    points = (points - [0.5, 0.25]) / 1.5
    return make_dataset("moons", "classification", points, labels, rng, test_fraction, classes=["upper", "lower"])


def blob_points(rng, counts, noise):
    """Points of ``len(counts)`` isotropic Gaussian blobs and their labels: ``((n, 2), (n,))``.

    Blob ``c`` of ``k`` has ``counts[c]`` points around the centre
    ``BLOB_RADIUS * (cos a_c, sin a_c)``, ``a_c = pi / 2 + 2 pi c / k``, with
    standard deviation ``noise`` per coordinate; labels are ordered by class.
    """
    k = len(counts)
    labels = np.repeat(np.arange(k), counts)
    angles = np.pi / 2 + 2 * np.pi * np.arange(k) / k
    centres = BLOB_RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return centres[labels] + rng.normal(0.0, noise, (len(labels), 2)), labels


@generator("blobs")
def blobs(n=500, *, k=3, noise=0.15, random_seed=None, test_fraction=0.25) -> DataSet:
    """``k`` Gaussian blobs with centres evenly spaced on a circle of radius 0.6.

    Class ``c`` is centred at ``0.6 (cos a_c, sin a_c)``, ``a_c = pi/2 + 2 pi c / k``
    (the first at the top), with standard deviation ``noise`` per coordinate;
    the ``n`` points are shared as evenly as possible (the first ``n % k``
    classes have one more).

    Returns a classification :class:`DataSet`: "Input" ``(n_train, 2)`` float64,
    about ``[-0.6 - 3 noise, 0.6 + 3 noise]^2``; "Output" ``(n_train,)`` int64
    in ``0 .. k-1``, named ``"0" .. "k-1"``. Needs ``2 <= k <= n``.
    """
    k = check_int("blobs", "k", k, 2)
    n, noise, rng, test_fraction = check_common("blobs", n, noise, random_seed, test_fraction, min_n=k)
    points, labels = blob_points(rng, class_counts(n, k), noise)
    return make_dataset("blobs", "classification", points, labels, rng, test_fraction,
                        classes=[str(c) for c in range(k)])
