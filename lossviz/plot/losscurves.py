"""Loss curves of a training run: batches, rounds, sub-losses, validation, specification changes.

One x axis for everything: the training round. Round r's mean loss sits at
``x = r``; batch b (1-based, counted over the run) at ``x = b / B`` with B
batches per round, so batch and round curves line up and thousands of
rounds stay readable. A thinned history (a training panel's session keeps a
bounded min-max envelope of its losses: ``history_limit``) is drawn at the
batches and rounds it kept ("BatchNumbers", "RoundNumbers"). The loss axis
turns logarithmic by itself when the losses span more than two decades, the
round axis for runs of more than 1000 rounds. With several sub-losses (a multi-loss
specification), each is drawn in its own colour: scaled (the part it adds to
the total) solid, unscaled dotted where its scale is not 1. Vertical markers
show where the specification changed during training (the panel's mid-run
changes, each labelled "old -> new") and the best validation round; the loss
axis names the current specification and the round it holds from.
"""
from __future__ import annotations

import math

import numpy as np

from .base import Plot, new_axes

__all__ = ["LossPlot", "loss_plot", "loss_name"]

#: at most this many batch points are drawn; longer runs are averaged into this many bins
MAX_BATCH_POINTS = 2000
#: with more rounds than this the round axis is logarithmic (unless xlog= says otherwise)
LOG_ROUNDS = 1000
#: validation points get markers up to this many rounds
MARKER_ROUNDS = 100
#: loss names longer than this go to the title instead of the y label
LABEL_LENGTH = 42


def loss_name(spec) -> str:
    """A short name of what a LossSpecification minimizes, for an axis label."""
    terms = getattr(spec, "terms", None)
    if not terms:
        return "loss"

    def one(t):
        if t.loss is None:
            return f"output {t.port!r}"
        name = type(t.loss).__name__.removesuffix("Layer")
        form = t.loss.config().get("form")
        if form:
            name += f"({form!r})"
        return name

    if len(terms) == 1:
        t = terms[0]
        scale = "" if t.scale == 1.0 else f"{t.scale:g} × "
        where = f" on {t.port!r}" if t.loss is not None else ""
        return f"{scale}{one(t)}{where}"
    return "total loss: " + " + ".join(("" if t.scale == 1.0 else f"{t.scale:g}·") + one(t) for t in terms)


def _get(results, key, default=None):
    try:
        return results[key] if key in results else default
    except (KeyError, ValueError, TypeError):
        return default


def _batches_per_round(results, batches, rounds):
    """Batches a round: "BatchesPerRound", else batches done / rounds done (counts, not kept entries)."""
    b = _get(results, "BatchesPerRound")
    if b:
        return int(b)
    n_batches = _get(results, "TotalBatches") or len(batches)
    n_rounds = _get(results, "TotalRounds") or len(rounds)
    if n_rounds:
        return max(1, math.ceil(n_batches / n_rounds))
    return max(1, n_batches)


def _positions(results, key, values):
    """The 1-based batch or round number of each entry of ``values``: ``results[key]`` ("BatchNumbers",
    "RoundNumbers": a thinned history keeps some entries only), else 1, 2, 3, ..."""
    numbers = _get(results, key)
    if numbers is not None and len(numbers) == len(values):
        return np.asarray(numbers, dtype=float)
    return np.arange(1, len(values) + 1, dtype=float)


def _thin(x, y, limit=MAX_BATCH_POINTS):
    """At most ``limit`` points: consecutive points averaged in equal bins (long runs stay readable)."""
    n = len(y)
    if n <= limit:
        return x, y
    edges = np.linspace(0, n, limit + 1).astype(int)
    counts = np.diff(edges)
    return (np.add.reduceat(x, edges[:-1]) / counts, np.add.reduceat(y, edges[:-1]) / counts)


def _envelope(x, y, limit=MAX_BATCH_POINTS):
    """At most about ``limit`` points of a history thinned to a min-max envelope, kept as one."""
    from ..train.history import envelope_points

    return envelope_points(x, y, limit)


