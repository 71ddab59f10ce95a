"""TrainingSession: stepping, stopping, steering mid-run, faults, and NetTrain as its thin driver."""
import math
import threading
import time
import warnings

import numpy as np
import pytest

from lossviz import (
    HuberLossLayer,
    LinearLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetGraph,
    NetTrain,
    Scaled,
    TrainingSession,
)
from lossviz.errors import DataError, ParameterError, PortError, SpecError
from lossviz.train import TrainingDivergedWarning, TrainingStalledWarning, nettrain as nettrain_module
from lossviz.train import history as history_module
from lossviz.train import session as session_module
from lossviz.train.optimizers import ADAM

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, (96, 2))
Y = (X @ np.array([[1.5], [-0.5]]) + 0.2).astype(float)
LABELS = (X[:, 0] > X[:, 1]).astype(int)


def _regressor():
    return NetChain([8, "Tanh", 1], input=2)


def _classifier():
    return NetChain([8, "Tanh", 2, "Softmax"], input=2)


def _session(**kw):
    options = dict(random_seed=1, batch_size=16, working_precision="Real64")
    options.update(kw)
    return TrainingSession(_regressor(), (X, Y), **options)


def _params(net):
    from lossviz.train.trees import tree_leaves

    return np.concatenate([np.ravel(a) for a in tree_leaves(net.params)])


# ---------------------------------------------------------------------- stepping and counting
def test_step_run_round_and_run_count_batches_and_rounds():
    s = _session()
    assert s.round == 0 and s.total_batches == 0 and s.results()["ReasonTrainingStopped"] is None
    loss = s.step(batches=3)
    assert math.isfinite(loss) and (s.round, s.batch, s.total_batches) == (0, 3, 3)
    assert s.run_round() == "MaxTrainingRounds"
    assert (s.round, s.batch, s.total_batches) == (1, 0, 6)  # 96 / 16 = 6 batches a round
    assert s.run(rounds=2) == "MaxTrainingRounds" and s.round == 3
    assert s.run(max_rounds=2) == "MaxTrainingRounds" and s.round == 3  # already past: nothing to do
    r = s.results()
    assert r["TotalRounds"] == 3 and r["TotalBatches"] == 18 and r["BatchesPerRound"] == 6
    assert len(r["BatchLossList"]) == 18 and len(r["RoundLossList"]) == 3


def test_runs_in_pieces_train_the_same_net_as_netTrain_in_one_call():
    # the same computations in the same order on one machine: equal by construction
    s = _session()
    s.run(rounds=2)
    s.step(batches=4)
    s.run(max_rounds=5)
    net = NetTrain(_regressor(), (X, Y), random_seed=1, batch_size=16, working_precision="Real64",
                   max_training_rounds=5, progress=None, learning_rate=s.learning_rate)
    np.testing.assert_array_equal(_params(s.net), _params(net))


def test_time_goal_and_batches_limits():
    s = _session()
    t0 = time.perf_counter()
    assert s.run(time_goal=0.2) == "TimeGoal"
    assert 0.2 <= time.perf_counter() - t0 < 2.0 and s.total_batches > 0
    before = s.total_batches
    s.run(batches=5)
    assert s.total_batches == before + 5


def test_bad_run_arguments_are_named():
    s = _session()
    with pytest.raises(ParameterError, match="rounds must be an int >= 1, got 0"):
        s.run(rounds=0)
    with pytest.raises(ParameterError, match="time_goal must be a positive number"):
        s.run(time_goal=-1)
    with pytest.raises(ParameterError, match="batches must be an int >= 1"):
        s.step(batches=1.5)


# ---------------------------------------------------------------------- threads
def test_stop_from_another_thread_ends_a_run_without_limit():
    s = _session()
    reasons = []
    thread = threading.Thread(target=lambda: reasons.append(s.run()))
    thread.start()
    deadline = time.monotonic() + 5
    while s.total_batches < 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert s.running
    s.stop()
    thread.join(5)
    assert not thread.is_alive() and reasons == ["UserStop"] and not s.running
    assert s.results()["ReasonTrainingStopped"] == "UserStop"


