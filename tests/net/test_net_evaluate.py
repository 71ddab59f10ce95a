"""Evaluation on user data: one example or a batch, dicts of ports, coders, ragged sequences.

One example is a 1-row matrix product and a batch an n-row one; OpenBLAS may round them
differently (per CPU), so one example and the same example in a batch are compared with
``assert_equal_up_to_rounding``. Exact comparisons are kept for the same data read two ways
(lists or arrays, a dict or positional), which runs the same products on the same shapes.
"""
import numpy as np
import pytest
from tolerance import assert_equal_up_to_rounding

from lossviz import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetGraph,
    NetInitialize,
    NetPairEmbeddingOperator,
    NetPort,
    SummationLayer,
    ThreadingLayer,
)
from lossviz.errors import DataError


@pytest.fixture(scope="module")
def mlp():
    return NetInitialize(NetChain([4, "Tanh", 3], input=2), random_seed=0)


def by_hand(net, x):
    """The chain [Linear, Tanh, Linear] computed with plain numpy on one example."""
    p = net.params
    h = np.tanh(p["1"]["Weights"] @ x + p["1"]["Biases"])
    return p["3"]["Weights"] @ h + p["3"]["Biases"]


def test_one_example_gives_one_output(mlp):
    x = np.array([0.5, -1.0])
    out = mlp(x)
    assert out.shape == (3,)
    assert_equal_up_to_rounding(out, by_hand(mlp, x))  # a matrix-vector product by hand


def test_a_batch_has_one_more_leading_dimension(mlp):
    xs = np.array([[0.5, -1.0], [2.0, 0.0], [0.0, 0.0]])
    out = mlp(xs)
    assert out.shape == (3, 3)
    for x, y in zip(xs, out):
        assert_equal_up_to_rounding(y, by_hand(mlp, x))
    # lists work as well as arrays (the same array, the same products: exact); a batch of one is still a batch
    np.testing.assert_array_equal(mlp(xs.tolist()), out)
    assert mlp([[0.5, -1.0]]).shape == (1, 3)


def test_scalar_ports():
    net = NetInitialize(NetChain([3, "Tanh", LinearLayer("Real")], input="Real"), random_seed=1)
    one = net(0.5)
    assert isinstance(one, float)
    batch = net([0.5, 1.5, -2.0])
    assert batch.shape == (3,)
    assert_equal_up_to_rounding(batch[0], one)


def test_an_empty_batch_gives_an_empty_output():
    scalar = NetInitialize(LinearLayer("Real", input="Real"), random_seed=0)
    assert scalar([]).shape == (0,)
    tensor = NetInitialize(NetChain([LinearLayer(3)], input=(2, 2)), random_seed=0)
    assert tensor(np.ones((0, 2, 2))).shape == (0, 3)


def test_unknown_rank_port_takes_data_as_one_example():
    layer = ElementwiseLayer("Square")
    assert layer.inputs["Input"].dims is None
    x = np.arange(6.0).reshape(2, 3)
    out = layer(x)
    np.testing.assert_array_equal(out, x**2)
    assert out.shape == (2, 3)
    assert layer(3.0) == 9.0
    total = NetChain([SummationLayer()])
    assert total(x) == 15.0  # the whole array is one example


def test_dict_input_for_several_ports():
    net = NetGraph({"d": ThreadingLayer(lambda a, b: (a - b) ** 2, inputs=["Input", "Target"])}, [], input=2)
    np.testing.assert_array_equal(net({"Input": [1.0, 2.0], "Target": [3.0, 5.0]}), [4.0, 9.0])
    batch = net({"Input": [[1.0, 2.0], [0.0, 0.0]], "Target": [[3.0, 5.0], [1.0, 1.0]]})
    np.testing.assert_array_equal(batch, [[4.0, 9.0], [1.0, 1.0]])
    # keywords, case-insensitive, are the same as a dict
    np.testing.assert_array_equal(net(input=[1.0, 2.0], target=[3.0, 5.0]), [4.0, 9.0])


