"""NetTrain: train a net in one call (a thin driver of :class:`~lossviz.train.session.TrainingSession`).

It never imports matplotlib or ipywidgets: progress bars, plots and panels
are callbacks that subscribe to the session's events.
"""
from __future__ import annotations

import math

from ..errors import ParameterError
from ..net.layer import Layer
from .results import ALIASES, PROPERTIES
from .session import (TrainingDivergedWarning, TrainingSession, TrainingStalledWarning, _check_callbacks,
                      _check_int, _check_positive)
from .spec import Automatic

__all__ = ["NetTrain", "TrainingDivergedWarning", "TrainingStalledWarning"]

#: about this many gradient steps when max_training_rounds is not given
AUTOMATIC_STEPS = 2000


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
        are initialized from ``random_seed``.
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
    learning_rate : float
        Default: the method's (ADAM 0.001, SGD 0.01).
    learning_rate_schedule : None, "Cosine", "Linear" or f(progress) -> factor
    l2_regularization, gradient_clipping : float
        Weight decay added to the gradient; clipping of the gradient's global norm.
    random_seed : int
        Initialization and shuffling (None or an int >= 0). The same seed gives
        the same net, bit for bit, on one machine with the same BLAS thread
        count (another CPU or thread count may change the last bits).
    training_stopping_criterion : int or {"patience": k, "min_delta": d}
        Stop when the validation loss (the round loss without a validation set)
        has not improved for k rounds.
    time_goal : float
        Seconds to train for.
    progress : "auto", None or callable
        "auto" shows a tqdm bar (a widget in notebooks, text in terminals).
    callbacks : callable or list of callables
        Called with a :class:`TrainingEvent` after every batch and round;
        returning "StopTraining" stops training.
    working_precision : "Real32" (default) or "Real64"
        Arithmetic of the training step for nets the fused step handles (see
        :mod:`lossviz.train.fused`). "Real32" is the default, as in Wolfram's
        NetTrain and PyTorch: about twice as fast on wide nets, and it agrees
        with "Real64" to float32 rounding (losses to about 1e-6 relative).
        "Real64" equals the autograd reference to about 1e-12; use it to
        compare trained numbers with another float64 computation. Losses
        (training and validation) are computed in this precision. Other nets
        train in float64. The returned net's parameters are always float64.

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
            raise ParameterError(f"NetTrain: unknown property {p!r}; expected 'All' or one of {', '.join(PROPERTIES)}")
    max_rounds = _check_int("max_training_rounds", max_training_rounds, 1)
    time_goal = _check_positive("time_goal", time_goal)
    callbacks = _check_callbacks(callbacks)
    if progress == "auto":
        from .progress import ProgressBar

        callbacks.insert(0, ProgressBar())
    elif callable(progress):
        callbacks.insert(0, progress)
    elif progress not in (None, False):
        raise ParameterError(f"NetTrain: progress must be 'auto', None or a callable, got {progress!r}")
    session = TrainingSession(
        net, data, loss_function, validation_set=validation_set, batch_size=batch_size, method=method,
        learning_rate=learning_rate, learning_rate_schedule=learning_rate_schedule,
        l2_regularization=l2_regularization, gradient_clipping=gradient_clipping, random_seed=random_seed,
        training_stopping_criterion=training_stopping_criterion, working_precision=working_precision,
        callbacks=callbacks)
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