def test_one_run_at_a_time():
    s = _session()
    started = threading.Event()

    def slow(event):
        started.set()
        time.sleep(0.01)

    s.subscribe(slow)
    thread = threading.Thread(target=s.run, kwargs={"batches": 20})
    thread.start()
    started.wait(5)
    with pytest.raises(ParameterError, match="already running"):
        s.run(batches=1)
    thread.join(5)
    assert s.total_batches == 20


# ---------------------------------------------------------------------- steering
def test_a_loss_change_takes_effect_at_the_next_batch_and_is_recorded():
    s = _session()
    seen = []
    s.subscribe(lambda e: seen.append((e.kind, e.batch_loss, e.reason)))
    s.step(batches=2)
    spec = s.set_loss_function(HuberLossLayer(rho=0.1))
    assert s.spec.terms[0].loss.__class__.__name__ == "MeanSquaredLossLayer"  # not yet
    s.step(batches=1)
    assert type(s.spec.terms[0].loss) is HuberLossLayer and s.spec is spec
    change = s.changes[-1]
    assert change["batch"] == 2 and change["round"] == pytest.approx(2 / 6)
    assert "MeanSquared" in change["description"] and "HuberLoss(rho=0.1)" in change["description"]
    kinds = [k for k, _, _ in seen]
    assert kinds.count("change") == 1 and kinds.index("change") == kinds.index("batch", 3) - 1
    # the batch after the change used the Huber loss: recompute it on that batch's rows
    r = s.results()
    assert r["SpecificationChanges"] == s.changes
    assert r["LossFunction"] is spec


def test_the_batch_after_a_change_minimizes_the_new_loss():
    # with a huge scale on the new loss, the next batch's loss is that scale times the loss
    s = _session()
    s.step(batches=1)
    s.set_loss_function((MeanAbsoluteLossLayer(), Scaled(1000.0)))
    s.step(batches=1)
    last = s.results()["BatchLossList"][-1]
    assert last > 10 * s.results()["BatchLossList"][0]
    s.run_round()
    r = s.results()
    (name,) = r["RoundSubLossLists"]
    np.testing.assert_allclose(r["RoundScaledSubLossLists"][name], 1000.0 * np.asarray(r["RoundSubLossLists"][name]))


def test_a_bad_loss_change_raises_in_the_caller_and_training_goes_on():
    s = TrainingSession(_classifier(), (X, LABELS), random_seed=0, batch_size=16)
    s.step()
    with pytest.raises(SpecError):
        s.set_loss_function("NoSuchPort")
    with pytest.raises(SpecError, match="not a loss"):
        s.set_loss_function(LinearLayer(1))
    s.step()
    assert s.changes == [] and s.total_batches == 2


def test_switching_between_fused_and_autograd_steps_keeps_the_adam_moments(monkeypatch):
    from lossviz.losses import registry

    # the loss registered below is gone after the test (the catalogue's tests list every family)
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    monkeypatch.setattr(registry, "_LOOKUP", dict(registry._LOOKUP))
    s = _session(working_precision="Real32")
    s.step(batches=3)
    before = [m.copy() for m in s.optimizer._m]
    engine = s._engine

    from lossviz import losses

    @losses.register("test-session-cube")
    def cube(input, target):
        """|x - t|^3"""
        import autograd.numpy as anp

        return anp.abs(input - target) ** 3

    s.set_loss_function(losses.get("test-session-cube"))
    s._apply_pending(np.geterr())
    # a user function trains in float64 (compiled, or by AutogradStep): the Real32 step is replaced
    assert s._engine is not engine and engine.dtype == np.float32 and s._engine.leaves[0].dtype == np.float64
    after = np.concatenate([np.ravel(m) for m in s.optimizer._m])
    np.testing.assert_allclose(after, np.concatenate([np.ravel(m) for m in before]), rtol=1e-6)
    s.step(batches=2)
    assert s.total_batches == 5


