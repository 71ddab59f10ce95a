"""NetExtract / Part syntax, NetTake, NetInitialize, and nets as immutable values."""
import numpy as np
import pytest

from lossviz import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPairEmbeddingOperator,
    NetPort,
    NetTake,
    SummationLayer,
    ThreadingLayer,
)
from lossviz.errors import PortError


def snapshot(params):
    """A deep copy of a nested parameter dict."""
    if isinstance(params, dict):
        return {k: snapshot(v) for k, v in params.items()}
    return np.array(params, copy=True)


def same(a, b):
    """Nested parameter dicts with equal arrays (exact: for copies and untouched parameters)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return np.array_equal(a, b)


@pytest.fixture(scope="module")
def training_net():
    """An evaluation net inside a loss net (the LossFunction reference page's example)."""
    evaluation = NetChain({"hidden": 4, "act": "Tanh", "out": LinearLayer("Real")}, input=2)
    loss = ThreadingLayer(lambda a, b: (a - b) ** 2, inputs=["Input", "Target"])
    net = NetGraph({"eval": evaluation, "loss": loss},
                   [("eval", NetPort("loss", "Input")), ("loss", NetPort("Loss")),
                    ("eval", NetPort("Output"))])
    return NetInitialize(net, random_seed=7)


# ---------------------------------------------------------------- NetExtract / Part
def test_part_syntax_gets_a_layer(training_net):
    ev = training_net["eval"]
    assert isinstance(ev, NetChain)
    assert ev is NetExtract(training_net, "eval")
    assert ev.initialized
    x = [0.3, -0.2]
    assert ev(x) == training_net({"Input": x, "Target": 0.0}, "Output")


def test_nested_part_syntax(training_net):
    hidden = training_net["eval", "hidden"]
    assert isinstance(hidden, LinearLayer)
    assert hidden is training_net["eval"]["hidden"]
    assert hidden is NetExtract(training_net, "eval", "hidden")


def test_part_syntax_with_int_positions(training_net):
    assert training_net[0] is training_net["eval"]
    assert training_net[-1] is training_net["loss"]
    assert training_net["eval", 2] is training_net["eval", "out"]
    assert training_net[0, 0] is training_net["eval", "hidden"]


def test_extract_weights_and_biases(training_net):
    W = NetExtract(training_net, "eval", "hidden", "Weights")
    b = training_net["eval", "hidden", "Biases"]
    assert W.shape == (4, 2) and b.shape == (4,)
    assert isinstance(W, np.ndarray)
    layer = training_net["eval", "hidden"]
    np.testing.assert_array_equal(NetExtract(layer, "Weights"), W)
    np.testing.assert_array_equal(layer["Weights"], W)


def test_extracted_arrays_are_copies(training_net):
    W = training_net["eval", "hidden", "Weights"]
    W[:] = 0.0
    assert np.any(training_net["eval", "hidden", "Weights"] != 0.0)


def test_extract_from_a_pair_embedding_operator():
    op = NetInitialize(NetPairEmbeddingOperator(NetChain([3], input=2)), random_seed=0)
    assert isinstance(op["Net"], NetChain)
    assert op["Net", "1", "Weights"].shape == (3, 2)


def test_extract_weights_of_an_uninitialized_layer():
    with pytest.raises(PortError, match="parameter 'Weights' is not initialized"):
        NetExtract(LinearLayer(2, input=3), "Weights")


def test_extract_with_no_path_is_the_net(training_net):
    assert NetExtract(training_net) is training_net


# ---------------------------------------------------------------- NetTake
def test_take_keeps_what_an_output_needs(training_net):
    net = NetTake(training_net, "Output")
    assert list(net.inputs) == ["Input"]  # "Target" only fed the loss
    assert list(net.outputs) == ["Output"]
    assert list(net.layers) == ["eval"]
    x = [[0.3, -0.2], [1.0, 2.0]]
    np.testing.assert_array_equal(net(x), training_net({"Input": x, "Target": [0.0, 0.0]}, "Output"))


def test_take_the_loss_keeps_everything(training_net):
    net = NetTake(training_net, "Loss")
    assert set(net.layers) == {"eval", "loss"}
    assert set(net.inputs) == {"Input", "Target"}
    assert list(net.outputs) == ["Loss"]


def test_take_drops_unneeded_branches():
    net = NetGraph({"a": LinearLayer(3), "b": "Tanh", "c": "Sin", "d": LinearLayer(2), "s": SummationLayer()},
                   [(NetPort("X"), "a", "b", NetPort("B")), ("a", "c", NetPort("C")),
                    (NetPort("Y"), "d", "s", NetPort("S"))], x=2, y=4)
    net = NetInitialize(net, random_seed=0)
    taken = NetTake(net, "C")
    assert list(taken.layers) == ["a", "c"]
    assert list(taken.inputs) == ["X"] and list(taken.outputs) == ["C"]
    both = NetTake(net, ["B", "S"])
    assert set(both.layers) == {"a", "b", "d", "s"}
    assert set(both.inputs) == {"X", "Y"} and set(both.outputs) == {"B", "S"}
    full = net({"X": [1.0, 2.0], "Y": [1.0, 2.0, 3.0, 4.0]})
    np.testing.assert_array_equal(taken([1.0, 2.0]), full["C"])


def test_take_naming_an_input_that_the_output_needs(training_net):
    net = NetTake(training_net, ["Input", "Output"])
    assert list(net.inputs) == ["Input"]
    with pytest.raises(PortError, match="NetTake: input 'Target' does not feed 'Output'"):
        NetTake(training_net, ["Target", "Output"])


def test_take_keeps_the_original(training_net):
    before = (list(training_net.layers), dict(training_net.inputs), dict(training_net.outputs))
    NetTake(training_net, "Output")
    assert before == (list(training_net.layers), dict(training_net.inputs), dict(training_net.outputs))


# ---------------------------------------------------------------- NetInitialize
def chain():
    return NetChain([5, "Tanh", 3, "Softmax"], input=2)


def test_initialize_with_the_same_seed_is_bit_identical():
    # exact on any machine: numpy's Generator draws scaled by a correctly rounded sqrt, no sums
    a, b = NetInitialize(chain(), random_seed=42), NetInitialize(chain(), random_seed=42)
    for layer in ("1", "3"):
        for p in ("Weights", "Biases"):
            assert a[layer, p].tobytes() == b[layer, p].tobytes()
    assert a == b


def test_initialize_with_different_seeds_differs():
    a, b = NetInitialize(chain(), random_seed=1), NetInitialize(chain(), random_seed=2)
    assert not np.array_equal(a["1", "Weights"], b["1", "Weights"])
    assert a != b


def test_initialize_glorot_uniform_weights_and_zero_biases():
    net = NetInitialize(NetChain([50], input=30), random_seed=0)
    W, b = net["1", "Weights"], net["1", "Biases"]
    limit = np.sqrt(6.0 / (30 + 50))
    assert np.all(np.abs(W) <= limit) and W.std() > limit / 3
    assert np.all(b == 0)


def test_initialize_keeps_existing_values_unless_forced():
    a = NetInitialize(chain(), random_seed=1)
    again = NetInitialize(a, random_seed=2)
    assert again == a
    forced = NetInitialize(a, random_seed=2, force=True)
    assert forced == NetInitialize(chain(), random_seed=2)


def test_initialize_a_single_layer():
    layer = NetInitialize(LinearLayer(2, input=3), random_seed=0)
    assert layer.initialized and layer["Weights"].shape == (2, 3)


def test_parameter_free_net_is_initialized():
    net = NetChain(["Tanh", SummationLayer()], input=3)
    assert net.initialized
    assert net([0.0, 0.0, 0.0]) == 0.0  # tanh(0) = 0 exactly, and a sum of zeros is 0


# ---------------------------------------------------------------- immutability
def test_initialize_does_not_change_the_original():
    net = chain()
    NetInitialize(net, random_seed=0)
    assert not net.initialized
    assert net.params is None
    assert not net["1"].initialized


def test_with_params_does_not_change_the_original():
    a = NetInitialize(chain(), random_seed=0)
    before = snapshot(a.params)
    zeros = {k: {n: np.zeros_like(v) for n, v in p.items()} for k, p in a.params.items()}
    b = a.with_params(zeros)
    assert same(a.params, before)
    assert np.all(b["1", "Weights"] == 0)
    assert b is not a


def test_refine_does_not_change_the_original():
    layer = LinearLayer()
    refined = layer.refine(ins={"Input": NetChain([2], input=3).outputs["Output"]})
    assert layer.inputs["Input"].dims is None
    assert refined.inputs["Input"].dims == (2,)
    net = NetChain([LinearLayer(), "Tanh"])
    net.refine(ins={"Input": NetChain([2], input=3).outputs["Output"]})
    assert net.inputs["Input"].dims is None
    assert net["1"].inputs["Input"].dims is None


def test_building_a_net_does_not_change_the_layers_given():
    lin = LinearLayer()
    act = ElementwiseLayer("Tanh")
    NetChain([lin, act, LinearLayer(2)], input=3)
    assert lin.inputs["Input"].dims is None and lin.outputs["Output"].dims is None
    assert act.inputs["Input"].dims is None
    init = NetInitialize(NetChain([3], input=2), random_seed=0)
    before = snapshot(init.params)
    NetGraph({"x": init, "y": "Tanh"}, [("x", "y")])
    assert same(init.params, before)


def test_layers_are_shared_not_copied_when_unchanged():
    a = NetInitialize(chain(), random_seed=0)
    b = NetInitialize(a, random_seed=0)
    assert b["1"] is a["1"]


@pytest.mark.timeout(20)
def test_deeply_nested_nets_cost_linear_not_exponential_time():
    import time

    net = NetInitialize(NetChain([3], input=2), random_seed=0)
    for _ in range(30):  # each level used to double the work of params / param_shapes
        net = NetChain([net])
    start = time.perf_counter()
    assert net.param_shapes()
    params = net.params
    net = net.with_params(params)
    assert net(np.zeros(2)).shape == (3,)
    assert time.perf_counter() - start < 2.0


# ---------------------------------------------------------------- equality
def test_equality_is_by_value():
    assert NetChain([3, "Tanh"], input=2) == NetChain([3, "Tanh"], input=2)
    assert NetChain([3, "Tanh"], input=2) != NetChain([3, "Sin"], input=2)
    assert NetChain([3, "Tanh"], input=2) != NetChain([3, "Tanh"], input=4)
    assert ElementwiseLayer("ReLU") == ElementwiseLayer("Ramp")


def test_layers_with_different_python_functions_are_not_equal():
    def add(a, b):
        return a + b

    def mul(a, b):
        return a * b

    assert ThreadingLayer(add) == ThreadingLayer(add)
    assert ThreadingLayer(add) != ThreadingLayer(mul)
    assert ElementwiseLayer(lambda x: x) != ElementwiseLayer(lambda x: -x)
    assert NetChain([ElementwiseLayer(np.sin)], input=2) != NetChain([ElementwiseLayer(np.cos)], input=2)


def test_equal_nets_hash_equal_and_work_as_dict_keys():
    from lossviz import NetChain, NetInitialize

    a = NetInitialize(NetChain([3, "Tanh", 2], input=2), random_seed=0)
    b = NetInitialize(NetChain([3, "Tanh", 2], input=2), random_seed=0)
    c = NetInitialize(NetChain([3, "Tanh", 2], input=2), random_seed=1)
    assert a is not b and a == b and hash(a) == hash(b) and a != c
    assert {a: "first"}[b] == "first" and len({a, b, c}) == 2


def test_a_net_cannot_be_changed_through_its_parameter_arrays():
    from lossviz import NetChain, NetInitialize

    net = NetInitialize(NetChain([2], input=2), random_seed=0)
    given = {"1": {"Weights": np.ones((2, 2)), "Biases": np.zeros(2)}}
    other = net.with_params(given)
    given["1"]["Weights"][:] = 5.0  # the caller's array: the net keeps its own copy
    assert (other["1", "Weights"] == 1.0).all()
    with pytest.raises(ValueError, match="read-only"):
        other.params["1"]["Weights"][0, 0] = 3.0


def test_initialized_parameters_are_read_only_too():
    from lossviz import NetChain, NetInitialize

    net = NetInitialize(NetChain([2], input=2), random_seed=0)
    with pytest.raises(ValueError, match="read-only"):
        net.params["1"]["Weights"][0, 0] = 3.0
    base = np.ones((2, 2))
    view = base.view()
    view.flags.writeable = False  # read-only, but the caller can still write through base
    other = net.with_params({"1": {"Weights": view, "Biases": np.zeros(2)}})
    base[:] = 7.0
    assert (other["1", "Weights"] == 1.0).all()
