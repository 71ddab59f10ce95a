"""Classification losses: cross-entropies, hinges, logistic and focal losses.

Class indices are 0-based everywhere (Wolfram counts from 1). Losses over
class vectors ("Index", "Probabilities", softmax, multiclass hinge, categorical
focal) take the class axis out of the elementwise loss: an Input of shape
``(d1, ..., dn, c)`` has an elementwise loss of shape ``(d1, ..., dn)`` and the
loss of an example is its mean.
"""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from ..errors import ParameterError, ShapeError
from .base import (
    BATCH_FIRST,
    LossLayer,
    check_distributions,
    check_in_range,
    check_in_set,
    class_count,
    class_indices,
)
from .options import OptionSpec
from .primitives import (
    binary_cross_entropy,
    index_cross_entropy,
    log_softmax,
    pick,
    probability_cross_entropy,
    sigmoid,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
)
from .registry import register

__all__ = [
    "CrossEntropyLossLayer",
    "SoftmaxCrossEntropyLossLayer",
    "SigmoidBinaryCrossEntropyLossLayer",
    "HingeLossLayer",
    "SquaredHingeLossLayer",
    "LogisticLossLayer",
    "MulticlassHingeLossLayer",
    "BinaryFocalLossLayer",
    "CategoricalFocalLossLayer",
    "class_coefficients",
    "index_coefficients",
    "hinge",
    "multiclass_hinge",
    "sigmoid_focal",
    "softmax_focal",
]


# ------------------------------------------------------------------ shared pieces
def class_coefficients(target, n, *, sparse=True, class_weights=None, label_smoothing=0.0, ignore_index=None):
    """The coefficients ``a`` of ``-sum_c a_c log p_c``, shape ``(..., n)``.

    ``target``: int class indices ``(...)`` (``sparse``) or distributions
    ``(..., n)``. Follows PyTorch's ``CrossEntropyLoss``: the target
    distribution is smoothed to ``(1 - eps) target + eps / n``
    (``label_smoothing = eps``), then scaled by the class weights; entries
    whose index is ``ignore_index`` get all-zero coefficients.
    """
    if sparse:
        valid = None if ignore_index is None else target != ignore_index
        a = np.eye(n)[target if valid is None else np.where(valid, target, 0)]
    else:
        a = target
    if label_smoothing:
        a = a * (1.0 - label_smoothing) + label_smoothing / n
    if class_weights is not None:
        a = a * np.asarray(class_weights)
    if sparse and ignore_index is not None:
        a = a * valid[..., None]
    return a


def index_coefficients(target, class_weights=None, ignore_index=None):
    """``(y, w)``: the class indices to read and their coefficients, for unsmoothed index targets.

    ``target``: int class indices ``(...)``. ``w`` is 1, or ``class_weights[y]``
    ``(...)``; positions whose index is ``ignore_index`` read class 0 with
    coefficient 0. ``-w max(log p[..., y], -100)`` is then the cross-entropy with
    the coefficients ``class_coefficients(target, n, class_weights=...,
    ignore_index=...)``, without the one-hot array.
    """
    y, w = target, 1.0
    if ignore_index is not None:
        valid = target != ignore_index
        y, w = np.where(valid, target, 0), valid.astype(float)
    if class_weights is not None:
        w = w * np.asarray(class_weights)[y]
    return y, w


def _class_axis(owner, dims, axis=-1):
    """The class axis of a per-example shape, as a non-negative int (ShapeError for a scalar)."""
    rank = len(dims)
    ax = axis + rank if axis < 0 else axis
    if rank == 0 or not 0 <= ax < rank:
        raise ShapeError(
            f"{owner}: port 'Input' must be a vector of class scores (or a tensor of them) with a class "
            f"axis {axis}, got {'a scalar' if rank == 0 else f'{rank} dimensions'}"
        )
    return ax


def _without(dims, ax):
    return tuple(dims[:ax]) + tuple(dims[ax + 1:])


def _with_class_axis(dims, axis, n):
    """``dims`` (a shape without its class axis) with a class axis of size ``n`` put back at ``axis``."""
    rank = len(dims) + 1
    ax = axis + rank if axis < 0 else axis
    if not 0 <= ax < rank:
        return None
    return tuple(dims[:ax]) + (n,) + tuple(dims[ax:])


