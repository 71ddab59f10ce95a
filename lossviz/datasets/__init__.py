"""Toy data sets for seeing what a loss does, in the form ``NetTrain`` takes.

Every data set is a function ``name(n, *, noise, random_seed, test_fraction, ...)``
returning a :class:`DataSet`: ``ds.train`` and ``ds.test`` are dicts
``{"Input": X, "Output": y}`` (``NetTrain(net, ds.train, validation_set=ds.test)``),
``ds.classes`` names the 0-based class indices (None for regression).

* TensorFlow Playground's sets (:mod:`.playground`, rescaled to ``[-1, 1]^2``):
  ``circle``, ``xor``, ``gaussian``, ``spiral`` (classification), ``plane``,
  ``multi_gaussian`` (regression);
* ``moons`` and ``blobs`` (:mod:`.shapes`);
* one per loss behaviour (:mod:`.scenarios`): ``line_with_outliers``,
  ``imbalanced``, ``label_noise``, ``heteroscedastic``, ``pairs``.

``n`` counts training and test examples together; ``test_fraction`` of them
(``floor``, per class for classification) are held out. The same
``random_seed`` gives the same data, bit for bit (with the same NumPy version,
on any machine); ``random_seed=None`` draws
fresh data. ``names()`` lists the sets and ``load(name, **options)`` makes one
by name. Bad arguments raise :class:`lossviz.errors.ParameterError` naming
the parameter, the value and what was expected.
"""
from .base import KINDS, DataSet
from .playground import circle, gaussian, multi_gaussian, plane, spiral, xor
from .registry import load, names, options
from .scenarios import (
    heteroscedastic,
    heteroscedastic_mean,
    heteroscedastic_std,
    imbalanced,
    label_noise,
    line_with_outliers,
    pairs,
)
from .shapes import blobs, moons

__all__ = [
    "DataSet", "KINDS", "names", "load", "options",
    "circle", "xor", "gaussian", "spiral", "plane", "multi_gaussian",
    "moons", "blobs",
    "line_with_outliers", "imbalanced", "label_noise", "heteroscedastic", "pairs",
    "heteroscedastic_mean", "heteroscedastic_std",
]
