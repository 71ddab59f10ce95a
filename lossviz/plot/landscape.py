"""Loss landscapes: the loss on a slice of parameter space through the current parameters.

Li, Xu, Taylor, Studer and Goldstein, "Visualizing the Loss Landscape of
Neural Nets" (NeurIPS 2018). With the parameters ``θ`` of the net flattened
into one vector of p numbers and two directions ``d1, d2`` (p,), the 2-D
landscape is

    f(a, b) = L(θ + a d1 + b d2),     a, b in [-span, span]

on a ``resolution x resolution`` grid (1-D: ``f(a) = L(θ + a d1)``).

Directions (``directions=``):

* None without a trajectory, or "random": Gaussian directions, *filter
  normalized*: each filter (a row of a LinearLayer's weight matrix, the
  weights into one unit) of ``d`` is rescaled to the norm of the same filter
  of ``θ``, so a step of 1 changes every unit by about its own size whatever
  the scale of its weights; bias directions are zero (the paper's choice);
* None with ``results`` that recorded ``"ParameterTrajectory"``, or "pca":
  the two principal directions of the trajectory's offsets ``θ_r - θ``
  (section 7 of the paper; random directions in high dimensions are nearly
  orthogonal to the path, which would project to a point). The grid then
  spans ``span`` times the trajectory's extent;
* a list of parameter trees shaped like ``net.params``.

Evaluation goes through NetTrain's own training step
(:func:`lossviz.train.steps.select_step`): for every grid point the
parameters are written into the step's leaves in place and
``step.evaluate(batch)`` returns the sub-losses; the total is
``sum(scale * sub-loss)`` as in training. In "Real32" (default) a 41 x 41
slice of a 2-16-16-2 net on 500 examples takes well under 0.5 s.
"""
from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ..train.spec import Automatic
from .base import Plot, new_axes

__all__ = ["LandscapePlot", "loss_landscape", "landscape_directions", "landscape_values", "flatten_params"]

#: examples per evaluate() call (as NetTrain's validation)
CHUNK = 1024


def flatten_params(tree) -> np.ndarray:
    """A parameter tree as one float64 vector, in the sorted-key order of :mod:`lossviz.train.trees`."""
    from ..train.trees import tree_leaves

    leaves = tree_leaves(tree)
    if not leaves:
        return np.zeros(0)
    return np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in leaves])


def _unflatten(template, flat):
    from ..train.trees import tree_items, tree_rebuild

    out, at = [], 0
    for _, leaf in tree_items(template):
        size = int(np.size(leaf))
        out.append(flat[at:at + size].reshape(np.shape(leaf)))
        at += size
    return tree_rebuild(template, out)


def landscape_directions(net, dims=2, random_seed=None, *, biases=False):
    """``dims`` random filter-normalized directions, each a parameter tree shaped like ``net.params``.

    Every row of a 2-D parameter (a filter: the weights into one unit) of a
    Gaussian direction is scaled to the norm of that row of the net's
    parameter; 1-D parameters (biases) get zero directions unless
    ``biases=True`` (then they are normalized as one filter). Same seed, same
    directions.
    """
    from ..train.trees import tree_items, tree_rebuild

    if dims not in (1, 2):
        raise ParameterError(f"landscape_directions: dims must be 1 or 2, got {dims!r}")
    rng = np.random.default_rng(random_seed)
    out = []
    for _ in range(dims):
        leaves = []
        for _, theta in tree_items(net.params):
            theta = np.asarray(theta, dtype=float)
            d = rng.standard_normal(theta.shape)
            if theta.ndim >= 2:
                rows_t = theta.reshape(theta.shape[0], -1)
                rows_d = d.reshape(theta.shape[0], -1)
                norms = np.linalg.norm(rows_d, axis=1, keepdims=True)
                d = (rows_d * (np.linalg.norm(rows_t, axis=1, keepdims=True) / np.where(norms > 0, norms, 1.0))
                     ).reshape(theta.shape)
            elif biases and theta.size:
                d = d * (np.linalg.norm(theta) / (np.linalg.norm(d) or 1.0))
            else:
                d = np.zeros_like(theta)
            leaves.append(d)
        out.append(tree_rebuild(net.params, leaves))
    return out