def _check_class_weights(layer, n):
    if layer.class_weights is not None and len(layer.class_weights) != n:
        raise ParameterError(
            f"{type(layer).__name__}: option 'class_weights' has {len(layer.class_weights)} entries, but "
            f"port 'Input' has {n} classes"
        )


#: the options of PyTorch's CrossEntropyLoss that the cross-entropies share
_CLASS_WEIGHTS = OptionSpec("class_weights", "array", None, low=0.0, optional=True,
                            what="a list of non-negative numbers, one per class",
                            doc="one non-negative weight per class, multiplying -log p_c")
_LABEL_SMOOTHING = OptionSpec("label_smoothing", "float", 0.0, low=0.0, high=1.0, typical=(0.0, 0.5),
                              doc="eps: the target becomes (1 - eps) t + eps / c")
_IGNORE_INDEX = OptionSpec("ignore_index", "int", None, optional=True, what="an int class index",
                           doc="positions whose target is this index count neither in the sum nor in the mean")
_AXIS = OptionSpec("axis", "int", -1, doc="the class axis of one example")
_MARGIN = OptionSpec("margin", "float", 1.0, low=0.0, typical=(0.0, 3.0), doc="the margin to spare")


class _ClassLoss(LossLayer):
    """A loss over class vectors along ``self.axis`` with an index (``sparse``) or distribution Target."""

    axis = -1
    sparse = True
    min_example_rank = 1
    ignore_index = None

    def port_dims(self, port, input_dims):
        ax = _class_axis(type(self).__name__, input_dims, self.axis)
        return _without(input_dims, ax) if self.sparse else input_dims

    def input_dims_from(self, port, t):
        if not self.sparse:
            return t.dims
        return _with_class_axis(t.dims, self.axis, class_count(t))

    def elementwise_dims(self, input_dims):
        return _without(input_dims, _class_axis(type(self).__name__, input_dims, self.axis))

    def port_kind(self, port):
        return "Integer" if self.sparse else None

    def _classes_last(self, data):
        """Input (and a distribution Target) with the class axis moved last; the class count."""
        ax = _class_axis(type(self).__name__, anp.shape(data["Input"])[1:], self.axis) + 1
        x = anp.moveaxis(data["Input"], ax, -1)
        t = data["Target"] if self.sparse else anp.moveaxis(data["Target"], ax, -1)
        return x, t, anp.shape(x)[-1]

    def mask(self, data):
        return None if self.ignore_index is None else data["Target"] != self.ignore_index


