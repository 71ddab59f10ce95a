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
    "RoundLossList": "the mean loss of every round (of the rounds in RoundNumbers when the history was thinned)",
    "BatchLossList": "the loss of every batch (of the batches in BatchNumbers when the history was thinned)",
    "ValidationLoss": "the validation loss of the last round",
    "ValidationLossList": "the validation loss of every round (of the rounds in RoundNumbers when the history was "
                          "thinned)",
    "RoundSubLossLists": "{sub-loss name: list of its mean per round (per round of RoundNumbers)}",
    "ValidationSubLossLists": "{sub-loss name: list of its validation value per round (per round of RoundNumbers)}",
    "LossFunction": "the resolved loss specification (which port, which loss, which scale, and why)",
    "TotalTrainingTime": "seconds spent training",
    "MeanExamplesPerSecond": "examples processed per second",
    "TotalRounds": "rounds completed",
    "TotalBatches": "batches completed",
    "BestValidationRound": "the round whose net has the lowest validation loss",
    "ReasonTrainingStopped": "MaxTrainingRounds, TimeGoal, Diverged, EarlyStopping, UserStop, Interrupted or Error",
    "Method": "the optimizer used",
    "LearningRate": "the learning rate in force at the end (before any schedule)",
    "RoundScaledSubLossLists": "{sub-loss name: list of its mean per round (of RoundNumbers), times the scale in "
                               "force}",
    "BatchesPerRound": "batches in one round (one pass over the training data)",
    "SpecificationChanges": "[{'batch', 'round', 'description'}]: changes of loss, learning rate or batch size "
                            "made while training (TrainingSession.set_loss_function ...)",
    "ParameterTrajectory": "[(round, parameter tree)]: the parameters at round 0 and after rounds, "
                           "thinned to at most 100 snapshots (for loss_landscape)",
    "TrainingNet": "the trained net with its loss layers attached (a NetGraph with target inputs and loss outputs)",
    "InferredShapes": "{port: shape} of the ports whose shapes were read off the training data",
    "LearningRateSearch": "the learning-rate range test run when learning_rate was not given: rates, losses, "
                          "smoothed losses, the chosen rate and the rule (None when a rate was given)",
    "RoundMeasurements": "one dict per round (of RoundNumbers): 'Loss', and for classifiers (CrossEntropyLossLayer outputs) "
                         "'Accuracy' and 'ErrorRate' on up to 512 training examples (rounds whose measurement "
                         "would exceed 2% of the training time have only 'Loss'; the last round is always measured)",
    "ValidationMeasurements": "one dict per round (of RoundNumbers): the validation 'Loss', 'Accuracy' and "
                              "'ErrorRate'",
    "ErrorRatePlot": "a plot of the error rate (training and validation) against the round, for classifiers",
    "FinalPlots": "{'Loss': LossPlot, 'ErrorRate': ErrorRatePlot (classifiers only)}",
    "BatchNumbers": "the batch number (1-based, counted over the run) of each entry of BatchLossList: "
                    "range(1, TotalBatches + 1) when every batch is kept",
    "RoundNumbers": "the round number (1-based) of each entry of RoundLossList, ValidationLossList, the sub-loss "
                    "lists, RoundMeasurements and ValidationMeasurements: range(1, TotalRounds + 1) when every "
                    "round is kept",
    "HistoryLimit": "the TrainingSession's history_limit: None (NetTrain's; every batch and round is kept), or "
                    "the most entries each history keeps (a training panel's)",
    "HistoryThinned": "True when the history was thinned (history_limit): the lists then hold a min-max envelope "
                      "(the first and the newest entry, and the lowest and highest values of every stretch of "
                      "batches or rounds) at the batches and rounds of BatchNumbers and RoundNumbers",
    "Properties": "the names of the properties",
}
ALIASES = {"LossEvolutionPlot": "LossPlot", "FinalRoundLoss": "RoundLoss"}
#: values stored as a function that builds them (costly, and rarely asked for)
_LAZY = ("TrainingNet",)


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
        if not isinstance(key, str):
            raise PortError(f"unknown property {key!r}: properties are strings such as 'TrainedNet' or "
                            f"'RoundLossList'; the properties are {', '.join(PROPERTIES)}")
        key = ALIASES.get(key, key)
        if key == "LossPlot":
            from ..plot import loss_plot

            return loss_plot(self)
        if key == "ErrorRatePlot":
            return error_rate_plot(self)
        if key == "FinalPlots":
            plots = {"Loss": self["LossPlot"]}
            if _has_error_rates(self):
                plots["ErrorRate"] = error_rate_plot(self)
            return plots
        if key == "Properties":
            return self.properties
        if key in _LAZY and callable(self._values.get(key)):
            self._values[key] = self._values[key]()  # built once, when first asked for
        if key not in self._values:
            raise PortError(f"unknown property {key!r}{_closest_property(key)}; the properties are "
                            f"{', '.join(PROPERTIES)}")
        return self._values[key]

    def __getattr__(self, name):
        # results.TrainedNet: Python's error, with the way to write it (results are read by key, as in Wolfram)
        if not name.startswith("_") and ALIASES.get(name, name) in PROPERTIES:
            raise AttributeError(f"NetTrainResults has no attribute {name!r}; properties are read by key: "
                                 f"results[{name!r}]")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __contains__(self, key):
        return ALIASES.get(key, key) in PROPERTIES

    def _summary(self):
        v = self._values
        rows = [
            ("rounds", f"{v['TotalRounds']} ({v['TotalBatches']} batches)"),
            ("final round loss", _fmt(v["RoundLoss"])),
            ("validation loss", _fmt(v["ValidationLoss"])),
            ("accuracy", _accuracy(v)),
            ("best validation round", v["BestValidationRound"]),
            ("stopped because", v["ReasonTrainingStopped"]),
            ("time", f"{v['TotalTrainingTime']:.2f} s, {v['MeanExamplesPerSecond']:,.0f} examples/s"),
            ("method", repr(v["Method"])),
            ("learning rate", _rate(v)),
            ("inferred shapes", ", ".join(f"{p!r}: {s!r}" for p, s in (v.get("InferredShapes") or {}).items())
             or None),
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


def _closest_property(key):
    """`` (did you mean 'TrainedNet'?)`` for a misspelt or miscased property name, else ``""``."""
    import difflib

    names = list(PROPERTIES) + list(ALIASES)
    same_case = {n.lower(): n for n in names}
    guess = same_case.get(key.lower()) or next(iter(difflib.get_close_matches(key, names, n=1)), None)
    return f" (did you mean {ALIASES.get(guess, guess)!r}?)" if guess else ""


def _fmt(x):
    return None if x is None else f"{x:.6g}"


def _rate(values):
    search = values.get("LearningRateSearch")
    rate = values.get("LearningRate")
    if rate is None:
        return None
    return f"{rate:.4g} (range test: {search['rule']})" if search else f"{rate:.4g}"


def _accuracy(values):
    """The summary's accuracy row: the last measured accuracy of each classifier output (None if none).

    ``"1 (training), 0.983 (validation)"``; with several classifier outputs each is named
    (``"'A': 0.95 (training)"``). Training accuracy is measured on up to 512 training examples.
    """
    parts = []
    for what, key in (("training", "RoundMeasurements"), ("validation", "ValidationMeasurements")):
        measured = [m for m in values.get(key) or [] if any(k.endswith("Accuracy") for k in m)]
        if measured:
            for k, x in measured[-1].items():
                if k.endswith("Accuracy"):
                    port = k[:-len("/Accuracy")] if k.endswith("/Accuracy") else None
                    parts.append((f"{port!r}: " if port else "") + f"{x:.4g} ({what})")
    return ", ".join(parts) or None


def _round_numbers(results, measurements):
    """The round of each per-round entry: "RoundNumbers" (a thinned history), else 1, 2, 3, ..."""
    try:
        rounds = results["RoundNumbers"]
    except (KeyError, PortError):
        rounds = None
    return rounds if rounds is not None and len(rounds) == len(measurements) else range(1, len(measurements) + 1)


def _error_rates(measurements, rounds=None):
    """``{name: [(round, error rate)]}`` from a list of per-round measurement dicts (at ``rounds``, else 1, 2, ...)."""
    series = {}
    for r, m in zip(rounds if rounds is not None else range(1, len(measurements) + 1), measurements):
        for k, x in m.items():
            if k.endswith("ErrorRate"):
                series.setdefault(k, []).append((r, x))
    return series


def _has_error_rates(results):
    return bool(_error_rates(results["RoundMeasurements"]) or _error_rates(results["ValidationMeasurements"]))


def error_rate_plot(results):
    """A matplotlib Figure (no pyplot) of the error rate against the round: training and validation.

    Training error rates are measured on up to 512 training examples after
    each round (see "RoundMeasurements"); validation ones on the whole
    validation set. A PortError when the net has no classifier output.
    """
    measured = {key: results[key] for key in ("RoundMeasurements", "ValidationMeasurements")}
    train, valid = (_error_rates(m, _round_numbers(results, m)) for m in measured.values())
    if not train and not valid:
        raise PortError("ErrorRatePlot: the net has no classifier output (no CrossEntropyLossLayer), so no error "
                        "rate was measured; LossPlot shows the loss")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 3.2), layout="constrained")
    ax = fig.add_subplot()
    for label, series, style in (("training", train, "-"), ("validation", valid, "--")):
        for name, points in series.items():
            rounds, rates = zip(*points)
            suffix = "" if name == "ErrorRate" else f" {name.removesuffix('/ErrorRate')}"
            ax.plot(rounds, rates, style, marker="o" if len(points) < 30 else None, label=label + suffix)
    ax.set(xlabel="round", ylabel="error rate", ylim=(0, None), title="Error rate")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def training_net(net, spec):
    """Wolfram's "TrainingNet": ``net`` with its attached loss layers, as one NetGraph (or None).

    Its inputs are the net's inputs and one target port per attached loss
    ("Target" when there is one, else "<port>Target"); its outputs are the
    net's outputs and the losses, named as the sub-losses ("Output" -> loss
    port "Loss" when there is one loss, else the sub-loss names).
    """
    from ..net.graph import NetGraph, NetPort

    attached = [t for t in spec.terms if t.loss is not None]
    if not attached:
        return net
    try:
        layers = {"net": net}
        wires = [(NetPort(p), NetPort("net", p)) for p in net.inputs]
        wires += [(NetPort("net", p), NetPort(p)) for p in net.outputs]
        for i, t in enumerate(attached):
            name = f"loss{i + 1}" if len(attached) > 1 else "loss"
            layers[name] = t.loss
            wires.append((NetPort("net", t.port), NetPort(name, "Input")))
            if "Target" in t.loss.inputs:
                target = "Target" if len(attached) == 1 else f"{t.port}Target"
                wires.append((NetPort(target), NetPort(name, "Target")))
            out = "Loss" if len(attached) == 1 else t.names[0].replace("/", "_") + "Loss"
            for lport in t.loss.outputs:
                wires.append((NetPort(name, lport), NetPort(out if len(t.loss.outputs) == 1 else f"{out}{lport}")))
        return NetGraph(layers, wires)
    except ValueError:  # a loss that cannot be wired as a layer: no training net to show
        return None
