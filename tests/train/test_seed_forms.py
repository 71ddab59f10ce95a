"""Issue 12: the seeds' examples as the pages write them.

Shape inference from the data, a default learning rate that fits, ragged
"Varying" sequences, measurements of classifiers, progress="Print", the
training net, NetTake with NetPorts.
"""
import numpy as np
import pytest

from lossviz import (
    LinearLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetGraph,
    NetPort,
    NetTake,
    NetTrain,
    SoftmaxLayer,
    SummationLayer,
    TrainingSession,
    loss_and_gradient,
)
from lossviz.errors import NetTypeError, PortError, ShapeError
from lossviz.train.infer import example_dims, infer_shapes
from lossviz.train.spec import Automatic

BASIC = [(1, 1.9), (2, 4.1), (3, 6.0), (4, 8.1)]
#: the least-squares line through BASIC: y = 2.05 x - 0.1
LEAST_SQUARES = [1.95, 4.0, 6.05, 8.1]


# ------------------------------------------------------------------ item 1: shapes from the data
@pytest.mark.parametrize("data", [
    BASIC,
    ([1, 2, 3, 4], [1.9, 4.1, 6.0, 8.1]),
    {"Input": [1, 2, 3, 4], "Output": [1.9, 4.1, 6.0, 8.1]},
], ids=["pairs", "inputs-targets", "dict"])
@pytest.mark.parametrize("make", [LinearLayer, lambda: NetChain([LinearLayer()])], ids=["layer", "chain"])
def test_basic_example_1_as_written_infers_real_ports_and_fits(data, make):
    results = NetTrain(make(), data, "All", progress=None, random_seed=0)
    assert results["InferredShapes"] == {"Input": "Real", "Output": "Real"}
    trained = results["TrainedNet"]
    assert trained.inputs["Input"].dims == () and trained.outputs["Output"].dims == ()
    np.testing.assert_allclose(trained([1, 2, 3, 4]), LEAST_SQUARES, atol=0.01)


def test_vectors_and_sequences_are_inferred():
    assert example_dims(np.zeros((5, 3))) == (3,)
    assert example_dims([[1.0, 2.0], [3.0]]) == ("Varying",)
    assert example_dims([np.zeros((2, 3)), np.zeros((4, 3))]) == ("Varying", 3)
    assert example_dims(["a", "b"]) is None and example_dims("abc") is None
    net, inferred = infer_shapes(LinearLayer(), {"Input": np.zeros((6, 3)), "Output": np.zeros((6, 2))}, Automatic)
    assert inferred == {"Input": 3, "Output": 2}
    assert net.param_shapes() == {"Weights": (2, 3), "Biases": (2,)}


def test_declared_ports_are_kept_and_a_class_decoder_gives_the_class_count():
    net = NetChain([LinearLayer(), SoftmaxLayer()], output=NetDecoder("Class", ["Less", "Greater"]))
    x = np.random.default_rng(0).uniform(-1, 1, (200, 2))
    labels = ["Less" if a < b else "Greater" for a, b in x]
    results = NetTrain(net, (x, labels), "All", progress=None, random_seed=0, max_training_rounds=40)
    assert results["InferredShapes"] == {"Input": 2}  # the output was declared by its decoder
    accuracy = np.mean(np.array(results["TrainedNet"](x)) == np.array(labels))
    assert accuracy > 0.95


def test_index_targets_without_a_decoder_still_ask_for_the_class_count():
    net = NetChain([LinearLayer(), SoftmaxLayer()])
    with pytest.raises(ShapeError, match="declare"):
        NetTrain(net, (np.zeros((4, 2)), [0, 1, 1, 0]), progress=None)


def test_an_explicit_loss_on_an_undeclared_net():
    results = NetTrain(LinearLayer(), BASIC, "All", loss_function=MeanAbsoluteLossLayer(), progress=None,
                       random_seed=0)
    assert results["InferredShapes"] == {"Input": "Real", "Output": "Real"}
    # mean absolute error: a line through the data (not least squares), within 0.1 of every point
    assert np.max(np.abs(results["TrainedNet"]([1, 2, 3, 4]) - np.array([1.9, 4.1, 6.0, 8.1]))) < 0.15


def test_loss_and_gradient_on_an_undeclared_net():
    loss, grads = loss_and_gradient(LinearLayer(), BASIC)
    assert np.isfinite(loss) and grads["Weights"].shape == (1, 1) and grads["Biases"].shape == (1,)


