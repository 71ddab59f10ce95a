"""Loss curves of a training run."""
from __future__ import annotations

__all__ = ["loss_plot"]


def loss_plot(results, ax=None, *, log=None):
    """Plot round losses (and validation losses) of a NetTrainResults against the round.

    Returns the matplotlib Figure (shown inline in notebooks). ``log``: a
    log-scaled loss axis; default when the losses span over two decades.
    """
    import matplotlib.pyplot as plt

    rounds = results["RoundLossList"]
    valid = results["ValidationLossList"]
    if ax is None:
        with plt.ioff():
            fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
    else:
        fig = ax.figure
    xs = range(1, len(rounds) + 1)
    ax.plot(xs, rounds, label="training")
    if valid:
        ax.plot(range(1, len(valid) + 1), valid, label="validation")
    positive = [v for v in list(rounds) + list(valid) if v > 0]
    if log is None:
        log = bool(positive) and len(positive) == len(rounds) + len(valid) and max(positive) > 100 * min(positive)
    if log:
        ax.set_yscale("log")
    best = results["BestValidationRound"]
    if best:
        ax.axvline(best, color="0.6", lw=0.8, ls=":", label=f"best round {best}")
    ax.set_xlabel("round")
    ax.set_ylabel("loss")
    ax.legend(frameon=False)
    return fig
