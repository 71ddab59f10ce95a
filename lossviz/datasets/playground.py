"""TensorFlow Playground's data sets: four for classification, two for regression.

The geometry is the Playground's (``src/dataset.ts`` of tensorflow/playground),
drawn with numpy: the Playground's square ``[-6, 6]^2`` is rescaled to
``[-1, 1]^2`` (every coordinate divided by :data:`SCALE` = 6), where nets with
the default initialization train well. ``noise`` means what the Playground's
noise slider means, as a fraction: 0 to 0.5 for its 0 to 50 %. As on the
Playground, ``n`` counts training and test examples together, the default
split is 50 % test, and the two classes are

=====  ===========  ================
index  ``classes``  Playground label
=====  ===========  ================
0      "blue"       +1
1      "orange"     -1
=====  ===========  ================

so a 2-class SoftmaxLayer net trains on ``ds.train`` directly, and lossviz's
pictures, whose first two class colours are blue and orange (matplotlib's
tab10), show each class in the colour its name says, as the Playground does.
"""
from __future__ import annotations

import numpy as np

from .base import DataSet, check_common, class_counts, make_dataset
from .registry import generator

__all__ = ["circle", "xor", "gaussian", "spiral", "plane", "multi_gaussian", "SCALE", "PLAYGROUND_CLASSES"]

#: the Playground's coordinates divided by this give lossviz's
SCALE = 6.0
#: class names of the Playground's two classes: index 0 is its label +1 (blue), index 1 its label -1 (orange)
PLAYGROUND_CLASSES = ["blue", "orange"]
BLUE, ORANGE = 0, 1


def _polar(r, angle):
    """Points ``r (sin a, cos a)``, as the Playground draws them: ``(len(r), 2)``."""
    return np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)


@generator("circle")
def circle(n=500, *, noise=0.0, random_seed=None, test_fraction=0.5) -> DataSet:
    """A disc of blue points inside a ring of orange ones (the Playground's "Circle").

    In Playground units (then divided by 6): blue points at radius
    ``r ~ U(0, 2.5)``, orange ones at ``r ~ U(3.5, 5)``, angles ``U(0, 2 pi)``;
    ``n - n // 2`` orange and ``n // 2`` blue. ``noise`` does not move a point,
    it relabels it: the label is blue iff ``|p + e| < 2.5`` with
    ``e ~ U(-5, 5)^2 * noise``, so with noise some labels near the gap flip.

    Returns a classification :class:`DataSet`: "Input" ``(n_train, 2)`` float64
    within the disc of radius 5/6 (about 0.83); "Output" ``(n_train,)`` int64
    class indices (0 blue, 1 orange).
    """
    n, noise, rng, test_fraction = check_common("circle", n, noise, random_seed, test_fraction)
    n_orange, n_blue = class_counts(n, 2)
    r = np.concatenate([rng.uniform(3.5, 5.0, n_orange), rng.uniform(0.0, 2.5, n_blue)])
    points = _polar(r, rng.uniform(0.0, 2 * np.pi, n))
    jitter = rng.uniform(-5.0, 5.0, (n, 2)) * noise
    labels = np.where(np.hypot(*(points + jitter).T) < 2.5, BLUE, ORANGE).astype(np.int64)
    return make_dataset("circle", "classification", points / SCALE, labels, rng, test_fraction,
                        classes=PLAYGROUND_CLASSES)


@generator("xor")
def xor(n=500, *, noise=0.0, random_seed=None, test_fraction=0.5) -> DataSet:
    """The four quadrants, blue where ``x1 * x2 >= 0`` (the Playground's "Exclusive or").

    In Playground units: each coordinate ``U(-5, 5)`` pushed 0.3 away from the
    axes (a gap of 0.6 around them), so coordinates lie in
    ``[-5.3, -0.3] u [0.3, 5.3]``. The label is blue iff ``(p + e)_1 (p + e)_2 >= 0``
    with ``e ~ U(-5, 5)^2 * noise``: noise relabels points near the axes, it
    does not move them. Class sizes are random (about half each).

    Returns a classification :class:`DataSet`: "Input" ``(n_train, 2)`` float64,
    coordinates in ``[-0.883, -0.05] u [0.05, 0.883]``; "Output" ``(n_train,)``
    int64 (0 blue, 1 orange).
    """
    n, noise, rng, test_fraction = check_common("xor", n, noise, random_seed, test_fraction)
    points = rng.uniform(-5.0, 5.0, (n, 2))
    points += np.where(points > 0, 0.3, -0.3)
    jitter = rng.uniform(-5.0, 5.0, (n, 2)) * noise
    moved = points + jitter
    labels = np.where(moved[:, 0] * moved[:, 1] >= 0, BLUE, ORANGE).astype(np.int64)
    return make_dataset("xor", "classification", points / SCALE, labels, rng, test_fraction,
                        classes=PLAYGROUND_CLASSES)


@generator("gaussian")
def gaussian(n=500, *, noise=0.0, random_seed=None, test_fraction=0.5) -> DataSet:
    """Two Gaussian clusters, blue around (2, 2) and orange around (-2, -2) (the Playground's "Gaussian").

    In Playground units each coordinate is ``N(centre, variance)`` with
    ``variance = 0.5 + 7 * noise`` (0.5 at noise 0, 4 at noise 0.5: the
    clusters overlap more as noise grows); ``n - n // 2`` orange, ``n // 2`` blue.

    Returns a classification :class:`DataSet`: "Input" ``(n_train, 2)`` float64,
    centres ``+-(1/3, 1/3)`` and standard deviation ``sqrt(0.5 + 7 noise) / 6``
    (0.118 at noise 0); "Output" ``(n_train,)`` int64 (0 blue, 1 orange).
    """
    n, noise, rng, test_fraction = check_common("gaussian", n, noise, random_seed, test_fraction)
    counts = class_counts(n, 2)
    is_blue = np.repeat([False, True], counts)
    labels = np.where(is_blue, BLUE, ORANGE).astype(np.int64)
    centres = np.where(is_blue[:, None], 2.0, -2.0)
    points = centres + rng.normal(0.0, np.sqrt(0.5 + 7.0 * noise), (n, 2))
    return make_dataset("gaussian", "classification", points / SCALE, labels, rng, test_fraction,
                        classes=PLAYGROUND_CLASSES)


