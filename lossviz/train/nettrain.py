"""NetTrain: a plain loop that minimizes the resolved loss and emits events.

It never imports matplotlib or ipywidgets: progress bars, plots and panels
are callbacks that subscribe to its events.
"""
from __future__ import annotations

import math
import numbers
import time
import warnings

import numpy as np

from ..errors import DataError, NetTypeError, ParameterError, PortError
from ..net.layer import Layer
from ..net.ops import NetInitialize
from .data import as_port_dict, check_lengths, read_data, shuffled_batches, split_validation
from .steps import select_step
from .events import StopTraining, TrainingEvent
from .optimizers import check_schedule, make_optimizer, schedule_factor
from .results import ALIASES, PROPERTIES, NetTrainResults
from .spec import Automatic, Scaled, resolve_loss

__all__ = ["NetTrain", "TrainingDivergedWarning"]

#: about this many gradient steps when max_training_rounds is not given
AUTOMATIC_STEPS = 2000


class TrainingDivergedWarning(RuntimeWarning):
    """The loss became NaN or infinite; NetTrain returned the last finite net."""


# ---------------------------------------------------------------------- options
def _check_int(name, value, low, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ParameterError(f"NetTrain: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def _check_positive(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0 or not math.isfinite(value):
        raise ParameterError(f"NetTrain: {name} must be a positive number, got {value!r}")
    return float(value)


def _patience(criterion):
    if criterion is None:
        return None, 0.0
    if isinstance(criterion, dict):
        unknown = set(criterion) - {"patience", "min_delta"}
        if unknown:
            raise ParameterError(f"NetTrain: training_stopping_criterion has unknown key {sorted(unknown)[0]!r}; "
                                 f"expected 'patience' and 'min_delta'")
        return (_check_int("training_stopping_criterion['patience']", criterion.get("patience", 3), 1),
                float(criterion.get("min_delta", 0.0)))
    return _check_int("training_stopping_criterion", criterion, 1), 0.0


def _callbacks(progress, callbacks):
    from .progress import ProgressBar

    cbs = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    for cb in cbs:
        if not callable(cb):
            raise NetTypeError(f"NetTrain: callbacks must be functions of an event, got {cb!r}")
    if progress == "auto":
        cbs.insert(0, ProgressBar())
    elif callable(progress):
        cbs.insert(0, progress)
    elif progress not in (None, False):
        raise ParameterError(f"NetTrain: progress must be 'auto', None or a callable, got {progress!r}")
    return cbs


# ---------------------------------------------------------------------- NetTrain
def NetTrain(net, data, prop="TrainedNet", *, loss_function=Automatic, validation_set=None,
             max_training_rounds=None, batch_size=64, method="ADAM", learning_rate=None,
             learning_rate_schedule=None, l2_regularization=0.0, gradient_clipping=None,
             random_seed=None, training_stopping_criterion=None, time_goal=None,
             progress="auto", callbacks=(), working_precision="Real32"):
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
    prop : str or list
        What to return: "TrainedNet" (default), "All" (a NetTrainResults),
        or any property of NetTrainResults (e.g. "RoundLossList").
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
        Initialization and shuffling; the same seed gives the same net, bit for bit.
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
    "Diverged", a :class:`TrainingDivergedWarning`, and the last finite net;
    KeyboardInterrupt and "StopTraining" return the net trained so far.
    """
    if not isinstance(net, Layer):
        raise NetTypeError(f"NetTrain: net must be a lossviz net or layer, got {type(net).__name__}")
    props = prop if isinstance(prop, list) else [prop]
    for p in props:
        if p != "All" and ALIASES.get(p, p) not in PROPERTIES:
            raise ParameterError(f"NetTrain: unknown property {p!r}; expected 'All' or one of {', '.join(PROPERTIES)}")
    batch_size = _check_int("batch_size", batch_size, 1, allow_none=False)
    max_rounds = _check_int("max_training_rounds", max_training_rounds, 1)
    time_goal = _check_positive("time_goal", time_goal)
    patience, min_delta = _patience(training_stopping_criterion)
    schedule = check_schedule(learning_rate_schedule)
    optimizer = make_optimizer(method, l2_regularization=l2_regularization, gradient_clipping=gradient_clipping)
    lr0 = _check_positive("learning_rate", learning_rate) or optimizer.default_learning_rate
    cbs = _callbacks(progress, callbacks)

    # ---- the loss and the data, all checked before any training
    in_port = next(iter(net.inputs)) if len(net.inputs) == 1 else None
    out_port = next(iter(net.outputs)) if len(net.outputs) == 1 else None
    raw = as_port_dict(data, in_port, out_port)
    spec = resolve_loss(net, loss_function, raw)
    train = read_data(net, spec, raw, "data")
    rng = np.random.default_rng(random_seed)
    valid = None
    if isinstance(validation_set, Scaled):
        if not 0 < validation_set.r < 1:
            raise ParameterError(f"NetTrain: validation_set=Scaled(f) needs 0 < f < 1, got {validation_set.r:g}")
        train, valid = split_validation(train, validation_set.r, rng)
    elif validation_set is not None:
        valid = read_data(net, spec, as_port_dict(validation_set, in_port, out_port, what="validation_set"),
                           "validation_set")
    n = check_lengths(train)

    # ---- parameters: our own copies, updated in place
    if not net.initialized:
        net = NetInitialize(net, random_seed=int(rng.integers(2**31)) if random_seed is not None else None)
    engine = select_step(net, spec, working_precision)
    leaves = engine.leaves
    precision_hint = ("; float32 overflows beyond 3.4e38: with values that large, use "
                      "working_precision='Real64'") if getattr(engine, "dtype", None) == np.float32 else ""
    optimizer.start(leaves)

    batches_per_round = math.ceil(n / batch_size)
    first_port = next(iter(train))
    if max_rounds is None:
        max_rounds = 10**9 if time_goal else min(10000, max(10, math.ceil(AUTOMATIC_STEPS / batches_per_round)))
    planned = max_rounds * batches_per_round
    names = spec.sub_loss_names
    scales = np.array([t.scale for t in spec.terms for _ in t.names])
    one_scale = scales.item() if len(scales) == 1 else None  # the common case: skip a dot product

    def current_net(src=None):
        return net.with_params(engine.params(src))

    def evaluate_set(arrays):
        total, subs, count = 0.0, np.zeros(len(names)), 0
        m = check_lengths(arrays)
        with np.errstate(all="ignore"):
            for i in range(0, m, 1024):
                chunk = {k: v[i:i + 1024] for k, v in arrays.items()}
                s = engine.evaluate(chunk)
                k = len(next(iter(chunk.values())))
                total += float(s @ scales) * k
                subs += s * k
                count += k
        return total / count, dict(zip(names, (subs / count).tolist()))

    batch_cbs = [cb for cb in cbs if getattr(cb, "wants_batches", True)]

    callers_errstate = np.geterr()  # the loop runs with numpy's warnings off; callbacks do not

    def emit(event, targets=cbs):
        if not targets:
            return
        with np.errstate(**callers_errstate):
            for cb in targets:
                if cb(event) == "StopTraining":
                    raise StopTraining

    hist = {"round": [], "batch": [], "valid": [], "round_subs": {k: [] for k in names},
            "valid_subs": {k: [] for k in names}}
    best = {"loss": math.inf, "round": None, "leaves": None}
    last_good = [a.copy() for a in leaves]
    reason, stall, seen = "MaxTrainingRounds", 0, 0
    lr = lr0
    start = time.perf_counter()
    round_no = batch_no = 0
    round_loss = None
    # numpy's floating-point warnings are silenced while training: a loss that overflows
    # is reported once, by the "Diverged" check below
    with np.errstate(all="ignore"):
        try:
            emit(TrainingEvent("start", max_rounds=max_rounds, batches_per_round=batches_per_round,
                               learning_rate=lr0, net=current_net))
            done = False
            for round_no in range(1, max_rounds + 1):
                perm = rng.permutation(n)
                r_total, r_count, r_subs, r_sizes = 0.0, 0, [], []
                for batch_no, batch in enumerate(shuffled_batches(train, perm, batch_size), 1):
                    subs, grads = engine.step(batch)
                    loss = subs.item() * one_scale if one_scale is not None else float(subs @ scales)
                    if not math.isfinite(loss):
                        reason = "Diverged"
                        if not all(np.all(np.isfinite(a)) for a in leaves):
                            leaves[:] = last_good
                        warnings.warn(
                            f"NetTrain: the loss became {loss} at round {round_no}, batch {batch_no}; training "
                            f"stopped and the last finite net was returned. Try a lower learning_rate "
                            f"(it was {lr:g}) or gradient_clipping{precision_hint}.", TrainingDivergedWarning,
                            stacklevel=2)
                        done = True
                        break
                    k = len(batch[first_port])
                    seen += k
                    if schedule is not None:
                        lr = lr0 * schedule_factor(schedule, (seen / n) / max_rounds if max_rounds < 10**9 else
                                                   (time.perf_counter() - start) / time_goal)
                    optimizer.step(leaves, grads, lr)
                    hist["batch"].append(loss)
                    r_total += loss * k
                    r_count += k
                    r_subs.append(subs)
                    r_sizes.append(k)
                    if batch_cbs:
                        emit(TrainingEvent(
                            "batch", round=round_no, batch=batch_no, batches_per_round=batches_per_round,
                            max_rounds=max_rounds, batch_loss=loss, round_loss=r_total / r_count,
                            sub_losses=dict(zip(names, subs.tolist())), learning_rate=lr,
                            progress=min(1.0, len(hist["batch"]) / planned), elapsed=time.perf_counter() - start,
                            net=current_net), batch_cbs)
                    if time_goal and time.perf_counter() - start >= time_goal:
                        reason, done = "TimeGoal", True
                        break
                if r_count == 0:
                    round_no -= 1
                    break
                round_loss = r_total / r_count
                hist["round"].append(round_loss)
                for name, v in zip(names, (np.asarray(r_sizes, float) @ np.asarray(r_subs) / r_count).tolist()):
                    hist["round_subs"][name].append(v)
                last_good = [a.copy() for a in leaves]
                val_loss = None
                if valid is not None:
                    val_loss, val_subs = evaluate_set(valid)
                    hist["valid"].append(val_loss)
                    for name, v in val_subs.items():
                        hist["valid_subs"][name].append(v)
                watched = val_loss if valid is not None else round_loss
                if watched is not None and math.isfinite(watched) and watched < best["loss"] - min_delta:
                    best.update(loss=watched, round=round_no)
                    if valid is not None:
                        best["leaves"] = [a.copy() for a in leaves]
                    stall = 0
                else:
                    stall += 1
                elapsed = time.perf_counter() - start
                emit(TrainingEvent(
                    "round", round=round_no, batch=batch_no, batches_per_round=batches_per_round,
                    max_rounds=max_rounds, round_loss=round_loss, batch_loss=hist["batch"][-1] if hist["batch"] else None,
                    sub_losses={k: v[-1] for k, v in hist["round_subs"].items()}, validation_loss=val_loss,
                    learning_rate=lr, progress=min(1.0, len(hist["batch"]) / planned), elapsed=elapsed,
                    examples_per_second=seen / elapsed if elapsed > 0 else None, net=current_net))
                if done:
                    break
                if patience is not None and stall >= patience:
                    reason = "EarlyStopping"
                    break
        except StopTraining:
            reason = "UserStop"
        except KeyboardInterrupt:
            reason = "Interrupted"
    elapsed = time.perf_counter() - start

    final_net = current_net()
    trained = current_net(best["leaves"]) if best["leaves"] is not None else final_net
    results = NetTrainResults({
        "TrainedNet": trained,
        "FinalNet": final_net,
        "RoundLoss": hist["round"][-1] if hist["round"] else None,
        "RoundLossList": hist["round"],
        "BatchLossList": hist["batch"],
        "ValidationLoss": hist["valid"][-1] if hist["valid"] else None,
        "ValidationLossList": hist["valid"],
        "RoundSubLossLists": hist["round_subs"],
        "ValidationSubLossLists": hist["valid_subs"] if valid is not None else {},
        "LossFunction": spec,
        "TotalTrainingTime": elapsed,
        "MeanExamplesPerSecond": seen / elapsed if elapsed > 0 else 0.0,
        "TotalRounds": len(hist["round"]),
        "TotalBatches": len(hist["batch"]),
        "BestValidationRound": best["round"] if valid is not None else None,
        "ReasonTrainingStopped": reason,
        "Method": optimizer,
    })
    try:
        emit(TrainingEvent("end", round=len(hist["round"]), round_loss=results["RoundLoss"], reason=reason,
                           elapsed=elapsed, max_rounds=max_rounds, net=lambda: trained))
    except StopTraining:
        pass
    if prop == "All":
        return results
    if isinstance(prop, list):
        return [results if p == "All" else results[p] for p in prop]
    return results[prop]
