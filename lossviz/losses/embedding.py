"""Losses for learning embeddings and rankings: contrastive, triplet, cosine embedding, margin ranking."""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np

from ..errors import ShapeError
from .base import BATCH_FIRST, LossLayer, check_in_range, check_in_set
from .options import OptionSpec
from .registry import register

__all__ = [
    "ContrastiveLossLayer",
    "TripletLossLayer",
    "CosineEmbeddingLossLayer",
    "MarginRankingLossLayer",
    "contrastive",
    "triplet",
    "cosine_similarity",
    "cosine_embedding",
    "margin_ranking",
]

_SIGNS = "labels -1 or 1"
#: PyTorch's cosine epsilon, 1e-12 as a C++ float
_COSINE_EPS = float(np.float32(1e-12))


def contrastive(d, t, margin=0.5):
    """``max(margin - d, 0)**2`` where ``t`` is True (1), ``d**2`` where it is False (0)."""
    return t * anp.maximum(margin - d, 0.0) ** 2 + (1.0 - t) * d * d


@register("contrastive", aliases=("ContrastiveLoss",), convention="Wolfram", family="embedding",
          qualified={"wolfram.ContrastiveLossLayer": {}})
class ContrastiveLossLayer(LossLayer):
    """Contrastive loss of a distance: pull pairs together (False) or push them past a margin (True).

    ``max(margin - d, 0)**2`` if the Target is True (the distance should be
    maximized: the loss is 0 once ``d >= margin``), ``d**2`` if it is False
    (the distance should be minimized); then the mean over extra dimensions.
    Ports: "Input" a distance ``d >= 0`` (a real number, e.g. from a pair
    embedding, by default; ``input=shape`` for a tensor of them), "Target"
    True/False (or 1/0) of the same shape.
    Options: ``margin`` (>= 0, default 0.5, Wolfram's default).
    Convention: Wolfram's ContrastiveLossLayer (True means dissimilar: maximize
    the distance), the squared form of Hadsell, Chopra and LeCun (2006)
    without their factor 1/2. PyTorch has none.
    """

    option_specs = (
        OptionSpec("margin", "float", 0.5, low=0.0, typical=(0.0, 3.0),
                   doc="the distance past which dissimilar pairs cost nothing"),
    )

    def __init__(self, margin=0.5, **ports):
        self._set_options(margin=margin)
        super().__init__(**{"input": "Real", **ports})

    def port_kind(self, port):
        return "Boolean"

    def check(self, data):
        check_in_range(self, "Input", data["Input"], 0.0, float("inf"), "distances (>= 0)")
        check_in_set(self, "Target", data["Target"], (0.0, 1.0), "True/False (or 1/0)")

    def elementwise(self, data):
        return contrastive(data["Input"], data["Target"], self.margin)


def triplet(anchor, positive, negative, margin=1.0):
    """``max(|positive - anchor|**2 - |negative - anchor|**2 + margin, 0)`` per example (all axes but the first)."""
    gap = (positive - anchor) ** 2 - (negative - anchor) ** 2
    return anp.maximum(anp.sum(anp.reshape(gap, (anp.shape(gap)[0], -1)), axis=1) + margin, 0.0)


@register("triplet", aliases=("TripletLoss",), convention="Gluon",
          pytorch="torch.nn.TripletMarginWithDistanceLoss (squared Euclidean distance)", family="embedding",
          qualified={"gluon.TripletLoss": BATCH_FIRST},
          ambiguous={"TripletLoss": "Gluon's, with squared distances; PyTorch's TripletMarginLoss uses the "
                                    "unsquared distance"})
class TripletLossLayer(LossLayer):
    """Triplet loss: ``max(|pos - x|**2 - |neg - x|**2 + margin, 0)`` with squared Euclidean distances.

    Zero once the anchor ``x`` is closer to the positive than to the negative
    by at least ``margin`` (in squared distance).
    Ports: "Input" the anchor embedding (a net output), "Positive" and
    "Negative" embeddings of the same shape (any rank; distances run over all
    of it). No "Target". One loss per example.
    Options: ``margin`` (>= 0, default 1).
    Convention: Gluon's ``TripletLoss`` (squared distances). PyTorch's
    ``TripletMarginLoss`` uses the unsquared distance; with
    ``TripletMarginWithDistanceLoss`` and a squared distance it is this loss.
    """

    input_names = ("Input", "Positive", "Negative", "Weight")
    option_specs = (
        OptionSpec("margin", "float", 1.0, low=0.0, typical=(0.0, 3.0),
                   doc="how much closer (in squared distance) the positive must be than the negative"),
    )

    def __init__(self, margin=1.0, **ports):
        self._set_options(margin=margin)
        super().__init__(**ports)

    def elementwise_dims(self, input_dims):
        return ()

    def elementwise(self, data):
        return triplet(data["Input"], data["Positive"], data["Negative"], self.margin)