@generator("spiral")
def spiral(n=500, *, noise=0.0, random_seed=None, test_fraction=0.5) -> DataSet:
    """Two interleaved spirals (the Playground's "Spiral").

    In Playground units the ``i``-th of ``m`` points of a spiral is at radius
    ``r = 5 i / m`` and angle ``t = 1.75 * 2 pi * i / m + delta`` (``delta`` 0
    for blue, ``pi`` for orange), ``(r sin t, r cos t)``, plus ``U(-1, 1)^2 * noise``:
    here noise moves the points. ``n - n // 2`` orange and ``n // 2`` blue.

    Returns a classification :class:`DataSet`: "Input" ``(n_train, 2)`` float64
    within radius ``(5 + sqrt(2) noise) / 6``; "Output" ``(n_train,)`` int64
    (0 blue, 1 orange).
    """
    n, noise, rng, test_fraction = check_common("spiral", n, noise, random_seed, test_fraction)
    parts = []
    for m, delta in zip(class_counts(n, 2), (np.pi, 0.0)):
        i = np.arange(m)
        parts.append(_polar(5.0 * i / m, 1.75 * 2 * np.pi * i / m + delta))
    points = np.concatenate(parts) + rng.uniform(-1.0, 1.0, (n, 2)) * noise
    labels = np.repeat(np.array([ORANGE, BLUE], dtype=np.int64), class_counts(n, 2))
    return make_dataset("spiral", "classification", points / SCALE, labels, rng, test_fraction,
                        classes=PLAYGROUND_CLASSES)


def _uniform_square_with_jitter(rng, n, noise):
    """Playground regression inputs ``U(-6, 6)^2`` and the jittered points their labels are read at."""
    points = rng.uniform(-6.0, 6.0, (n, 2))
    return points, points + rng.uniform(-6.0, 6.0, (n, 2)) * noise


@generator("plane")
def plane(n=1200, *, noise=0.0, random_seed=None, test_fraction=0.5) -> DataSet:
    """A tilted plane, ``y = (x1 + x2) / 10`` in Playground units (the Playground's "Plane" regression).

    Inputs ``U(-6, 6)^2``; the target is read at a jittered point
    ``p + e``, ``e ~ U(-6, 6)^2 * noise``. With lossviz's inputs ``x = p / 6``
    that is ``y = 0.6 (x1 + x2)`` at noise 0.

    Returns a regression :class:`DataSet`: "Input" ``(n_train, 2)`` float64 in
    ``[-1, 1]^2``; "Output" ``(n_train,)`` float64 targets in ``[-1.2, 1.2]``
    (``[-1.2 (1 + noise), 1.2 (1 + noise)]`` with noise). ``n`` defaults to the
    Playground's 1200.
    """
    n, noise, rng, test_fraction = check_common("plane", n, noise, random_seed, test_fraction)
    points, jittered = _uniform_square_with_jitter(rng, n, noise)
    targets = jittered.sum(axis=1) / 10.0
    return make_dataset("plane", "regression", points / SCALE, targets, rng, test_fraction)


#: the Playground's six Gaussian bumps: centre (Playground units) and sign
GAUSSIAN_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]],
                          dtype=float)


@generator("multi_gaussian")
def multi_gaussian(n=1200, *, noise=0.0, random_seed=None, test_fraction=0.5) -> DataSet:
    """Six bumps of alternating sign on a 3 x 2 grid (the Playground's "Multi Gaussian" regression).

    In Playground units each bump ``j`` at ``c_j`` with sign ``s_j`` gives
    ``s_j * clip(1 - |p - c_j| / 2, 0, 1)`` (a cone of radius 2), and the target
    is the value of largest magnitude over the six (0 away from all of them).
    Inputs ``U(-6, 6)^2``; the target is read at ``p + e``,
    ``e ~ U(-6, 6)^2 * noise``. Centres: ``(-4, 2.5)+, (0, 2.5)-, (4, 2.5)+,
    (-4, -2.5)-, (0, -2.5)+, (4, -2.5)-``, divided by 6 in lossviz's inputs.

    Returns a regression :class:`DataSet`: "Input" ``(n_train, 2)`` float64 in
    ``[-1, 1]^2``; "Output" ``(n_train,)`` float64 in ``[-1, 1]``.
    """
    n, noise, rng, test_fraction = check_common("multi_gaussian", n, noise, random_seed, test_fraction)
    points, jittered = _uniform_square_with_jitter(rng, n, noise)
    distances = np.linalg.norm(jittered[:, None, :] - GAUSSIAN_BUMPS[None, :, :2], axis=2)
    bumps = GAUSSIAN_BUMPS[:, 2] * np.clip(1.0 - distances / 2.0, 0.0, 1.0)
    targets = bumps[np.arange(n), np.argmax(np.abs(bumps), axis=1)]
    return make_dataset("multi_gaussian", "regression", points / SCALE, targets, rng, test_fraction)
