"""TrainingSession: a training run you can step, pause, steer and inspect.

:func:`~lossviz.train.nettrain.NetTrain` trains from start to finish in one
call. A session holds the same state between calls (the training step, the
optimizer's moments, the data order, the history), so that a panel, a
notebook or a script can drive it::

    s = TrainingSession(net, data, loss_function=MeanSquaredLossLayer(), random_seed=0)
    s.run(rounds=20)                                  # 20 passes over the data
    s.set_loss_function(HuberLossLayer(rho=0.5))      # from the next batch on
    s.step(batches=5)
    s.run(time_goal=2.0)
    s.results()["SpecificationChanges"]               # [{'batch': ..., 'description': "..."}]

``run`` blocks; run it in a thread to train live, and call :meth:`stop`,
:meth:`set_loss_function`, :meth:`set_learning_rate` or
:meth:`set_batch_size` from another thread: changes are queued and take
effect before the next batch, and every change is recorded (in
``s.changes``, in the results, and as a "change" event).

Subscribers (``callbacks=`` or :meth:`subscribe`) get a
:class:`~lossviz.train.events.TrainingEvent` for every "start", "batch",
"round", "change" and "end"; they run in the training thread.

Reproducibility: the same ``random_seed`` gives the same data order, the
same initial parameters and so, on one machine with the same BLAS thread
count and the same numpy build, the same trained net bit for bit (another
CPU, thread count or build may change the last bits: matrix products and
numpy's exp, log and tanh round differently per CPU).
"""
from __future__ import annotations

import functools
import math
import threading
import time
import warnings

import numpy as np

from ..errors import DataError, NetTypeError, ParameterError, check_random_seed
from ..net.layer import Layer
from ..net.ops import NetInitialize
from .data import GATHER_BYTES, as_port_dict, check_lengths, equal_shape_groups, is_ragged, read_data
from .checks import check_callbacks, check_int, check_positive, stopping_criterion
from .events import StopTraining, TrainingEvent
from .history import Trace
from .infer import infer_shapes
from .lrfinder import RANGE_TEST_SECONDS, RANGE_TEST_STEPS
from .measures import classifier_terms, measure
from .optimizers import check_schedule, make_optimizer, schedule_factor
from .results import NetTrainResults, training_net
from .spec import Automatic, Scaled, describe_change, resolve_loss
from .steps import AutogradStep, select_step

__all__ = ["TrainingSession", "TrainingDivergedWarning", "TrainingStalledWarning"]

#: ParameterTrajectory keeps at most this many snapshots (every other one is dropped when full)
MAX_TRAJECTORY = 100
#: the smallest ``history_limit`` a session takes (rows kept per history: batches, rounds)
MIN_HISTORY_LIMIT = 100
#: evaluation of validation sets runs in chunks of this many examples
EVALUATION_CHUNK = 1024
#: RoundMeasurements of classifiers (accuracy, error rate) use at most this many training examples
MEASURE_EXAMPLES = 512
#: ... and take at most this fraction of the training time (rounds beyond it are not measured)
MEASURE_TIME_FRACTION = 0.02


class TrainingDivergedWarning(RuntimeWarning):
    """The loss became NaN or infinite; training returned the best finite net so far."""


class TrainingStalledWarning(RuntimeWarning):
    """The loss has not improved on its first value after many rounds with a huge learning rate."""