def test_learning_rate_and_batch_size_changes():
    s = _session()
    s.step()
    s.set_learning_rate(0.5)
    s.set_batch_size(32)
    s.step()
    assert s.learning_rate == 0.5 and s.batch_size == 32
    descriptions = [c["description"] for c in s.changes]
    assert descriptions == ["learning rate 0.001 -> 0.5", "batch size 16 -> 32"]
    with pytest.raises(ParameterError, match="learning_rate must be a positive number"):
        s.set_learning_rate(0)


def test_reset_starts_again_from_the_seed():
    s = _session()
    s.run(rounds=2)
    s.set_learning_rate(0.01)
    s.step()
    s.reset(random_seed=1)
    assert s.total_batches == 0 and s.changes == [] and s.results()["RoundLossList"] == []
    s.run(rounds=2)
    again = NetTrain(_regressor(), (X, Y), random_seed=1, batch_size=16, working_precision="Real64",
                     learning_rate=0.01, max_training_rounds=2, progress=None)
    np.testing.assert_array_equal(_params(s.net), _params(again))


# ---------------------------------------------------------------------- results
def test_parameter_trajectory_starts_at_round_0_and_is_thinned(monkeypatch):
    monkeypatch.setattr(session_module, "MAX_TRAJECTORY", 10)
    s = TrainingSession(_regressor(), (X, Y), random_seed=0, batch_size=96)
    initial = _params(s.net)
    s.run(rounds=25)
    traj = s.results()["ParameterTrajectory"]
    rounds = [r for r, _ in traj]
    assert rounds[0] == 0 and rounds[-1] == 25 and len(traj) <= 10 and rounds == sorted(rounds)
    np.testing.assert_array_equal(_params(s.net.with_params(traj[0][1])), initial)  # copies: exact
    np.testing.assert_array_equal(_params(s.net.with_params(traj[-1][1])), _params(s.net))


def test_validation_split_and_best_round():
    s = _session(validation_set=Scaled(0.25), training_stopping_criterion=2)
    reason = s.run(rounds=200)
    r = s.results()
    assert reason in ("EarlyStopping", "MaxTrainingRounds")
    assert len(r["ValidationLossList"]) == r["TotalRounds"] and r["BestValidationRound"] >= 1
    assert r["ValidationLossList"][r["BestValidationRound"] - 1] == min(r["ValidationLossList"])


def test_results_taken_while_training_never_hold_a_half_recorded_round():
    """A panel reads results() while the session trains: every round it shows has its validation loss and
    its accuracy (the row is recorded whole, after the round's measurements)."""
    s = TrainingSession(_classifier(), (X, LABELS), random_seed=1, batch_size=16, validation_set=Scaled(0.25))
    thread = threading.Thread(target=lambda: s.run(time_goal=1.5))
    thread.start()
    snapshots = 0
    while thread.is_alive():
        r = s.results()
        if r["TotalRounds"]:
            snapshots += 1
            assert len(r["ValidationLossList"]) == len(r["RoundLossList"])
            assert np.isfinite(r["ValidationLossList"]).all() and math.isfinite(r["ValidationLoss"])
            assert all("Accuracy" in m for m in r["ValidationMeasurements"])
    thread.join()
    assert snapshots > 20


# ---------------------------------------------------------------------- faults
def test_a_callback_that_raises_keeps_the_trained_net():
    def bad(event):
        if event.kind == "round" and event.round == 3:
            raise RuntimeError("plot failed")

    with pytest.raises(RuntimeError, match="plot failed") as info:
        NetTrain(_regressor(), (X, Y), random_seed=0, batch_size=16, callbacks=bad, max_training_rounds=10,
                 progress=None)
    results = info.value.training_results
    assert results["ReasonTrainingStopped"] == "Error" and results["TotalRounds"] == 3
    assert results["TrainedNet"].initialized


def test_a_callback_that_raises_on_every_event_keeps_the_trained_net():
    # a broken callback raises again on "end": the first error is re-raised, with the results
    def broken(event):
        if event.kind != "start":
            raise RuntimeError(f"broken on {event.kind}")

    with pytest.raises(RuntimeError, match="broken on batch") as info:
        NetTrain(_regressor(), (X, Y), random_seed=0, batch_size=16, callbacks=broken, learning_rate=0.01,
                 max_training_rounds=10, progress=None)
    results = info.value.training_results
    assert results["ReasonTrainingStopped"] == "Error" and results["TotalBatches"] == 1
    assert results["TrainedNet"].initialized


