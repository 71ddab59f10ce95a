"""Data points on a plot: class or target colours, train vs test markers, sizes by per-example loss.

:func:`read_points` reads data in any form NetTrain takes into the points of
a net with a 2-number input; :class:`ExamplePoints` draws them on an Axes and
resizes them when the per-example losses change (``set_sizes``, no new
artists), with a size legend whose labels follow the losses.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Points", "read_points", "ExamplePoints", "loss_sizes"]

#: marker areas (points^2): the smallest drawn point, and the area of the largest loss shown
MIN_AREA, MAX_AREA = 6.0, 260.0
#: the size legend shows these fractions of the largest loss
LEGEND_FRACTIONS = (1.0, 0.5, 0.1)


class Points(NamedTuple):
    """Examples of a data set, ready to draw.

    X : (n, 2) the inputs.
    targets : (n,) class indices (classification) or real targets
        (regression), or None when the data has no targets for the port.
    raw : the data as a ``{port: examples}`` dict (what example_losses reads).
    """

    X: np.ndarray
    targets: np.ndarray | None
    raw: dict


def read_points(net, data, output, spec, *, classify):
    """Read ``data`` for ``net``'s one 2-number input and the target of output port ``output``.

    ``spec`` is the resolved LossSpecification (its term on ``output`` names
    the target key and the loss's target type); ``classify``: targets become
    class indices (probability vectors by their largest entry, 0/1 numbers
    rounded).
    """
    from ..errors import ShapeError
    from ..train.data import as_port_dict, read_examples

    in_port = next(p for p in net.inputs if p not in net.optional_inputs)
    out_port = next(iter(net.outputs)) if len(net.outputs) == 1 else None
    raw = as_port_dict(data, in_port, out_port)
    if in_port not in raw:
        raise ShapeError(f"plot_decision_surface: the data has no inputs for port {in_port!r}; it has "
                         f"{', '.join(map(repr, raw))}")
    X = read_examples(net.inputs[in_port], raw[in_port], in_port)
    targets = None
    term = next((t for t in spec.terms if t.port == output and t.target is not None), None)
    key = term.target if term is not None else output
    if key in raw:
        coder = net.outputs[output].coder
        if term is not None:
            targets = read_examples(term.loss.inputs["Target"], raw[key], key,
                                    decoder=coder if hasattr(coder, "encode_target") else None)
        else:
            targets = np.asarray(raw[key])
        targets = np.asarray(targets)
        if classify:
            if targets.ndim == 2 and targets.shape[1] > 1:
                targets = targets.argmax(axis=1)
            targets = targets.astype(float).reshape(len(targets))
            # signed labels (-1 / 1) and 0/1 labels alike: class 1 is the positive one
            targets = (targets > 0).astype(int) if targets.min(initial=0) < 0 else np.rint(targets).astype(int)
        else:
            targets = targets.astype(float).reshape(len(targets), -1)[:, 0]
        if len(targets) != len(X):
            raise ShapeError(f"plot_decision_surface: {len(X)} inputs but {len(targets)} targets")
    return Points(np.asarray(X, dtype=float), targets, raw)


def loss_sizes(losses, largest=None):
    """Marker areas for per-example losses: ``MIN_AREA + (MAX_AREA - MIN_AREA) * loss / largest``.

    ``largest`` defaults to the largest finite loss; area grows linearly with
    the loss, so an example with twice the loss covers twice the ink.
    """
    losses = np.asarray(losses, dtype=float)
    finite = losses[np.isfinite(losses)]
    if largest is None:
        largest = finite.max() if finite.size else 1.0
    scale = np.clip(np.nan_to_num(losses, nan=0.0, posinf=largest) / (largest or 1.0), 0.0, 1.0)
    return MIN_AREA + (MAX_AREA - MIN_AREA) * scale


class ExamplePoints:
    """Train (circles) and test (triangles) points on ``ax``, coloured by ``colors_of(targets)``
    (a dict of scatter keywords: ``c=`` and for real targets ``cmap=``/``norm=``).

    ``collections``: ``{"train": PathCollection, "test": PathCollection or None}``;
    :meth:`set_losses` resizes them by per-example loss and relabels the size legend.
    """

    def __init__(self, ax, train, test, colors_of):
        self.ax = ax
        self.collections = {}
        self.size_legend = None
        for name, points, marker in (("train", train, "o"), ("test", test, "^")):
            if points is None:
                self.collections[name] = None
                continue
            face = colors_of(points.targets)
            self.collections[name] = ax.scatter(
                points.X[:, 0], points.X[:, 1], s=22 if name == "train" else 30, marker=marker,
                edgecolors="0.1", linewidths=0.6, zorder=3, label=name, **face)

    def set_losses(self, train_losses, test_losses=None):
        """Size each point by its loss (one scale for train and test); update the size legend."""
        finite = [v[np.isfinite(v)] for v in (train_losses, test_losses) if v is not None]
        values = np.concatenate(finite) if finite else np.zeros(1)
        largest = float(values.max()) if values.size and values.max() > 0 else 1.0
        for name, losses in (("train", train_losses), ("test", test_losses)):
            if self.collections.get(name) is not None and losses is not None:
                self.collections[name].set_sizes(loss_sizes(losses, largest))
        self._size_legend(largest)
        return largest

    def _size_legend(self, largest):
        from matplotlib.legend import Legend
        from matplotlib.lines import Line2D

        labels = [f"loss {f * largest:.3g}" for f in LEGEND_FRACTIONS]
        if self.size_legend is not None:
            for text, label in zip(self.size_legend.get_texts(), labels):
                text.set_text(label)
            return
        handles = [Line2D([], [], ls="", marker="o", markerfacecolor="0.75", markeredgecolor="0.1",
                          markersize=float(np.sqrt(loss_sizes([f], 1.0)[0]))) for f in LEGEND_FRACTIONS]
        # a second legend beside the class legend (ax.legend would replace that one)
        self.size_legend = Legend(self.ax, handles, labels, title="point size = loss", loc="lower left",
                                  bbox_to_anchor=(1.02, 0.0), fontsize="small", frameon=False,
                                  title_fontsize="small", labelspacing=1.1, borderaxespad=0.0)
        self.ax.add_artist(self.size_legend)