def test_single_port_net_accepts_a_dict(mlp):
    x = [0.5, -1.0]
    np.testing.assert_array_equal(mlp({"Input": x}), mlp(x))  # one evaluation reached two ways: exact


@pytest.fixture(scope="module")
def two_outputs():
    net = NetGraph({"a": LinearLayer(3), "b": "Tanh", "c": "Sin"},
                   [("a", "b", NetPort("B")), ("a", "c", NetPort("C"))], input=2)
    return NetInitialize(net, random_seed=0)


def test_several_outputs_give_a_dict(two_outputs):
    out = two_outputs([1.0, 2.0])
    assert isinstance(out, dict) and set(out) == {"B", "C"}
    lin = two_outputs["a"]([1.0, 2.0])
    np.testing.assert_allclose(out["B"], np.tanh(lin))
    np.testing.assert_allclose(out["C"], np.sin(lin))
    batch = two_outputs([[1.0, 2.0], [0.0, 1.0]])
    assert batch["B"].shape == batch["C"].shape == (2, 3)


def test_naming_an_output(two_outputs):
    out = two_outputs([1.0, 2.0])
    c = two_outputs([1.0, 2.0], "C")
    assert isinstance(c, np.ndarray)
    np.testing.assert_array_equal(c, out["C"])  # the same evaluation, one output picked: exact


def test_one_output_net_named_output(mlp):
    np.testing.assert_array_equal(mlp([1.0, 2.0], "Output"), mlp([1.0, 2.0]))  # the same evaluation: exact


@pytest.fixture(scope="module")
def classifier():
    net = NetChain([4, "Tanh", 2, "Softmax"], input=2, output=NetDecoder("Class", ["Less", "Greater"]))
    return NetInitialize(net, random_seed=3)


def raw_probabilities(net, xs):
    """The classifier's softmax output computed with plain numpy."""
    p = net.params
    h = np.tanh(np.asarray(xs) @ p["1"]["Weights"].T + p["1"]["Biases"])
    z = h @ p["3"]["Weights"].T + p["3"]["Biases"]
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_decoder_returns_labels(classifier):
    xs = [[1.0, 2.0], [2.0, 1.0], [0.0, -3.0]]
    labels = classifier(xs)
    assert isinstance(labels, list) and len(labels) == 3
    probs = raw_probabilities(classifier, xs)
    assert labels == [["Less", "Greater"][i] for i in np.argmax(probs, axis=1)]
    # a label is exact: these probabilities are far from a tie, beyond any rounding
    assert np.abs(probs[:, 0] - probs[:, 1]).min() > 1e-3
    assert classifier([1.0, 2.0]) == labels[0]


def test_decoder_probabilities(classifier):
    p = classifier([1.0, 2.0], "Probabilities")
    assert isinstance(p, dict) and list(p) == ["Less", "Greater"]
    assert_equal_up_to_rounding(list(p.values()), raw_probabilities(classifier, [1.0, 2.0]))
    assert sum(p.values()) == pytest.approx(1.0)
    batch = classifier([[1.0, 2.0], [2.0, 1.0]], "Probabilities")
    # issue 8: a 2-row product rounds differently from a 1-row one on some CPUs (Haswell, Zen, SkylakeX)
    assert isinstance(batch, list) and len(batch) == 2
    assert_equal_up_to_rounding(batch[0], p)
    assert_equal_up_to_rounding(batch[1], dict(zip(p, raw_probabilities(classifier, [2.0, 1.0]))))


def test_class_encoder_input():
    enc = NetEncoder("Class", ["x", "y", "z"], output="UnitVector")
    net = NetInitialize(NetChain([LinearLayer(2)], input=enc), random_seed=0)
    W, b = net["1", "Weights"], net["1", "Biases"]
    np.testing.assert_allclose(net("y"), W[:, 1] + b)
    np.testing.assert_allclose(net(["z", "x"]), np.stack([W[:, 2] + b, W[:, 0] + b]))