def test_a_callback_that_fails_only_on_end_keeps_the_results():
    def fails_at_end(event):
        if event.kind == "end":
            raise KeyError("no figure")

    with pytest.raises(KeyError) as info:
        NetTrain(_regressor(), (X, Y), random_seed=0, batch_size=16, callbacks=fails_at_end, learning_rate=0.01,
                 max_training_rounds=3, progress=None)
    assert info.value.training_results["TotalRounds"] == 3


def test_a_session_survives_an_error_and_trains_on():
    s = _session()
    fail = [True]

    def flaky(event):
        if event.kind == "batch" and fail[0]:
            fail[0] = False
            raise ValueError("once")

    s.subscribe(flaky)
    with pytest.raises(ValueError, match="once"):
        s.run(rounds=1)
    assert s.last_error is not None and s.results()["ReasonTrainingStopped"] == "Error"
    assert s.run(rounds=1) == "MaxTrainingRounds" and s.last_error is None


def test_divergence_keeps_the_best_round_not_exploded_parameters():
    big = (X, Y * 1e3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = NetTrain(_regressor(), big, "All", method="SGD", learning_rate=5.0, batch_size=16, random_seed=0,
                     max_training_rounds=50, progress=None, working_precision="Real64")
    assert r["ReasonTrainingStopped"] == "Diverged"
    assert any(issubclass(w.category, TrainingDivergedWarning) for w in caught)
    params = _params(r["TrainedNet"])
    assert np.all(np.isfinite(params)) and np.abs(params).max() < 1e6


def test_a_huge_learning_rate_that_never_helps_gives_a_warning():
    data = (X, LABELS)
    with pytest.warns(TrainingStalledWarning, match="learning_rate=1e\\+06 is huge for ADAM"):
        NetTrain(_classifier(), data, learning_rate=1e6, batch_size=96, max_training_rounds=30, random_seed=0,
                 progress=None)


@pytest.mark.parametrize("method", ["ADAM", "RMSProp"])
def test_a_huge_learning_rate_whose_first_round_explodes_gives_a_warning(method):
    # the first round's mean loss is already huge here, so the yardstick is the initial net's loss
    with pytest.warns(TrainingStalledWarning, match="has not improved on its starting value"):
        NetTrain(_regressor(), (X, Y), method=method, learning_rate=1e6, batch_size=16, max_training_rounds=20,
                 random_seed=0, progress=None)


def test_a_normal_run_gives_no_stall_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingStalledWarning)
        NetTrain(_classifier(), (X, LABELS), learning_rate=0.05, batch_size=96, max_training_rounds=30,
                 random_seed=0, progress=None)


# ---------------------------------------------------------------------- NetTrain's own arguments
def test_unknown_nettrain_options_suggest_the_right_one():
    with pytest.raises(ParameterError, match="unknown option 'epochs'; did you mean max_training_rounds="):
        NetTrain(_regressor(), (X, Y), epochs=3)
    with pytest.raises(ParameterError, match="did you mean learning_rate="):
        NetTrain(_regressor(), (X, Y), learning_rat=0.1)


def test_a_loss_layer_as_the_third_argument_is_the_loss_function():
    net = NetTrain(_regressor(), (X, Y), MeanAbsoluteLossLayer(), max_training_rounds=1, random_seed=0,
                   progress=None)
    assert net.initialized
    r = NetTrain(_regressor(), (X, Y), "All", loss_function=MeanAbsoluteLossLayer(), max_training_rounds=1,
                 random_seed=0, progress=None)
    assert type(r["LossFunction"].terms[0].loss) is MeanAbsoluteLossLayer
    with pytest.raises(ParameterError, match="both as the third argument and as loss_function"):
        NetTrain(_regressor(), (X, Y), MeanAbsoluteLossLayer(), loss_function=MeanSquaredLossLayer())