class TrainingSession:
    """A training run of ``net`` on ``data`` that can be stepped, stopped, steered and inspected.

    The arguments are NetTrain's (see :func:`~lossviz.train.nettrain.NetTrain`);
    everything is checked, the loss resolved, the data read and the net
    initialized when the session is made, so a mistake is reported before any
    training. ``net`` itself is never changed.

    One more argument, for sessions that may train without end (the panels turn it on):
    ``history_limit`` (None, or an int >= 100): None (the default, and NetTrain's) keeps every
    batch loss and every round's losses and measurements. An int keeps the memory of the
    history bounded, whatever the length of the run: each history (the batches' and the
    rounds') keeps at most about this many entries (checked at every round's end, so the
    batches of one round more at most), thinned to a min-max envelope when full (see
    :class:`Trace`): the first and the newest entry and, in every stretch of a power-of-two
    number of batches or rounds, the lowest and the highest value of each list. The results
    then say which batches and rounds the lists hold: "BatchNumbers" and "RoundNumbers", and
    "HistoryThinned" is True; "TotalBatches" and "TotalRounds" still count everything.

    Attributes
    ----------
    net : the current net (a copy with the current parameters).
    spec : the resolved :class:`~lossviz.train.spec.LossSpecification` in force.
    round, batch : rounds completed, and batches done in the current round.
    total_batches, examples_seen, elapsed : counters over every run.
    changes : ``[{"batch", "round", "description"}]``, one per change that took effect.
    inferred_shapes : ``{port: shape}`` of the ports whose shapes were read off ``data``
        (see :mod:`lossviz.train.infer`).
    learning_rate_search : what :meth:`find_learning_rate` found (absent until it runs).
    history_limit : the ``history_limit`` given (None: every entry is kept).
    running : True while :meth:`run` (or :meth:`step`) trains.
    last_error : the exception that ended the last run with reason "Error", else None.
    """

    def __init__(self, net, data, loss_function=Automatic, *, validation_set=None, batch_size=64,
                 method="ADAM", learning_rate=None, learning_rate_schedule=None, l2_regularization=0.0,
                 gradient_clipping=None, random_seed=None, training_stopping_criterion=None,
                 working_precision="Real32", callbacks=(), history_limit=None):
        from .fused import check_precision

        if not isinstance(net, Layer):
            raise NetTypeError(f"NetTrain: net must be a lossviz net or layer, got {type(net).__name__}")
        self.batch_size = check_int("batch_size", batch_size, 1, allow_none=False)
        self._patience, self._min_delta = stopping_criterion(training_stopping_criterion)
        self._schedule = check_schedule(learning_rate_schedule)
        self.optimizer = make_optimizer(method, l2_regularization=l2_regularization,
                                        gradient_clipping=gradient_clipping)
        self.learning_rate = (check_positive("learning_rate", learning_rate)
                              or self.optimizer.default_learning_rate)
        check_precision(working_precision)
        self.working_precision = working_precision
        self.random_seed = check_random_seed(random_seed, "NetTrain")
        self._subscribers = check_callbacks(callbacks)
        self.history_limit = check_int("history_limit", history_limit, MIN_HISTORY_LIMIT, owner="TrainingSession")

        # ---- the loss and the data, all checked before any training
        self._in_port = next(iter(net.inputs)) if len(net.inputs) == 1 else None
        self._out_port = next(iter(net.outputs)) if len(net.outputs) == 1 else None
        self._raw = as_port_dict(data, self._in_port, self._out_port)
        self._raw_valid = None
        self._validation_fraction = None
        if isinstance(validation_set, Scaled):
            if not 0 < validation_set.r < 1:
                raise ParameterError(f"NetTrain: validation_set=Scaled(f) needs 0 < f < 1, got {validation_set.r:g}")
            self._validation_fraction = validation_set.r
        elif validation_set is not None:
            self._raw_valid = as_port_dict(validation_set, self._in_port, self._out_port, what="validation_set")
        self._rng = np.random.default_rng(self.random_seed)
        # undeclared port shapes come from the data (Wolfram's NetTrain[LinearLayer[], {1 -> 1.9, ...}])
        net, self.inferred_shapes = infer_shapes(net, self._raw, loss_function)
        spec = resolve_loss(net, loss_function, self._raw)
        arrays = read_data(net, spec, self._raw, "data")
        self._held = None
        if self._validation_fraction is not None:
            n_all = check_lengths(arrays)
            k = int(round(n_all * self._validation_fraction))
            if not 0 < k < n_all:
                raise DataError(f"validation_set=Scaled({self._validation_fraction:g}) holds out {k} of {n_all} "
                                f"examples; need at least one for each of training and validation")
            perm = self._rng.permutation(n_all)
            self._held, self._kept = perm[:k], perm[k:]
        self._train, self._valid = self._split(arrays, net, spec)
        self.n = check_lengths(self._train)

        # ---- parameters: our own copies, updated in place
        if not net.initialized:
            net = NetInitialize(net, random_seed=int(self._rng.integers(2**31))
                                if self.random_seed is not None else None)
        self._net = net
        self._initial_net = net
        self.spec = spec
        self._engine = select_step(net, spec, working_precision)
        self.optimizer.start(self._engine.leaves)

        self._lock = threading.Lock()
        self._hist_lock = threading.Lock()  # the history's rows change only under it (but batch losses are appended)
        self._pending = []  # queued changes: (kind, payload)
        self._stop = threading.Event()
        self._run_lock = threading.Lock()
        self.running = False
        self.last_error = None
        self._reset_history()

    # ================================================================== data
    def _split(self, arrays, net, spec):
        """Training arrays and validation arrays (or None) for ``spec``."""
        if self._held is not None:
            return ({p: a[self._kept] for p, a in arrays.items()}, {p: a[self._held] for p, a in arrays.items()})
        if self._raw_valid is not None:
            return arrays, read_data(net, spec, self._raw_valid, "validation_set")
        return arrays, None

    # ================================================================== state
    def _reset_history(self):
        self.round = 0  # completed rounds
        self.batch = 0  # batches done in the current round
        self.total_batches = 0
        self.examples_seen = 0
        self.elapsed = 0.0
        self.changes = []
        self._perm, self._pos, self._block = None, 0, None
        self._names = list(self.spec.sub_loss_names)
        # numbers are kept as float64 arrays (8 bytes each, not a Python float's 32): a panel left
        # training for an hour keeps millions of batch losses, or with history_limit a bounded
        # envelope of them (see Trace). "batch": one row per batch; "round": one row per round,
        # with the columns "loss", ("sub", name), ("scaled", name), ("measure", name) and, with a
        # validation set, "valid", ("valid_sub", name), ("valid_measure", name)
        self._hist = {"batch": Trace(["loss"], self.history_limit), "round": Trace(["loss"], self.history_limit)}
        self._batch_losses = self._hist["batch"].tail["loss"]  # appended to on the hot path
        for name in self._names:
            self._add_sub_loss(name)
        self._measure_time = 0.0
        self._round_acc = self._new_round_acc()
        self._best = {"loss": math.inf, "round": None, "leaves": None}
        self._best_train = {"loss": math.inf, "round": 0, "leaves": [a.copy() for a in self._engine.leaves]}
        self._stall = 0
        self._trajectory = [(0, self._engine, [a.copy() for a in self._engine.leaves])]
        self._reason = None
        self._lr = self.learning_rate

    def _add_sub_loss(self, name):
        """Columns for a sub-loss (NaN for the rounds before it existed)."""
        rounds = self._hist["round"]
        with self._hist_lock:
            for kind in ("sub", "scaled") + (("valid_sub",) if self._valid is not None else ()):
                rounds.add_column((kind, name))

    def _new_round_acc(self):
        return {"total": 0.0, "count": 0, "subs": [], "sizes": []}

    @property
    def spec(self):
        """The LossSpecification being trained (the constructor's, then each :meth:`set_loss_function`'s)."""
        return self._spec

    @spec.setter
    def spec(self, spec):
        # what the loop reads every batch or round, worked out once per specification
        self._spec = spec
        self._scales = np.array([t.scale for t in spec.terms for _ in t.names])  # one per sub-loss
        self._classifiers = bool(classifier_terms(spec))  # accuracy is measured each round

    @property
    def parameter_count(self):
        """Number of scalar parameters trained."""
        return int(sum(leaf.size for leaf in self._engine.leaves))

    @property
    def net(self):
        """The current net: a copy of the net with the current parameters."""
        return self._net.with_params(self._engine.params())

    def _current_net(self, leaves=None):
        return self._net.with_params(self._engine.params(leaves))

    # ================================================================== subscribers
    def subscribe(self, callback):
        """Send every :class:`TrainingEvent` to ``callback(event)`` (in the training thread)."""
        check_callbacks([callback])
        if callback not in self._subscribers:
            self._subscribers.append(callback)

    def unsubscribe(self, callback):
        """Stop sending events to ``callback`` (no error if it was not subscribed)."""
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    def _emit(self, event, errstate, batches_only=False):
        targets = [cb for cb in list(self._subscribers) if not batches_only or getattr(cb, "wants_batches", True)]
        if not targets:
            return
        with np.errstate(**errstate):
            for cb in targets:
                if cb(event) == "StopTraining":
                    raise StopTraining

    # ================================================================== steering (thread-safe)
    def stop(self):
        """Ask a running :meth:`run` to return after the current batch (reason "UserStop").

        It applies to the run in progress: a ``stop()`` made before a run starts is
        forgotten when it starts (a run started from another thread may not have
        begun yet: check :attr:`running`, or stop again until the thread ends).
        """
        self._stop.set()

    def set_loss_function(self, loss_function):
        """Train on ``loss_function`` (any LossFunction form) from the next batch on.

        The new specification is resolved and checked on a few examples here,
        in the caller's thread (a mistake raises now, and training goes on
        unchanged); it takes effect before the next batch and is recorded in
        :attr:`changes`. Returns the resolved specification.
        """
        spec = resolve_loss(self._net, loss_function, self._raw)
        arrays = read_data(self._net, spec, self._raw, "data")
        train, valid = self._split(arrays, self._net, spec)
        probe = {p: a[:2] for p, a in train.items()}
        with np.errstate(all="ignore"):
            AutogradStep(self._current_net(), spec).evaluate(probe)
        with self._lock:
            self._pending.append(("spec", (spec, train, valid)))
        return spec

    def set_learning_rate(self, learning_rate):
        """Use ``learning_rate`` from the next batch on (recorded in :attr:`changes`)."""
        lr = check_positive("learning_rate", learning_rate, owner="TrainingSession")
        with self._lock:
            self._pending.append(("learning_rate", lr))

    def set_batch_size(self, batch_size):
        """Use batches of ``batch_size`` examples from the next batch on (recorded in :attr:`changes`)."""
        bs = check_int("batch_size", batch_size, 1, allow_none=False, owner="TrainingSession")
        with self._lock:
            self._pending.append(("batch_size", bs))

    def reset(self, random_seed=None):
        """Start again: new initial parameters (from ``random_seed``), fresh optimizer, empty history.

        The loss specification and options in force are kept. Not while running.
        """
        if self.running:
            raise ParameterError("TrainingSession.reset: the session is running; call stop() first")
        self.random_seed = check_random_seed(random_seed, "TrainingSession.reset")
        self._rng = np.random.default_rng(self.random_seed)
        net = self._initial_net
        self._net = NetInitialize(net, random_seed=int(self._rng.integers(2**31))
                                  if self.random_seed is not None else None)
        self._engine = select_step(self._net, self.spec, self.working_precision)
        self.optimizer.start(self._engine.leaves)
        with self._lock:
            self._pending.clear()
        self.last_error = None
        self._reset_history()

    def _apply_pending(self, errstate):
        with self._lock:
            pending, self._pending = self._pending, []
        for kind, payload in pending:
            if kind == "spec":
                spec, train, valid = payload
                description = describe_change(self.spec, spec)
                self._switch_spec(spec)
                self._train, self._valid, self._block = train, valid, None
            elif kind == "learning_rate":
                description = f"learning rate {self.learning_rate:g} -> {payload:g}"
                self.learning_rate = payload
            else:
                description = f"batch size {self.batch_size} -> {payload}"
                self.batch_size = payload
            change = {"batch": self.total_batches, "round": self._round_position(), "description": description}
            self.changes.append(change)
            self._emit(TrainingEvent("change", round=self.round, batch=self.batch, reason=description,
                                     learning_rate=self._lr, elapsed=self.elapsed, net=self._current_net),
                       errstate)

    def _switch_spec(self, spec):
        """Make the step compute ``spec``: in place when it can, else a new step with the same parameters."""
        engine = self._engine
        set_spec = getattr(engine, "set_spec", None)
        if set_spec is None or not set_spec(spec):
            current = self._current_net()
            new = select_step(current, spec, self.working_precision)
            self.optimizer.adopt(engine.leaves, new.leaves)
            self._best_train["leaves"] = _relayout(self._best_train["leaves"], new.leaves)
            if self._best["leaves"] is not None:
                self._best["leaves"] = _relayout(self._best["leaves"], new.leaves)
            self._engine = new
        self.spec = spec
        for name in spec.sub_loss_names:
            if name not in self._names:  # a new sub-loss: no values for the rounds before
                self._names.append(name)
                self._add_sub_loss(name)
        self._round_acc["subs"], self._round_acc["sizes"] = [], []  # sub-loss layout changed: restart the means

    def _round_position(self):
        per_round = max(1, math.ceil(self.n / self.batch_size))
        return self.round + self.batch / per_round

    # ================================================================== training
    def step(self, batches=1):
        """Train on ``batches`` more batches (crossing round boundaries); returns the last batch loss."""
        batches = check_int("batches", batches, 1, allow_none=False, owner="TrainingSession.step")
        self.run(batches=batches)
        return self._hist["batch"].last("loss")

    def run_round(self):
        """Finish the current round (or train one whole round); returns the stop reason."""
        return self.run(rounds=1)

    def run(self, rounds=None, *, batches=None, max_rounds=None, time_goal=None):
        """Train until a limit is reached or :meth:`stop` is called; returns why it stopped.

        rounds : int, rounds (passes over the data) to complete in this call.
        batches : int, batches to run in this call.
        max_rounds : int, stop when this many rounds are complete in all.
        time_goal : float, seconds to train in this call.

        With no limit it runs until :meth:`stop`. The reason is one of
        "MaxTrainingRounds", "TimeGoal", "UserStop", "Diverged",
        "EarlyStopping", "Interrupted" or "Error" (the exception is then
        re-raised, after the state and history up to the failing batch are
        kept: :meth:`results` still works, and so does the next ``run``).
        """
        rounds = check_int("rounds", rounds, 1, owner="TrainingSession.run")
        batches = check_int("batches", batches, 1, owner="TrainingSession.run")
        max_rounds = check_int("max_rounds", max_rounds, 1, owner="TrainingSession.run")
        time_goal = check_positive("time_goal", time_goal, owner="TrainingSession.run")
        if not self._run_lock.acquire(blocking=False):
            raise ParameterError("TrainingSession.run: the session is already running (one run at a time)")
        try:
            self.running = True
            self._stop.clear()
            return self._run(rounds, batches, max_rounds, time_goal)
        finally:
            self.running = False
            self._run_lock.release()

    def _run(self, rounds, batches, max_rounds, time_goal):
        errstate = np.geterr()  # the loop runs with numpy's warnings off; callbacks do not
        engine_start_round = self.round
        target_round = None
        if rounds is not None:
            target_round = self.round + rounds
        if max_rounds is not None:
            target_round = max_rounds if target_round is None else min(target_round, max_rounds)
        planned_rounds = None if target_round is None else target_round - self.round
        per_round = math.ceil(self.n / self.batch_size)
        start, run_seen, run_batches = time.perf_counter(), 0, 0
        elapsed0 = self.elapsed
        reason = None
        error = None

        def progress(k=0):
            """The fraction of this run done once a batch of k more examples is done (0 with no limit)."""
            if planned_rounds is not None:
                p = (run_seen + k) / self.n / planned_rounds
            elif time_goal is not None:
                p = (time.perf_counter() - start) / time_goal
            elif batches is not None:
                p = (run_batches + (k > 0)) / batches
            else:
                p = 0.0
            return min(1.0, p)

        def learning_rate(k):
            """The rate for a batch of k examples: the schedule at the progress this batch reaches."""
            if self._schedule is None:
                return self.learning_rate
            return self.learning_rate * schedule_factor(self._schedule, progress(k))

        self._progress = progress

        with np.errstate(all="ignore"):
            try:
                self._emit(TrainingEvent("start", round=self.round, batch=self.batch, batches_per_round=per_round,
                                         max_rounds=target_round or 0, learning_rate=self._lr,
                                         time_goal=time_goal, elapsed=self.elapsed, net=self._current_net),
                           errstate)
                if target_round is not None and self.round >= target_round:
                    reason = "MaxTrainingRounds"
                while reason is None:
                    if self._stop.is_set():
                        reason = "UserStop"
                        break
                    if self._pending:
                        self._apply_pending(errstate)
                        per_round = math.ceil(self.n / self.batch_size)
                    diverged, k = self._one_batch(errstate, target_round, per_round, learning_rate)
                    if diverged:
                        reason = "Diverged"
                        break
                    run_seen += k
                    run_batches += 1
                    self.elapsed = elapsed0 + time.perf_counter() - start
                    if self.batch == 0:  # a round just ended
                        if self._round_end(errstate, per_round, target_round, time_goal, start, run_seen):
                            reason = "EarlyStopping"
                        elif target_round is not None and self.round >= target_round:
                            reason = "MaxTrainingRounds"
                    if reason is None:
                        if batches is not None and run_batches >= batches:
                            reason = "MaxTrainingRounds"
                        elif time_goal is not None and time.perf_counter() - start >= time_goal:
                            reason = "TimeGoal"
            except StopTraining:
                reason = "UserStop"
            except KeyboardInterrupt:
                reason = "Interrupted"
            except Exception as e:  # noqa: BLE001 - kept, reported, and re-raised below
                reason, error = "Error", e
        self.elapsed = elapsed0 + time.perf_counter() - start
        self._reason = reason
        if self.history_limit is not None:
            with self._hist_lock:
                self._hist["batch"].fit()  # a run that ended within a round
        self.last_error = error
        self._measure_last_round()
        if reason == "Diverged":
            pass
        elif reason in ("MaxTrainingRounds", "TimeGoal", "EarlyStopping", "UserStop"):
            self._warn_if_stalled(engine_start_round)
        try:
            self._emit(TrainingEvent("end", round=self.round, batch=self.batch, batches_per_round=per_round,
                                     round_loss=self._hist["round"].last("loss"),
                                     batch_loss=self._hist["batch"].last("loss"),
                                     reason=reason, elapsed=self.elapsed, max_rounds=target_round or 0,
                                     time_goal=time_goal, net=self._trained_net), errstate)
        except StopTraining:
            pass
        except Exception as e:  # noqa: BLE001 - a callback failing on "end" must not lose the results either
            if error is None:
                error = self.last_error = e
        if error is not None:
            try:
                error.training_results = self.results()
                error.add_note("lossviz: training stopped with reason 'Error'; the net trained until then is "
                               "in this exception's .training_results['TrainedNet']")
            except Exception:  # noqa: BLE001 - an exception type that takes no attributes
                pass
            raise error
        return reason

    def _next_batch(self):
        """The next batch of the round's permutation, as views of a block of gathered rows.

        Rows are gathered several batches at a time (up to GATHER_BYTES), with one
        ``np.take`` per port and block (``a[idx]`` of a 2-D array is about 10 times
        slower): the same rows, in the same order, as ``a[perm[i:i + batch_size]]``.
        """
        if self._perm is None:
            self._perm, self._pos, self._block = self._rng.permutation(self.n), 0, None
        lo, size = self._pos, self.batch_size
        if self._block is None or lo + min(size, self.n - lo) > self._block_hi:
            row_bytes = sum(a[:1].nbytes for a in self._train.values()) or 1
            hi = min(self.n, lo + max(size, (GATHER_BYTES // (row_bytes * size)) * size))
            self._block = {p: np.take(a, self._perm[lo:hi], axis=0) for p, a in self._train.items()}
            self._block_lo, self._block_hi = lo, hi
        a, b = lo - self._block_lo, min(lo + size, self.n) - self._block_lo
        self._pos = min(lo + size, self.n)
        return {p: v[a:b] for p, v in self._block.items()}, b - a

    def _one_batch(self, errstate, target_round, per_round, learning_rate):
        """One gradient step; returns (diverged, examples). Ends the round when the data is used up."""
        batch, k = self._next_batch()
        self._lr = learning_rate(k)
        subs, grads = self._step(batch)
        scales = self._scales
        loss = float(subs[0]) * scales[0] if len(scales) == 1 else float(subs @ scales)
        if not math.isfinite(loss):
            self._diverged(loss)
            return True, k
        if self.batch == 0 and loss < self._best_train["loss"]:
            # the parameters a round starts from, measured by that round's first batch: what a
            # diverging run falls back to (a copy at most once a round)
            self._best_train.update(loss=loss, round=self.round, leaves=[a.copy() for a in self._engine.leaves])
        self.optimizer.step(self._engine.leaves, grads, self._lr)
        self.total_batches += 1
        self.batch += 1
        self.examples_seen += k
        self._batch_losses.append(loss)
        acc = self._round_acc
        acc["total"] += loss * k
        acc["count"] += k
        acc["subs"].append(subs)
        acc["sizes"].append(k)
        if any(getattr(cb, "wants_batches", True) for cb in self._subscribers):  # else no event is built
            self._emit(TrainingEvent(
                "batch", round=self.round + 1, batch=self.batch, batches_per_round=per_round,
                max_rounds=target_round or 0, batch_loss=loss, round_loss=acc["total"] / acc["count"],
                sub_losses=dict(zip(self.spec.sub_loss_names, subs.tolist())), learning_rate=self._lr,
                progress=self._progress(), elapsed=self.elapsed, net=self._current_net), errstate, batches_only=True)
        if self._pos >= self.n:
            self._perm = None
            self.batch = 0  # signals the end of a round to _run
            self.round += 1
        return False, k

    def _diverged(self, loss):
        best = self._best_train["leaves"]
        for leaf, good in zip(self._engine.leaves, best):
            leaf[...] = good
        self.optimizer.start(self._engine.leaves)
        precision_hint = ("; float32 overflows beyond 3.4e38: with values that large, use "
                          "working_precision='Real64'") if getattr(self._engine, "dtype", None) == np.float32 else ""
        r = self._best_train.get("round")
        which = ("the initial net" if not r else
                 f"the net after round {r} (whose loss, {self._best_train['loss']:.4g}, was the lowest a round "
                 f"started from)")
        warnings.warn(
            f"NetTrain: the loss became {loss} at round {self.round + 1}, batch {self.batch + 1}; training "
            f"stopped and {which} was kept. Try a lower learning_rate (it was {self._lr:g}) or "
            f"gradient_clipping{precision_hint}.", TrainingDivergedWarning, stacklevel=5)

    def _round_end(self, errstate, per_round, target_round, time_goal, start, run_seen):
        """Record a finished round; returns True when early stopping says stop."""
        acc, self._round_acc = self._round_acc, self._new_round_acc()
        round_loss = acc["total"] / acc["count"]
        current = dict.fromkeys(self._names, math.nan)
        if acc["subs"]:
            means = np.asarray(acc["sizes"], float) @ np.asarray(acc["subs"]) / sum(acc["sizes"])
            current.update(zip(self.spec.sub_loss_names, means.tolist()))
        scale_of = dict(zip(self.spec.sub_loss_names, self._scales.tolist()))
        row = {"loss": round_loss}
        for name in self._names:
            row["sub", name] = current[name]
            row["scaled", name] = current[name] * scale_of.get(name, math.nan)
        rounds = self._hist["round"]
        val_loss = None
        try:  # the whole row at once: a results() taken meanwhile never sees a round half recorded
            if self._classifiers and self._measure_time <= MEASURE_TIME_FRACTION * self.elapsed:
                t0 = time.perf_counter()
                row.update({("measure", k): v for k, v in self.measure(self._measure_sample()).items()})
                self._measure_time += time.perf_counter() - t0
            if self._valid is not None:
                val_loss, val_subs = self.evaluate(self._valid)
                row["valid"] = val_loss
                for name in self._names:
                    row["valid_sub", name] = val_subs.get(name, math.nan)
                row.update({("valid_measure", k): v for k, v in self.measure(self._valid).items()})
        finally:  # the round's losses are kept even if a measurement failed
            with self._hist_lock:
                rounds.append(row)
        if self.history_limit is not None:
            with self._hist_lock:
                rounds.fit()
                self._hist["batch"].fit()
        watched = val_loss if self._valid is not None else round_loss
        if watched is not None and math.isfinite(watched) and watched < self._best["loss"] - self._min_delta:
            self._best.update(loss=watched, round=self.round)
            if self._valid is not None:
                self._best["leaves"] = [a.copy() for a in self._engine.leaves]
            self._stall = 0
        else:
            self._stall += 1
        self._record_trajectory()
        elapsed = time.perf_counter() - start
        self._emit(TrainingEvent(
            "round", round=self.round, batch=per_round, batches_per_round=per_round, max_rounds=target_round or 0,
            round_loss=round_loss, batch_loss=self._batch_losses[-1] if self._batch_losses else None,
            sub_losses=current, validation_loss=val_loss,
            learning_rate=self._lr, elapsed=self.elapsed, time_goal=time_goal, progress=self._progress(),
            examples_per_second=run_seen / elapsed if elapsed > 0 else None, net=self._current_net), errstate)
        return self._patience is not None and self._stall >= self._patience

    def _measure_last_round(self):
        """The last round's accuracy when the time budget of the measurements skipped it."""
        rounds = self._hist["round"]
        measured = [n for n in rounds.tail if isinstance(n, tuple) and n[0] == "measure"]
        if (rounds and not rounds.last_row(measured) and self.batch == 0 and self._classifiers
                and self._reason != "Error"):
            try:
                measured = {("measure", k): v for k, v in self.measure(self._measure_sample()).items()}
                with self._hist_lock:
                    rounds.update_last(measured)
            except Exception:  # noqa: BLE001 - a measurement never hides the run's outcome
                pass

    def _record_trajectory(self):
        traj = self._trajectory
        traj.append((self.round, self._engine, [a.copy() for a in self._engine.leaves]))
        if len(traj) > MAX_TRAJECTORY:  # keep the first, every other one, and the newest
            self._trajectory = traj[:1] + traj[2:-1:2] + traj[-1:]

    def _warn_if_stalled(self, first_round):
        """Warn when a huge learning rate has made no progress.

        "No progress": after 10 rounds or more, no round of the second half of
        training has a loss below the starting value, the loss of the initial
        net on the first batch (a first round that explodes at once has a huge
        mean, so the first round's loss is no yardstick). "Huge": at least 1000
        times the method's default rate.
        """
        trace = self._hist["round"]
        huge = self.learning_rate >= 1000 * self.optimizer.default_learning_rate
        if not (huge and trace.count >= 10 and self.round - first_round >= 10):
            return
        start = self._hist["batch"].first("loss")  # the first row is always kept
        at, columns = trace.snapshot()
        rounds = np.asarray(columns["loss"])
        second_half = rounds[np.asarray(at) > trace.count // 2]  # every bucket's lowest is kept
        if second_half.min() >= start:
            warnings.warn(
                f"NetTrain: after {trace.count} rounds the loss ({rounds[-1]:.4g}) has not improved on its "
                f"starting value ({start:.4g}); learning_rate={self.learning_rate:g} is huge for "
                f"{type(self.optimizer).__name__} (its default is {self.optimizer.default_learning_rate:g}). "
                f"Try a smaller learning_rate.", TrainingStalledWarning, stacklevel=5)

    # ================================================================== ragged batches
    def _step(self, batch):
        """The step's (sub-losses, gradients) of a batch; ragged sequences in groups of equal length.

        A batch whose examples differ in shape ("Varying" sequences) is split
        into groups of equal shape; the group means, weighted by group size, are
        the batch mean of the examples' own losses and its gradient: exactly
        what the same examples give one by one (no padding enters any value).
        """
        if not self._ragged:
            return self._engine.step(batch)
        groups = equal_shape_groups(batch)
        if len(groups) == 1:
            return self._engine.step(groups[0][0])
        total = sum(k for _, k in groups)
        subs, grads = 0.0, None
        for part, k in groups:
            s, g = self._engine.step(part)
            w = k / total
            subs = subs + w * np.asarray(s, dtype=float)
            grads = ([w * np.asarray(x, dtype=float) for x in g] if grads is None
                     else [acc + w * np.asarray(x, dtype=float) for acc, x in zip(grads, g)])
        dtype = self._engine.leaves[0].dtype if self._engine.leaves else float
        return subs, [gr.astype(dtype, copy=False) for gr in grads]

    def _evaluate(self, chunk):
        if not any(is_ragged(a) for a in chunk.values()):  # validation data may be ragged on its own
            return self._engine.evaluate(chunk)
        groups = equal_shape_groups(chunk)
        total = sum(k for _, k in groups)
        return sum((k / total) * np.asarray(self._engine.evaluate(part), dtype=float) for part, k in groups)

    @property
    def _train(self):
        return self._train_arrays

    @_train.setter
    def _train(self, arrays):
        # ragged ("Varying" sequences of different lengths) is decided once per data set, not per batch
        self._train_arrays = arrays
        self._ragged = any(is_ragged(a) for a in arrays.values())

    # ================================================================== learning rate range test
    def find_learning_rate(self, steps=RANGE_TEST_STEPS, max_seconds=RANGE_TEST_SECONDS):
        """Choose the learning rate by a short range test before training (see :func:`lossviz.train.lrfinder.range_test`).

        Sets :attr:`learning_rate` to the chosen rate, keeps the record in
        ``self.learning_rate_search`` (the results' "LearningRateSearch") and returns it.
        """
        from .lrfinder import range_test

        steps = check_int("steps", steps, 5, allow_none=False, owner="TrainingSession.find_learning_rate")
        max_seconds = check_positive("max_seconds", max_seconds, owner="TrainingSession.find_learning_rate")
        if self.total_batches:
            raise ParameterError("TrainingSession.find_learning_rate: run it before training "
                                 f"({self.total_batches} batches are done)")
        found = range_test(self._engine, self.optimizer, self._step, self._train, self._scales,
                           batch_size=self.batch_size, random_seed=self.random_seed, steps=steps,
                           max_seconds=max_seconds)
        self.learning_rate = self._lr = found["chosen"]
        self.learning_rate_search = found
        return dict(found)

    # ================================================================== measurements (classifiers)
    def _measure_sample(self):
        if self.n <= MEASURE_EXAMPLES:
            return self._train
        if getattr(self, "_sample_idx", None) is None:
            self._sample_idx = np.random.default_rng(0).choice(self.n, MEASURE_EXAMPLES, replace=False)
        return {p: np.take(a, self._sample_idx, axis=0) for p, a in self._train.items()}

    def measure(self, data):
        """Accuracy and error rate of the current net's classifier outputs on ``data`` (any data form
        NetTrain takes, or arrays already read; see :func:`lossviz.train.measures.measure`)."""
        return measure(self._current_net(), self.spec, self._as_arrays(data))

    def _as_arrays(self, data):
        """``data`` as read arrays: arrays already read (one numeric array per port the session reads)
        pass as they are; anything else is read as NetTrain reads its data."""
        if (isinstance(data, dict) and data.keys() == self._train.keys()
                and all(isinstance(a, np.ndarray) and a.dtype.kind in "iufO" for a in data.values())):
            return data
        return read_data(self._net, self.spec, as_port_dict(data, self._in_port, self._out_port), "data")

    # ================================================================== evaluation and results
    def evaluate(self, data):
        """``(total loss, {sub-loss name: value})`` of the current net on ``data`` (no gradient).

        ``data`` is any data form NetTrain takes (``(X, Y)``, a dict, pairs), or arrays already read.
        """
        arrays = self._as_arrays(data)
        scales = self._scales
        names = self.spec.sub_loss_names
        total, subs, count = 0.0, np.zeros(len(names)), 0
        m = check_lengths(arrays)
        with np.errstate(all="ignore"):
            for i in range(0, m, EVALUATION_CHUNK):
                chunk = {k: v[i:i + EVALUATION_CHUNK] for k, v in arrays.items()}
                s = self._evaluate(chunk)
                k = len(next(iter(chunk.values())))
                total += float(s @ scales) * k
                subs += s * k
                count += k
        return total / count, dict(zip(names, (subs / count).tolist()))

    def _trained_net(self):
        if self._best["leaves"] is not None:
            return self._current_net(self._best["leaves"])
        return self._current_net()

    def results(self) -> NetTrainResults:
        """A :class:`NetTrainResults` of everything so far (a snapshot; also while running)."""
        with self._hist_lock:  # the lists, read at one moment (also while training in another thread)
            batch_at, batch_columns = self._hist["batch"].snapshot()
            round_at, rounds = self._hist["round"].snapshot()
        batch_losses = batch_columns["loss"]

        def column(name):
            return rounds.get(name) or [math.nan] * len(round_at)

        final = self._current_net()
        trained = self._current_net(self._best["leaves"]) if self._best["leaves"] is not None else final
        elapsed = self.elapsed
        trajectory = [(r, engine.params(leaves)) for r, engine, leaves in list(self._trajectory)]
        valid = self._valid is not None
        round_losses = column("loss")
        valid_losses = column("valid") if valid else []
        return NetTrainResults({
            "TrainedNet": trained,
            "FinalNet": final,
            "RoundLoss": round_losses[-1] if round_losses else None,
            "RoundLossList": round_losses,
            "BatchLossList": batch_losses,
            "RoundNumbers": round_at,
            "BatchNumbers": batch_at,
            "HistoryLimit": self.history_limit,
            "HistoryThinned": not isinstance(batch_at, range) or not isinstance(round_at, range),
            "ValidationLoss": valid_losses[-1] if valid_losses else None,
            "ValidationLossList": valid_losses,
            "RoundSubLossLists": {k: column(("sub", k)) for k in self._names},
            "RoundScaledSubLossLists": {k: column(("scaled", k)) for k in self._names},
            "ValidationSubLossLists": {k: column(("valid_sub", k)) for k in self._names} if valid else {},
            "LossFunction": self.spec,
            "SpecificationChanges": [dict(c) for c in self.changes],
            "ParameterTrajectory": trajectory,
            "BatchesPerRound": math.ceil(self.n / self.batch_size),
            "TotalTrainingTime": elapsed,
            "MeanExamplesPerSecond": self.examples_seen / elapsed if elapsed > 0 else 0.0,
            "TotalRounds": round_at[-1] if len(round_at) else 0,  # the first and the newest are always kept
            "TotalBatches": batch_at[-1] if len(batch_at) else 0,
            "BestValidationRound": self._best["round"] if self._valid is not None else None,
            "ReasonTrainingStopped": self._reason,
            "Method": self.optimizer,
            "LearningRate": self.learning_rate,
            "LearningRateSearch": getattr(self, "learning_rate_search", None),
            "InferredShapes": dict(self.inferred_shapes),
            "RoundMeasurements": _measurement_rows(round_losses, rounds, "measure"),
            "ValidationMeasurements": _measurement_rows(valid_losses, rounds, "valid_measure"),
            "TrainingNet": functools.partial(training_net, trained, self.spec),  # built when asked for
        })

    def __repr__(self):
        state = "running" if self.running else (self._reason or "not started")
        return (f"TrainingSession(round {self.round}, {self.total_batches} batches, {state}, "
                f"loss {self._hist['round'].last('loss'):.4g})" if self._hist["round"] else
                f"TrainingSession(round {self.round}, {self.total_batches} batches, {state})")


def _measurement_rows(losses, columns, kind):
    """One dict per round: ``{"Loss": loss}`` and the measurements (``columns[(kind, name)]``) it has."""
    measured = [(name[1], values) for name, values in columns.items() if isinstance(name, tuple) and name[0] == kind]
    return [{"Loss": loss, **{k: c[i] for k, c in measured if not math.isnan(c[i])}} for i, loss in enumerate(losses)]


def _relayout(values, like):
    """``values`` (arrays of one parameter layout) as arrays shaped and typed like ``like``."""
    flat = np.concatenate([np.ravel(v) for v in values]) if values else np.zeros(0)
    out, at = [], 0
    for a in like:
        out.append(flat[at:at + a.size].reshape(a.shape).astype(a.dtype))
        at += a.size
    return out
