"""Decision surfaces drawn with the data: every output kind, labelled, updated in place.

* classifiers (a softmax output with k = 2..10 classes, or a sigmoid output
  read as P(class 1)): each pixel mixes the class colours by the predicted
  probabilities, saturated where the net is sure and pale at chance
  (:func:`~lossviz.plot.surface.surface_colors`); optional boundary contours
  where the most likely class changes; a legend of the class names (from the
  net's NetDecoder, or ``classes=``);
* regression outputs (a scalar, or the first entry of a vector): a diverging
  heat map ("RdBu_r") with a norm centred on 0 when the values straddle 0
  (on their middle otherwise), and a colour bar naming the port;
* nets with several outputs: ``output=`` chooses the port.

The data go on top: training points as circles, test points as triangles,
coloured by their class (or target, on the same colour scale as the map).
With ``show_loss=True`` each point's area is proportional to its loss under
the current specification (:func:`lossviz.train.examples.example_losses`),
with a size legend. Axis limits follow the data with a 10% margin unless given.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..train.spec import Automatic
from .base import Plot, new_axes
from .examples import ExamplePoints, read_points
from .surface import CLASS_COLORS, decision_surface, surface_colors

__all__ = ["SurfacePlot", "plot_decision_surface", "update_decision_surface", "output_kind"]

#: default limits without data, and the margin around the data's range
DEFAULT_LIMITS = (-3.0, 3.0)
DATA_MARGIN = 0.1


#: losses that read a scalar output as the score (logit) of class 1, and a vector output as class scores
BINARY_SCORE_LOSSES = ("SigmoidBinaryCrossEntropyLossLayer", "BinaryFocalLossLayer", "LogisticLossLayer",
                       "HingeLossLayer", "SquaredHingeLossLayer")
CLASS_SCORE_LOSSES = ("SoftmaxCrossEntropyLossLayer", "CategoricalFocalLossLayer", "MulticlassHingeLossLayer")


def output_kind(net, port, spec=None):
    """How a surface reads output ``port``.

    "classes": class probabilities (a SoftmaxLayer); "binary": P(class 1)
    (a scalar from a LogisticSigmoid); "class scores" / "binary scores":
    scores that the loss attached to the port in ``spec`` reads as logits
    (softmax cross-entropy, focal, hinge, ...), drawn as ``softmax(scores)`` /
    ``sigmoid(score)``; "regression": anything else.
    """
    from ..train.spec import _producer

    producer = _producer(net, port)
    name = type(producer).__name__
    dims = tuple(net.outputs[port].dims or ())
    if name == "SoftmaxLayer":
        return "classes"
    if name == "ElementwiseLayer" and getattr(producer, "function", None) == "LogisticSigmoid" and dims in ((), (1,)):
        return "binary"
    for term in getattr(spec, "terms", ()):
        loss = type(term.loss).__name__ if term.loss is not None else None
        if term.port != port or loss is None:
            continue
        if loss in BINARY_SCORE_LOSSES and dims in ((), (1,)) and not getattr(term.loss, "from_sigmoid", False):
            return "binary scores"
        if loss in CLASS_SCORE_LOSSES and len(dims) == 1 and dims[0] >= 2 and not getattr(term.loss, "from_logits", False):
            return "class scores"
    return "regression"


def _class_names(net, port, classes, k):
    if classes is not None:
        names = [str(c) for c in classes]
        if len(names) != k:
            raise ParameterError(f"plot_decision_surface: classes has {len(names)} names but output {port!r} "
                                 f"has {k} classes")
        return names
    coder = net.outputs[port].coder
    labels = getattr(coder, "labels", None)
    if labels is not None and len(labels) == k:
        return [str(c) for c in labels]
    return [f"class {i}" for i in range(k)]


def _limits(given, columns):
    """``given``, or the range of the data columns plus a 10% margin, or the defaults without data."""
    if given is not None:
        return given
    if not columns:
        return DEFAULT_LIMITS
    values = np.concatenate(columns)
    values = values[np.isfinite(values)]
    if not values.size:
        return DEFAULT_LIMITS
    lo, hi = float(values.min()), float(values.max())
    pad = DATA_MARGIN * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


class SurfacePlot(Plot):
    """A net's decision surface with the data on top.

    ``artists``: ``{"image": AxesImage, "boundary": list of ContourSets or None,
    "train": PathCollection or None, "test": PathCollection or None,
    "colorbar": Colorbar or None, "legend": Legend or None,
    "size_legend": Legend or None}``; ``surface``: the last
    :class:`~lossviz.plot.surface.Surface`; ``losses``: ``{"train": (n,),
    "test": (m,)}`` per-example losses when ``show_loss``.
    """

    kind = "decision surface"

    def __init__(self, net, ax, figure, *, data, test_data, output, show_loss, loss_function, xlim, ylim,
                 resolution, boundary, classes, colors):
        from .surface import _ports
        from ..train.spec import resolve_loss

        super().__init__(figure, ax)
        self.in_port, self.output = _ports(net, output)
        self.resolution, self.boundary, self.show_loss = resolution, bool(boundary), bool(show_loss)
        self.palette = CLASS_COLORS if colors is None else np.asarray(colors, dtype=float)[:, :3]
        self.loss_function = loss_function
        raw = None
        if data is not None:
            from ..train.data import as_port_dict

            raw = as_port_dict(data, self.in_port, next(iter(net.outputs)) if len(net.outputs) == 1 else None)
        self.spec = resolve_loss(net, loss_function, raw)
        self.output_kind = output_kind(net, self.output, self.spec)
        classify = self.output_kind != "regression"
        self.train = read_points(net, data, self.output, self.spec, classify=classify) if data is not None else None
        self.test = read_points(net, test_data, self.output, self.spec, classify=classify) \
            if test_data is not None else None
        pts = [p for p in (self.train, self.test) if p is not None]
        self.xlim = _limits(xlim, [p.X[:, 0] for p in pts])
        self.ylim = _limits(ylim, [p.X[:, 1] for p in pts])
        self.surface = decision_surface(net, self.xlim, self.ylim, resolution, output=self.output)
        k = self.surface.values.shape[-1]
        self.classes = _class_names(net, self.output, classes, 2 if self.output_kind.startswith("binary") else k) \
            if classify else None
        if classify and len(self.classes) > len(self.palette):
            raise ParameterError(f"plot_decision_surface: {len(self.classes)} classes but only "
                                 f"{len(self.palette)} colours; pass colors=")
        self.artists = {"image": None, "boundary": None, "train": None, "test": None, "colorbar": None,
                        "legend": None, "size_legend": None}
        self.losses = {}
        self._draw_first(net)

    # ------------------------------------------------------------------ drawing
    def _probabilities(self, values):
        if self.output_kind == "binary":
            p = np.clip(values[..., :1], 0.0, 1.0)
            return np.concatenate([1.0 - p, p], axis=-1)
        if self.output_kind == "binary scores":
            p = 0.5 * (np.tanh(0.5 * values[..., :1]) + 1.0)  # sigmoid, without overflow
            return np.concatenate([1.0 - p, p], axis=-1)
        if self.output_kind == "class scores":
            e = np.exp(values - values.max(axis=-1, keepdims=True))
            return e / e.sum(axis=-1, keepdims=True)
        return values

    def _norm_for(self, values, targets):
        from matplotlib.colors import CenteredNorm, Normalize

        finite = [values[np.isfinite(values)]] + ([targets[np.isfinite(targets)]] if targets is not None else [])
        v = np.concatenate(finite)
        lo, hi = (float(v.min()), float(v.max())) if v.size else (-1.0, 1.0)
        if lo < 0 < hi:
            return CenteredNorm(vcenter=0.0, halfrange=max(-lo, hi))
        if hi == lo:
            hi, lo = hi + 1.0, lo - 1.0
        return Normalize(lo, hi)

    def _draw_first(self, net):
        ax = self.ax
        extent = (self.surface.xs[0], self.surface.xs[-1], self.surface.ys[0], self.surface.ys[-1])
        values = self.surface.values
        targets = [p.targets for p in (self.train, self.test) if p is not None and p.targets is not None]
        all_targets = np.concatenate(targets) if targets else None
        if self.output_kind == "regression":
            field = values[..., 0]  # a vector output: its first entry
            self.norm = self._norm_for(field, all_targets)
            image = ax.imshow(field, origin="lower", extent=extent, aspect="auto", cmap="RdBu_r", norm=self.norm,
                              interpolation="bilinear")
            self.artists["colorbar"] = self.figure.colorbar(image, ax=ax, shrink=0.85, pad=0.02)
            self.artists["colorbar"].set_label(f"net output {self.output!r}")

            def colors_of(t):
                if t is None:
                    return {"c": "0.5"}
                return {"c": t, "cmap": "RdBu_r", "norm": self.norm}
        else:
            probabilities = self._probabilities(values)
            image = ax.imshow(surface_colors(probabilities, self.palette), origin="lower", extent=extent,
                              aspect="auto", interpolation="bilinear")
            self._draw_boundary(probabilities)

            def colors_of(t):
                if t is None:
                    return {"c": "0.5"}
                return {"c": self.palette[np.clip(t, 0, len(self.palette) - 1)]}
        self.artists["image"] = image
        image.lossviz_plot = self  # update_decision_surface(image, net) finds its plot
        self.points = ExamplePoints(ax, self.train, self.test, colors_of)
        self.artists["train"], self.artists["test"] = self.points.collections["train"], self.points.collections["test"]
        if self.show_loss:
            self._set_losses(net)
            self.artists["size_legend"] = self.points.size_legend
        self._legend()
        ax.set_xlim(*self.xlim)
        ax.set_ylim(*self.ylim)
        ax.set_xlabel(f"{self.in_port}[0]  (x₁)")
        ax.set_ylabel(f"{self.in_port}[1]  (x₂)")
        what = {"classes": "most likely class (pale: unsure)", "binary": "P(class 1) (pale: unsure)",
                "class scores": "most likely class, softmax of the scores (pale: unsure)",
                "binary scores": "P(class 1) = sigmoid(score) (pale: unsure)",
                "regression": "net output"}[self.output_kind]
        ax.set_title(f"{self.output}: {what}", fontsize="medium")
        self.redraw()

    def _draw_boundary(self, probabilities):
        """Contour lines where the most likely class changes: for each class c present, the zero
        level of ``p_c - max_{j != c} p_j`` (a boundary between c and d is drawn by both, in one place)."""
        for contours in self.artists.get("boundary") or []:
            contours.remove()
        self.artists["boundary"] = None
        if not self.boundary:
            return
        labels = probabilities.argmax(axis=-1)
        present = np.unique(labels)
        if len(present) < 2:
            return  # one class everywhere: no boundary to draw
        s = self.surface
        drawn = []
        for c in present[:-1] if len(present) == 2 else present:  # two classes: one line is enough
            others = np.delete(probabilities, c, axis=-1).max(axis=-1)
            drawn.append(self.ax.contour(s.xs, s.ys, probabilities[..., c] - others, levels=[0.0],
                                         colors="0.25", linewidths=1.0))
        self.artists["boundary"] = drawn

    def _legend(self):
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles = []
        if self.classes is not None:
            handles += [Patch(facecolor=self.palette[i], edgecolor="0.2", label=name)
                        for i, name in enumerate(self.classes)]
        if self.train is not None:
            handles.append(Line2D([], [], ls="", marker="o", color="0.6", markeredgecolor="0.1", label="train data"))
        if self.test is not None:
            handles.append(Line2D([], [], ls="", marker="^", color="0.6", markeredgecolor="0.1", label="test data"))
        if self.boundary and self.artists["boundary"] is not None:
            handles.append(Line2D([], [], color="0.2", lw=0.9, label="boundary"))
        if handles:
            self.artists["legend"] = self.ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                                                    fontsize="small", frameon=False, borderaxespad=0.0)

    def _set_losses(self, net):
        from ..train.examples import example_losses

        self.losses = {}
        for name, points in (("train", self.train), ("test", self.test)):
            if points is not None and points.targets is not None:
                self.losses[name] = example_losses(net, points.raw, spec=self.spec)
        self.largest_loss = self.points.set_losses(self.losses.get("train"), self.losses.get("test"))

    # ------------------------------------------------------------------ update
    def update(self, net, loss_function=None):
        """Re-evaluate the surface for ``net`` (and, with show_loss, every point's loss) in place.

        ``loss_function``: a new specification for the per-example losses
        (None keeps the current one).
        """
        from ..train.spec import resolve_loss

        self.surface = decision_surface(net, self.xlim, self.ylim, self.resolution, output=self.output)
        values = self.surface.values
        image = self.artists["image"]
        if self.output_kind == "regression":
            field = values[..., 0]  # a vector output: its first entry
            image.set_data(field)
        else:
            probabilities = self._probabilities(values)
            image.set_data(surface_colors(probabilities, self.palette))
            had_boundary = self.artists["boundary"] is not None
            self._draw_boundary(probabilities)
            if had_boundary != (self.artists["boundary"] is not None):
                self._legend()
        if loss_function is not None:
            self.loss_function = loss_function
            self.spec = resolve_loss(net, loss_function, self.train.raw if self.train is not None else None)
        if self.show_loss:
            self._set_losses(net)
        self.redraw()
        return self


def plot_decision_surface(net, ax=None, *, data=None, test_data=None, output=None, show_loss=False,
                          loss_function=Automatic, xlim=None, ylim=None, resolution=200, boundary=True,
                          classes=None, colors=None):
    """Draw a net's decision surface with the data on top; returns a :class:`SurfacePlot`.

    Parameters
    ----------
    net : an initialized net with one input port of 2 numbers.
    ax : the Axes to draw on (default: a new pyplot-free figure).
    data, test_data : what NetTrain takes (``(X, y)``, ``{port: array}``,
        or a list of pairs); class labels are encoded by the net's decoder.
        A :class:`lossviz.datasets.DataSet` as ``data`` gives both parts and
        the class names.
    output : the output port to draw (needed when the net has several).
    show_loss : size each point by its loss under ``loss_function``
        (Automatic: what NetTrain would attach).
    xlim, ylim : (low, high); default the data's range plus 10%, or (-3, 3).
    resolution : grid points per axis.
    boundary : draw contour lines where the most likely class changes.
    classes : class names for the legend (default: the NetDecoder's labels).
    colors : one RGB colour per class (default: matplotlib's tab10).

    ``.update(net, loss_function=None)`` redraws it for another net.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or not 2 <= resolution <= 2000:
        raise ParameterError(f"plot_decision_surface: resolution must be an integer from 2 to 2000, "
                             f"got {resolution!r}")
    if _is_dataset(data):  # a lossviz.datasets.DataSet: its train and test parts and class names
        if test_data is None:
            test_data = data.test
        if classes is None:
            classes = getattr(data, "classes", None)  # None for regression sets; unused for regression outputs
        data = data.train
    figure, ax = new_axes(ax, figsize=(6.2, 4.4))
    return SurfacePlot(net, ax, figure, data=data, test_data=test_data, output=output, show_loss=show_loss,
                       loss_function=loss_function, xlim=xlim, ylim=ylim, resolution=resolution,
                       boundary=boundary, classes=classes, colors=colors)


def _is_dataset(data):
    return hasattr(data, "train") and hasattr(data, "test") and not isinstance(data, (dict, tuple, list))


def update_decision_surface(image, net):
    """Redraw the plot that drew ``image`` (a SurfacePlot's AxesImage, or the SurfacePlot) for ``net``."""
    plot = image if isinstance(image, SurfacePlot) else getattr(image, "lossviz_plot", None)
    if plot is None:
        raise ParameterError("update_decision_surface: expected the image (or plot) made by plot_decision_surface")
    plot.update(net)
    return image
