"""The shape of a loss: its value and gradient against the prediction, or against the margin.

``loss_shape("huber", target=1.0)`` draws, for a fixed target ``t``, the loss
``L(x, t)`` (solid) and its derivative ``dL/dx`` (dashed, same colour) over a
range of predictions ``x``: the curves of the Gluon loss tutorial.

``loss_shape(["zero_one", "hinge", "logistic"], against="margin")`` draws
classification losses against the margin ``m = y f(x)`` (label ``y = ±1``,
score ``f(x)``): the classic figure of margin-based losses. Each loss is fed
the positive example ``y = +1`` with the input its convention expects:

==========================================  =============================================
loss                                        input for margin ``m`` (target: the class 1)
==========================================  =============================================
scores (hinge, squared hinge, logistic,     the score ``m`` (label +1 or 1)
sigmoid BCE, binary focal, mse, ...)
probabilities (CrossEntropy "Binary",       ``sigmoid(m)``
sigmoid BCE ``from_sigmoid=True``)
class probabilities (CrossEntropy "Index",  ``[1 - sigmoid(m), sigmoid(m)]``
"Probabilities")
class scores (softmax CE, categorical       logits ``[-m/2, m/2]`` (softmax gives
focal, multiclass hinge)                    ``sigmoid(m)`` to class 1)
==========================================  =============================================

plus two reference curves that are not trainable losses: ``"zero_one"``
(``1`` if ``m <= 0`` else ``0``, the error count every other loss bounds) and
``"exponential"`` (``exp(-m)``, AdaBoost's loss).

Every curve is the registry's loss layer evaluated by its own ``apply`` on
a batch of ``resolution`` predictions, and its gradient comes from autograd.
"""
from __future__ import annotations

import warnings

import autograd.numpy as anp
import numpy as np
from autograd import elementwise_grad

from ..errors import DataError, LossvizError, NetTypeError, ParameterError
from .base import Plot, new_axes

__all__ = ["LossShapePlot", "loss_shape", "shape_curves", "MARGIN_REFERENCES"]

#: margin-only reference curves: name -> (function of the margin m, formula for the legend)
MARGIN_REFERENCES = {
    "zero_one": (lambda m: anp.where(m <= 0, 1.0, 0.0), "0/1"),
    "exponential": (lambda m: anp.exp(-m), "exponential"),
}

#: the x range of each kind of plot when ``xlim`` is not given (predictions: target ± 3)
MARGIN_XLIM = (-2.5, 2.5)
PREDICTION_HALF_WIDTH = 3.0


def _sigmoid(m):
    return 0.5 * (anp.tanh(0.5 * m) + 1.0)


def _label(spec, options):
    """The legend label of a loss spec: its name and the options given."""
    if isinstance(spec, str):
        name = spec
    else:
        name = type(spec).__name__.removesuffix("Layer")
        cfg = getattr(spec, "config", lambda: {})()
        if cfg.get("form"):
            name += f"({cfg['form']!r})"
    if options:
        name += "(" + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v!r}"
                                for k, v in options.items()) + ")"
    return name


def _as_list(losses):
    if isinstance(losses, (list,)):
        if not losses:
            raise ParameterError("loss_shape: losses is an empty list; give one or more loss names or layers")
        return list(losses)
    return [losses]


def _resolve(losses, options, against):
    """``[(label, layer or reference name)]`` from names, layers and (name, options) pairs.

    ``options`` apply to every loss given by name that accepts them; an option
    no loss accepts is an error.
    """
    from ..losses import LossLayer, get, info

    used = set()
    out = []
    for spec in _as_list(losses):
        own = {}
        if isinstance(spec, tuple):
            if len(spec) != 2 or not isinstance(spec[1], dict):
                raise ParameterError(f"loss_shape: a loss given as a tuple must be (name, {{options}}), got {spec!r}")
            spec, own = spec
        if isinstance(spec, str) and spec.lower().replace("-", "_").replace("/", "_") in (
                "zero_one", "0_1", "exponential", "exp"):
            if against != "margin":
                raise ParameterError(f"loss_shape: {spec!r} is a function of the margin y·f(x); "
                                     f"use against='margin'")
            key = "exponential" if spec.lower().startswith("exp") else "zero_one"
            out.append((MARGIN_REFERENCES[key][1], key))
            continue
        if isinstance(spec, LossLayer):
            if own:
                raise ParameterError("loss_shape: options go with a loss name, not with a loss layer; "
                                     f"got ({type(spec).__name__}, {own!r})")
            out.append((_label(spec, {}), spec))
            continue
        if not isinstance(spec, str):
            raise NetTypeError(f"loss_shape: expected a loss name, a loss layer or (name, options), "
                               f"got {type(spec).__name__}")
        accepted = set(info(spec).options)  # an unknown name raises the registry's error, with close matches
        shared = {k: v for k, v in options.items() if k in accepted}
        used.update(shared)
        merged = {**shared, **own}
        out.append((_label(spec, merged), get(spec, **merged)))
    unused = set(options) - used
    if unused:
        raise ParameterError(f"loss_shape: no loss given by name takes the option(s) "
                             f"{', '.join(sorted(unused))}")
    return out