# ------------------------------------------------------------------ Wolfram's cross-entropy
@register(
    "cross_entropy",
    aliases=("xe", "CrossEntropy", "crossentropy"),
    presets={
        "bce": {"form": "Binary"},
        "binary_cross_entropy": {"form": "Binary"},
        "binary_crossentropy": {"form": "Binary"},
        "BCELoss": {"form": "Binary"},
        "categorical_crossentropy": {"form": "Probabilities"},
        "sparse_categorical_crossentropy": {"form": "Index"},
    },
    convention="Wolfram",
    pytorch="torch.nn.NLLLoss on log(p) (Index), CrossEntropyLoss on log(p) (Probabilities), BCELoss (Binary)",
    family="classification",
    qualified={"wolfram.CrossEntropyLossLayer": {}, "theanets.xe": {"form": "Index", **BATCH_FIRST},
               "theanets.CrossEntropy": {"form": "Index", **BATCH_FIRST}, "torch.nn.BCELoss": {"form": "Binary"}},
    ambiguous={"cross_entropy": "Wolfram's, on probabilities; Gluon's and PyTorch's cross-entropies take logits: "
                                "'softmax_ce' (gluon.SoftmaxCrossEntropyLoss, torch.nn.CrossEntropyLoss)"},
)
class CrossEntropyLossLayer(_ClassLoss):
    """Cross-entropy of predicted probabilities against target classes or probabilities.

    ``CrossEntropyLossLayer("Index")``: Input a probability vector ``p`` of
    length c (or a tensor of them, the last axis indexing the class); Target a
    class index ``y`` in ``0 .. c-1`` (0-based; Wolfram counts from 1), or a
    tensor of them shaped like the Input without its last axis; a
    ``NetEncoder("Class", labels)`` or ``NetEncoder("Characters", alphabet)``
    on the Target turns labels or strings into indices, and then sets c. The
    elementwise loss is ``-log p[y]``.

    ``CrossEntropyLossLayer("Probabilities")``: Input and Target probability
    vectors of one shape; the elementwise loss is ``-sum_c t_c log p_c``.

    ``CrossEntropyLossLayer("Binary")``: Input and Target probabilities of one
    shape (any rank); the elementwise loss is
    ``-(t log p + (1 - t) log(1 - p))``.

    The loss of an example is the mean over everything but the class axis.
    "Varying" sequences work: with ``target=NetEncoder("Characters", alphabet)``
    the Input is a sequence of probability vectors over the alphabet, and a
    completely correct prediction (one-hot rows spelling the string) gives 0.

    Options (not for "Binary"): ``class_weights`` (one non-negative weight
    per class, multiplying ``-log p_c``), ``label_smoothing`` (eps in [0, 1]:
    the target becomes ``(1 - eps) t + eps / c``), ``ignore_index`` ("Index"
    only: positions with this target count neither in the sum nor in the
    mean). These follow PyTorch's ``CrossEntropyLoss``.

    Convention: Wolfram's CrossEntropyLossLayer on probabilities (for logits
    use "softmax_ce"), with 0-based indices; logs are clamped at -100 like
    PyTorch's ``BCELoss``, so probabilities of exactly 0 and 1 give finite
    losses (and "Binary" is exactly PyTorch's ``BCELoss``, gradient included).
    theanets' "xe" is the "Index" form (it clips p at 1e-8 instead).
    Input probabilities must lie in [0, 1] and, for "Index" and
    "Probabilities", sum to 1 along the class axis.
    """

    FORMS = ("Index", "Probabilities", "Binary")
    option_specs = (
        OptionSpec("form", "choice", "Index", choices=FORMS,
                   doc="the Target: class indices, probability vectors, or binary probabilities"),
        _CLASS_WEIGHTS,
        _LABEL_SMOOTHING,
        _IGNORE_INDEX,
    )
    always_shown = ("form",)

    @property
    def min_example_rank(self):
        return 0 if self.form == "Binary" else 1

    def __call__(self, *args, **kwargs):
        """Evaluate on user data (see :meth:`LossLayer.__call__`).

        With undeclared port shapes, the "Index" form reads a list of
        probability vectors with a list of class indices (Input data of rank
        ``r + 1``, Target data of rank ``r >= 1``) as a batch of pairs and
        returns one loss per pair, as Wolfram's layer does
        (``<|"Input" -> {in1, in2, ...}, "Target" -> {t1, t2, ...}|>``). To give
        one example that is a tensor of probability vectors (a sequence, say),
        declare its shape: ``CrossEntropyLossLayer("Index", input=(n, c))``.
        """
        pairs = self._undeclared_pairs(args, kwargs)
        if pairs is not None:
            return self._replace(batch_axis=0)._call_batched(pairs)
        return super().__call__(*args, **kwargs)

    def _undeclared_pairs(self, args, kwargs):
        """The data as ``{port: array}`` when it is a batch of (vector, index) pairs for undeclared ports, else None."""
        if self.form != "Index" or self.batch_axis is not None:
            return None
        if any(self.inputs[p].dims is not None or self.inputs[p].coder is not None for p in ("Input", "Target")):
            return None
        if len(args) == 1 and isinstance(args[0], dict) and not kwargs:
            data = args[0]
        elif not args and kwargs:
            data = {k[:1].upper() + k[1:].lower(): v for k, v in kwargs.items()}
        else:
            return None
        if set(data) - {"Input", "Target", "Weight"} or not {"Input", "Target"} <= set(data):
            return None
        try:
            x, t = np.asarray(data["Input"], dtype=float), np.asarray(data["Target"], dtype=float)
        except (TypeError, ValueError):  # ragged or not numbers: the general reading says what is wrong
            return None
        if t.ndim >= 1 and x.ndim == t.ndim + 1 and x.shape[:-1] == t.shape:
            return dict(data)
        return None

    def __init__(self, form="Index", *, class_weights=None, label_smoothing=0.0, ignore_index=None, **ports):
        owner = type(self).__name__
        self._set_options(form=form, class_weights=class_weights, label_smoothing=label_smoothing,
                          ignore_index=ignore_index)
        if self.form == "Binary" and (self.class_weights or self.label_smoothing):
            raise ParameterError(f"{owner}: options 'class_weights' and 'label_smoothing' are for the "
                                 f"'Index' and 'Probabilities' forms, not 'Binary'")
        if self.form != "Index" and self.ignore_index is not None:
            raise ParameterError(f"{owner}: option 'ignore_index' is for the 'Index' form only")
        self.sparse = self.form == "Index"
        super().__init__(**ports)

    def port_dims(self, port, input_dims):
        return input_dims if self.form == "Binary" else super().port_dims(port, input_dims)

    def elementwise_dims(self, input_dims):
        return input_dims if self.form == "Binary" else super().elementwise_dims(input_dims)

    def check(self, data):
        if self.form == "Binary":
            for port in ("Input", "Target"):
                check_in_range(self, port, data[port], 0.0, 1.0, "probabilities (between 0 and 1)")
            return
        data[_NO_NAN] = check_distributions(self, "Input", data["Input"])
        n = anp.shape(data["Input"])[-1]
        _check_class_weights(self, n)
        if self.sparse:
            data["Target"] = class_indices(self, "Target", data["Target"], n, self.ignore_index)
        else:
            check_distributions(self, "Target", data["Target"])

    def elementwise(self, data):
        p, t = data["Input"], data["Target"]
        if self.form == "Binary":
            return binary_cross_entropy(p, t)
        # index targets read p at y only; a NaN elsewhere (the one non-probability the checks let through)
        # makes the dense form's loss NaN, so such an Input keeps the dense form
        if self.sparse and not self.label_smoothing and (data.get(_NO_NAN) or not np.isnan(np.max(getval(p)))):
            return index_cross_entropy(p, *index_coefficients(t, self.class_weights, self.ignore_index))
        a = class_coefficients(t, anp.shape(p)[-1], sparse=self.sparse, class_weights=self.class_weights,
                               label_smoothing=self.label_smoothing, ignore_index=self.ignore_index)
        return probability_cross_entropy(p, a)