def test_data_that_contradicts_a_declared_shape_is_refused():
    with pytest.raises(ShapeError, match="port 'Input'"):
        NetTrain(LinearLayer(input=3), BASIC, progress=None)


# ------------------------------------------------------------------ item 2: a default that fits
def test_the_default_learning_rate_is_chosen_by_a_range_test_and_recorded():
    results = NetTrain(LinearLayer(), BASIC, "All", progress=None, random_seed=0)
    search = results["LearningRateSearch"]
    assert results["LearningRate"] == search["chosen"]
    assert 1e-5 <= search["chosen"] <= 1.0 and search["chosen"] > 0.001  # ADAM's default would not fit
    assert len(search["rates"]) == len(search["losses"]) == len(search["smoothed"]) <= 100
    assert search["rates"] == sorted(search["rates"]) and "tenth" in search["rule"]
    assert results["RoundLoss"] < 0.02  # the least-squares residual is 0.0075


def test_a_given_learning_rate_skips_the_test():
    results = NetTrain(LinearLayer(), BASIC, "All", progress=None, random_seed=0, learning_rate=0.001,
                       max_training_rounds=5)
    assert results["LearningRateSearch"] is None and results["LearningRate"] == 0.001


def test_the_range_test_leaves_the_initial_net_and_the_data_order_unchanged():
    x = np.linspace(-1, 1, 50)
    data = (x, 3 * x)
    a = TrainingSession(LinearLayer(), data, random_seed=3, batch_size=8)
    b = TrainingSession(LinearLayer(), data, random_seed=3, batch_size=8)
    before = [leaf.copy() for leaf in b._engine.leaves]
    found = b.find_learning_rate()
    assert all(np.array_equal(p, q) for p, q in zip(before, b._engine.leaves))
    assert b.learning_rate == found["chosen"] and found["seconds"] > 0
    a.set_learning_rate(found["chosen"])
    a.run(rounds=3)
    b.run(rounds=3)
    np.testing.assert_allclose(a.net["Weights"], b.net["Weights"], rtol=1e-6)
    with pytest.raises(ValueError, match="before training"):
        b.find_learning_rate()


def test_a_loss_that_never_falls_keeps_the_default():
    s = TrainingSession(LinearLayer(), ([1.0, 2.0], [0.0, 0.0]), random_seed=0)
    for leaf in s._engine.leaves:
        leaf[...] = 0.0  # already the optimum: nothing to gain
    found = s.find_learning_rate()
    assert found["chosen"] == 0.001 and "did not fall" in found["rule"]


# ------------------------------------------------------------------ item 5: ragged sequences
def _lengths_net():
    return NetChain([SummationLayer(), LinearLayer("Real")], input=("Varying", 2))


def _ragged_data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(int(k), 2)) for k in rng.integers(1, 5, n)]
    return xs, [0.5 * x.sum() + 1.0 for x in xs]


def test_a_batch_of_different_lengths_trains_and_each_loss_is_its_own():
    xs, ys = _ragged_data()
    s = TrainingSession(_lengths_net(), (xs, ys), random_seed=0, batch_size=len(xs), learning_rate=0.01,
                        working_precision="Real64")
    net = s.net
    alone = [float((net(x) - y) ** 2) for x, y in zip(xs, ys)]
    loss = s.step()
    assert loss == pytest.approx(np.mean(alone), rel=1e-12)
    s.run(rounds=300)
    assert s.results()["RoundLoss"] < 1e-4


def test_strings_of_different_lengths_train_through_the_characters_encoder():
    words = ["a", "ab", "abc", "abcd", "b", "ba"]
    net = NetChain([SummationLayer(), LinearLayer("Real")], input=NetEncoder("Characters", "abcd",
                                                                             output="UnitVector"))
    results = NetTrain(net, (words, [2.0 * len(w) for w in words]), "All", progress=None, random_seed=0)
    np.testing.assert_allclose(results["TrainedNet"](["abcdab", "c"]), [12.0, 2.0], atol=0.05)


