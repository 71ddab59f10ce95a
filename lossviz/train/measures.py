"""Measurements beside the loss: accuracy and error rate of classifier outputs (NetTrain's RoundMeasurements)."""
from __future__ import annotations

import math

import numpy as np

from .data import check_lengths, equal_shape_groups

__all__ = ["classifier_terms", "measure"]

#: examples are evaluated in chunks of this many
CHUNK = 1024


def classifier_terms(spec):
    """``[(port, target key, form)]`` of the terms whose loss is a CrossEntropyLossLayer (accuracy is defined)."""
    terms = []
    for t in spec.terms:
        if t.loss is not None and type(t.loss).__name__ == "CrossEntropyLossLayer" and t.target:
            terms.append((t.port, t.target, t.loss.config().get("form", "Index")))
    return terms


def measure(net, spec, arrays):
    """``{"Accuracy", "ErrorRate"}`` of ``net``'s classifier outputs on read data ``arrays``.

    For every output trained with a CrossEntropyLossLayer: the predicted class
    is the most probable one (``argmax`` over the class axis; for "Binary",
    probability > 0.5), the true one the target index (the most probable
    target class for "Probabilities", target > 0.5 for "Binary");
    ``Accuracy`` is the fraction of correct predictions (over examples, and
    over positions for sequences and tensors) and ``ErrorRate = 1 - Accuracy``.
    With several classifier outputs the keys are ``"port/Accuracy"``...
    Empty for nets without classifier outputs.
    """
    terms = classifier_terms(spec)
    if not terms:
        return {}
    right = {port: 0.0 for port, _, _ in terms}
    count = {port: 0 for port, _, _ in terms}
    m = check_lengths(arrays)
    with np.errstate(all="ignore"):
        for i in range(0, m, CHUNK):
            chunk = {k: v[i:i + CHUNK] for k, v in arrays.items()}
            for part, _ in equal_shape_groups(chunk):
                outs = net.apply(net.params, {p: part[p] for p in net.inputs if p in part})
                for port, target, form in terms:
                    out, want = np.asarray(outs[port]), np.asarray(part[target])
                    if form == "Binary":
                        hit = (out > 0.5) == (want > 0.5)
                    elif form == "Probabilities":
                        hit = np.argmax(out, -1) == np.argmax(want, -1)
                    else:
                        hit = np.argmax(out, -1) == want
                    right[port] += float(np.sum(hit))
                    count[port] += hit.size
    out = {}
    for port, _, _ in terms:
        acc = right[port] / count[port] if count[port] else math.nan
        prefix = "" if len(terms) == 1 else f"{port}/"
        out[prefix + "Accuracy"] = acc
        out[prefix + "ErrorRate"] = 1.0 - acc
    return out
