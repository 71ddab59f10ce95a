"""Every Basic Example of the LossFunction reference (seeds 000/001), with numbers asserted."""
import numpy as np
import pytest

from lossviz import (
    CrossEntropyLossLayer,
    ElementwiseLayer,
    LinearLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetDecoder,
    NetExtract,
    NetGraph,
    NetPort,
    NetTake,
    NetTrain,
    Scaled,
    SoftmaxLayer,
    ThreadingLayer,
)

FAST = dict(progress=None, random_seed=1)


def test_mean_squared_loss_is_the_default_and_recovers_the_line(line_data):
    # "Train a simple net using MeanSquaredLossLayer, the default loss applied to an output
    #  when it is not produced by a SoftmaxLayer"
    x, y = line_data
    net = NetChain([LinearLayer()], input="Real", output="Real")
    results = NetTrain(net, (x, y), "All", learning_rate=0.05, max_training_rounds=200, **FAST)
    (term,) = results["LossFunction"].terms
    assert isinstance(term.loss, MeanSquaredLossLayer) and "Automatic" in term.reason
    trained = results["TrainedNet"]
    # "Evaluate the trained net on a set of inputs"
    np.testing.assert_allclose(trained([-1.0, 0.0, 0.5, 1.0]), [-3.0, -1.0, 0.0, 1.0], atol=1e-3)
    np.testing.assert_allclose(NetExtract(trained, "1", "Weights"), [[2.0]], atol=1e-3)
    assert results["RoundLoss"] < 1e-6


def test_an_explicit_loss_layer(line_data):
    # "Specify a different loss layer ... First create a loss layer"
    loss = MeanAbsoluteLossLayer()
    # "The loss layer takes an input and a target and produces a loss"
    assert loss({"Input": [1, 2, 3], "Target": [1, 2, 4]}) == pytest.approx(1 / 3)
    # "Use this loss layer during training"
    x, y = line_data
    net = NetChain([LinearLayer()], input="Real", output="Real")
    results = NetTrain(net, (x, y), "All", loss_function=loss, learning_rate=0.02,
                       max_training_rounds=300, **FAST)
    assert isinstance(results["LossFunction"].terms[0].loss, MeanAbsoluteLossLayer)
    # "Evaluate the trained net on a set of inputs"
    np.testing.assert_allclose(results["TrainedNet"]([-1.0, 0.0, 1.0]), [-3.0, -1.0, 1.0], atol=0.02)


def _less_greater_net():
    # "Create a net that takes a vector of length 2 and produces one of the class labels Less or Greater"
    return NetChain([LinearLayer(), SoftmaxLayer()], input=2,
                    output=NetDecoder("Class", ["Less", "Greater"]))


def test_automatic_cross_entropy_with_the_class_decoder(less_greater):
    x, labels, x_test, labels_test = less_greater
    results = NetTrain(_less_greater_net(), (x, labels), "All", learning_rate=0.05,
                       max_training_rounds=60, **FAST)
    (term,) = results["LossFunction"].terms
    # "NetTrain will automatically use a CrossEntropyLossLayer object with the correct class encoder"
    assert isinstance(term.loss, CrossEntropyLossLayer) and term.loss.config()["form"] == "Index"
    assert "SoftmaxLayer" in term.reason and "NetDecoder" in term.reason
    trained = results["TrainedNet"]
    # "Evaluate the trained net on a set of inputs"
    predicted = trained(x_test)
    assert np.mean(np.array(predicted) == np.array(labels_test)) > 0.95
    assert trained([0.0, 1.0]) == "Less" and trained([1.0, 0.0]) == "Greater"
    probs = trained([0.0, 1.0], "Probabilities")
    assert set(probs) == {"Less", "Greater"} and probs["Less"] > 0.9


def test_probability_targets_with_an_explicit_loss(less_greater):
    # "Create an explicit loss layer that expects the targets to be in the form of probabilities"
    x, labels, x_test, labels_test = less_greater
    # "The training data should now consist of vectors of probabilities instead of symbolic classes"
    probs = np.array([[1.0, 0.0] if lab == "Less" else [0.0, 1.0] for lab in labels])
    trained = NetTrain(_less_greater_net(), (x, probs), loss_function=CrossEntropyLossLayer("Probabilities"),
                       learning_rate=0.05, max_training_rounds=60, **FAST)
    assert np.mean(np.array(trained(x_test)) == np.array(labels_test)) > 0.95


def test_automatic_chooses_probabilities_for_probability_targets(less_greater):
    x, labels, _, _ = less_greater
    probs = np.array([[1.0, 0.0] if lab == "Less" else [0.0, 1.0] for lab in labels])
    net = NetChain([LinearLayer(2), SoftmaxLayer()], input=2)
    spec = NetTrain(net, (x, probs), "LossFunction", max_training_rounds=1, **FAST)
    assert spec.terms[0].loss.config()["form"] == "Probabilities"