# ------------------------------------------------------------------ item 7: properties
def _classifier_run(**options):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (300, 2))
    labels = ["Less" if a < b else "Greater" for a, b in x]
    net = NetChain([LinearLayer(), SoftmaxLayer()], input=2, output=NetDecoder("Class", ["Less", "Greater"]))
    return NetTrain(net, (x[:200], labels[:200]), "All", validation_set=(x[200:], labels[200:]), progress=None,
                    random_seed=0, max_training_rounds=20, **options)


def test_classifiers_get_accuracy_and_error_rate_each_round():
    r = _classifier_run()
    first, last = r["RoundMeasurements"][0], r["RoundMeasurements"][-1]
    assert len(r["RoundMeasurements"]) == len(r["ValidationMeasurements"]) == r["TotalRounds"] == 20
    assert first["Loss"] == r["RoundLossList"][0]
    assert last["Accuracy"] + last["ErrorRate"] == pytest.approx(1.0) and last["Accuracy"] > 0.9
    valid = r["ValidationMeasurements"][-1]
    assert valid["Loss"] == r["ValidationLossList"][-1] and valid["ErrorRate"] < 0.1
    plots = r["FinalPlots"]
    assert set(plots) == {"Loss", "ErrorRate"}
    fig = r["ErrorRatePlot"]
    assert type(fig).__name__ == "Figure" and fig.axes[0].get_ylabel() == "error rate"
    assert len(fig.axes[0].lines) == 2  # training and validation


def test_the_summary_shows_the_accuracy_beside_the_loss():
    r = _classifier_run()
    train, valid = r["RoundMeasurements"][-1]["Accuracy"], r["ValidationMeasurements"][-1]["Accuracy"]
    assert f"accuracy: {train:.4g} (training), {valid:.4g} (validation)" in repr(r)


def test_regression_has_only_the_loss_measured():
    r = NetTrain(LinearLayer(), BASIC, "All", progress=None, random_seed=0, max_training_rounds=3)
    assert r["RoundMeasurements"] == [{"Loss": x} for x in r["RoundLossList"]]
    assert "accuracy" not in repr(r)
    assert set(r["FinalPlots"]) == {"Loss"}
    with pytest.raises(PortError, match="no classifier output"):
        r["ErrorRatePlot"]


def test_the_training_net_has_the_loss_attached_and_computes_it():
    r = NetTrain(LinearLayer(), BASIC, "All", progress=None, random_seed=0, max_training_rounds=3)
    training_net = r["TrainingNet"]
    assert isinstance(training_net, NetGraph)
    assert set(training_net.inputs) == {"Input", "Target"} and set(training_net.outputs) == {"Output", "Loss"}
    out = training_net({"Input": [1.0, 2.0], "Target": [1.9, 4.1]})
    prediction = r["TrainedNet"]([1.0, 2.0])
    np.testing.assert_allclose(out["Loss"], (prediction - [1.9, 4.1]) ** 2, rtol=1e-12)
    assert "TrainingNet" in r["Properties"] and r["Properties"] == r.properties


def test_progress_print_prints_rounds(capsys):
    NetTrain(LinearLayer(), BASIC, progress="Print", random_seed=0, max_training_rounds=3, learning_rate=0.1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("round 1/3  loss ") and lines[-2].startswith("round 3/3")
    assert lines[-1].startswith("done: MaxTrainingRounds after 3 rounds")


# ------------------------------------------------------------------ item 9: NetTake with NetPorts
def test_net_take_with_net_ports_equals_net_take_with_names():
    net = NetGraph({"lin": LinearLayer(), "loss": MeanSquaredLossLayer()},
                   [(NetPort("Input"), "lin", NetPort("Output")), ("lin", "loss", NetPort("Loss"))],
                   Input=2, Output="Real")
    by_port = NetTake(net, [NetPort("Input"), NetPort("Output")])
    assert by_port == NetTake(net, ["Input", "Output"])
    assert list(by_port.inputs) == ["Input"] and list(by_port.outputs) == ["Output"]
    with pytest.raises(NetTypeError, match="names a port of layer 'lin'"):
        NetTake(net, [NetPort("lin", "Output")])
    with pytest.raises(NetTypeError, match="a name or NetPort"):
        NetTake(net, [3])



# ------------------------------------------------------------------ item 8: per-element weights
@pytest.mark.parametrize("loss_function", [Automatic, MeanSquaredLossLayer()], ids=["automatic", "mse"])
def test_per_element_weights_weigh_each_output_element(loss_function):
    # theanets' autoencoder example: one weight per output element
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(40, 6)), rng.uniform(0, 1, (40, 6))
    net = NetChain([3, "Tanh", 6], input=6)
    s = TrainingSession(net, {"Input": x, "Output": x, "Weight": w}, loss_function, random_seed=0,
                        batch_size=40, learning_rate=0.01, working_precision="Real64")
    prediction = s.net(x)
    assert s.step() == pytest.approx(np.mean(np.mean(w * (prediction - x) ** 2, axis=1)), rel=1e-10)
    with pytest.raises(ShapeError, match=r"port 'Weight': got weights of shape \(5,\)"):
        TrainingSession(net, {"Input": x, "Output": x, "Weight": w[:, :5]}, loss_function)