#: key of ``data`` under which CrossEntropyLossLayer.check notes that its Input holds no NaN
#: (an object, not a string, so that it can never be a port name)
_NO_NAN = object()


# ------------------------------------------------------------------ Gluon's softmax cross-entropy
@register(
    "softmax_ce",
    aliases=("softmax_cross_entropy", "SoftmaxCELoss", "SoftmaxCrossEntropyLoss",
             "sparse_softmax_cross_entropy"),
    convention="Gluon",
    pytorch="torch.nn.CrossEntropyLoss",
    family="classification",
    qualified={"gluon.SoftmaxCrossEntropyLoss": BATCH_FIRST, "gluon.SoftmaxCELoss": BATCH_FIRST,
               "torch.nn.CrossEntropyLoss": {"axis": 0}},
)
class SoftmaxCrossEntropyLossLayer(_ClassLoss):
    """Softmax cross-entropy from logits: ``-log softmax(x)[y]``, fused and stable.

    ``p = softmax(x)`` along the class axis, then ``-sum_c t_c log p_c``
    (an index Target ``y`` picks ``-log p_y``); computed as one log-sum-exp, so
    any finite logits (+-100 included) give a finite loss. The Gluon page's
    example: logits ``[[1, 10], [8, 2]]`` with classes ``[0, 1]`` give
    ``[9.0001, 6.0025]``.

    Ports: "Input" logits with a class axis; "Target" class indices
    ``0 .. c-1`` shaped like the Input without its class axis (``sparse_label``)
    or probability vectors shaped like the Input.
    Options: ``axis`` (-1): the class axis of one example (PyTorch's layout
    ``(batch, c, d1, ...)`` is ``axis=0``); ``sparse_label`` (True);
    ``from_logits`` (False; True: the Input is already ``log_softmax``-ed
    log-probabilities, Gluon's naming); ``class_weights``,
    ``label_smoothing`` and ``ignore_index`` as in PyTorch's
    ``CrossEntropyLoss`` (see CrossEntropyLossLayer).
    Convention: Gluon's ``SoftmaxCrossEntropyLoss``, equal to PyTorch's
    ``CrossEntropyLoss(reduction="none")`` averaged over the non-class axes of
    each example (ignored positions excluded from that mean).
    """

    option_specs = (
        _AXIS,
        OptionSpec("sparse_label", "bool", True, doc="True: the Target holds class indices; False: distributions"),
        OptionSpec("from_logits", "bool", False, doc="True: the Input is already log_softmax-ed"),
        _CLASS_WEIGHTS,
        _LABEL_SMOOTHING,
        _IGNORE_INDEX,
    )

    def __init__(self, axis=-1, sparse_label=True, from_logits=False, *, class_weights=None,
                 label_smoothing=0.0, ignore_index=None, **ports):
        owner = type(self).__name__
        self._set_options(axis=axis, sparse_label=sparse_label, from_logits=from_logits, class_weights=class_weights,
                          label_smoothing=label_smoothing, ignore_index=ignore_index)
        self.sparse = self.sparse_label
        if self.ignore_index is not None and not self.sparse:
            raise ParameterError(f"{owner}: option 'ignore_index' needs sparse_label=True")
        super().__init__(**ports)

    def check(self, data):
        x, t, n = self._classes_last(data)
        _check_class_weights(self, n)
        if self.from_logits:
            check_in_range(self, "Input", x, -np.inf, 1e-9,
                           "log-probabilities (<= 0) with from_logits=True; for logits use from_logits=False")
        if self.sparse:
            data["Target"] = class_indices(self, "Target", t, n, self.ignore_index)
        else:
            check_distributions(self, "Target", t)

    def elementwise(self, data):
        x, t, n = self._classes_last(data)
        a = class_coefficients(t, n, sparse=self.sparse, class_weights=self.class_weights,
                               label_smoothing=self.label_smoothing, ignore_index=self.ignore_index)
        if self.from_logits:
            return -anp.sum(a * x, axis=-1)
        return softmax_cross_entropy(x, a)


