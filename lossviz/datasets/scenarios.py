"""Data sets that make one loss's behaviour visible.

==========================  ============================================================
data set                    shows
==========================  ============================================================
``line_with_outliers``      MSE pulled by outliers; MAE and Huber robust to them
``imbalanced``              class weights (``ds.with_class_weights()``), focal loss
``label_noise``             MAE and label smoothing against flipped labels
``heteroscedastic``         theanets' Gaussian log-likelihood with a predicted variance
``pairs``                   ContrastiveLossLayer on a NetPairEmbeddingOperator
==========================  ============================================================

Corruptions (outliers, flipped labels) are made in the training part only:
the test part stays clean, so it measures how well a fit recovers the truth.
They are drawn after everything else, so the same seed with no corruption
(``outlier_fraction=0``, ``flip_fraction=0``) gives the same clean data.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError
from .base import DataSet, check_common, check_int, check_real, class_counts, from_parts, split_indices
from .registry import generator
from .shapes import blob_points

__all__ = ["line_with_outliers", "imbalanced", "label_noise", "heteroscedastic", "pairs",
           "heteroscedastic_mean", "heteroscedastic_std", "OUTLIER_OFFSETS"]

#: outliers sit this far above the line (a uniform draw between the two)
OUTLIER_OFFSETS = (3.0, 6.0)


@generator("line_with_outliers")
def line_with_outliers(n=100, *, outlier_fraction=0.1, noise=0.1, slope=2.0, intercept=-1.0,
                       random_seed=None, test_fraction=0.25) -> DataSet:
    """Points on the line ``y = slope x + intercept`` with Gaussian noise, and a few outliers above it.

    ``x ~ U(-1, 1)``, ``y = slope x + intercept + N(0, noise^2)``. Then
    ``floor(outlier_fraction * n_train)`` training points, chosen at random,
    are moved up by ``U(3, 6)`` (:data:`OUTLIER_OFFSETS`): the mean squared
    fit is pulled towards them, the mean absolute and Huber fits much less.
    The test part has no outliers.

    Returns a regression :class:`DataSet`: "Input" ``(n_train, 1)`` float64 in
    ``[-1, 1]`` (a net with ``input=1``); "Output" ``(n_train,)`` float64.
    """
    owner = "line_with_outliers"
    n, noise, rng, test_fraction = check_common(owner, n, noise, random_seed, test_fraction)
    outlier_fraction = check_real(owner, "outlier_fraction", outlier_fraction, low=0.0, high=1.0, open_high=True)
    slope = check_real(owner, "slope", slope)
    intercept = check_real(owner, "intercept", intercept)
    x = rng.uniform(-1.0, 1.0, (n, 1))
    y = slope * x[:, 0] + intercept + rng.normal(0.0, noise, n)
    train, test = split_indices(rng, n, test_fraction)
    y_train = y[train]
    moved = rng.choice(len(train), size=math.floor(outlier_fraction * len(train)), replace=False)
    y_train[moved] += rng.uniform(*OUTLIER_OFFSETS, len(moved))
    return from_parts(owner, "regression", {"Input": x[train], "Output": y_train},
                      {"Input": x[test], "Output": y[test]})


@generator("imbalanced")
def imbalanced(n=500, *, ratio=9.0, noise=0.25, random_seed=None, test_fraction=0.25) -> DataSet:
    """Two overlapping Gaussian classes, the "majority" ``ratio`` times as frequent as the "minority".

    ``m = round(n / (1 + ratio))`` minority points around ``(0.25, 0)``,
    ``n - m`` majority points around ``(-0.25, 0)``, standard deviation
    ``noise`` per coordinate (the classes overlap: an unweighted loss gives
    the overlap to the majority). The stratified split keeps the ratio in
    train and test. Weigh the classes with ``ds.with_class_weights()`` or use
    a focal loss.

    Returns a classification :class:`DataSet`: "Input" ``(n_train, 2)`` float64,
    about ``[-0.25 - 3 noise, 0.25 + 3 noise] x [-3 noise, 3 noise]``;
    "Output" ``(n_train,)`` int64 (0 "majority", 1 "minority").
    ``ratio >= 1``, and ``n`` large enough for at least one minority point.
    """
    owner = "imbalanced"
    n, noise, rng, test_fraction = check_common(owner, n, noise, random_seed, test_fraction)
    ratio = check_real(owner, "ratio", ratio, low=1.0)
    minority = round(n / (1.0 + ratio))
    if minority < 1:
        raise ParameterError(f"{owner}: n={n} with ratio={ratio:g} leaves no minority example "
                             f"(round(n / (1 + ratio)) = 0); need n >= {math.ceil(0.5 * (1 + ratio))}")
    labels = np.repeat([0, 1], [n - minority, minority])
    centres = np.array([[-0.25, 0.0], [0.25, 0.0]])
    points = centres[labels] + rng.normal(0.0, noise, (n, 2))
    train, test = split_indices(rng, n, test_fraction, labels)
    return from_parts(owner, "classification", {"Input": points[train], "Output": labels[train]},
                      {"Input": points[test], "Output": labels[test]}, ["majority", "minority"])


@generator("label_noise")
def label_noise(n=500, *, flip_fraction=0.2, k=2, noise=0.3, random_seed=None, test_fraction=0.25) -> DataSet:
    """Gaussian blobs (as :func:`~lossviz.datasets.blobs`) with some training labels wrong.

    ``floor(flip_fraction * n_train)`` training examples, chosen at random,
    get another class drawn uniformly from the other ``k - 1``; the test
    labels are all correct. A net wide enough to memorize bends its boundary
    around the flipped points under cross-entropy (unbounded per example);
    the mean absolute error (bounded) and label smoothing resist more, which
    the clean test part shows. (Measured: a 2-64-64-2 tanh net, 400 rounds
    on ``label_noise(400, random_seed=0)``: test accuracy 0.81 with
    cross-entropy, 0.98 with MAE on one-hot targets.)

    Returns a classification :class:`DataSet`: "Input" ``(n_train, 2)`` float64
    (blobs centred on the circle of radius 0.6, standard deviation ``noise``);
    "Output" ``(n_train,)`` int64 in ``0 .. k-1``, named ``"0" .. "k-1"``.
    ``0 <= flip_fraction <= 1``, ``2 <= k <= n``.
    """
    owner = "label_noise"
    flip_fraction = check_real(owner, "flip_fraction", flip_fraction, low=0.0, high=1.0)
    k = check_int(owner, "k", k, 2)
    n, noise, rng, test_fraction = check_common(owner, n, noise, random_seed, test_fraction, min_n=k)
    points, labels = blob_points(rng, class_counts(n, k), noise)
    train, test = split_indices(rng, n, test_fraction, labels)
    y_train = labels[train]
    flipped = rng.choice(len(train), size=math.floor(flip_fraction * len(train)), replace=False)
    y_train[flipped] = (y_train[flipped] + rng.integers(1, k, len(flipped))) % k
    return from_parts(owner, "classification", {"Input": points[train], "Output": y_train},
                      {"Input": points[test], "Output": labels[test]}, [str(c) for c in range(k)])


def heteroscedastic_mean(x):
    """The true mean of :func:`heteroscedastic`: ``mu(x) = sin(pi x) / 2``."""
    return 0.5 * np.sin(np.pi * np.asarray(x, dtype=float))


def heteroscedastic_std(x, noise=0.5):
    """The true standard deviation of :func:`heteroscedastic`: ``sigma(x) = noise (0.1 + 0.45 (1 + x))``.

    It grows linearly from ``0.1 noise`` at ``x = -1`` to ``noise`` at ``x = 1``.
    """
    return noise * (0.1 + 0.45 * (1.0 + np.asarray(x, dtype=float)))


@generator("heteroscedastic")
def heteroscedastic(n=500, *, noise=0.5, random_seed=None, test_fraction=0.25) -> DataSet:
    """Regression whose noise grows with the input: ``y = mu(x) + sigma(x) eps``.

    ``x ~ U(-1, 1)``, ``eps ~ N(0, 1)``, ``mu(x) = sin(pi x) / 2``
    (:func:`heteroscedastic_mean`) and ``sigma(x) = noise (0.1 + 0.45 (1 + x))``
    (:func:`heteroscedastic_std`): ten times noisier at the right than at
    the left. A net with a mean and a variance output trained with
    ``GaussianLogLikelihoodLossLayer`` (theanets' loss) learns ``sigma(x)^2``;
    MSE sees only the mean.

    Returns a regression :class:`DataSet`: "Input" ``(n_train, 1)`` float64 in
    ``[-1, 1]``; "Output" ``(n_train,)`` float64. For a loss net whose target
    port is "Target", pass ``{"Input": ds.X, "Target": ds.y}``.
    """
    n, noise, rng, test_fraction = check_common("heteroscedastic", n, noise, random_seed, test_fraction)
    x = rng.uniform(-1.0, 1.0, (n, 1))
    y = heteroscedastic_mean(x[:, 0]) + heteroscedastic_std(x[:, 0], noise) * rng.normal(0.0, 1.0, n)
    train, test = split_indices(rng, n, test_fraction)
    return from_parts("heteroscedastic", "regression", {"Input": x[train], "Output": y[train]},
                      {"Input": x[test], "Output": y[test]})


def _pair_up(rng, points, labels, similar_fraction, owner):
    """``len(points)`` pairs of points: ``round(similar_fraction * m)`` of one class, the rest of two.

    The first point of a pair is uniform over ``points``; its partner is
    uniform over the other points of its class (itself if it is alone) or
    over the points of the other classes. Returns ``(first, second, dissimilar)``.
    """
    m = len(labels)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    classes, start, size = np.unique(sorted_labels, return_index=True, return_counts=True)
    dissimilar = np.ones(m, dtype=bool)
    dissimilar[: round(similar_fraction * m)] = False
    dissimilar = rng.permutation(dissimilar)
    first = rng.integers(0, m, m) if m else np.zeros(0, dtype=np.int64)  # positions in the sorted order
    c = np.searchsorted(classes, sorted_labels[first])
    if np.any(dissimilar & (size[c] == m)):
        raise ParameterError(f"{owner}: a part of the data holds one class only, so it has no dissimilar "
                             f"pairs; use a larger n or another test_fraction")
    # similar: skip the first point itself inside its class block
    u = rng.integers(0, np.maximum(size[c] - 1, 1))
    offset = first - start[c]
    same = np.where(size[c] > 1, start[c] + u + (u >= offset), first)
    # dissimilar: a position outside the class block
    v = rng.integers(0, np.maximum(m - size[c], 1))
    other = np.where(v < start[c], v, v + size[c])
    second = np.where(dissimilar, other, same)
    return points[order[first]], points[order[second]], dissimilar


@generator("pairs")
def pairs(n=500, *, k=3, similar_fraction=0.5, noise=0.15, random_seed=None, test_fraction=0.25) -> DataSet:
    """Pairs of points from ``k`` Gaussian blobs, labelled True when they come from different blobs.

    ``n`` points are drawn as :func:`~lossviz.datasets.blobs` and split into
    a training and a test pool (stratified); each pool of ``m`` points gives
    ``m`` pairs, ``round(similar_fraction * m)`` from one blob (target False:
    pull together) and the rest from two (target True: push apart past the
    margin). Targets follow Wolfram's ContrastiveLossLayer: True means
    dissimilar. Train a ``NetPairEmbeddingOperator`` directly:
    ``NetTrain(NetPairEmbeddingOperator(embed), ds.train)`` attaches
    ContrastiveLossLayer.

    Returns a "pairs" :class:`DataSet`: "Input1", "Input2" ``(n_train, 2)``
    float64 (points of the blobs of radius 0.6); "Output" ``(n_train,)`` bool,
    ``classes = ["similar", "dissimilar"]`` (index False/True).
    """
    owner = "pairs"
    k = check_int(owner, "k", k, 2)
    similar_fraction = check_real(owner, "similar_fraction", similar_fraction, low=0.0, high=1.0)
    n, noise, rng, test_fraction = check_common(owner, n, noise, random_seed, test_fraction, min_n=k)
    points, labels = blob_points(rng, class_counts(n, k), noise)
    parts = []
    for pool in split_indices(rng, n, test_fraction, labels):
        first, second, dissimilar = _pair_up(rng, points[pool], labels[pool], similar_fraction, owner)
        parts.append({"Input1": first, "Input2": second, "Output": dissimilar})
    return from_parts(owner, "pairs", parts[0], parts[1], ["similar", "dissimilar"])