def test_a_loss_that_declares_its_input_shapes_the_undeclared_output():
    rng = np.random.default_rng(2)
    points = rng.uniform(-1, 1, (200, 2))
    indices = (points[:, 0] > points[:, 1]).astype(int)
    from lossviz import CrossEntropyLossLayer

    results = NetTrain(NetChain([LinearLayer(), SoftmaxLayer()]), (points, indices), "All",
                       loss_function=CrossEntropyLossLayer("Index", input=2), progress=None, random_seed=0)
    assert results["InferredShapes"] == {"Input": 2, "Output": 2}
    assert results["RoundMeasurements"][-1]["Accuracy"] > 0.95


class PositionLinear(__import__("lossviz").Layer):
    """The same affine map at every step of a sequence (a test helper; lossviz has no NetMapOperator)."""

    def __init__(self, k, **ports):
        self.k = k
        super().__init__(**ports)

    def _propagate(self, ins, outs):
        from lossviz.net.ports import PortType

        dims = ins["Input"].dims
        if dims is not None and len(dims) == 2:
            outs["Output"] = PortType((dims[0], self.k))
        return ins, outs

    def param_shapes(self):
        dims = self.inputs["Input"].dims
        if dims is None or len(dims) != 2 or not isinstance(dims[1], int):
            return {"Weights": None, "Biases": None}
        return {"Weights": (self.k, dims[1]), "Biases": (self.k,)}

    def apply(self, params, inputs):
        import autograd.numpy as anp

        return {"Output": anp.dot(inputs["Input"], anp.transpose(params["Weights"])) + params["Biases"]}

    def config(self):
        return {"k": self.k}


def test_ctc_on_ragged_inputs_and_targets_equals_each_example_alone():
    from lossviz import CTCLossLayer

    rng = np.random.default_rng(5)
    words = []
    while len(words) < 12:  # no repeated neighbours: each target fits its input's length
        w = "".join(rng.choice(list("abc"), int(rng.integers(1, 5))))
        if all(a != b for a, b in zip(w, w[1:])):
            words.append(w)
    targets = ["".join("bca"["abc".index(c)] for c in w) for w in words]  # a->b, b->c, c->a
    net = NetChain([PositionLinear(4)], input=NetEncoder("Characters", "abc", output="UnitVector"))
    ctc = CTCLossLayer(target=NetEncoder("Characters", "abc"))
    s = TrainingSession(net, (words, targets), ctc, batch_size=12, random_seed=0, learning_rate=0.05,
                        working_precision="Real64")
    start = s.net
    alone = [ctc({"Input": start(w), "Target": t}) for w, t in zip(words, targets)]
    assert len({len(w) for w in words}) > 1 and len({len(t) for t in targets}) > 1
    assert s.step() == pytest.approx(np.mean(alone), rel=1e-12)
    first = s.evaluate(s._train)[0]
    s.run(rounds=100)
    assert s.evaluate(s._train)[0] < 0.5 * first


@pytest.mark.parametrize("form", ["Binary", "Probabilities"])
def test_accuracy_of_binary_and_probability_classifiers(form):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (200, 2))
    above = (x[:, 1] > x[:, 0]).astype(float)
    if form == "Binary":
        net, y = NetChain([LinearLayer("Real"), "LogisticSigmoid"], input=2), above
    else:
        net, y = NetChain([LinearLayer(2), SoftmaxLayer()], input=2), np.eye(2)[above.astype(int)]
    r = NetTrain(net, (x, y), "All", progress=None, random_seed=0, max_training_rounds=30)
    assert r["LossFunction"].terms[0].loss.form == form
    last = r["RoundMeasurements"][-1]
    assert last["Accuracy"] > 0.95 and last["ErrorRate"] == pytest.approx(1 - last["Accuracy"])
    summary = repr(r)
    assert "learning rate" in summary and "range test" in summary and "inferred shapes" not in summary