# ------------------------------------------------------------------ Gluon's sigmoid BCE
@register(
    "sigmoid_bce",
    aliases=("sigmoid_binary_cross_entropy", "SigmoidBCELoss", "SigmoidBinaryCrossEntropyLoss",
             "bce_with_logits", "BCEWithLogitsLoss"),
    convention="Gluon",
    pytorch="torch.nn.BCEWithLogitsLoss (torch.nn.BCELoss with from_sigmoid=True)",
    family="classification",
    qualified={"gluon.SigmoidBinaryCrossEntropyLoss": BATCH_FIRST, "gluon.SigmoidBCELoss": BATCH_FIRST,
               "torch.nn.BCEWithLogitsLoss": {}},
)
class SigmoidBinaryCrossEntropyLossLayer(LossLayer):
    """Binary cross-entropy of ``sigmoid(x)`` against targets in [0, 1], from logits, stable.

    ``-(w t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))`` elementwise,
    computed as ``(1 - t) x + (1 + (w - 1) t) softplus(-x)``: finite for any
    finite logit; ``w`` is ``pos_weight``.
    Ports: "Input" logits and "Target" probabilities (usually 0 or 1) of one
    shape (any rank).
    Options: ``from_sigmoid`` (False; True: the Input is already a
    probability, and logs are clamped at -100 like PyTorch's ``BCELoss``
    rather than Gluon's ``log(p + 1e-12)``); ``pos_weight`` (None, a positive
    number, or one per entry of the last axis): the weight of the positive
    term, > 1 favouring recall.
    Convention: Gluon's ``SigmoidBinaryCrossEntropyLoss``, which is PyTorch's
    ``BCEWithLogitsLoss(pos_weight)``.
    """

    option_specs = (
        OptionSpec("from_sigmoid", "bool", False, doc="True: the Input is already a probability"),
        OptionSpec("pos_weight", "array", None, low=0.0, open_low=True, optional=True, number_ok=True, log=True,
                   what="a positive number or a list of positive numbers (one per entry of the last axis)",
                   typical=(0.1, 10.0), doc="the weight of the positive term (> 1 favours recall)"),
    )

    def __init__(self, from_sigmoid=False, pos_weight=None, **ports):
        self._set_options(from_sigmoid=from_sigmoid, pos_weight=pos_weight)
        super().__init__(**ports)

    def _pos_weight(self, x):
        if self.pos_weight is None:
            return 1.0
        w = np.asarray(self.pos_weight)
        per_example = anp.shape(x)[1:]
        if w.ndim and (not per_example or per_example[-1] != w.shape[0]):
            raise ShapeError(f"{type(self).__name__}: option 'pos_weight' has {w.shape[0]} entries, but port "
                             f"'Input' has examples of shape {per_example}; it needs one per entry of the last axis")
        return w

    def check(self, data):
        check_in_range(self, "Target", data["Target"], 0.0, 1.0, "probabilities (between 0 and 1)")
        if self.from_sigmoid:
            check_in_range(self, "Input", data["Input"], 0.0, 1.0,
                           "probabilities with from_sigmoid=True; for logits use from_sigmoid=False")
        self._pos_weight(data["Input"])

    def elementwise(self, data):
        x, t = data["Input"], data["Target"]
        w = self._pos_weight(x)
        return binary_cross_entropy(x, t, w) if self.from_sigmoid else sigmoid_cross_entropy(x, t, w)


