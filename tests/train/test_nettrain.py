"""NetTrain's data forms, options, events, results and faults."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
from tolerance import assert_equal_up_to_rounding

from lossviz import (
    LinearLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    NetTrain,
    Scaled,
    ThreadingLayer,
)
from lossviz.errors import DataError, NetTypeError, ParameterError, PortError, ShapeError
from lossviz.train import NetTrainResults, TrainingDivergedWarning, TrainingEvent

QUIET = dict(progress=None, random_seed=0)


def _regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    return x, x @ np.array([1.0, -1.0]) + 0.5


def _net():
    return NetChain([LinearLayer()], input=2, output="Real")


# ------------------------------------------------------------------ data forms
def test_the_three_data_forms_train_the_same_net():
    x, y = _regression()
    a = NetTrain(_net(), {"Input": x, "Output": y}, max_training_rounds=3, **QUIET)
    b = NetTrain(_net(), (x, y), max_training_rounds=3, **QUIET)
    c = NetTrain(_net(), list(zip(x, y)), max_training_rounds=3, **QUIET)
    # the forms are read into the same arrays, then trained by the same computations: exact
    assert a == b == c


def test_the_given_net_is_never_changed():
    net = NetInitialize(_net(), random_seed=3)
    before = net["1", "Weights"].copy()
    trained = NetTrain(net, _regression(), max_training_rounds=5, **QUIET)
    np.testing.assert_array_equal(net["1", "Weights"], before)
    assert not np.array_equal(trained["1", "Weights"], before)


def test_the_same_seed_gives_the_same_net_bit_for_bit():
    # NetTrain's promise holds on one machine with the same BLAS thread count, as here (another CPU
    # or thread count may change the last bits): the same computations twice in one process
    x, y = _regression()
    nets = [NetTrain(_net(), (x, y), max_training_rounds=4, batch_size=10, **QUIET) for _ in range(2)]
    assert nets[0] == nets[1]
    other = NetTrain(_net(), (x, y), max_training_rounds=4, batch_size=10, progress=None, random_seed=1)
    assert other != nets[0]


@pytest.mark.parametrize("data, error, message", [
    ({"Input": np.zeros((5, 2))}, PortError, r"no data for 'Output', the target of the loss on output 'Output'"),
    ({"Output": np.zeros(5)}, PortError, r"no data for the net's input port 'Input'"),
    ({"Input": np.zeros((5, 2)), "Output": np.zeros(4)}, DataError, r"different numbers of examples.*'Input': 5.*'Output': 4"),
    ({"Input": np.zeros((5, 3)), "Output": np.zeros(5)}, ShapeError, r"port 'Input'.*shape \(3,\).*vector of length 2"),
    ({"Input": np.zeros(2), "Output": np.zeros(5)}, ShapeError, r"port 'Input': got one example"),
    ({"Input": np.zeros((5, 2)), "Output": np.zeros(5), "Extra": np.zeros(5)}, PortError, r"'Extra' is not used"),
    ({"Input": [["a", "b"]] * 5, "Output": np.zeros(5)}, DataError, r"port 'Input': cannot read numbers"),
    ("nonsense", DataError, r"expected a dict"),
])
def test_bad_data_gets_a_clear_error_before_training(data, error, message):
    events = []
    with pytest.raises(error, match=message):
        NetTrain(_net(), data, callbacks=events.append, **QUIET)
    assert events == []  # nothing started


@pytest.mark.parametrize("option, value, message", [
    ("batch_size", 0, r"batch_size must be an int >= 1, got 0"),
    ("max_training_rounds", 2.5, r"max_training_rounds must be an int"),
    ("learning_rate", -1, r"learning_rate must be a positive number, got -1"),
    ("method", "Newton", r"unknown method 'Newton'"),
    ("method", ("SGD", {"momentum": 2}), r"momentum must be in \[0.0, 1.0\)"),
    ("time_goal", 0, r"time_goal must be a positive number"),
    ("progress", "loud", r"progress must be 'auto', None or a callable"),
    ("validation_set", Scaled(1.5), r"0 < f < 1"),
    ("learning_rate_schedule", "Sawtooth", r"learning_rate_schedule must be"),
    ("training_stopping_criterion", {"wait": 3}, r"unknown key 'wait'"),
])
def test_bad_options_name_the_parameter(option, value, message):
    with pytest.raises(ParameterError, match=message):
        NetTrain(_net(), _regression(), **{**QUIET, option: value})


def test_bad_property_and_bad_net():
    with pytest.raises(ParameterError, match="unknown property 'Loss'"):
        NetTrain(_net(), _regression(), "Loss", **QUIET)
    with pytest.raises(NetTypeError, match="net must be a lossviz net"):
        NetTrain("net", _regression(), **QUIET)


# ------------------------------------------------------------------ options
@pytest.mark.parametrize("method", ["ADAM", "SGD", "RMSProp", "SignSGD", ("SGD", {"momentum": 0.5})])
def test_every_method_lowers_the_loss(method):
    lists = NetTrain(_net(), _regression(), "RoundLossList", method=method, max_training_rounds=40,
                     batch_size=8, learning_rate=0.01, **QUIET)
    assert lists[-1] < 0.5 * lists[0]


def test_schedules_regularization_and_clipping_run():
    for extra in ({"learning_rate_schedule": "Cosine"}, {"learning_rate_schedule": lambda p: 1 - p / 2},
                  {"l2_regularization": 0.1}, {"gradient_clipping": 0.01}):
        r = NetTrain(_net(), _regression(), "All", max_training_rounds=5, **QUIET, **extra)
        assert r["TotalRounds"] == 5


def test_l2_regularization_shrinks_the_weights():
    x, y = _regression(200)
    plain = NetTrain(_net(), (x, y), max_training_rounds=100, learning_rate=0.05, **QUIET)
    decayed = NetTrain(_net(), (x, y), max_training_rounds=100, learning_rate=0.05, l2_regularization=1.0, **QUIET)
    assert np.linalg.norm(decayed["1", "Weights"]) < 0.8 * np.linalg.norm(plain["1", "Weights"])


def test_validation_keeps_the_best_net_and_early_stopping():
    x, y = _regression(100)
    noisy = y + np.random.default_rng(1).normal(0, 0.3, 100)
    r = NetTrain(NetChain([32, "Tanh", 32, "Tanh", LinearLayer()], input=2, output="Real"), (x[:20], noisy[:20]),
                 "All", validation_set=(x[20:], y[20:]), max_training_rounds=300, learning_rate=0.01,
                 training_stopping_criterion=20, batch_size=20, **QUIET)
    best = r["BestValidationRound"]
    assert r["ReasonTrainingStopped"] == "EarlyStopping"
    assert len(r["ValidationLossList"]) == r["TotalRounds"] == best + 20
    assert r["ValidationLossList"][best - 1] == min(r["ValidationLossList"])
    trained, final = r["TrainedNet"], r["FinalNet"]
    val_loss = lambda net: np.mean((net(x[20:]) - y[20:]) ** 2)  # noqa: E731
    # validation losses are measured in the Real32 default: float32 rounding
    assert_equal_up_to_rounding(val_loss(trained), min(r["ValidationLossList"]), precision="Real32")
    assert val_loss(trained) <= val_loss(final)


def test_validation_held_out_by_scaled():
    r = NetTrain(_net(), _regression(100), "All", validation_set=Scaled(0.25), max_training_rounds=2, batch_size=75,
                 **QUIET)
    assert r["TotalBatches"] == 2 and len(r["ValidationLossList"]) == 2


def test_time_goal_stops_training():
    r = NetTrain(_net(), _regression(), "All", time_goal=0.3, **QUIET)
    assert r["ReasonTrainingStopped"] == "TimeGoal" and 0.3 <= r["TotalTrainingTime"] < 2.0


def test_automatic_rounds_give_about_2000_batches():
    r = NetTrain(_net(), _regression(640), "All", batch_size=64, **QUIET)
    assert r["TotalRounds"] == 200 and r["TotalBatches"] == 2000


# ------------------------------------------------------------------ events and stopping
def test_callbacks_get_batch_and_round_events_and_can_stop():
    events = []

    def stop_after_two_rounds(event):
        events.append(event)
        if event.kind == "round" and event.round == 2:
            assert event.net()["1", "Weights"].shape == (1, 2)
            return "StopTraining"

    r = NetTrain(_net(), _regression(64), "All", batch_size=16, max_training_rounds=10, learning_rate=0.001,
                 callbacks=stop_after_two_rounds, **QUIET)
    kinds = [e.kind for e in events]
    assert kinds == ["start"] + (["batch"] * 4 + ["round"]) * 2 + ["end"]
    assert r["ReasonTrainingStopped"] == "UserStop" and r["TotalRounds"] == 2
    batch = events[1]
    assert isinstance(batch, TrainingEvent) and batch.round == 1 and batch.batch == 1
    assert batch.sub_losses == {"Output": pytest.approx(batch.batch_loss)} and batch.learning_rate == 0.001
    assert events[-1].reason == "UserStop"


def test_keyboard_interrupt_returns_the_net_trained_so_far():
    def interrupt(event):
        if event.kind == "batch" and event.round == 3:
            raise KeyboardInterrupt

    r = NetTrain(_net(), _regression(), "All", max_training_rounds=50, callbacks=[interrupt], **QUIET)
    assert r["ReasonTrainingStopped"] == "Interrupted" and r["TotalRounds"] == 2
    assert np.all(np.isfinite(r["TrainedNet"]["1", "Weights"]))


@pytest.mark.parametrize("precision, scale, hint", [("Real64", 1e150, False), ("Real32", 1e3, True)])
def test_divergence_stops_with_a_warning_and_the_last_finite_net(precision, scale, hint):
    x, y = _regression()
    with pytest.warns(TrainingDivergedWarning, match="lower learning_rate") as caught:
        r = NetTrain(_net(), (x, y * scale), "All", method="SGD", learning_rate=1e10, max_training_rounds=50,
                     working_precision=precision, **QUIET)
    assert r["ReasonTrainingStopped"] == "Diverged"
    assert len(r["BatchLossList"]) >= 1  # some updates were made: the last finite parameters are restored
    assert ("working_precision='Real64'" in str(caught[0].message)) == hint
    net = r["TrainedNet"]
    assert np.all(np.isfinite(net["1", "Weights"])) and np.all(np.isfinite(net(x)))


def test_callbacks_run_under_the_callers_numpy_error_state():
    seen = []

    def callback(event):
        with pytest.warns(RuntimeWarning, match="divide by zero"):
            np.log(np.zeros(1))
        seen.append(event.kind)

    NetTrain(_net(), _regression(), max_training_rounds=2, callbacks=[callback], **QUIET)
    assert seen[0] == "start" and seen[-1] == "end" and "batch" in seen


def test_progress_auto_shows_a_bar(capsys):
    NetTrain(_net(), _regression(), max_training_rounds=3, progress="auto", random_seed=0)
    err = capsys.readouterr().err
    assert "NetTrain" in err and "3/3" in err and "loss" in err


def test_nettrain_never_imports_plots_or_widgets():
    code = ("import sys, numpy as np, lossviz as lv\n"
            "net = lv.NetChain([lv.LinearLayer()], input=2, output='Real')\n"
            "x = np.zeros((8, 2)); lv.NetTrain(net, (x, x[:, 0]), max_training_rounds=2, progress=None)\n"
            "print(sorted(m for m in ('matplotlib', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------ results
def test_results_properties_and_aliases():
    r = NetTrain(_net(), _regression(), "All", max_training_rounds=4, **QUIET)
    assert isinstance(r, NetTrainResults)
    assert r["FinalRoundLoss"] == r["RoundLoss"] == r["RoundLossList"][-1]
    assert len(r["BatchLossList"]) == r["TotalBatches"] == 4
    assert r["RoundLossList", "Output"] == r["RoundLossList"]
    assert r["MeanExamplesPerSecond"] > 0 and r["TotalTrainingTime"] > 0
    plot = r["LossEvolutionPlot"]  # a lossviz.plot.LossPlot: shown once in a notebook, updatable
    ax = plot.figure.axes[0]
    assert type(plot).__name__ == "LossPlot" and ax.get_xlabel().startswith("training round")
    assert "MeanSquaredLoss" in ax.get_ylabel() and callable(plot.update)
    assert "NetTrainResults" in repr(r) and "MaxTrainingRounds" in repr(r) and "<table>" in r._repr_html_()
    with pytest.raises(PortError, match="unknown property 'Nope'"):
        r["Nope"]
    loss, rounds = NetTrain(_net(), _regression(), ["RoundLoss", "TotalRounds"], max_training_rounds=2, **QUIET)
    assert rounds == 2 and loss > 0


# ------------------------------------------------------------------ weights (theanets' weighted targets)
def test_weights_select_the_examples_that_count():
    x, y = _regression(200)
    y_bad = np.where(np.arange(200) % 2 == 0, y, 100.0)  # every odd target is garbage...
    w = (np.arange(200) % 2 == 0).astype(float)           # ...and weighted 0
    trained = NetTrain(_net(), {"Input": x, "Output": y_bad, "Weight": w}, max_training_rounds=200,
                       learning_rate=0.05, **QUIET)
    np.testing.assert_allclose(trained([[1.0, 0.0], [0.0, 1.0]]), [1.5, -0.5], atol=0.01)


def test_a_maximized_port_with_a_negative_scale():
    # maximize -(w.x - 3)^2 is minimizing it: the sign of Scaled flips what is optimized
    graph = NetGraph({"lin": LinearLayer(()), "sq": ThreadingLayer(lambda a: -(a - 3.0) ** 2)},
                     [(NetPort("Input"), "lin", "sq", NetPort("Score"))], Input=2)
    x = np.ones((16, 2))
    trained = NetTrain(graph, {"Input": x}, loss_function=("Score", Scaled(-1)), learning_rate=0.05,
                       max_training_rounds=300, **QUIET)
    assert trained(np.ones(2), "Score") == pytest.approx(0.0, abs=1e-4)


def test_a_one_input_loss_takes_no_target():
    graph = NetChain([LinearLayer(3)], input=2)
    norm = ThreadingLayer(lambda a: a * a, inputs=["Input"])
    trained = NetTrain(graph, {"Input": np.ones((8, 2))}, loss_function=norm, learning_rate=0.05,
                       max_training_rounds=300, **QUIET)
    np.testing.assert_allclose(trained(np.ones(2)), 0.0, atol=1e-3)


def test_mse_loss_net_equals_the_mse_layer():
    x, y = _regression()
    # the layer takes the fused step, the loss net autograd (float64 only): compare in "Real64"
    a = NetTrain(_net(), (x, y), max_training_rounds=3, loss_function=MeanSquaredLossLayer(),
                 working_precision="Real64", **QUIET)
    b = NetTrain(_net(), (x, y), max_training_rounds=3, loss_function=ThreadingLayer(
        lambda p, t: (p - t) ** 2, inputs=["Input", "Target"]), **QUIET)
    # two computations of the same gradients, rounded differently, through 3 rounds of ADAM updates
    assert_equal_up_to_rounding(a["1", "Weights"], b["1", "Weights"], ulps=4096)


def test_progress_bar_redraws_at_most_every_interval_and_counts_every_round():
    import io

    from lossviz.train.events import TrainingEvent
    from lossviz.train.progress import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(interval=3600, file=out, ascii=True)
    bar(TrainingEvent("start", max_rounds=100, batches_per_round=1, learning_rate=0.1, net=None))
    for r in range(1, 51):
        bar(TrainingEvent("round", round=r, max_rounds=100, round_loss=1.0 / r, validation_loss=None,
                          examples_per_second=10.0, net=None))
    assert bar._pending == 50  # within the interval: counted, not drawn
    bar(TrainingEvent("end", round=50, round_loss=0.02, reason="UserStop", max_rounds=100, net=None))
    text = out.getvalue()
    assert "50/100" in text and "UserStop" in text
    assert text.count("\r") <= 3  # opened, closed: no redraw per round


@pytest.mark.parametrize("gather_bytes", [1, 200, 2**20])
def test_shuffled_batches_hold_the_rows_of_the_permutation_in_order(monkeypatch, gather_bytes):
    from lossviz.train import data as data_module

    monkeypatch.setattr(data_module, "GATHER_BYTES", gather_bytes)  # one, several or all batches per block
    rng = np.random.default_rng(0)
    arrays = {"Input": rng.normal(size=(23, 3)), "Output": rng.integers(0, 4, 23)}
    perm = rng.permutation(23)
    batches = list(data_module.shuffled_batches(arrays, perm, 5))
    assert [len(b["Input"]) for b in batches] == [5, 5, 5, 5, 3]
    for i, b in enumerate(batches):
        idx = perm[5 * i:5 * i + 5]
        np.testing.assert_array_equal(b["Input"], arrays["Input"][idx])
        np.testing.assert_array_equal(b["Output"], arrays["Output"][idx])


def test_parameter_trees_flatten_in_sorted_order_and_rebuild():
    from lossviz.train.trees import tree_items, tree_leaves, tree_rebuild

    tree = {"b": {"Weights": 1, "Biases": 2}, "a": {"x": {"z": 3, "y": 4}}}
    assert tree_items(tree) == [(("a", "x", "y"), 4), (("a", "x", "z"), 3), (("b", "Biases"), 2), (("b", "Weights"), 1)]
    assert tree_leaves(tree) == [4, 3, 2, 1]
    assert tree_rebuild(tree, [40, 30, 20, 10]) == {"a": {"x": {"y": 40, "z": 30}}, "b": {"Biases": 20, "Weights": 10}}
