"""NetTrainResults: everything a training run produced, by Wolfram's property names."""
from __future__ import annotations

import html

from ..errors import PortError

__all__ = ["NetTrainResults", "PROPERTIES"]

#: property -> description (aliases below)
PROPERTIES = {
    "TrainedNet": "the trained net (the one with the lowest validation loss when there is a validation set)",
    "FinalNet": "the net after the last batch, whatever the validation loss",
    "LossPlot": "a plot of the round losses (and validation losses) against the round",
    "RoundLoss": "the mean loss of the last round",
    "RoundLossList": "the mean loss of every round",
    "BatchLossList": "the loss of every batch",
    "ValidationLoss": "the validation loss of the last round",
    "ValidationLossList": "the validation loss of every round",
    "RoundSubLossLists": "{sub-loss name: list of its mean per round}",
    "ValidationSubLossLists": "{sub-loss name: list of its validation value per round}",
    "LossFunction": "the resolved loss specification (which port, which loss, which scale, and why)",
    "TotalTrainingTime": "seconds spent training",
    "MeanExamplesPerSecond": "examples processed per second",
    "TotalRounds": "rounds completed",
    "TotalBatches": "batches completed",
    "BestValidationRound": "the round whose net has the lowest validation loss",
    "ReasonTrainingStopped": "MaxTrainingRounds, TimeGoal, Diverged, EarlyStopping, UserStop, Interrupted or Error",
    "Method": "the optimizer used",
    "LearningRate": "the learning rate in force at the end (before any schedule)",
    "RoundScaledSubLossLists": "{sub-loss name: list of its mean per round, times the scale in force}",
    "BatchesPerRound": "batches in one round (one pass over the training data)",
    "SpecificationChanges": "[{'batch', 'round', 'description'}]: changes of loss, learning rate or batch size "
                            "made while training (TrainingSession.set_loss_function ...)",
    "ParameterTrajectory": "[(round, parameter tree)]: the parameters at round 0 and after rounds, "
                           "thinned to at most 100 snapshots (for loss_landscape)",
}
ALIASES = {"LossEvolutionPlot": "LossPlot", "FinalRoundLoss": "RoundLoss"}


class NetTrainResults:
    """The results of :func:`lossviz.NetTrain` with ``prop="All"``.

    ``results["RoundLossList"]``, ``results.properties``; sub-loss lists are
    also reachable as ``results["RoundLossList", "Loss1"]``.
    """

    def __init__(self, values: dict):
        self._values = dict(values)

    @property
    def properties(self):
        return list(PROPERTIES)

    def __getitem__(self, key):
        if isinstance(key, tuple) and len(key) == 2:
            prop, sub = key
            table = {"RoundLossList": "RoundSubLossLists", "ValidationLossList": "ValidationSubLossLists"}
            lists = self[table.get(prop, prop)]
            if not isinstance(lists, dict) or sub not in lists:
                raise PortError(f"no sub-loss {sub!r}; the sub-losses are {', '.join(map(repr, lists or {}))}")
            return lists[sub]
        if isinstance(key, list):
            return [self[k] for k in key]
        key = ALIASES.get(key, key)
        if key == "LossPlot":
            from ..plot import loss_plot

            return loss_plot(self)
        if key not in self._values:
            raise PortError(f"unknown property {key!r}; the properties are {', '.join(PROPERTIES)}")
        return self._values[key]

    def __contains__(self, key):
        return ALIASES.get(key, key) in PROPERTIES

    def _summary(self):
        v = self._values
        rows = [
            ("rounds", f"{v['TotalRounds']} ({v['TotalBatches']} batches)"),
            ("final round loss", _fmt(v["RoundLoss"])),
            ("validation loss", _fmt(v["ValidationLoss"])),
            ("best validation round", v["BestValidationRound"]),
            ("stopped because", v["ReasonTrainingStopped"]),
            ("time", f"{v['TotalTrainingTime']:.2f} s, {v['MeanExamplesPerSecond']:,.0f} examples/s"),
            ("method", repr(v["Method"])),
        ]
        return [(k, x) for k, x in rows if x is not None]

    def __repr__(self):
        lines = ["NetTrainResults"] + [f"  {k}: {x}" for k, x in self._summary()]
        lines += ["  " + line for line in repr(self._values["LossFunction"]).splitlines()]
        return "\n".join(lines)

    def _repr_html_(self):
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(x))}</td></tr>"
                       for k, x in self._summary())
        return (f"<div><b>NetTrainResults</b><table>{rows}</table>"
                f"{self._values['LossFunction']._repr_html_()}</div>")


def _fmt(x):
    return None if x is None else f"{x:.6g}"