# ------------------------------------------------------------------ margins
def hinge(x, t, margin=1.0):
    """``max(0, margin - x t)`` elementwise (``t`` is -1 or 1)."""
    return anp.maximum(0.0, margin - x * t)


_SIGNS = "labels -1 or 1"


@register("hinge", aliases=("HingeLoss",), convention="Gluon", family="classification",
          qualified={"gluon.HingeLoss": BATCH_FIRST, "keras.hinge": {}, "keras.Hinge": {}},
          ambiguous={"hinge": "Gluon's (and Keras's) binary hinge here; theanets' 'hinge' is the multiclass hinge "
                              "'theanets.hinge' (multiclass_hinge)"})
class HingeLossLayer(LossLayer):
    """Hinge loss of SVMs: ``max(0, margin - x t)``, then the mean.

    Zero once the prediction has the right sign with at least ``margin`` to
    spare; linear otherwise.
    Ports: "Input" real scores and "Target" labels -1 or 1, of one shape.
    Options: ``margin`` (>= 0, default 1).
    Convention: Gluon's ``HingeLoss`` (also Keras's ``Hinge``, which first maps
    0/1 labels to -1/1). PyTorch has none (its ``HingeEmbeddingLoss`` is a
    different loss).
    """

    option_specs = (_MARGIN,)

    def __init__(self, margin=1.0, **ports):
        self._set_options(margin=margin)
        super().__init__(**ports)

    def check(self, data):
        check_in_set(self, "Target", data["Target"], (-1.0, 1.0), _SIGNS)

    def elementwise(self, data):
        return hinge(data["Input"], data["Target"], self.margin)


@register("squared_hinge", aliases=("SquaredHingeLoss",), convention="Gluon", family="classification",
          qualified={"gluon.SquaredHingeLoss": BATCH_FIRST, "keras.squared_hinge": {}, "keras.SquaredHinge": {}})
class SquaredHingeLossLayer(HingeLossLayer):
    """Squared hinge loss: ``max(0, margin - x t)**2``, then the mean.

    Ports: "Input" real scores and "Target" labels -1 or 1, of one shape.
    Options: ``margin`` (>= 0, default 1).
    Convention: Gluon's ``SquaredHingeLoss`` (Keras's ``SquaredHinge``);
    PyTorch has none.
    """

    def elementwise(self, data):
        return hinge(data["Input"], data["Target"], self.margin) ** 2


@register("logistic", aliases=("LogisticLoss", "soft_margin", "SoftMarginLoss"), convention="Gluon",
          pytorch="torch.nn.SoftMarginLoss (signed labels)", family="classification",
          qualified={"gluon.LogisticLoss": BATCH_FIRST, "torch.nn.SoftMarginLoss": {}})