def cosine_similarity(a, b, eps=_COSINE_EPS):
    """``a.b / sqrt((|a|**2 + eps)(|b|**2 + eps))`` over the last axis (PyTorch's form: 0 for a zero vector)."""
    dot = anp.sum(a * b, axis=-1)
    return dot / anp.sqrt((anp.sum(a * a, axis=-1) + eps) * (anp.sum(b * b, axis=-1) + eps))


def cosine_embedding(a, b, t, margin=0.0):
    """``1 - cos(a, b)`` where ``t = 1``, ``max(0, cos(a, b) - margin)`` where ``t = -1``."""
    cos = cosine_similarity(a, b)
    return anp.where(t == 1, 1.0 - cos, anp.maximum(0.0, cos - margin))


@register("cosine_embedding", aliases=("CosineEmbeddingLoss", "cosine"), convention="Gluon",
          pytorch="torch.nn.CosineEmbeddingLoss", family="embedding",
          qualified={"gluon.CosineEmbeddingLoss": BATCH_FIRST, "torch.nn.CosineEmbeddingLoss": {}})
class CosineEmbeddingLossLayer(LossLayer):
    """Cosine embedding loss: ``1 - cos(a, b)`` for similar pairs, ``max(0, cos(a, b) - margin)`` for others.

    Ports: "Input" and "Input2" vectors of one length (or tensors of them: the
    cosine runs over the last axis, the mean over the rest), "Target" labels
    1 (similar) or -1 (dissimilar), shaped like the Input without its last axis.
    Options: ``margin`` (in [-1, 1], default 0).
    Convention: Gluon's ``CosineEmbeddingLoss`` = PyTorch's; the cosine is
    PyTorch's ``a.b / sqrt((|a|**2 + 1e-12)(|b|**2 + 1e-12))``, smooth at zero
    vectors (Gluon divides by ``max(|a| |b|, 1e-12)``: the same values unless
    a norm is below about 1e-6).
    """

    input_names = ("Input", "Input2", "Target", "Weight")
    min_example_rank = 1
    option_specs = (
        OptionSpec("margin", "float", 0.0, low=-1.0, high=1.0,
                   doc="dissimilar pairs cost nothing once their cosine is below it"),
    )

    def __init__(self, margin=0.0, **ports):
        self._set_options(margin=margin)
        super().__init__(**ports)

    def _vector_axis(self, dims):
        if not dims:
            raise ShapeError(f"{type(self).__name__}: port 'Input' must be a vector (or a tensor of vectors), "
                             f"got a scalar")
        return tuple(dims[:-1])

    def port_dims(self, port, input_dims):
        return self._vector_axis(input_dims) if port == "Target" else input_dims

    def input_dims_from(self, port, t):
        return t.dims + (None,) if port == "Target" else t.dims

    def elementwise_dims(self, input_dims):
        return self._vector_axis(input_dims)

    def check(self, data):
        check_in_set(self, "Target", data["Target"], (-1.0, 1.0), _SIGNS)

    def elementwise(self, data):
        return cosine_embedding(data["Input"], data["Input2"], data["Target"], self.margin)


def margin_ranking(x1, x2, t, margin=0.0):
    """``max(0, -t (x1 - x2) + margin)`` elementwise."""
    return anp.maximum(0.0, -t * (x1 - x2) + margin)


@register("margin_ranking", aliases=("MarginRankingLoss", "ranking"), convention="PyTorch",
          pytorch="torch.nn.MarginRankingLoss", family="embedding", qualified={"torch.nn.MarginRankingLoss": {}})
class MarginRankingLossLayer(LossLayer):
    """Margin ranking loss: ``max(0, -t (x1 - x2) + margin)``, then the mean.

    Zero once ``x1`` ranks above ``x2`` (``t = 1``) or below it (``t = -1``)
    by at least ``margin``.
    Ports: "Input" (x1), "Input2" (x2) and "Target" (labels 1 or -1), of one shape.
    Options: ``margin`` (>= 0, default 0).
    Convention: PyTorch's ``MarginRankingLoss``.
    """

    input_names = ("Input", "Input2", "Target", "Weight")
    option_specs = (
        OptionSpec("margin", "float", 0.0, low=0.0, typical=(0.0, 3.0),
                   doc="how far x1 must rank above (or below) x2"),
    )

    def __init__(self, margin=0.0, **ports):
        self._set_options(margin=margin)
        super().__init__(**ports)

    def check(self, data):
        check_in_set(self, "Target", data["Target"], (-1.0, 1.0), _SIGNS)

    def elementwise(self, data):
        return margin_ranking(data["Input"], data["Input2"], data["Target"], self.margin)
