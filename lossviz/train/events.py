"""Events NetTrain sends to its callbacks.

A callback is any function ``f(event)``; returning ``"StopTraining"`` (or
raising :class:`StopTraining`) ends training after the current batch, and
the net trained so far is returned. Events come from a
:class:`~lossviz.train.session.TrainingSession` (NetTrain drives one): "start"
and "end" for every run, "batch" and "round" as they finish, and "change"
when a change of loss, learning rate or batch size takes effect. Panels, plots and progress bars are
callbacks: NetTrain never imports them. A callback with the attribute
``wants_batches = False`` gets only the "start", "round" and "end" events.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TrainingEvent", "StopTraining"]


class StopTraining(Exception):
    """Raised by a callback (or returned as the string "StopTraining") to stop training."""


@dataclass
class TrainingEvent:
    """What happened: ``kind`` is "start", "batch", "round", "change" or "end".

    round, batch : 1-based counters (batch counts within the round).
    batch_loss : total loss of the last batch.
    round_loss : mean loss over the round so far (final at "round" events).
    sub_losses : {sub-loss name: value} for the last batch ("batch") or round ("round").
    validation_loss : at "round" events when there is a validation set, else None.
    learning_rate : the rate used for the last step.
    progress : fraction of the planned batches done, in [0, 1].
    examples_per_second : mean throughput so far.
    reason : at "end", why training stopped; at "change", what changed.
    max_rounds : the round this run stops at (0 when it has no round limit).
    time_goal : the run's time limit in seconds, or None.
    net : call ``event.net()`` for the current net (built on demand: it copies parameters).
    """

    kind: str
    round: int = 0
    batch: int = 0
    batches_per_round: int = 0
    max_rounds: int = 0
    batch_loss: float | None = None
    round_loss: float | None = None
    sub_losses: dict = field(default_factory=dict)
    validation_loss: float | None = None
    learning_rate: float | None = None
    progress: float = 0.0
    examples_per_second: float | None = None
    elapsed: float = 0.0
    reason: str | None = None
    time_goal: float | None = None
    net: object = None