class LogisticLossLayer(LossLayer):
    """Logistic loss: ``log(1 + exp(-x t))`` for labels -1/1, then the mean.

    The binary cross-entropy of ``sigmoid(x)`` written for signed labels;
    computed stably (any finite x).
    Ports: "Input" real scores and "Target" labels of one shape.
    Options: ``label_format`` ("signed": labels -1 or 1, default; "binary":
    labels 0 or 1).
    Convention: Gluon's ``LogisticLoss``; PyTorch's ``SoftMarginLoss`` for
    signed labels.
    """

    option_specs = (
        OptionSpec("label_format", "choice", "signed", choices=("signed", "binary"),
                   doc="labels -1/1 ('signed') or 0/1 ('binary')"),
    )

    def __init__(self, label_format="signed", **ports):
        self._set_options(label_format=label_format)
        super().__init__(**ports)

    def check(self, data):
        if self.label_format == "signed":
            check_in_set(self, "Target", data["Target"], (-1.0, 1.0), _SIGNS + " (label_format='signed')")
        else:
            check_in_set(self, "Target", data["Target"], (0.0, 1.0), "labels 0 or 1 (label_format='binary')")

    def elementwise(self, data):
        t = data["Target"]
        return sigmoid_cross_entropy(data["Input"], (t + 1.0) / 2.0 if self.label_format == "signed" else t)


def multiclass_hinge(x, y, margin=0.0):
    """``max(0, max_{k != y} x_k - x_y + margin)`` over the last axis (``y``: int class indices)."""
    onehot = np.eye(anp.shape(x)[-1], dtype=bool)[y]
    true = pick(x, y)
    rival = anp.max(anp.where(onehot, -np.inf, x), axis=-1)
    return anp.maximum(0.0, rival - true + margin)


@register("multiclass_hinge", aliases=("MulticlassHinge",),
          presets={"crammer_singer": {"margin": 1.0}, "categorical_hinge": {"margin": 1.0}},
          convention="theanets", family="classification",
          qualified={"theanets.hinge": BATCH_FIRST, "theanets.Hinge": BATCH_FIRST})
class MulticlassHingeLossLayer(_ClassLoss):
    """Multiclass hinge: ``max(0, max_{k != y} x_k - x_y + margin)``, then the mean.

    How far the best wrong class beats the true one (plus a margin). With the
    default margin 0 this is theanets' classifier hinge
    ``max(0, max_k x_k - x_y)``: zero whenever the true class scores highest.
    Ports: "Input" class scores (probabilities or any reals) with the class
    axis last, at least 2 classes; "Target" 0-based class indices shaped like
    the Input without its last axis.
    Options: ``margin`` (>= 0, default 0; 1 is the Crammer-Singer SVM loss and
    Keras's ``CategoricalHinge``).
    Convention: theanets' ``Hinge`` for classifiers. PyTorch's
    ``MultiMarginLoss`` sums over all wrong classes instead of taking the
    worst one.
    """

    option_specs = (
        OptionSpec("margin", "float", 0.0, low=0.0, typical=(0.0, 3.0),
                   doc="how far the true class must beat the others (0: theanets, 1: Crammer-Singer)"),
    )

    def __init__(self, margin=0.0, **ports):
        self._set_options(margin=margin)
        super().__init__(**ports)

    def check(self, data):
        n = anp.shape(data["Input"])[-1]
        if n < 2:
            raise ShapeError(f"{type(self).__name__}: port 'Input' needs at least 2 classes, got {n}")
        data["Target"] = class_indices(self, "Target", data["Target"], n)

    def elementwise(self, data):
        return multiclass_hinge(data["Input"], data["Target"], self.margin)


# ------------------------------------------------------------------ focal losses
def sigmoid_focal(x, t, alpha=0.25, gamma=2.0):
    """``alpha_t (1 - p_t)**gamma BCE(sigmoid(x), t)`` elementwise, with ``p_t = p t + (1 - p)(1 - t)``
    and ``alpha_t = alpha t + (1 - alpha)(1 - t)`` (no alpha factor when ``alpha`` is None)."""
    p = sigmoid(x)
    p_t = p * t + (1.0 - p) * (1.0 - t)
    loss = sigmoid_cross_entropy(x, t) * (1.0 - p_t) ** gamma
    return loss if alpha is None else (alpha * t + (1.0 - alpha) * (1.0 - t)) * loss


def softmax_focal(x, y, alpha=0.25, gamma=2.0):
    """``-alpha_y (1 - p_y)**gamma log p_y`` with ``p = softmax(x)`` over the last axis (``y``: int indices;
    ``alpha`` a number, one number per class, or None for no alpha factor)."""
    logp = pick(log_softmax(x), y)
    loss = -((1.0 - anp.exp(logp)) ** gamma) * logp
    if alpha is None:
        return loss
    return (np.asarray(alpha)[y] if np.ndim(alpha) else alpha) * loss