@pytest.mark.parametrize("seed", ["abc", -1, 1.5, True])
def test_bad_random_seeds_are_named(seed):
    with pytest.raises(ParameterError, match="random_seed"):
        NetTrain(_regressor(), (X, Y), random_seed=seed, max_training_rounds=1, progress=None)


def test_min_delta_must_be_a_number():
    with pytest.raises(ParameterError, match=r"min_delta'\] must be a finite number >= 0, got 'x'"):
        NetTrain(_regressor(), (X, Y), training_stopping_criterion={"patience": 2, "min_delta": "x"})


def test_time_goal_progress_bar_counts_seconds(capsys):
    NetTrain(_regressor(), (X, Y), time_goal=0.3, random_seed=0, progress="auto")
    err = capsys.readouterr().err
    assert "/0.3 s" in err and "1000000000" not in err


def test_two_output_ports_with_scaled_terms_report_scaled_and_unscaled():
    from lossviz import NetPort

    net = NetGraph({"trunk": NetChain([8, "Tanh"]), "a": LinearLayer(1), "b": LinearLayer(1)},
                   [(NetPort("Input"), "trunk", "a", NetPort("A")), ("trunk", "b", NetPort("B"))], Input=2)
    data = {"Input": X, "A": Y, "B": -Y}
    s = TrainingSession(net, data, loss_function={"A": MeanSquaredLossLayer(), "B": (MeanAbsoluteLossLayer(), Scaled(0.5))},
                        random_seed=0, batch_size=32)
    s.run(rounds=2)
    s.set_loss_function({"A": MeanSquaredLossLayer(), "B": (MeanAbsoluteLossLayer(), Scaled(2.0))})
    s.run(rounds=1)
    r = s.results()
    np.testing.assert_allclose(r["RoundScaledSubLossLists"]["B"],
                               np.asarray(r["RoundSubLossLists"]["B"]) * [0.5, 0.5, 2.0])
    assert "x0.5 -> MeanAbsoluteLoss x2" in r["SpecificationChanges"][0]["description"]


def test_no_batch_event_is_built_for_subscribers_that_want_only_rounds(monkeypatch):
    built = []
    original = session_module.TrainingEvent

    def counting(kind, **kw):
        built.append(kind)
        return original(kind, **kw)

    monkeypatch.setattr(session_module, "TrainingEvent", counting)

    def rounds_only(event):
        pass

    rounds_only.wants_batches = False
    s = _session()
    s.subscribe(rounds_only)
    s.run(rounds=2)
    assert "batch" not in built and built.count("round") == 2


def test_evaluate_and_measure_take_data_as_nettrain_does():
    s = TrainingSession(_classifier(), (X, LABELS), random_seed=0, learning_rate=0.05, batch_size=16)
    s.run(rounds=3)
    loss, subs = s.evaluate((X, LABELS))
    assert loss == pytest.approx(s.evaluate(s._train)[0], rel=1e-12) and set(subs) == {"Output"}
    assert s.measure({"Input": X, "Output": LABELS})["Accuracy"] == s.measure(s._train)["Accuracy"]
    for bad in ("zz", 3, [], {}):
        with pytest.raises((DataError, PortError)):
            s.evaluate(bad)