# ------------------------------------------------------------------ the curve data
def _margin_inputs(layer):
    """``m -> {port: array}``: what ``layer`` is fed for margin ``m`` (the positive example)."""
    from ..losses import (
        CategoricalFocalLossLayer,
        CrossEntropyLossLayer,
        MulticlassHingeLossLayer,
        SigmoidBinaryCrossEntropyLossLayer,
        SoftmaxCrossEntropyLossLayer,
    )

    if isinstance(layer, CrossEntropyLossLayer):
        if layer.form == "Binary":
            return lambda m: {"Input": _sigmoid(m), "Target": np.ones(len(m))}
        if layer.form == "Index":
            return lambda m: {"Input": anp.stack([1.0 - _sigmoid(m), _sigmoid(m)], axis=1),
                              "Target": np.ones(len(m), dtype=int)}
        return lambda m: {"Input": anp.stack([1.0 - _sigmoid(m), _sigmoid(m)], axis=1),
                          "Target": np.tile([0.0, 1.0], (len(m), 1))}
    if isinstance(layer, (SoftmaxCrossEntropyLossLayer, CategoricalFocalLossLayer, MulticlassHingeLossLayer)):
        sparse = getattr(layer, "sparse_label", True)
        return lambda m: {"Input": anp.stack([-0.5 * m, 0.5 * m], axis=1),
                          "Target": np.ones(len(m), dtype=int) if sparse else np.tile([0.0, 1.0], (len(m), 1))}
    if isinstance(layer, SigmoidBinaryCrossEntropyLossLayer) and layer.from_sigmoid:
        return lambda m: {"Input": _sigmoid(m), "Target": np.ones(len(m))}
    return lambda m: {"Input": m, "Target": np.ones(len(m))}


def _loss_function(label, layer, target, against):
    """``f(x) -> (n,)`` losses for a grid ``x`` (n,), differentiable by autograd."""
    if isinstance(layer, str):  # a margin reference curve
        return MARGIN_REFERENCES[layer][0]
    params = layer.params
    if against == "margin":
        feed = _margin_inputs(layer)
        return lambda m: layer.apply(params, feed(m))["Loss"]
    if "Target" not in layer.inputs:
        return lambda x: layer.apply(params, {"Input": x})["Loss"]
    return lambda x: layer.apply(params, {"Input": x, "Target": np.full(len(x), target, dtype=float)})["Loss"]


