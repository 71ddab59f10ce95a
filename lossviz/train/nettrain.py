"""NetTrain: train a net in one call (a thin driver of :class:`~lossviz.train.session.TrainingSession`).

It never imports matplotlib or ipywidgets: progress bars, plots and panels
are callbacks that subscribe to the session's events.
"""
from __future__ import annotations

import math

from ..errors import ParameterError
from ..net.layer import Layer
from .results import ALIASES, PROPERTIES
from .checks import check_callbacks, check_int, check_positive
from .lrfinder import RANGE_TEST_STEPS
from .session import TrainingDivergedWarning, TrainingSession, TrainingStalledWarning
from .spec import Automatic

__all__ = ["NetTrain", "TrainingDivergedWarning", "TrainingStalledWarning"]

#: about this many gradient steps when max_training_rounds is not given
AUTOMATIC_STEPS = 2000
#: a learning-rate range test with less work than this (parameters x batch size x steps, about the
#: multiply-adds) runs whole, without a time limit: a fraction of a second here
RANGE_TEST_UNTIMED_WORK = 2e8


def NetTrain(net, data, prop="TrainedNet", *, loss_function=Automatic, validation_set=None,
             max_training_rounds=None, batch_size=64, method="ADAM", learning_rate=None,
             learning_rate_schedule=None, l2_regularization=0.0, gradient_clipping=None,
             random_seed=None, training_stopping_criterion=None, time_goal=None,
             progress="auto", callbacks=(), working_precision="Real32", **unknown):
    """Train ``net`` on ``data`` and return the trained net (``net`` itself is not changed).

    Parameters
    ----------
    net : Layer
        A net (NetChain, NetGraph or a single layer). Uninitialized parameters
        are initialized from ``random_seed``. Port shapes that were not
        declared are read off the training data (``LinearLayer()`` trained on
        numbers has a "Real" input and output); ``results["InferredShapes"]``
        says what was inferred (see :mod:`lossviz.train.infer`).
    data : dict, (inputs, targets) or list of (input, target) pairs
        ``{"Input": X, "Output": Y}`` keyed by port: the net's inputs, and for
        every attached loss with a target, the target under the name of the
        output port it is attached to. A ``"Weight"`` port feeds per-example
        weights to losses that take them.
    prop : str or list, or a loss layer
        What to return: "TrainedNet" (default), "All" (a NetTrainResults),
        or any property of NetTrainResults (e.g. "RoundLossList"). A loss
        layer here is the loss function, as in Wolfram's
        ``NetTrain[net, data, lossLayer]``; the trained net is returned.
    loss_function :
        Any LossFunction form, see :mod:`lossviz.train.spec`.
    validation_set : data, or Scaled(f)
        Measured after each round; the returned net is the one with the
        lowest validation loss. ``Scaled(0.1)`` holds out 10% of ``data``.
    max_training_rounds : int
        Passes over the data. Default: about 2000 batches (10 to 10000 rounds),
        or until ``time_goal`` if that is given.
    batch_size : int
        Examples per gradient step (default 64; the last batch may be smaller).
    method : "ADAM", "SGD", "RMSProp", "SignSGD", (name, {options}) or an optimizer
    learning_rate : float or None
        None (default): chosen for this net and data by a short learning-rate
        range test before training (100 batches on a copy of the initial
        parameters, rates from 1/100 to 1000 times the method's default, ADAM
        0.001 / SGD 0.01; the rate at the lowest smoothed loss, divided by 10;
        see :meth:`TrainingSession.find_learning_rate`). It is what makes a
        first call fit: ``NetTrain(LinearLayer(), [(1, 1.9), (2, 4.1), (3, 6.0),
        (4, 8.1)])`` gives 1.95, 4.00, 6.05, 8.10 (the least-squares line),
        where ADAM's 0.001 would still be far off after 2000 steps. The choice
        is in ``results["LearningRate"]`` and ``results["LearningRateSearch"]``
        (rates, losses, rule, seconds); it costs at most 100 extra batches
        (a few percent of the default 2000), and is not counted in
        ``TotalTrainingTime``. A big net's test stops after 2 seconds (a tenth
        of ``time_goal`` when that is less) unless ``random_seed`` is given;
        a small one (under :data:`RANGE_TEST_UNTIMED_WORK`) always runs whole,
        so its choice never depends on how busy the machine is. Give a number to skip the test.
    learning_rate_schedule : None, "Cosine", "Linear" or f(progress) -> factor
    l2_regularization, gradient_clipping : float
        Weight decay added to the gradient; clipping of the gradient's global norm.
    random_seed : int
        Initialization and shuffling (None or an int >= 0). The same seed gives
        the same net, bit for bit, on one machine with the same BLAS thread
        count and the same numpy build (another CPU, thread count or build may
        change the last bits: matrix products and numpy's exp, log and tanh
        round differently per CPU).
    training_stopping_criterion : int or {"patience": k, "min_delta": d}
        Stop when the validation loss (the round loss without a validation set)
        has not improved for k rounds.
    time_goal : float
        Seconds to train for.
    progress : "auto", "Print", None or callable
        "auto" shows a tqdm bar (a widget in notebooks, text in terminals);
        "Print" prints one line per round to stdout (at most 2 a second, and
        always the first and last round): round, loss and validation loss.
    callbacks : callable or list of callables
        Called with a :class:`TrainingEvent` after every batch and round;
        returning "StopTraining" stops training.
    working_precision : "Real32" (default) or "Real64"
        Arithmetic of the compiled training step, which trains every net and
        loss it can compile (see :mod:`lossviz.train.plan`; a net with a
        parameter no layer of the plan owns trains through autograd, in
        float64); a net or a loss with a layer or loss written as a Python
        function trains in float64 (autograd runs on those layers alone; a
        user function may not be float32-safe).
        "Real32" is the default, as in Wolfram's
        NetTrain and PyTorch: about twice as fast on wide nets, and it agrees
        with "Real64" to float32 rounding (losses to about 1e-6 relative).
        "Real64" equals the autograd reference to about 1e-12; use it to
        compare trained numbers with another float64 computation. Losses
        (training and validation) are computed in this precision. The
        returned net's parameters are always float64.

    Faults: a loss that becomes NaN or infinite stops training with reason
    "Diverged", a :class:`TrainingDivergedWarning`, and the best net so far
    (the round with the lowest loss, or the initial net); KeyboardInterrupt and
    "StopTraining" return the net trained so far; an exception in a callback
    (or in the step) is re-raised with the results up to the failing batch in
    its ``training_results`` attribute. A loss that never improves on its
    first round with a huge learning rate gives a :class:`TrainingStalledWarning`.

    NetTrain drives a :class:`~lossviz.train.session.TrainingSession`; make one
    yourself to train step by step, or to change the loss while training.
    """
    if unknown:
        raise ParameterError(_unknown_option(next(iter(unknown))))
    if isinstance(prop, Layer):
        if loss_function is not Automatic:
            raise ParameterError("NetTrain: a loss layer was given both as the third argument and as loss_function=")
        prop, loss_function = "TrainedNet", prop
    props = prop if isinstance(prop, list) else [prop]
    for p in props:
        if p != "All" and ALIASES.get(p, p) not in PROPERTIES:
            import difflib

            close = difflib.get_close_matches(str(p), ["All", *PROPERTIES], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(f"NetTrain: unknown property {p!r}{hint}; expected 'All' or one of "
                                 f"{', '.join(PROPERTIES)}")
    max_rounds = check_int("max_training_rounds", max_training_rounds, 1)
    time_goal = check_positive("time_goal", time_goal)
    callbacks = check_callbacks(callbacks)
    if progress == "auto":
        from .progress import ProgressBar

        callbacks.insert(0, ProgressBar())
    elif progress == "Print":
        callbacks.insert(0, PrintProgress())
    elif callable(progress):
        callbacks.insert(0, progress)
    elif progress not in (None, False):
        raise ParameterError(f"NetTrain: progress must be 'auto', None or a callable, or 'Print'; got {progress!r}")
    session = TrainingSession(
        net, data, loss_function, validation_set=validation_set, batch_size=batch_size, method=method,
        learning_rate=learning_rate, learning_rate_schedule=learning_rate_schedule,
        l2_regularization=l2_regularization, gradient_clipping=gradient_clipping, random_seed=random_seed,
        training_stopping_criterion=training_stopping_criterion, working_precision=working_precision,
        callbacks=callbacks)
    if learning_rate is None:
        # bounded in time (a tenth of a time goal at most) only when it is big enough to take long: a small
        # test runs whole, so its choice never depends on the machine's load; a random_seed asks for the
        # same net every time
        small = session.parameter_count * session.batch_size * RANGE_TEST_STEPS <= RANGE_TEST_UNTIMED_WORK
        limit = (None if random_seed is not None or small else
                 (min(2.0, 0.1 * time_goal) if time_goal else 2.0))
        session.find_learning_rate(max_seconds=limit)
    if max_rounds is None and not time_goal:
        batches_per_round = math.ceil(session.n / session.batch_size)
        max_rounds = min(10000, max(10, math.ceil(AUTOMATIC_STEPS / batches_per_round)))
    session.run(max_rounds=max_rounds, time_goal=time_goal)
    results = session.results()
    if prop == "All":
        return results
    if isinstance(prop, list):
        return [results if p == "All" else results[p] for p in prop]
    return results[prop]


class PrintProgress:
    """``progress="Print"``: one line per round on stdout, at most every ``interval`` seconds.

    The first and the last round are always printed; a line reads
    ``round 12/40  loss 0.0123  validation 0.015  (0.4 s)``, and a last line with the reason it stopped.
    """

    wants_batches = False

    def __init__(self, interval=0.5):
        self.interval = interval
        self._shown = None

    def __call__(self, event):
        import time

        if event.kind == "start":
            self._shown = None
        elif event.kind == "round":
            now = time.monotonic()
            last = bool(event.max_rounds) and event.round >= event.max_rounds
            if self._shown is None or now - self._shown >= self.interval or last:
                self._shown = now
                total = f"/{event.max_rounds}" if event.max_rounds else ""
                parts = [f"round {event.round}{total}", f"loss {event.round_loss:.4g}"]
                if event.validation_loss is not None:
                    parts.append(f"validation {event.validation_loss:.4g}")
                parts.append(f"({event.elapsed:.1f} s)")
                print("  ".join(parts), flush=True)
        elif event.kind == "end":
            print(f"done: {event.reason} after {event.round} rounds"
                  + (f", loss {event.round_loss:.4g}" if event.round_loss is not None else ""), flush=True)


#: names other libraries use for NetTrain's options
_OTHER_NAMES = {
    "epochs": "max_training_rounds", "max_epochs": "max_training_rounds", "rounds": "max_training_rounds",
    "lr": "learning_rate", "loss": "loss_function", "criterion": "loss_function", "seed": "random_seed",
    "optimizer": "method", "validation_data": "validation_set", "val_data": "validation_set",
    "verbose": "progress", "callback": "callbacks", "clipnorm": "gradient_clipping",
    "weight_decay": "l2_regularization", "patience": "training_stopping_criterion",
    "precision": "working_precision", "dtype": "working_precision", "timeout": "time_goal",
}


def _unknown_option(name):
    """The message for an unknown NetTrain keyword, with the closest option."""
    import difflib
    import inspect

    options = [p for p in inspect.signature(NetTrain).parameters
               if p not in ("net", "data", "unknown")]
    guess = _OTHER_NAMES.get(str(name).lower()) or next(iter(difflib.get_close_matches(str(name), options, n=1)), None)
    hint = f"; did you mean {guess}=?" if guess else ""
    return f"NetTrain: unknown option {name!r}{hint} (its options are {', '.join(options)})"