class LossPlot(Plot):
    """Batch, round, sub-loss and validation curves of a NetTrainResults.

    ``artists``: ``{"batch": Line2D, "round": Line2D, "validation": Line2D,
    "sub": {name: Line2D}, "sub_unscaled": {name: Line2D}, "best": Line2D,
    "changes": [(Line2D, Text)]}``.
    """

    kind = "loss plot"

    def __init__(self, results, ax, figure, *, log, xlog, batches, sub_losses, validation):
        super().__init__(figure, ax)
        self.log, self.xlog, self.batches, self.sub_losses, self.validation = log, xlog, batches, sub_losses, validation
        self.artists = {
            "batch": ax.plot([], [], color="C0", lw=0.7, alpha=0.35, label="batch loss")[0],
            "round": ax.plot([], [], color="C0", lw=2.0, label="round loss (training)")[0],
            "validation": ax.plot([], [], color="C1", lw=1.8, marker="o", ms=2.5, label="validation loss")[0],
            "best": ax.axvline(np.nan, color="0.45", lw=0.9, ls=":", label="best validation round"),
            "sub": {}, "sub_unscaled": {}, "changes": [],
        }
        ax.grid(True, color="0.93")
        ax.set_xlabel("training round (batch losses at fractional rounds)")
        self.update(results)

    def _sub_line(self, kind, name, i, scaled):
        lines = self.artists[kind]
        if name not in lines:
            color = f"C{(i + 2) % 10}"
            label = f"{name}" + ("" if scaled else " (unscaled)")
            lines[name] = self.ax.plot([], [], color=color, lw=1.3, ls="-" if scaled else ":", label=label)[0]
        return lines[name]

    def update(self, results):
        """Redraw every curve from ``results`` (a NetTrainResults, finished or in progress)."""
        ax = self.ax
        self.results = results
        batches = np.asarray(_get(results, "BatchLossList", []) or [], dtype=float)
        rounds = np.asarray(_get(results, "RoundLossList", []) or [], dtype=float)
        valid = np.asarray(_get(results, "ValidationLossList", []) or [], dtype=float)
        per_round = _batches_per_round(results, batches, rounds)
        shown = []

        bx = _positions(results, "BatchNumbers", batches) / per_round
        rx = _positions(results, "RoundNumbers", rounds)
        vx = _positions(results, "RoundNumbers", valid)
        # a thinned history is a min-max envelope already: averaging it would mix its lows with its highs
        thin = _envelope if _get(results, "HistoryThinned") else _thin
        self.artists["batch"].set_data(*thin(bx, batches) if self.batches else ([], []))
        self.artists["batch"].set_visible(bool(self.batches and len(batches)))
        if self.batches:
            shown.append(batches)
        self.artists["round"].set_data(rx, rounds)
        shown.append(rounds)
        if self.validation and len(valid):
            self.artists["validation"].set_data(vx, valid)
            self.artists["validation"].set_marker("o" if len(valid) <= MARKER_ROUNDS else "")
            shown.append(valid)
        else:
            self.artists["validation"].set_data([], [])
        self.artists["validation"].set_visible(bool(self.validation and len(valid)))

        best = _get(results, "BestValidationRound")
        self.artists["best"].set_xdata([best, best] if (best and len(valid)) else [np.nan, np.nan])
        self.artists["best"].set_visible(bool(best and len(valid)))

        self._draw_sub_losses(results, shown, rx)
        self._draw_changes(results)

        spec = _get(results, "LossFunction")
        name = loss_name(spec) if spec is not None else "loss"
        changes = _get(results, "SpecificationChanges") or []
        if changes and spec is not None:  # the specification is the last one: say since when (the markers say before)
            name += f", from round {float(changes[-1].get('round', 0.0)):g}"
        if len(name) > LABEL_LENGTH:  # a long multi-loss name goes to the title, the axis says "total loss"
            ax.set_ylabel("total loss" if name.startswith("total loss") else "loss")
            ax.set_title(name.removeprefix("total loss: ").join(("total loss = ", "")) if name.startswith("total loss")
                         else name, fontsize="medium")
        else:
            ax.set_ylabel(name)
            ax.set_title("")
        values = np.concatenate([v[np.isfinite(v)] for v in shown if len(v)]) if any(len(v) for v in shown) \
            else np.zeros(0)
        log = self.log
        if log is None:
            log = bool(values.size) and values.min() > 0 and values.max() > 100 * values.min()
        ax.set_yscale("log" if log else "linear")
        last = max(rx[-1] if len(rx) else 0, bx[-1] if len(bx) else 0, 1)
        xlog = self.xlog if self.xlog is not None else last > LOG_ROUNDS
        if xlog:  # thousands of rounds: the first ones (where most happens) get as much room as the rest
            ax.set_xscale("log")
            ax.set_xlim(min(1.0, 1.0 / per_round) if self.batches and len(batches) else 1.0, last * 1.05)
        else:
            ax.set_xscale("linear")
            ax.set_xlim(0, last * 1.01 if last > 1 else 1)
        if values.size:
            lo, hi = float(values.min()), float(values.max())
            if log:
                ax.set_ylim(lo / 1.3, hi * 1.3)
            else:
                pad = 0.05 * (hi - lo or abs(hi) or 1.0)
                ax.set_ylim(lo - pad, hi + pad)
        shown_lines = [line for line in ax.get_lines() if line.get_visible() and not line.get_label().startswith("_")
                       and len(line.get_xdata())]
        ax.legend(handles=shown_lines, fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        self.redraw()
        return self

    def _draw_sub_losses(self, results, shown, rx):
        scaled = _get(results, "RoundScaledSubLossLists") or {}
        unscaled = _get(results, "RoundSubLossLists") or {}
        names = list(scaled or unscaled)
        if not self.sub_losses or len(names) < 2:
            for lines in (self.artists["sub"], self.artists["sub_unscaled"]):
                for line in lines.values():
                    line.set_visible(False)
            return
        for i, name in enumerate(names):
            s = np.asarray(scaled.get(name, unscaled.get(name, [])), dtype=float)
            line = self._sub_line("sub", name, i, scaled=True)
            line.set_data(rx if len(rx) == len(s) else np.arange(1, len(s) + 1), s)
            line.set_visible(True)
            shown.append(s)
            u = np.asarray(unscaled.get(name, []), dtype=float)
            if scaled and len(u) and not np.allclose(u, s, equal_nan=True):
                uline = self._sub_line("sub_unscaled", name, i, scaled=False)
                uline.set_data(rx if len(rx) == len(u) else np.arange(1, len(u) + 1), u)
                uline.set_visible(True)
                shown.append(u)

    def _draw_changes(self, results):
        changes = _get(results, "SpecificationChanges") or []
        drawn = self.artists["changes"]
        for i, change in enumerate(changes):
            x = float(change.get("round", 0.0))
            text = str(change.get("description", "changed"))
            if i < len(drawn):
                line, label = drawn[i]
                line.set_xdata([x, x])
                label.set_x(x)
                label.set_text(text)
                continue
            line = self.ax.axvline(x, color="C3", lw=1.0, ls="--", alpha=0.8,
                                   label="specification changed" if i == 0 else "_nolegend_")
            label = self.ax.text(x, 0.98, text + " ", transform=self.ax.get_xaxis_transform(), rotation=90,
                                 va="top", ha="right", fontsize="x-small", color="C3")
            drawn.append((line, label))
        while len(drawn) > len(changes):
            line, label = drawn.pop()
            line.remove()
            label.remove()


def loss_plot(results, ax=None, *, log=None, xlog=None, batches=True, sub_losses=True, validation=True):
    """Plot the losses of a training run (a NetTrainResults) against the round.

    Parameters
    ----------
    results : a NetTrainResults (``NetTrain(..., "All")``), also while training.
    ax : the Axes to draw on (default: a new pyplot-free figure).
    log : a log-scaled loss axis; None: when the losses span over two decades.
    xlog : a log-scaled round axis; None: for runs of more than 1000 rounds.
    batches : draw every batch's loss (faint), averaged into at most
        2000 points for long runs (a history thinned by ``history_limit``
        is drawn as its min-max envelope instead).
    sub_losses : draw each sub-loss of a multi-loss specification.
    validation : draw the validation losses (when there are any).

    Returns a :class:`LossPlot`; ``.update(results)`` redraws it (live use).
    """
    figure, ax = new_axes(ax, figsize=(7.0, 3.6))
    return LossPlot(results, ax, figure, log=log, xlog=xlog, batches=batches, sub_losses=sub_losses,
                    validation=validation)