def _evaluate(label, function, x):
    """Loss and autograd gradient on ``x``; where the loss refuses ``x`` (probabilities outside
    [0, 1]) the curve has a gap (NaN)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Output seems independent of input")  # the 0/1 loss is flat
        try:
            return np.asarray(function(x), dtype=float), np.asarray(elementwise_grad(function)(x), dtype=float)
        except DataError as first:
            inside = np.where((x >= 0) & (x <= 1), x, np.nan)
            if not np.any(np.isfinite(inside)):
                raise first
            try:
                return (np.asarray(function(inside), dtype=float),
                        np.asarray(elementwise_grad(function)(inside), dtype=float))
            except DataError:
                raise first from None


def shape_curves(losses, target=1.0, *, against="prediction", xlim=None, resolution=401, **options):
    """The numbers :func:`loss_shape` draws, without matplotlib.

    Returns ``(x, curves)``: ``x`` (resolution,) predictions (or margins), and
    one dict per loss ``{"label", "layer", "loss": (resolution,),
    "gradient": (resolution,)}``; ``gradient`` is ``dL/dx`` (``dL/dm``
    against the margin) computed by autograd through the layer's ``apply``.
    """
    if against not in ("prediction", "margin"):
        raise ParameterError(f"loss_shape: against must be 'prediction' or 'margin', got {against!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or not 2 <= resolution <= 100_000:
        raise ParameterError(f"loss_shape: resolution must be an integer from 2 to 100000, got {resolution!r}")
    try:
        target = float(target)
    except (TypeError, ValueError):
        raise ParameterError(f"loss_shape: target must be a number, got {target!r}") from None
    if xlim is None:
        xlim = MARGIN_XLIM if against == "margin" else (target - PREDICTION_HALF_WIDTH, target + PREDICTION_HALF_WIDTH)
    try:
        lo, hi = (float(v) for v in xlim)
    except (TypeError, ValueError):
        raise ParameterError(f"loss_shape: xlim must be a pair (low, high), got {xlim!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ParameterError(f"loss_shape: xlim must be finite with low < high, got {xlim!r}")
    x = np.linspace(lo, hi, resolution)
    curves = []
    for label, layer in _resolve(losses, options, against):
        try:
            loss, gradient = _evaluate(label, _loss_function(label, layer, target, against), x)
        except LossvizError as e:
            if isinstance(e, ParameterError) and str(e).startswith("loss_shape"):
                raise
            where = "margin" if against == "margin" else f"prediction for the target {target:g}"
            hint = ""
            if against == "prediction" and "class" in str(e).lower():
                hint = "; a loss of class vectors has no single prediction: draw it with against='margin'"
            raise ParameterError(f"loss_shape: cannot draw {label} against the {where}: {e}{hint}") from None
        curves.append({"label": label, "layer": layer, "loss": loss, "gradient": gradient})
    return x, curves


# ------------------------------------------------------------------ the plot
class LossShapePlot(Plot):
    """Loss curves (solid) and their gradients (dashed) against the prediction or the margin.

    ``artists``: ``{"loss": [Line2D per loss], "gradient": [Line2D per loss],
    "marker": the vertical line at the target (or at margin 0)}``;
    ``curves`` and ``x``: the numbers drawn (see :func:`shape_curves`).
    """

    kind = "loss shape"

    def __init__(self, ax, figure, losses, target, against, gradient, xlim, options):
        super().__init__(figure, ax)
        self.against, self.gradient, self.xlim = against, gradient, xlim
        self.losses, self.target, self.options = losses, target, dict(options)
        self.artists = {"loss": [], "gradient": [],
                        # above the grid (which has a line at every whole target), below the curves
                        "marker": ax.axvline(0.0, color="0.4", lw=1.0, ls=":", zorder=1.8)}
        ax.axhline(0.0, color="0.8", lw=0.8, zorder=0)
        ax.grid(True, color="0.93")
        self._draw()

    def _lines(self, n):
        """Exactly ``n`` loss and gradient lines, reusing the ones already drawn."""
        loss_lines, grad_lines = self.artists["loss"], self.artists["gradient"]
        while len(loss_lines) < n:
            color = f"C{len(loss_lines) % 10}"
            loss_lines.append(self.ax.plot([], [], color=color, lw=2.0)[0])
            grad_lines.append(self.ax.plot([], [], color=color, lw=1.2, ls="--")[0])
        while len(loss_lines) > n:
            loss_lines.pop().remove()
            grad_lines.pop().remove()
        return loss_lines, grad_lines

    def _draw(self):
        self.x, self.curves = shape_curves(self.losses, self.target, against=self.against, xlim=self.xlim,
                                           **self.options)
        loss_lines, grad_lines = self._lines(len(self.curves))
        values = []
        for curve, line, gline in zip(self.curves, loss_lines, grad_lines):
            line.set_data(self.x, curve["loss"])
            line.set_label(curve["label"])
            values.append(curve["loss"])
            gline.set_visible(self.gradient)
            gline.set_data(self.x, curve["gradient"])
            gline.set_label("_nolegend_")  # the y label says which lines are gradients
            if self.gradient:
                values.append(curve["gradient"])
        ax = self.ax
        ax.set_xlim(self.x[0], self.x[-1])
        finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.zeros(1)
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
        lo, hi = max(lo, -3.0), min(hi, 5.0)  # steep ends (exponential, squared) would flatten the rest
        pad = 0.05 * (hi - lo or 1.0)
        ax.set_ylim(min(lo, 0.0) - pad, hi + pad)
        marker = self.artists["marker"]
        if self.against == "margin":
            marker.set_xdata([0.0, 0.0])
            ax.set_xlabel("margin  m = y·f(x)   (y = ±1 the label, f(x) the score)")
            ax.set_title("Classification losses against the margin")
        else:
            marker.set_xdata([self.target, self.target])
            ax.set_xlabel(f"prediction x   (target t = {self.target:g}, dotted)")
            ax.set_title("Losses against the prediction")
        ax.set_ylabel("loss L (solid), gradient dL/d" + ("m" if self.against == "margin" else "x")
                      + " (dashed)" if self.gradient else "loss L")
        ax.legend(fontsize="small", frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
        self.redraw()

    def update(self, losses=None, target=None, **options):
        """Redraw for other losses, another target or other options (the same lines, reused)."""
        if losses is not None:
            self.losses = losses
        if target is not None:
            self.target = target
        if options:
            self.options = {**self.options, **options}
        self._draw()
        return self


def loss_shape(losses, target=1.0, *, against="prediction", gradient=True, xlim=None, ax=None, **options):
    """Draw one or several losses and their gradients for a fixed target.

    Parameters
    ----------
    losses : a registry name ("huber"), a loss layer, ``(name, {options})``,
        or a list of them; against the margin also "zero_one" and "exponential".
    target : the fixed target t (prediction plot); ignored against the margin.
    against : "prediction" (x is the prediction, default) or "margin"
        (x is ``m = y f(x)``, see the module docstring).
    gradient : also draw ``dL/dx`` dashed in the loss's colour.
    xlim : (low, high) of x; default target ± 3, or (-2.5, 2.5) for margins.
    ax : the Axes to draw on; default a new pyplot-free figure.
    options : loss options (``gamma=2``, ``rho=0.5``) for every loss given by
        name that takes them.

    Returns a :class:`LossShapePlot`; ``.update(losses=None, target=None, **options)``
    redraws it.
    """
    if against not in ("prediction", "margin"):
        raise ParameterError(f"loss_shape: against must be 'prediction' or 'margin', got {against!r}")
    figure, ax = new_axes(ax, figsize=(7.5, 4.0))
    return LossShapePlot(ax, figure, losses, target, against, bool(gradient), xlim, options)