def test_class_encoder_index_input():
    net = NetChain([ElementwiseLayer("Square")], input=NetEncoder("Class", ["x", "y", "z"]))
    assert net("z") == 4
    np.testing.assert_array_equal(net(["x", "z", "y"]), [0, 4, 1])


def test_character_encoder_input_and_ragged_batches():
    enc = NetEncoder("Characters", "abc", output="UnitVector")
    count = NetChain([SummationLayer()], input=enc)  # counts the characters
    assert count("abca") == 4.0
    out = count(["ab", "abcab", "c", ""])
    np.testing.assert_array_equal(out, [2.0, 5.0, 1.0, 0.0])
    index_sum = NetChain([SummationLayer()], input=NetEncoder("Characters", "abc"))
    np.testing.assert_array_equal(index_sum(["cc", "b", "abc"]), [4, 1, 3])
    for not_text in (0.5, None, True):
        with pytest.raises(DataError, match=f"port 'Input': expected a string, got {not_text}"):
            count(not_text)


def test_ragged_numeric_sequences():
    net = NetChain(["Tanh", SummationLayer()], input=("Varying", 2))
    a, b = np.full((3, 2), 0.5), np.full((1, 2), -1.0)
    out = net([a, b])
    np.testing.assert_allclose(out, [6 * np.tanh(0.5), 2 * np.tanh(-1.0)])
    assert net(a) == pytest.approx(6 * np.tanh(0.5))  # one sequence
    np.testing.assert_allclose(net(np.stack([a, a])), [6 * np.tanh(0.5)] * 2)  # equal lengths


def test_ragged_outputs_come_back_as_a_list():
    net = NetChain(["Tanh"], input=("Varying", 2))
    out = net([np.zeros((3, 2)), np.zeros((1, 2))])
    assert [o.shape for o in out] == [(3, 2), (1, 2)]


def test_pair_embedding_evaluation():
    op = NetInitialize(NetPairEmbeddingOperator(NetChain([3], input=2)), random_seed=0)
    W, b = op["Net", "1", "Weights"], op["Net", "1", "Biases"]
    x1, x2 = np.array([1.0, 2.0]), np.array([0.0, -1.0])
    expected = np.linalg.norm((W @ x1 + b) - (W @ x2 + b))
    assert op({"Input1": x1, "Input2": x2}) == pytest.approx(expected)
    # one input embedded twice, by the same products on the same shapes: exactly the same, distance 0
    assert op({"Input1": x1, "Input2": x1}) == 0.0
    batch = op({"Input1": [x1, x1], "Input2": [x2, x1]})
    assert_equal_up_to_rounding(batch[0], expected)
    assert batch[1] == 0.0  # row 1 of two 2-row products of the same rows: the same bits


def test_evaluation_does_not_change_the_net(mlp):
    before = {k: {n: a.copy() for n, a in v.items()} for k, v in mlp.params.items()}
    mlp([[1.0, 2.0], [3.0, 4.0]])
    for k, v in before.items():
        for n, a in v.items():
            np.testing.assert_array_equal(mlp.params[k][n], a)  # untouched memory: exact


def test_evaluation_accepts_integer_data(mlp):
    np.testing.assert_array_equal(mlp([1, 2]), mlp([1.0, 2.0]))  # read as the same floats: the same products


def test_outputs_never_share_memory_with_each_other_or_the_input():
    from lossviz import ElementwiseLayer, NetGraph, NetInitialize, NetPort

    graph = NetInitialize(NetGraph({"a": LinearLayer(2)}, [("a", NetPort("Out1")), ("a", NetPort("Out2"))],
                                   Input=2), random_seed=0)
    out = graph(np.ones((3, 2)))
    assert not np.shares_memory(out["Out1"], out["Out2"])
    out["Out1"][:] = 99.0
    assert (out["Out2"] != 99.0).all()
    x = np.ones((3, 2))
    y = NetChain([ElementwiseLayer(lambda v: v)], input=2)(x)
    assert not np.shares_memory(x, y)