@register("binary_focal", aliases=("sigmoid_focal", "focal", "BinaryFocalLoss", "sigmoid_focal_loss"),
          convention="torchvision", family="classification",
          qualified={"torchvision.sigmoid_focal_loss": {}})
class BinaryFocalLossLayer(LossLayer):
    """Binary focal loss from logits: ``alpha_t (1 - p_t)**gamma BCE(sigmoid(x), t)``, then the mean.

    ``p_t = p t + (1 - p)(1 - t)`` is the probability given to the true
    label; ``(1 - p_t)**gamma`` shrinks the loss of examples that are already
    right, focusing training on hard ones; ``alpha_t = alpha t + (1 - alpha)
    (1 - t)`` balances positives and negatives.
    Ports: "Input" logits and "Target" labels in [0, 1] of one shape.
    Options: ``alpha`` (in [0, 1] or None for no balancing, default 0.25),
    ``gamma`` (>= 0, default 2; 0 with alpha None is "sigmoid_bce").
    Convention: torchvision's ``sigmoid_focal_loss`` (Lin et al. 2017), which
    is Keras's ``BinaryFocalCrossentropy(apply_class_balancing=True,
    from_logits=True)``. PyTorch core has none.
    """

    option_specs = (
        OptionSpec("alpha", "float", 0.25, low=0.0, high=1.0, optional=True,
                   doc="the weight of positives (1 - alpha for negatives); None: no balancing"),
        OptionSpec("gamma", "float", 2.0, low=0.0, typical=(0.0, 5.0),
                   doc="the focusing exponent of (1 - p_t) (0: plain cross-entropy)"),
    )

    def __init__(self, alpha=0.25, gamma=2.0, **ports):
        self._set_options(alpha=alpha, gamma=gamma)
        super().__init__(**ports)

    def check(self, data):
        check_in_range(self, "Target", data["Target"], 0.0, 1.0, "labels between 0 and 1")

    def elementwise(self, data):
        return sigmoid_focal(data["Input"], data["Target"], self.alpha, self.gamma)


@register("categorical_focal", aliases=("softmax_focal", "CategoricalFocalLoss"), convention="Keras",
          family="classification")
class CategoricalFocalLossLayer(_ClassLoss):
    """Categorical focal loss from logits: ``-alpha_y (1 - p_y)**gamma log p_y``, ``p = softmax(x)``.

    The softmax cross-entropy, scaled down by ``(1 - p_y)**gamma`` for
    examples already classified confidently.
    Ports: "Input" logits with the class axis last; "Target" 0-based class
    indices shaped like the Input without its last axis.
    Options: ``alpha`` (a number, one non-negative number per class, or None;
    default 0.25), ``gamma`` (>= 0, default 2; with alpha None and gamma 0
    this is "softmax_ce").
    Convention: Keras's ``CategoricalFocalCrossentropy(from_logits=True)``
    with index targets, computed with a stable log-softmax. PyTorch has none.
    """

    option_specs = (
        OptionSpec("alpha", "array", 0.25, low=0.0, optional=True, number_ok=True, typical=(0.0, 1.0),
                   doc="a weight for every class, or one per class; None: no weighting"),
        OptionSpec("gamma", "float", 2.0, low=0.0, typical=(0.0, 5.0),
                   doc="the focusing exponent of (1 - p_y) (0: plain cross-entropy)"),
    )

    def __init__(self, alpha=0.25, gamma=2.0, **ports):
        self._set_options(alpha=alpha, gamma=gamma)
        super().__init__(**ports)

    def check(self, data):
        n = anp.shape(data["Input"])[-1]
        if np.ndim(self.alpha) and len(self.alpha) != n:
            raise ParameterError(f"{type(self).__name__}: option 'alpha' has {len(self.alpha)} entries, but "
                                 f"port 'Input' has {n} classes")
        data["Target"] = class_indices(self, "Target", data["Target"], n)

    def elementwise(self, data):
        return softmax_focal(data["Input"], data["Target"], self.alpha, self.gamma)