def test_the_range_test_stops_at_its_time_limit():
    x = np.linspace(-1, 1, 50)
    s = TrainingSession(LinearLayer(), (x, 3 * x), random_seed=0, batch_size=8)
    found = s.find_learning_rate(max_seconds=1e-9)  # stops after its first step
    assert len(found["losses"]) == 1 and found["chosen"] == 0.001  # nothing learned yet: the default


def test_ragged_validation_data_beside_equal_length_training_data():
    xs = [np.ones((3, 2)) * i for i in range(6)]
    ys = [6.0 * i for i in range(6)]
    valid_x, valid_y = [np.ones((1, 2)), np.ones((4, 2))], [2.0, 8.0]
    s = TrainingSession(_lengths_net(), (xs, ys), validation_set=(valid_x, valid_y), random_seed=0,
                        learning_rate=0.01, working_precision="Real64")
    net = s.net
    expected = np.mean([float((net(x) - y) ** 2) for x, y in zip(valid_x, valid_y)])
    loss, _ = s.evaluate(s._valid)
    assert loss == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------ item 3: targets of shape (n,) for one output
def test_n_numbers_feed_a_port_of_vectors_of_length_one():
    # Gluon's gradient example: net(X) has shape (2, 1) and the labels shape (2,)
    x = np.random.default_rng(0).uniform(size=(2, 4))
    y = np.array([2.0, 2.0])
    net = NetChain([LinearLayer(1)], input=4)
    from lossviz import NetInitialize

    net = NetInitialize(net, random_seed=0)
    flat = loss_and_gradient(net, (x, y), MeanSquaredLossLayer())
    column = loss_and_gradient(net, (x, y[:, None]), MeanSquaredLossLayer())
    assert np.isclose(flat[0], column[0])
    assert np.allclose(flat[1]["1"]["Weights"], column[1]["1"]["Weights"])
    # and inputs: a net with one input number, trained on x of shape (n,)
    xs = np.linspace(-1, 1, 50)
    trained = NetTrain(NetChain([LinearLayer(1)], input=1), (xs, 3 * xs), learning_rate=0.05,
                       max_training_rounds=200, random_seed=0, progress=None)
    assert np.allclose(trained(xs[:, None])[:, 0], 3 * xs, atol=0.05)


def test_numbers_for_a_port_of_longer_vectors_are_not_called_one_example():
    net = NetChain([LinearLayer(1)], input=3)
    with pytest.raises(ShapeError, match=r"got data of shape \(5,\), expected a list of examples each a vector "
                                         r"of length 3"):
        NetTrain(net, (np.zeros(5), np.zeros(5)), progress=None, max_training_rounds=1)


def test_a_column_of_weights_is_one_weight_per_example():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (60, 2))
    labels = np.where(x[:, 0] < x[:, 1], "Less", "Greater").tolist()
    weights = rng.uniform(0.5, 2, 60)
    net = NetChain([LinearLayer(2), SoftmaxLayer()], input=2, output=NetDecoder("Class", ["Less", "Greater"]))
    runs = [NetTrain(net, {"Input": x, "Output": labels, "Weight": w}, "RoundLossList", learning_rate=0.1,
                     max_training_rounds=5, random_seed=0, progress=None, working_precision="Real64")
            for w in (weights, weights[:, None])]
    assert np.allclose(runs[0], runs[1], rtol=1e-9)


def test_results_properties_misspelt_or_read_as_attributes_say_how_to_write_them():
    r = NetTrain(LinearLayer(), BASIC, "All", progress=None, random_seed=0, max_training_rounds=2)
    with pytest.raises(PortError, match=r"unknown property 'TrainedNett' \(did you mean 'TrainedNet'\?\)"):
        r["TrainedNett"]
    with pytest.raises(PortError, match=r"\(did you mean 'RoundLossList'\?\)"):
        r["roundlosslist"]
    with pytest.raises(PortError, match="properties are strings"):
        r[0]
    with pytest.raises(AttributeError, match=r"read by key: results\['TrainedNet'\]"):
        r.TrainedNet
    assert getattr(r, "no_such_thing", None) is None
