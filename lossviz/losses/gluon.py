"""MXNet Gluon's loss names, so that the Gluon tutorial's cells run as written.

>>> import numpy as np
>>> from lossviz.losses import gluon as gloss
>>> loss = gloss.L2Loss()
>>> loss(np.ones((2,)), np.ones((2,)) * 2)          # array([0.5, 0.5])
>>> loss(np.ones((2,)), np.ones((2,)) * 2, np.array([1, 2]))   # sample weights: array([0.5, 1. ])

Each name here is a function returning the lossviz loss layer registered
under the library-qualified name "gluon.<Name>" (``lossviz.losses.get("gluon.L2Loss")``):
the loss with Gluon's definition and Gluon's reading of data, ``batch_axis=0``
(axis 0 of every array runs over the examples, the call is
``loss(pred, label[, sample_weight])``, the result one loss per example). Keyword
options are the lossviz layer's (mostly Gluon's own: ``rho``, ``from_sigmoid``,
``sparse_label``, ``from_logits``, ``margin``, ``compute_full``...); see each
layer's docstring. Gluon's global ``weight`` option is not supported: multiply
the loss instead.

The layers are ordinary lossviz losses: ``NetTrain(net, data, loss_function=gloss.L2Loss())``
trains with them (NetTrain then averages the per-example losses over the batch,
where Gluon's ``l.backward()`` differentiates their sum).
"""
from __future__ import annotations

from .registry import get

__all__ = [
    "L1Loss",
    "L2Loss",
    "HuberLoss",
    "SigmoidBinaryCrossEntropyLoss",
    "SigmoidBCELoss",
    "SoftmaxCrossEntropyLoss",
    "SoftmaxCELoss",
    "HingeLoss",
    "SquaredHingeLoss",
    "LogisticLoss",
    "KLDivLoss",
    "TripletLoss",
    "CTCLoss",
    "CosineEmbeddingLoss",
    "PoissonNLLLoss",
]


def _gluon(name: str):
    """The constructor of Gluon's loss ``name``: ``get("gluon." + name, **options)``."""

    def make(**options):
        return get(f"gluon.{name}", **options)

    layer = type(get(f"gluon.{name}"))
    make.__name__ = make.__qualname__ = name
    make.__doc__ = (f"Gluon's ``{name}``: a :class:`~{layer.__module__}.{layer.__name__}` reading axis 0 as the "
                    f"batch (``batch_axis=0``).\n\n{layer.__doc__ or ''}")
    return make


L1Loss = _gluon("L1Loss")
L2Loss = _gluon("L2Loss")
HuberLoss = _gluon("HuberLoss")
SigmoidBinaryCrossEntropyLoss = _gluon("SigmoidBinaryCrossEntropyLoss")
SigmoidBCELoss = _gluon("SigmoidBCELoss")
SoftmaxCrossEntropyLoss = _gluon("SoftmaxCrossEntropyLoss")
SoftmaxCELoss = _gluon("SoftmaxCELoss")
HingeLoss = _gluon("HingeLoss")
SquaredHingeLoss = _gluon("SquaredHingeLoss")
LogisticLoss = _gluon("LogisticLoss")
KLDivLoss = _gluon("KLDivLoss")
TripletLoss = _gluon("TripletLoss")
CTCLoss = _gluon("CTCLoss")
CosineEmbeddingLoss = _gluon("CosineEmbeddingLoss")
PoissonNLLLoss = _gluon("PoissonNLLLoss")