def test_the_history_of_a_long_run_is_compact():
    # a panel left training keeps every batch loss: 8 bytes each, not a Python float's 32
    import tracemalloc

    from lossviz import datasets

    data = datasets.circle(n=1000, noise=0.1, random_seed=0)
    s = TrainingSession(_classifier(), data.train, validation_set=data.test, batch_size=32, learning_rate=0.01,
                        random_seed=0)
    s.run(rounds=120)  # past the trajectory's cap of 100 snapshots, which does not grow after
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        s.run(rounds=400)  # 16 batches a round
        grown = sum(d.size_diff for d in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()
    assert grown / 400 < 1100, f"{grown / 400:.0f} bytes per round"  # Python lists of floats: about 1.7 KiB
    r = s.results()
    assert len(r["BatchLossList"]) == s.total_batches and isinstance(r["BatchLossList"], list)
    assert set(r["RoundMeasurements"][-1]) == {"Loss", "Accuracy", "ErrorRate"}


def test_a_small_nets_learning_rate_test_runs_whole_whatever_the_machines_load(monkeypatch):
    # a wall-clock limit would make the chosen rate depend on the load; a small test has none
    from lossviz.train import lrfinder

    limits = []
    original = TrainingSession.find_learning_rate

    def spy(self, steps=lrfinder.RANGE_TEST_STEPS, max_seconds=lrfinder.RANGE_TEST_SECONDS):
        limits.append(max_seconds)
        return original(self, steps=steps, max_seconds=max_seconds)

    monkeypatch.setattr(TrainingSession, "find_learning_rate", spy)
    NetTrain(_regressor(), (X, Y), max_training_rounds=1, progress=None)
    assert limits == [None]
    monkeypatch.setattr(nettrain_module, "RANGE_TEST_UNTIMED_WORK", 0)
    NetTrain(_regressor(), (X, Y), max_training_rounds=1, progress=None)
    assert limits[-1] == 2.0


# ---------------------------------------------------------------------- history_limit: bounded memory
def _history_growth(session, *runs):
    """Bytes the session's history gains in each of ``session.run(rounds=r) for r in runs`` after the first:
    tracemalloc (on from the first run), counting the code of :class:`Trace` and the line that appends
    the batch losses."""
    import inspect
    import tracemalloc

    lines, first = inspect.getsourcelines(history_module.Trace)
    history = {(history_module.__file__, first + i) for i in range(len(lines))}
    source, first = inspect.getsourcelines(TrainingSession._one_batch)
    history |= {(session_module.__file__, first + i) for i, line in enumerate(source)
                if "self._batch_losses.append(" in line}
    files = [tracemalloc.Filter(True, history_module.__file__), tracemalloc.Filter(True, session_module.__file__)]
    snapshots = []
    tracemalloc.start()
    try:
        for rounds in runs:
            session.run(rounds=rounds)
            snapshots.append(tracemalloc.take_snapshot().filter_traces(files))
    finally:
        tracemalloc.stop()
    return [sum(d.size_diff for d in after.compare_to(before, "lineno")
                if (d.traceback[0].filename, d.traceback[0].lineno) in history)
            for before, after in zip(snapshots, snapshots[1:])]


def test_a_history_limit_keeps_a_long_runs_memory_bounded_and_no_limit_keeps_every_batch():
    # 8 batches a round; 120 rounds first: past the limit of 100 rows (batches or rounds)
    data = (X[:32], Y[:32])
    grown, sessions = {}, {}
    for limit in (None, 100):
        s = sessions[limit] = TrainingSession(_regressor(), data, random_seed=0, batch_size=4, learning_rate=0.01,
                                              history_limit=limit)
        grown[limit] = _history_growth(s, 120, 150, 150)
    # no limit: every batch loss and every round's loss and sub-loss (scaled and not) are kept, 8 bytes
    # each: each 150 rounds add as much again
    assert all(g > 150 * (8 + 3) * 8 for g in grown[None]), grown
    # a limit: the history is as large after 420 rounds as after 120 and 270: thinned, not grown (between
    # two thinnings it swings by up to half a limit's worth of rows: 50 x 6 numbers, about 2.4 KB)
    assert all(abs(g) < 3000 < 0.25 * min(grown[None]) for g in grown[100]), grown
    r = sessions[100].results()
    assert len(r["BatchLossList"]) <= 100 + 8 and len(r["RoundLossList"]) <= 100 and r["HistoryThinned"]
    assert r["TotalBatches"] == 8 * 420 and r["TotalRounds"] == sessions[100].round == 420
    full = sessions[None].results()
    assert full["BatchNumbers"] == range(1, 8 * 420 + 1) and len(full["BatchLossList"]) == 8 * 420
    assert full["RoundNumbers"] == range(1, 421) and full["HistoryLimit"] is None and not full["HistoryThinned"]


def test_a_thinned_history_keeps_true_values_the_first_and_newest_and_the_extremes():
    # the limit changes nothing in training: the thinned lists are entries of the whole ones, at their numbers
    data = (X[:16], LABELS[:16])
    options = dict(random_seed=0, batch_size=4, learning_rate=0.05, validation_set=(X[16:32], LABELS[16:32]))
    full = TrainingSession(_classifier(), data, **options)
    thin = TrainingSession(_classifier(), data, history_limit=100, **options)
    for s in (full, thin):
        s.run(rounds=200)
        s.set_loss_function(HuberLossLayer())  # a change mid-run: the sub-loss lists are NaN before it
    for s in (full, thin):
        s.run(rounds=150)
    f, t = full.results(), thin.results()
    assert t["HistoryLimit"] == 100 and t["HistoryThinned"] and t["TotalBatches"] == f["TotalBatches"] == 1400
    for values, numbers, key in (("BatchLossList", "BatchNumbers", "batch"),
                                 ("RoundLossList", "RoundNumbers", "round"),
                                 ("ValidationLossList", "RoundNumbers", "validation")):
        whole, kept, at = np.array(f[values]), np.array(t[values]), np.array(t[numbers])
        assert len(kept) == len(at) < len(whole) / 3, key
        assert np.all(np.diff(at) > 0) and at[0] == 1 and at[-1] == len(whole), key  # the first and newest
        np.testing.assert_array_equal(kept, whole[at - 1], err_msg=key)  # true values at their numbers
        assert whole.argmin() + 1 in at and whole.argmax() + 1 in at, key  # the extremes
    # every per-round list is aligned with RoundNumbers, the measurements and sub-losses too
    at = np.array(t["RoundNumbers"])
    for name, kept in t["RoundSubLossLists"].items():
        np.testing.assert_array_equal(kept, np.array(f["RoundSubLossLists"][name])[at - 1])
    # (which rounds have an accuracy depends on the time measuring takes: compare the losses)
    assert [m["Loss"] for m in t["RoundMeasurements"]] == [f["RoundMeasurements"][i - 1]["Loss"] for i in at]
    assert t["ValidationMeasurements"] == [f["ValidationMeasurements"][i - 1] for i in at]
    assert t["RoundLoss"] == f["RoundLoss"] and t["ValidationLoss"] == f["ValidationLoss"]


def test_a_thinned_trace_keeps_the_envelope_of_every_bucket():
    from lossviz.train.history import Trace

    rng = np.random.default_rng(3)
    values = rng.standard_cauchy(20_000)  # spikes
    trace = Trace(["loss"], limit=500)
    for chunk in np.array_split(values, 400):
        trace.tail["loss"].extend(chunk)  # as the session appends batch losses, and thins at round ends
        trace.fit()
    kept, at = np.array(trace.column("loss")), np.array(trace.positions())
    assert len(kept) <= 500 + 50 and trace.count == 20_000 and trace.thinned
    np.testing.assert_array_equal(kept, values[at - 1])
    thinned = at <= trace.folded  # rows thinned at the trace's bucket width; the newer ones are whole
    for b in np.unique(at[thinned] // trace.width):
        lo, hi = max(1, b * trace.width), min(trace.folded, (b + 1) * trace.width - 1)
        bucket = values[lo - 1:hi]
        inside = kept[thinned][at[thinned] // trace.width == b]
        assert bucket.min() in inside and bucket.max() in inside
    assert np.array_equal(at[~thinned], np.arange(trace.folded + 1, 20_001))


def test_history_limit_is_checked_and_a_stalled_run_is_still_noticed_when_thinned():
    for bad in (5, 99, 1.5, True, "100"):
        with pytest.raises(ParameterError, match="history_limit must be an int >= 100"):
            _session(history_limit=bad)
    s = TrainingSession(_classifier(), (X, LABELS), learning_rate=1e6, batch_size=96, random_seed=0,
                        history_limit=100)
    with pytest.warns(TrainingStalledWarning, match="after 400 rounds"):
        s.run(rounds=400)
    assert s.results()["HistoryThinned"]