def _evaluation_and_loss_net():
    # "Start with an 'evaluation net' to be trained"
    evaluation = NetChain([LinearLayer(8), ElementwiseLayer("Tanh"), LinearLayer()], input=2, output="Real")
    # "Create a 'loss net' that explicitly computes the loss of the evaluation net
    #  (here, the custom loss is equivalent to MeanSquaredLossLayer)"
    loss_net = NetGraph(
        {"evaluation": evaluation, "loss": ThreadingLayer(lambda a, b: (a - b) ** 2, inputs=["Input", "Target"])},
        [(NetPort("Input"), "evaluation", "loss", NetPort("Loss")), (NetPort("Target"), NetPort("loss", "Target"))],
    )
    return loss_net


def _plane(n=300, seed=2):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    return x, x[:, 0] * x[:, 1] + 0.5 * x[:, 0]


def test_a_loss_net_trained_on_its_loss_port():
    loss_net = _evaluation_and_loss_net()
    x, y = _plane()
    # "Train this net on some synthetic data, specifying that the output port named "Loss"
    #  should be interpreted as a loss"
    results = NetTrain(loss_net, {"Input": x, "Target": y}, "All", loss_function="Loss", learning_rate=0.02,
                       max_training_rounds=150, **FAST)
    assert results["RoundLossList"][-1] < 0.1 * results["RoundLossList"][0]
    trained = results["TrainedNet"]
    # "Obtain the trained 'evaluation' network using NetExtract" / "Part syntax can also be used"
    evaluation = NetExtract(trained, "evaluation")
    assert evaluation == trained["evaluation"]
    x_test, y_test = _plane(100, seed=3)
    assert np.mean((evaluation(x_test) - y_test) ** 2) < 0.01
    # "Plot the net's output on the plane" (the values a plot would show)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 20), np.linspace(-1, 1, 20)), -1).reshape(-1, 2)
    assert evaluation(grid).shape == (400,)


def _multi_loss_net():
    # "Create a training net that computes both an output and multiple explicit losses"
    return NetGraph(
        {"lin": LinearLayer(), "loss1": MeanSquaredLossLayer(), "loss2": MeanAbsoluteLossLayer()},
        [(NetPort("Input"), "lin", NetPort("Output")), ("lin", "loss1", NetPort("Loss1")),
         ("lin", "loss2", NetPort("Loss2"))],
        Input=2, Output="Real",
    )


def _multi_loss_data(n=200):
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (n, 2))
    return {"Input": x, "Target": x @ np.array([1.5, -2.0]) + 0.25}


def test_a_training_net_with_several_losses():
    net = _multi_loss_net()
    # "This network requires an input and a target in order to produce the output and losses"
    assert set(net.inputs) == {"Input", "Target"} and set(net.outputs) == {"Output", "Loss1", "Loss2"}
    data = _multi_loss_data()
    # "Train using a specific output as loss, ignoring all other outputs"
    results = NetTrain(net, data, "All", loss_function="Loss1", learning_rate=0.05, max_training_rounds=150, **FAST)
    assert [t.port for t in results["LossFunction"].terms] == ["Loss1"]
    trained = results["TrainedNet"]
    # "Measure the loss on a single pair after training"
    loss1 = trained({"Input": [0.5, 0.5], "Target": 0.5 * 1.5 - 0.5 * 2.0 + 0.25}, "Loss1")
    assert loss1 < 1e-6
    # "Specify multiple losses to be trained jointly"
    joint = NetTrain(net, data, "All", loss_function=["Loss1", ("Loss2", Scaled(0.5))], learning_rate=0.05,
                     max_training_rounds=150, **FAST)
    terms = joint["LossFunction"].terms
    assert [(t.port, t.scale) for t in terms] == [("Loss1", 1.0), ("Loss2", 0.5)]
    subs = joint["RoundSubLossLists"]
    assert set(subs) == {"Loss1", "Loss2"}
    np.testing.assert_allclose(joint["RoundLoss"], subs["Loss1"][-1] + 0.5 * subs["Loss2"][-1], rtol=1e-9)
    # "Use NetTake to remove all but the desired output and input"
    taken = NetTake(joint["TrainedNet"], "Output")
    assert list(taken.inputs) == ["Input"] and list(taken.outputs) == ["Output"]
    # "Evaluate this network on a set of inputs"
    np.testing.assert_allclose(taken([[1.0, 0.0], [0.0, 1.0]]), [1.75, -1.75], atol=0.01)


def test_automatic_uses_the_existing_loss_outputs():
    spec = NetTrain(_multi_loss_net(), _multi_loss_data(), "LossFunction", max_training_rounds=1, **FAST)
    assert [t.port for t in spec.terms] == ["Loss1", "Loss2"] and all(t.loss is None for t in spec.terms)
