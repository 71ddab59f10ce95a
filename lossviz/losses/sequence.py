"""Sequence losses: connectionist temporal classification (CTC)."""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from ..errors import DataError, ShapeError
from ..net.ports import VARYING
from .base import BATCH_FIRST, LossLayer, _all_within, class_count, class_indices
from .primitives import log_softmax
from .options import OptionSpec
from .registry import register

__all__ = ["CTCLossLayer", "ctc"]

#: log of an impossible alignment: finite, so that gradients stay finite
_NEG = -1e30


def _shift(alpha, k):
    """``alpha`` moved ``k`` places along axis 1, filled with impossible values."""
    batch, size = anp.shape(alpha)
    return anp.concatenate([np.full((batch, min(k, size)), _NEG), alpha[:, : max(size - k, 0)]], axis=1)


def ctc(x, labels, blank):
    """``-log p(labels | x)`` per example by the CTC forward algorithm, in log space.

    ``x``: logits ``(batch, T, C)`` (softmax-ed over C here); ``labels``: int
    ``(batch, L)``, each row a label sequence padded at the end with -1;
    ``blank``: the blank class index. Every labelling must fit in T steps.
    """
    batch, steps, _ = anp.shape(x)
    logp = log_softmax(x)
    lengths = np.sum(labels >= 0, axis=1)
    ext = np.full((batch, 2 * labels.shape[1] + 1), blank)
    ext[:, 1::2] = np.where(labels >= 0, labels, blank)
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    emit = logp[np.arange(batch)[:, None, None], np.arange(steps)[None, :, None], ext[:, None, :]]
    start = np.full(ext.shape, _NEG)
    start[:, :2] = 0.0
    alpha = emit[:, 0] + start
    for t in range(1, steps):
        step = anp.logaddexp(alpha, _shift(alpha, 1))
        step = anp.logaddexp(step, anp.where(skip, _shift(alpha, 2), _NEG))
        alpha = step + emit[:, t]
    rows = np.arange(batch)
    last_label = anp.where(lengths > 0, alpha[rows, np.maximum(2 * lengths - 1, 0)], _NEG)
    return -anp.logaddexp(alpha[rows, 2 * lengths], last_label)


@register("ctc", aliases=("CTCLoss", "connectionist_temporal_classification"), convention="Gluon",
          pytorch="torch.nn.CTCLoss", family="sequence",
          qualified={"gluon.CTCLoss": BATCH_FIRST, "torch.nn.CTCLoss": {"blank_label": "first"}},
          ambiguous={"CTCLoss": "Gluon's blank is the last class; PyTorch's CTCLoss defaults to the first "
                                "(torch.nn.CTCLoss)"})
class CTCLossLayer(LossLayer):
    """Connectionist temporal classification: ``-log p(target | input)`` over all alignments.

    The Input is a sequence of T score vectors over C classes, one of which is
    the *blank*; an alignment picks one class per step, and collapsing repeats
    and then dropping blanks must spell the Target. The loss sums the
    probabilities of all such alignments (forward algorithm, in log space)
    and returns the negative log; it learns sequence labelling without a
    given alignment. One loss per example (not divided by the target length).
    Ports: "Input" logits ``("Varying", C)`` (softmax-ed inside); "Target"
    0-based class indices ``("Varying",)`` (not the blank), at most as long
    as the Input allows (T >= target length + number of repeated neighbours);
    a batch of targets of different lengths may be padded at the end with -1.
    ``target=NetEncoder("Characters", alphabet)`` reads strings, and then
    C = len(alphabet) + 1.
    Options: ``blank_label``: "last" (index C - 1, Gluon's, the default) or
    "first" (index 0, PyTorch's default; the other classes are then 1 .. C-1).
    Convention: Gluon's ``CTCLoss`` (= PyTorch's ``CTCLoss(blank,
    reduction="none")`` on ``log_softmax`` of the Input).
    """

    min_example_rank = 2
    option_specs = (
        OptionSpec("blank_label", "choice", "last", choices=("last", "first"),
                   doc="the blank class: index C - 1 (Gluon) or 0 (PyTorch)"),
    )

    def __init__(self, blank_label="last", **ports):
        self._set_options(blank_label=blank_label)
        super().__init__(**ports)

    def _sequence(self, dims):
        if len(dims) != 2:
            raise ShapeError(f"{type(self).__name__}: port 'Input' must be a sequence of score vectors "
                             f"(\"Varying\", classes), got {len(dims)} dimensions")

    def port_dims(self, port, input_dims):
        self._sequence(input_dims)
        return (VARYING,)

    def input_dims_from(self, port, t):
        n = class_count(t)
        return (VARYING, None if n is None else n + 1)

    def elementwise_dims(self, input_dims):
        return ()

    def port_kind(self, port):
        return "Integer"

    def _blank(self, classes):
        return classes - 1 if self.blank_label == "last" else 0

    def check(self, data):
        steps, classes = anp.shape(data["Input"])[1:]
        blank = self._blank(classes)
        labels = np.asarray(getval(data["Target"]))
        first = 1 if blank == 0 else 0  # the classes that are not the blank: first .. first + classes - 2
        if (labels.dtype.kind in "iu" and labels.ndim == 2 and 2 * labels.shape[1] - 1 <= steps
                and _all_within(labels, first, first + classes - 2)):
            # the usual batch, in two reductions: no padding, no blank, and no target can need more steps
            # than the Input has (a target of L labels needs at most 2 L - 1)
            data["Target"] = labels.astype(np.int64, copy=False)
            return
        labels = class_indices(self, "Target", data["Target"], classes, ignore_index=-1)
        name = type(self).__name__
        if np.any(labels == blank):
            raise DataError(f"{name}: port 'Target' holds the blank index {blank} (blank_label="
                            f"{self.blank_label!r}); targets use the other classes")
        padding = labels < 0
        if np.any(padding[:, :-1] & ~padding[:, 1:]):
            raise DataError(f"{name}: port 'Target' may be padded with -1 only at the end of a sequence")
        repeats = np.sum((labels[:, 1:] == labels[:, :-1]) & ~padding[:, 1:], axis=1)
        need = np.sum(~padding, axis=1) + repeats
        if np.any(need > steps):
            raise DataError(f"{name}: a target needs at least {int(np.max(need))} steps (its length plus "
                            f"its repeated neighbours) but the Input has {steps}")
        data["Target"] = labels

    def elementwise(self, data):
        x = data["Input"]
        return ctc(x, data["Target"], self._blank(anp.shape(x)[-1]))