def _pca_directions(center, trajectory, dims):
    """The ``dims`` principal directions (unit vectors) of the offsets of the trajectory from ``center``."""
    offsets = np.array([flatten_params(p) - center for _, p in trajectory])
    if len(offsets) < 2 or not np.any(offsets):
        raise ParameterError("loss_landscape: directions='pca' needs a trajectory of at least two distinct "
                             "parameter sets (results['ParameterTrajectory'])")
    _, _, vt = np.linalg.svd(offsets - offsets.mean(axis=0), full_matrices=False)
    basis = vt[:dims]
    if len(basis) < dims:
        raise ParameterError("loss_landscape: the trajectory spans fewer than 2 directions; use dims=1")
    return basis


class _Evaluator:
    """The loss at many parameter vectors, through NetTrain's training step (leaves written in place)."""

    def __init__(self, net, spec, arrays, working_precision):
        from ..train.steps import select_step

        self.net, self.spec = net, spec
        self.engine = select_step(net, spec, working_precision)
        self.scales = np.array([t.scale for t in spec.terms for _ in t.names])
        self.sizes = [int(np.size(leaf)) for leaf in self.engine.leaves]
        n = len(next(iter(arrays.values())))
        self.chunks = [({k: v[i:i + CHUNK] for k, v in arrays.items()}, min(CHUNK, n - i)) for i in range(0, n, CHUNK)]
        self.n = n

    def set_flat(self, flat):
        at = 0
        for leaf, size in zip(self.engine.leaves, self.sizes):
            leaf.reshape(-1)[...] = flat[at:at + size]
            at += size

    def loss(self, flat):
        self.set_flat(flat)
        total = 0.0
        for chunk, k in self.chunks:
            total += float(self.engine.evaluate(chunk) @ self.scales) * k
        return total / self.n


def landscape_values(net, data, loss_function=Automatic, directions=None, span=1.0, resolution=41, *,
                     working_precision="Real32", center=None):
    """The landscape's numbers without matplotlib: ``(alphas, betas, values)``.

    ``directions``: a list of 1 or 2 direction vectors (p,) or parameter trees;
    ``alphas`` (resolution,) ``= linspace(-span, span)`` (``betas`` the same,
    None in 1-D); ``values`` (resolution, resolution) with ``values[i, j] =
    L(θ + alphas[j] d1 + betas[i] d2)`` (rows run over b, as an image's), or
    (resolution,) in 1-D.
    """
    spec, arrays = _read(net, data, loss_function)
    evaluator = _Evaluator(net, spec, arrays, working_precision)
    theta = flatten_params(net.params) if center is None else center
    dirs = [flatten_params(d) if isinstance(d, dict) else np.asarray(d, dtype=float) for d in directions]
    return _grid_values(evaluator, theta, dirs, span, resolution)


def _grid_values(evaluator, theta, dirs, span, resolution):
    alphas = np.linspace(-span, span, resolution)
    with np.errstate(all="ignore"):
        if len(dirs) == 1:
            values = np.array([evaluator.loss(theta + a * dirs[0]) for a in alphas])
            return alphas, None, values
        values = np.empty((resolution, resolution))
        for i, b in enumerate(alphas):
            row = theta + b * dirs[1]
            for j, a in enumerate(alphas):
                values[i, j] = evaluator.loss(row + a * dirs[0])
    return alphas, alphas, values


