"""The loss catalogue: loss layers, and the registry that names them.

Each loss is a :class:`LossLayer` (ports "Input", usually "Target", an
optional "Weight"; output "Loss", one number per example). The shared
conventions (shapes, threading and mean over extra dimensions, weights) are
described in :mod:`lossviz.losses.base`; each class's docstring gives its
formula, ports, options and whose convention it follows. Library-qualified
names ("gluon.HingeLoss", "theanets.hinge", "torch.nn.MSELoss", "keras.hinge")
name a loss with the options that reproduce that library's definition, and
:mod:`lossviz.losses.gluon` holds Gluon's loss names (``gloss.L2Loss()``) for
code written as the Gluon tutorial writes it.

>>> from lossviz.losses import MeanAbsoluteLossLayer, get, names
>>> MeanAbsoluteLossLayer()({"Input": [1, 2, 3], "Target": [1, 2, 4]})    # 1/3
>>> get("huber", rho=2.0)
>>> get("gluon.L2Loss")(np.ones(2), 2 * np.ones(2))     # Gluon's call: [0.5, 0.5]
>>> info("huber").option_specs                         # (OptionSpec(name='rho', kind='float', ...),)
>>> names()
"""
# Import order is registration order, the order names() and catalogue() list.
from .base import LossLayer
from .options import OptionSpec
from .registry import Catalogue, LossInfo, catalogue, get, info, names, register
from .regression import (  # isort: skip
    HuberLossLayer,
    L2LossLayer,
    LogCoshLossLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    SmoothL1LossLayer,
)
from .classification import (  # isort: skip
    BinaryFocalLossLayer,
    CategoricalFocalLossLayer,
    CrossEntropyLossLayer,
    HingeLossLayer,
    LogisticLossLayer,
    MulticlassHingeLossLayer,
    SigmoidBinaryCrossEntropyLossLayer,
    SoftmaxCrossEntropyLossLayer,
    SquaredHingeLossLayer,
)
from .probabilistic import (  # isort: skip
    GaussianLogLikelihoodLossLayer,
    KLDivLossLayer,
    KullbackLeiblerLossLayer,
    MaximumMeanDiscrepancyLossLayer,
    PoissonNLLLossLayer,
)
from .embedding import (  # isort: skip
    ContrastiveLossLayer,
    CosineEmbeddingLossLayer,
    MarginRankingLossLayer,
    TripletLossLayer,
)
from .sequence import CTCLossLayer  # isort: skip
from .custom import FunctionLossLayer  # isort: skip

__all__ = [
    "LossLayer",
    "FunctionLossLayer",
    "LossInfo",
    "OptionSpec",
    "Catalogue",
    "get",
    "register",
    "names",
    "info",
    "catalogue",
    # Wolfram
    "MeanSquaredLossLayer",
    "MeanAbsoluteLossLayer",
    "CrossEntropyLossLayer",
    "ContrastiveLossLayer",
    # regression
    "L2LossLayer",
    "HuberLossLayer",
    "SmoothL1LossLayer",
    "LogCoshLossLayer",
    # classification
    "SoftmaxCrossEntropyLossLayer",
    "SigmoidBinaryCrossEntropyLossLayer",
    "HingeLossLayer",
    "SquaredHingeLossLayer",
    "LogisticLossLayer",
    "MulticlassHingeLossLayer",
    "BinaryFocalLossLayer",
    "CategoricalFocalLossLayer",
    # probabilistic
    "KLDivLossLayer",
    "KullbackLeiblerLossLayer",
    "PoissonNLLLossLayer",
    "GaussianLogLikelihoodLossLayer",
    "MaximumMeanDiscrepancyLossLayer",
    # embedding
    "TripletLossLayer",
    "CosineEmbeddingLossLayer",
    "MarginRankingLossLayer",
    # sequence
    "CTCLossLayer",
]
