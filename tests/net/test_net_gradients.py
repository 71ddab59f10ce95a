"""Every layer and net passes autograd's gradient check w.r.t. parameters and inputs."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd.extend import defvjp, primitive

from lossviz import (
    CatenateLayer,
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetPairEmbeddingOperator,
    NetPort,
    SoftmaxLayer,
    SummationLayer,
    ThreadingLayer,
    TotalLayer,
)
from lossviz.net.layers import activation_names
from lossviz.net.primitives import ACTIVATIONS
from netgrads import check_layer_grads

# a check that autograd cannot trace is vacuous: make it fail
pytestmark = pytest.mark.filterwarnings("error:Output seems independent of input")



@pytest.fixture
def grads():
    return check_layer_grads


RNG = np.random.default_rng(1234)
X2 = RNG.normal(size=(5, 2))  # a batch of 5 vectors of length 2
X4 = RNG.normal(size=(5, 4))

# inputs away from every kink: 0 (Ramp, ELU, SELU, Abs), +-1 (HardTanh), +-3 (HardSigmoid)
AWAY_FROM_KINKS = np.array([[-3.6, -2.4, -0.7, -0.2], [0.15, 0.6, 1.4, 3.3]])
POSITIVE = np.array([[0.3, 0.8, 1.7, 2.5], [0.05, 0.45, 4.0, 9.0]])


# ---------------------------------------------------------------- the check can fail
def test_gradient_check_catches_a_wrong_vjp(grads):
    @primitive
    def bad_square(x):
        return x * x

    defvjp(bad_square, lambda y, x: lambda g: g * x)  # missing the factor 2

    with pytest.raises(AssertionError, match="Derivative"):
        grads(ElementwiseLayer(bad_square, input=4), {"Input": POSITIVE})


def test_gradient_check_catches_a_wrong_parameter_vjp(grads, monkeypatch):
    import lossviz.net.layers as layers_mod

    @primitive
    def bad_linear(x, W, b):
        return x @ W.T + b

    defvjp(bad_linear, lambda ans, x, W, b: lambda g: g @ W,
           lambda ans, x, W, b: lambda g: g.T @ x, lambda ans, x, W, b: lambda g: 2 * g.sum(axis=0))
    monkeypatch.setattr(layers_mod, "linear", bad_linear)
    with pytest.raises(AssertionError, match="Derivative"):
        grads(LinearLayer(3, input=2), {"Input": X2}, wrt=("params",))


# ---------------------------------------------------------------- LinearLayer
@pytest.mark.parametrize(
    "layer, x",
    [
        (LinearLayer(3, input=2), X2),
        (LinearLayer("Real", input=2), X2),
        (LinearLayer(3, input="Real"), X2[:, 0]),
        (LinearLayer("Real", input="Real"), X2[:, 0]),
        (LinearLayer((2, 3), input=2), X2),
        (LinearLayer(2, input=(2, 2)), X4.reshape(5, 2, 2)),
    ],
    ids=["vector", "real-out", "real-in", "real-real", "tuple-out", "tensor-in"],
)
def test_linear_layer(grads, layer, x):
    net = grads(layer, {"Input": x})
    out = net.apply(net.params, {"Input": x})["Output"]
    assert out.shape == (5,) + net.outputs["Output"].dims


# ---------------------------------------------------------------- ElementwiseLayer
@pytest.mark.parametrize("name", activation_names())
def test_elementwise_layer(grads, name):
    x = POSITIVE if name in ("Log", "Sqrt") else AWAY_FROM_KINKS
    grads(ElementwiseLayer(name, input=4), {"Input": x})


def test_every_canonical_activation_is_covered():
    assert set(ACTIVATIONS) <= set(activation_names())
    assert len(ACTIVATIONS) == 17


def test_elementwise_custom_autograd_function(grads):
    grads(ElementwiseLayer(lambda x: anp.sin(x) * x + anp.exp(-x * x), input=4), {"Input": AWAY_FROM_KINKS})


def test_elementwise_on_a_tensor(grads):
    grads(ElementwiseLayer("Tanh", input=(2, 2)), {"Input": AWAY_FROM_KINKS.reshape(2, 2, 2)})


# ---------------------------------------------------------------- the other layers
def test_softmax_layer(grads):
    grads(SoftmaxLayer(input=4), {"Input": X4})


def test_softmax_layer_on_a_tensor(grads):
    grads(SoftmaxLayer(input=(2, 2)), {"Input": X4.reshape(5, 2, 2)})


def test_threading_layer(grads):
    layer = ThreadingLayer(lambda a, b: (a - b) ** 2 + anp.tanh(a) * b, input1=4)
    grads(layer, {"Input1": X4, "Input2": X4[::-1]})


def test_threading_layer_with_named_inputs(grads):
    layer = ThreadingLayer(lambda a, b: (a - b) ** 2, inputs=["Input", "Target"], input=4)
    grads(layer, {"Input": X4, "Target": X4[::-1] + 0.5})


def test_catenate_layer(grads):
    grads(CatenateLayer(input1=2, input2=4), {"Input1": X2, "Input2": X4})


def test_catenate_layer_three_inputs(grads):
    grads(CatenateLayer(inputs=3), {"Input1": X2, "Input2": X4, "Input3": X2})


def test_total_layer(grads):
    grads(TotalLayer(inputs=3, input1=4), {"Input1": X4, "Input2": X4 ** 2, "Input3": -X4})


def test_summation_layer(grads):
    grads(SummationLayer(input=(2, 2)), {"Input": X4.reshape(5, 2, 2)})


@pytest.mark.parametrize("distance", ["EuclideanDistance", "CosineDistance"])
def test_pair_embedding_operator(grads, distance):
    op = NetPairEmbeddingOperator(NetChain([3, "Tanh", 2], input=2), distance=distance)
    grads(op, {"Input1": X2, "Input2": X2[::-1] + 0.3})


def test_pair_embedding_euclidean_gradient_is_zero_at_zero_distance():
    from autograd import grad

    from lossviz import NetInitialize

    op = NetInitialize(NetPairEmbeddingOperator(NetChain([3, "Tanh"], input=2)), random_seed=0)
    x = X2[:2]

    def total(params, a, b):
        return anp.sum(op.apply(params, {"Input1": a, "Input2": b})["Output"])

    # x embedded twice by the same products on the same shapes: the same bits, a distance of exactly 0
    assert np.all(op.apply(op.params, {"Input1": x, "Input2": x})["Output"] == 0)
    gp = grad(total, 0)(op.params, x, x.copy())
    ga = grad(total, 1)(op.params, x, x.copy())
    for g in [ga, gp["Net"]["1"]["Weights"], gp["Net"]["1"]["Biases"]]:
        assert np.all(np.isfinite(g))
        assert np.all(g == 0)  # the VJP of a zero distance is 0 by definition, not by rounding


# ---------------------------------------------------------------- nets
def test_net_chain(grads):
    grads(NetChain([4, "Tanh", 3, "Sigmoid", 2, "Softmax"], input=2), {"Input": X2})


def test_net_graph_with_fan_out_and_several_outputs(grads):
    net = NetGraph(
        {
            "lin": LinearLayer(4),
            "tanh": ElementwiseLayer("Tanh"),
            "sin": ElementwiseLayer("Sin"),
            "cat": CatenateLayer(),
            "out": LinearLayer(3),
            "sum": SummationLayer(),
        },
        [
            ("lin", "tanh"),  # lin fans out to tanh, sin and sum
            ("lin", "sin"),
            (["tanh", "sin"], "cat", "out", NetPort("Main")),
            ("lin", "sum", NetPort("Side")),
        ],
        input=2,
    )
    assert set(net.outputs) == {"Main", "Side"}
    grads(net, {"Input": X2})


def test_graph_with_two_inputs(grads):
    net = NetGraph(
        {"a": LinearLayer(3), "b": LinearLayer(3), "t": TotalLayer(), "s": "SoftPlus"},
        [(NetPort("X"), "a"), (NetPort("Y"), "b"), (["a", "b"], "t", "s")],
        x=2, y=4,
    )
    grads(net, {"X": X2, "Y": X4})


def test_nested_nets(grads):
    inner = NetChain([3, "Tanh"], input=2)
    graph = NetGraph(
        {"enc": inner, "head": LinearLayer(2), "skip": LinearLayer(2), "t": TotalLayer()},
        [("enc", "head"), (NetPort("Input"), "skip"), (["head", "skip"], "t")],
        input=2,
    )
    outer = NetChain([graph, "Softmax"])
    grads(outer, {"Input": X2})


def test_graph_inside_chain_inside_pair_embedding(grads):
    graph = NetGraph({"a": LinearLayer(3), "b": "Tanh"}, [("a", "b")], input=2)
    op = NetPairEmbeddingOperator(NetChain([graph, 2]))
    grads(op, {"Input1": X2, "Input2": X2 + 1.0})