def _read(net, data, loss_function):
    from ..errors import NetTypeError
    from ..net.layer import Layer
    from ..train.data import as_port_dict, read_data
    from ..train.spec import resolve_loss

    if not isinstance(net, Layer):
        raise NetTypeError(f"loss_landscape: net must be a lossviz net, got {type(net).__name__}")
    if not net.initialized:
        raise NetTypeError("loss_landscape: the net is not initialized; use NetInitialize(net) or NetTrain")
    if hasattr(data, "train") and not isinstance(data, (dict, tuple, list)):
        data = data.train  # a lossviz.datasets.DataSet: the training part
    in_port = next(iter(net.inputs)) if len(net.inputs) == 1 else None
    out_port = next(iter(net.outputs)) if len(net.outputs) == 1 else None
    raw = as_port_dict(data, in_port, out_port)
    spec = resolve_loss(net, loss_function, raw)
    return spec, read_data(net, spec, raw, "data")


def _trajectory(results):
    if results is None:
        return None
    try:
        trajectory = results["ParameterTrajectory"]
    except (KeyError, ValueError):  # an older results object without it
        return None
    return list(trajectory) if trajectory else None


class LandscapePlot(Plot):
    """The loss on a 2-D (contours) or 1-D (a curve) slice of parameter space.

    ``artists``: 2-D ``{"contours": QuadContourSet (redrawn per update),
    "lines": contour lines, "colorbar", "center": the current parameters' marker,
    "trajectory": Line2D of the projected training path, "start": its first point}``; 1-D ``{"curve":
    Line2D, "center": marker}``. ``alphas``, ``betas``, ``values``: the numbers drawn.
    """

    kind = "loss landscape"

    def __init__(self, net, ax, figure, data, loss_function, directions, span, resolution, results, dims,
                 random_seed, working_precision):
        super().__init__(figure, ax)
        if dims not in (1, 2):
            raise ParameterError(f"loss_landscape: dims must be 1 or 2, got {dims!r}")
        if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or not 3 <= resolution <= 1001:
            raise ParameterError(f"loss_landscape: resolution must be an integer from 3 to 1001, got {resolution!r}")
        if isinstance(span, bool) or not isinstance(span, (int, float)) or not (np.isfinite(span) and span > 0):
            raise ParameterError(f"loss_landscape: span must be a positive number, got {span!r}")
        self.dims, self.resolution, self.span_factor = dims, int(resolution), float(span)
        self.spec, arrays = _read(net, data, loss_function)
        self.evaluator = _Evaluator(net, self.spec, arrays, working_precision)
        self.theta = flatten_params(net.params)
        trajectory = _trajectory(results)
        mode = directions
        if mode is None:
            mode = "pca" if trajectory else "random"
        if isinstance(mode, str):
            if mode == "random":
                self.directions = [flatten_params(d) for d in landscape_directions(net, dims, random_seed)]
            elif mode == "pca":
                if not trajectory:
                    raise ParameterError("loss_landscape: directions='pca' needs results= from NetTrain(..., 'All') "
                                         "with a 'ParameterTrajectory'")
                self.directions = list(_pca_directions(self.theta, trajectory, dims))
            else:
                raise ParameterError(f"loss_landscape: directions must be None, 'random', 'pca' or a list of "
                                     f"{dims} parameter trees, got {mode!r}")
        else:
            dirs = [flatten_params(d) if isinstance(d, dict) else np.asarray(d, dtype=float) for d in directions]
            if len(dirs) != dims or any(d.shape != self.theta.shape for d in dirs):
                raise ParameterError(f"loss_landscape: directions must be {dims} parameter trees (or vectors of "
                                     f"{self.theta.size} numbers) shaped like net.params")
            self.directions = dirs
        self.mode = mode if isinstance(mode, str) else "given"
        self.artists = {}
        self._compute(trajectory)
        self._draw_first()

    # ------------------------------------------------------------------ numbers
    def _project(self, trajectory):
        """Coordinates (k, dims) of the trajectory's parameters in the slice (least squares)."""
        if not trajectory:
            return None
        D = np.stack(self.directions, axis=1)  # (p, dims)
        offsets = np.array([flatten_params(p) - self.theta for _, p in trajectory]).T  # (p, k)
        # the rounds whose parameters are the current ones (the star's label names the last of them)
        self.center_rounds = np.flatnonzero(np.linalg.norm(offsets, axis=0)
                                            <= 1e-9 * (1.0 + np.linalg.norm(self.theta)))
        coords, *_ = np.linalg.lstsq(D, offsets, rcond=None)
        return coords.T

    def _compute(self, trajectory):
        self.path = self._project(trajectory)
        self.rounds = [r for r, _ in trajectory] if trajectory else None
        span = self.span_factor
        if self.mode == "pca" and self.path is not None:
            span = self.span_factor * 1.15 * float(np.abs(self.path).max() or 1.0)
        self.span = span
        self.alphas, self.betas, self.values = _grid_values(self.evaluator, self.theta, self.directions, span,
                                                            self.resolution)

    # ------------------------------------------------------------------ drawing
    def _levels(self):
        v = self.values[np.isfinite(self.values)]
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        if lo > 0 and hi / lo > 20:  # spans decades: levels evenly spaced in log
            return np.geomspace(lo, hi, 16)
        return np.linspace(lo, hi, 16)

    def _draw_contours(self):
        for key in ("contours", "lines"):
            if self.artists.get(key) is not None:
                self.artists[key].remove()
        levels = self._levels()
        values = np.clip(np.nan_to_num(self.values, nan=levels[-1], posinf=levels[-1]), levels[0], levels[-1])
        norm = None
        if levels[0] > 0 and levels[-1] / levels[0] > 20:
            from matplotlib.colors import LogNorm

            norm = LogNorm(levels[0], levels[-1])
        self.artists["contours"] = self.ax.contourf(self.alphas, self.betas, values, levels=levels, cmap="viridis",
                                                    norm=norm, extend="neither")
        self.artists["lines"] = self.ax.contour(self.alphas, self.betas, values, levels=levels, colors="white",
                                                linewidths=0.4, alpha=0.5)
        if self.artists.get("colorbar") is None:
            self.artists["colorbar"] = self.figure.colorbar(self.artists["contours"], ax=self.ax, shrink=0.85,
                                                            pad=0.02)
            self.artists["colorbar"].set_label(self._loss_name())
        else:
            self.artists["colorbar"].update_normal(self.artists["contours"])
        colorbar = self.artists["colorbar"]
        colorbar.set_ticks(levels[::3], labels=[f"{v:.3g}" for v in levels[::3]])
        colorbar.minorticks_off()

    def _loss_name(self):
        from .losscurves import loss_name

        return loss_name(self.spec)

    def _draw_first(self):
        ax = self.ax
        which = {"random": "random filter-normalized directions", "pca": "principal directions of the training path",
                 "given": "given directions"}[self.mode]
        if self.dims == 2:
            self._draw_contours()
            self.artists["trajectory"] = ax.plot([], [], color="white", lw=1.5, marker="o", ms=2.5,
                                                 markeredgecolor="black", markeredgewidth=0.3,
                                                 label="training path")[0]
            self.artists["start"] = ax.plot([], [], ls="", marker="o", ms=7, color="white", markeredgecolor="black",
                                            label="_nolegend_")[0]
            self.artists["center"] = ax.plot([0.0], [0.0], ls="", marker="*", ms=13, color="#ff7f0e",
                                             markeredgecolor="black", label="current parameters")[0]
            ax.set_xlabel("step along direction 1 (α)")
            ax.set_ylabel("step along direction 2 (β)")
            ax.set_title(f"Loss on a 2-D slice of parameter space\n({which})", fontsize="medium")
            self._set_path()
        else:
            self.artists["curve"] = ax.plot(self.alphas, self.values, color="C0", lw=2)[0]
            self.artists["center"] = ax.plot([0.0], [self.values[len(self.values) // 2]], ls="", marker="*", ms=13,
                                             color="#ff7f0e", markeredgecolor="black", label="current parameters")[0]
            ax.set_xlabel("step along the direction (α)")
            ax.set_ylabel(self._loss_name())
            ax.set_title(f"Loss along one line through the parameters\n({which})", fontsize="medium")
            ax.grid(True, color="0.92")
            self._set_limits_1d()
            ax.legend(loc="best", fontsize="small", frameon=False)
        self.redraw()

    def _set_path(self):
        line = self.artists["trajectory"]
        if self.path is None:
            line.set_data([], [])
        else:
            line.set_data(self.path[:, 0], self.path[:, 1])
        line.set_label(f"training path (rounds {self.rounds[0]}-{self.rounds[-1]})" if self.path is not None
                       else "_nolegend_")
        start = self.artists["start"]
        start.set_data(self.path[:1, 0], self.path[:1, 1]) if self.path is not None else start.set_data([], [])
        start.set_label(f"start (round {self.rounds[0]})" if self.path is not None else "_nolegend_")
        self.artists["center"].set_label(self._center_label())
        self.ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
        self.ax.set_xlim(self.alphas[0], self.alphas[-1])
        self.ax.set_ylim(self.betas[0], self.betas[-1])

    def _center_label(self):
        """"current parameters", with their round when they are one of the path's: NetTrain with a
        validation set returns the round of the best validation loss, so the path may go on beyond it."""
        if self.path is None or not self.center_rounds.size:
            return "current parameters"
        round_ = self.rounds[int(self.center_rounds[-1])]
        if round_ == self.rounds[-1]:
            return f"current parameters (round {round_}, the last)"
        return f"current parameters (round {round_}; the path goes on)"

    def _set_limits_1d(self):
        v = self.values[np.isfinite(self.values)]
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
        pad = 0.05 * (hi - lo or 1.0)
        self.ax.set_xlim(self.alphas[0], self.alphas[-1])
        self.ax.set_ylim(lo - pad, hi + pad)

    def update(self, net=None, results=None):
        """Re-centre the slice on ``net``'s parameters (same directions) and redraw; ``results``
        gives a newer trajectory."""
        if net is not None:
            theta = flatten_params(net.params)
            if theta.shape != self.theta.shape:
                raise ParameterError(f"loss_landscape.update: the net has {theta.size} parameters, the slice "
                                     f"was made for {self.theta.size}")
            self.theta = theta
        self._compute(_trajectory(results))
        if self.dims == 2:
            self._draw_contours()
            self._set_path()
        else:
            self.artists["curve"].set_data(self.alphas, self.values)
            self.artists["center"].set_data([0.0], [self.values[len(self.values) // 2]])
            self._set_limits_1d()
        self.redraw()
        return self


def loss_landscape(net, data, loss_function=Automatic, directions=None, span=1.0, resolution=41, *,
                   results=None, ax=None, dims=2, random_seed=0, working_precision="Real32"):
    """Draw the loss on a slice of parameter space through ``net``'s parameters.

    Parameters
    ----------
    net : an initialized net (usually the trained one).
    data : training data in any form NetTrain takes (or a DataSet: its train part).
    loss_function : any LossFunction form (default Automatic).
    directions : None, "random", "pca" or a list of ``dims`` parameter trees
        (see the module docstring).
    span : the grid runs over [-span, span] in units of the directions (for
        "pca", in units of the trajectory's extent).
    resolution : grid points per axis (41 x 41 by default).
    results : a NetTrainResults whose "ParameterTrajectory" is drawn as the path.
    dims : 2 (contours) or 1 (a curve along the first direction).
    random_seed : the seed of the random directions.
    working_precision : "Real32" (fast, as training) or "Real64".

    Returns a :class:`LandscapePlot`; ``.update(net=None, results=None)``.
    """
    figure, ax = new_axes(ax, figsize=(6.0, 4.6) if dims == 2 else (6.0, 3.6))
    return LandscapePlot(net, ax, figure, data, loss_function, directions, span, resolution, results, dims,
                         random_seed, working_precision)
