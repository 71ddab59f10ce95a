"""Every error a user can provoke is a lossviz ValueError/TypeError naming what went wrong.

Messages name the port or layer, the shape (or value) it got and what it expected.
"""
import re

import numpy as np
import pytest

from lossviz import (
    CatenateLayer,
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    NetTake,
    SummationLayer,
    ThreadingLayer,
    TotalLayer,
    errors,
)
from lossviz.errors import (
    DataError,
    GraphError,
    LossvizError,
    NetTypeError,
    ParameterError,
    PortError,
    ShapeError,
)


def esc(text):
    return re.escape(text)


# ---------------------------------------------------------------- the classes
@pytest.mark.parametrize(
    "cls, base",
    [
        (PortError, ValueError),
        (ShapeError, ValueError),
        (GraphError, ValueError),
        (DataError, ValueError),
        (errors.SpecError, ValueError),
        (ParameterError, ValueError),
        (NetTypeError, TypeError),
    ],
)
def test_error_classes(cls, base):
    assert issubclass(cls, LossvizError)
    assert issubclass(cls, base)


def test_describe_shape():
    assert errors.describe_shape(()) == "a scalar"
    assert errors.describe_shape((3,)) == "a vector of length 3"
    assert errors.describe_shape((2, 3)) == "a tensor of dimensions 2\u00d73"
    assert errors.describe_shape(None) == "any shape"


@pytest.fixture(scope="module")
def mlp():
    return NetInitialize(NetChain([3, "Tanh"], input=2), random_seed=0)


@pytest.fixture(scope="module")
def pair_net():
    layer = ThreadingLayer(lambda a, b: (a - b) ** 2, inputs=["Input", "Target"])
    return NetGraph({"t": layer}, [], input=2)


# ---------------------------------------------------------------- unknown names
def test_unknown_graph_port_keyword():
    with pytest.raises(PortError, match=esc("no port named 'inptu'; its ports are 'Input', 'Output'")):
        NetGraph({"a": LinearLayer(2)}, [], inptu=2)


def test_unknown_layer_port_keyword():
    with pytest.raises(PortError, match=esc("LinearLayer: no port named 'target'; its ports are 'Input', 'Output'")):
        LinearLayer(2, target=3)


def test_unknown_output_port_of_a_layer():
    with pytest.raises(PortError, match=esc("layer 'a' has no output port 'Foo'; its outputs are 'Output'")):
        NetGraph({"a": LinearLayer(2)}, [(NetPort("a", "Foo"), NetPort("Out"))], input=2)


def test_unknown_input_port_of_a_layer():
    with pytest.raises(PortError, match=esc("layer 'a' has no input port 'Foo'; its inputs are 'Input'")):
        NetGraph({"a": LinearLayer(2)}, [(NetPort("In"), NetPort("a", "Foo"))], input=2)


def test_unknown_input_port_in_data(pair_net):
    with pytest.raises(PortError, match=esc("unknown port 'Targte'; the net's inputs are 'Input', 'Target' (did you mean 'Target'?)")):
        pair_net({"Input": [1.0, 2.0], "Targte": [1.0, 2.0]})


def test_unknown_input_port_keyword_in_evaluation(pair_net):
    with pytest.raises(PortError, match="no port named 'targte'"):
        pair_net(input=[1.0, 2.0], targte=[1.0, 2.0])


def test_unknown_output_port_in_evaluation(mlp):
    with pytest.raises(PortError, match=esc("unknown output 'Foo'; this net's output ports are 'Output'")):
        mlp([1.0, 2.0], "Foo")


def test_probabilities_without_a_decoder(mlp):
    with pytest.raises(PortError, match=esc("output port 'Output' has no class decoder")):
        mlp([1.0, 2.0], "Probabilities")


def test_unknown_layer_in_a_connection():
    with pytest.raises(PortError, match=esc("no layer named 'b'; the layers are 'a'")):
        NetGraph({"a": LinearLayer(2)}, [("a", "b")], input=2)


def test_unknown_layer_in_extract(mlp):
    with pytest.raises(PortError, match=esc("no layer named 'x'; the layers are '1', '2'")):
        mlp["x"]
    with pytest.raises(PortError, match=esc("position 5 is out of range: the net has 2 layers")):
        mlp[5]
    with pytest.raises(PortError, match=esc("LinearLayer has no part 'Wieghts'; its parameters are 'Weights', 'Biases'")):
        NetExtract(mlp, "1", "Wieghts")


def test_unknown_port_in_take(mlp):
    with pytest.raises(PortError, match=esc("NetTake: 'Foo' is not a port of the net; its outputs are 'Output'")):
        NetTake(mlp, "Foo")


def test_ambiguous_layer_end():
    with pytest.raises(GraphError, match=esc("layer 't' has inputs 'Input1', 'Input2'; name one with NetPort('t', port)")):
        NetGraph({"a": LinearLayer(2), "t": TotalLayer()}, [("a", "t")], input=2)


# ---------------------------------------------------------------- shape mismatches
def test_mismatch_between_two_layers_of_a_chain():
    with pytest.raises(ShapeError, match=esc(
            "connection NetPort('1', 'Output') -> NetPort('2', 'Input'): "
            "got a vector of length 3, expected a vector of length 4")):
        NetChain([LinearLayer(3), LinearLayer(2, input=4)])


def test_mismatch_with_a_declared_chain_output():
    with pytest.raises(ShapeError, match=esc(
            "connection NetPort('2', 'Output') -> NetPort('Output'): "
            "got a vector of length 3, expected a vector of length 4")):
        NetChain([3, "Tanh"], input=2, output=4)


def test_mismatch_with_a_declared_graph_input():
    with pytest.raises(ShapeError, match=esc(
            "connection NetPort('Input') -> NetPort('a', 'Input'): "
            "got a vector of length 3, expected a vector of length 2")):
        NetGraph({"a": LinearLayer(3, input=2)}, [], input=3)


def test_mismatch_of_rank():
    with pytest.raises(ShapeError, match=esc(
            "NetPort('a', 'Output') -> NetPort('b', 'Input'): got a vector of length 3, "
            "expected a tensor of dimensions 3\u00d71")):
        NetGraph({"a": LinearLayer(3), "b": LinearLayer(2, input=(3, 1))}, [("a", "b")], input=2)


def test_mismatch_between_threaded_inputs():
    with pytest.raises(ShapeError, match=esc(
            "NetPort('Input2') -> NetPort('t', 'Input2'): got a vector of length 3, expected a vector of length 2")):
        NetGraph({"t": TotalLayer()}, [], input1=2, input2=3)


def test_mismatch_between_catenated_inputs():
    with pytest.raises(ShapeError, match=esc(
            "layer 'c': CatenateLayer: inputs must agree beyond their first dimension, got "
            "a tensor of dimensions 2\u00d73, a tensor of dimensions 2\u00d74")):
        NetGraph({"c": CatenateLayer()}, [], input1=(2, 3), input2=(2, 4))


def test_mismatch_with_a_decoder():
    with pytest.raises(ShapeError, match=esc("got a vector of length 3, expected a vector of length 2")):
        NetChain([3, "Softmax"], input=2, output=NetDecoder("Class", ["a", "b"]))


def test_mismatch_inside_a_nested_net():
    inner = NetChain([LinearLayer(3, input=2)])
    with pytest.raises(ShapeError, match=r"'inner'.*got a vector of length 5, expected a vector of length 2"):
        NetGraph({"inner": inner}, [], input=5)


# ---------------------------------------------------------------- graph structure
def test_cycle():
    with pytest.raises(GraphError, match=esc("the connections form a cycle: 'a' -> 'b' -> 'a'")):
        NetGraph({"a": TotalLayer(), "b": "Tanh", "c": "Sin"},
                 [("a", "b"), ("b", NetPort("a", "Input2")), ("b", "c")], input1=2)


def test_self_loop():
    with pytest.raises(GraphError, match=esc("cycle: 'a' -> 'a'")):
        NetGraph({"a": TotalLayer(), "b": "Tanh"}, [("a", NetPort("a", "Input2")), ("a", "b")], input1=2)


def test_two_sources_into_one_input():
    with pytest.raises(GraphError, match=esc(
            "input 'Input' of layer 'c' is fed by two connections "
            "(NetPort('a', 'Output') and NetPort('b', 'Output'))")):
        NetGraph({"a": LinearLayer(2), "b": LinearLayer(2), "c": "Tanh"}, [("a", "c"), ("b", "c")], input=2)


def test_two_sources_into_one_graph_output():
    with pytest.raises(GraphError, match=esc("graph output 'Out' is fed by two connections")):
        NetGraph({"a": LinearLayer(2), "b": LinearLayer(2)},
                 [("a", NetPort("Out")), ("b", NetPort("Out"))], input=2)


def test_duplicate_unconnected_outputs():
    with pytest.raises(GraphError, match=esc(
            "layers 'a' and 'b' both leave an output 'Output' unconnected; connect them to graph ports "
            "with distinct names, e.g. ('b', NetPort('Output2'))")):
        NetGraph({"a": LinearLayer(2), "b": LinearLayer(2)}, [], input=2)


def test_unconnected_output_clashing_with_a_named_graph_output():
    with pytest.raises(GraphError, match=esc(
            "graph output 'Output' is fed by layer 'b' and layer 's' leaves its output 'Output' unconnected")):
        NetGraph({"a": LinearLayer(3), "b": "Tanh", "s": SummationLayer()},
                 [("a", "b", NetPort("Output")), ("a", "s")], input=2)


def test_port_both_input_and_output():
    with pytest.raises(GraphError, match=esc("'X' is both an input and an output port of the graph")):
        NetGraph({"a": LinearLayer(2)}, [(NetPort("X"), "a", NetPort("X"))])


def test_bad_connection_form():
    with pytest.raises(NetTypeError, match="a connection is a tuple"):
        NetGraph({"a": LinearLayer(2)}, ["a"], input=2)


def test_too_many_sources_for_a_fixed_layer():
    layer = ThreadingLayer(lambda a, b: a + b)
    with pytest.raises(GraphError, match=esc("3 sources for a layer with inputs 'Input1', 'Input2'")):
        NetGraph({"a": 2, "b": 2, "c": 2, "t": layer}, [(["a", "b", "c"], "t")], input=2)


def test_empty_nets():
    with pytest.raises(GraphError, match="needs at least one layer"):
        NetChain([])
    with pytest.raises(NetTypeError, match="layers must be a list or a dict"):
        NetChain("Tanh")


# ---------------------------------------------------------------- data
def test_data_of_the_wrong_size(mlp):
    with pytest.raises(ShapeError, match=esc("port 'Input': got data of shape (3,), expected a vector of length 2")):
        mlp([1.0, 2.0, 3.0])


def test_batch_of_the_wrong_size(mlp):
    with pytest.raises(ShapeError, match=esc(
            "port 'Input': got a batch of shape (4, 3) (examples of shape (3,)), expected a vector of length 2")):
        mlp(np.zeros((4, 3)))


def test_data_of_the_wrong_rank(mlp):
    with pytest.raises(ShapeError, match=esc(
            "port 'Input': got data of shape (2, 2, 2), expected a vector of length 2 (shape (2,)) or a batch")):
        mlp(np.zeros((2, 2, 2)))
    with pytest.raises(ShapeError, match=esc("got data of shape (), expected a vector of length 2")):
        mlp(1.0)


def test_non_numeric_data(mlp):
    with pytest.raises(DataError, match=esc("port 'Input': cannot read numeric data from ['a', 'b']; expected a vector")):
        mlp(["a", "b"])
    with pytest.raises(DataError, match="port 'Input': cannot read numeric data"):
        mlp([[1.0, 2.0], [1.0]])


def test_non_integer_class_indices():
    net = NetChain([ElementwiseLayer("Square")], input="Integer")
    with pytest.raises(DataError, match=esc("port 'Input': expected integers (class indices), got 1.5")):
        net(1.5)


@pytest.mark.parametrize("value", [np.nan, np.inf, 2.0**63, -1e300])
def test_class_indices_that_are_not_int64(value):
    net = NetChain([ElementwiseLayer("Square")], input="Integer")
    with np.errstate(invalid="raise"):  # no silent cast of garbage
        with pytest.raises(DataError, match=esc("port 'Input': expected integers (class indices)")):
            net([1.0, value])


def test_wrong_sequence_element_shape():
    net = NetChain(["Tanh"], input=("Varying", 2))
    with pytest.raises(ShapeError, match=r"port 'Input': got data of shape \(3, 3\), expected a tensor of dimensions Varying.2"):
        net([np.zeros((3, 2)), np.zeros((3, 3))])


def test_label_not_in_the_encoder():
    net = NetChain([ElementwiseLayer("Square")], input=NetEncoder("Class", ["a", "b"]))
    with pytest.raises(DataError, match=esc("port 'Input': 'c' is not one of the classes ['a', 'b']")):
        net("c")


def test_character_not_in_the_alphabet():
    net = NetChain([SummationLayer()], input=NetEncoder("Characters", "ab"))
    with pytest.raises(DataError, match=esc("port 'Input': character 'z' of 'abz' is not in the encoder's alphabet 'ab'")):
        net("abz")


def test_missing_port(pair_net):
    with pytest.raises(PortError, match=esc("missing data for input port 'Target'; this net's input ports are 'Input', 'Target'")):
        pair_net({"Input": [1.0, 2.0]})


def test_several_ports_need_a_dict(pair_net):
    with pytest.raises(NetTypeError, match=esc("this net has input ports 'Input', 'Target': give its data as a dict")):
        pair_net([1.0, 2.0])


def test_batches_of_different_lengths(pair_net):
    with pytest.raises(ShapeError, match=esc("ports got batches of different lengths ('Input': 1, 'Target': 2)")):
        pair_net({"Input": [[1.0, 2.0]], "Target": [[1.0, 2.0], [3.0, 4.0]]})


def test_one_example_and_a_batch(pair_net):
    with pytest.raises(ShapeError, match=esc("port 'Input' got one example but port 'Target' got a batch")):
        pair_net({"Input": [1.0, 2.0], "Target": [[1.0, 2.0], [3.0, 4.0]]})


def test_both_dict_and_keywords(pair_net):
    with pytest.raises(NetTypeError, match="not both"):
        pair_net({"Input": [1.0, 2.0]}, target=[1.0, 2.0])


# ---------------------------------------------------------------- initialization
def test_uninitialized_net():
    with pytest.raises(NetTypeError, match=esc("NetChain has parameters that are not initialized; use NetInitialize")):
        NetChain([3], input=2)([1.0, 2.0])


def test_initializing_a_net_with_unknown_sizes():
    with pytest.raises(ShapeError, match=esc(
            "cannot initialize layer '1': the sizes of its ports are not all known "
            "('Input': any shape, 'Output': any shape)")):
        NetInitialize(NetChain([LinearLayer(), "Tanh"]))


def test_with_params_of_the_wrong_shape(mlp):
    bad = {"1": {"Weights": np.zeros((2, 3)), "Biases": np.zeros(3)}}
    with pytest.raises(ShapeError, match=esc("parameter 'Weights' has shape (2, 3), expected (3, 2)")):
        mlp.with_params(bad)
    with pytest.raises(PortError, match=esc("parameters given for unknown layer 'zz'")):
        mlp.with_params({"zz": {}})
    with pytest.raises(PortError, match=esc("missing parameter 'Biases'")):
        mlp.with_params({"1": {"Weights": np.zeros((3, 2))}})


def test_initialize_needs_a_net():
    with pytest.raises(NetTypeError, match="NetInitialize: expected a layer or net, got ndarray"):
        NetInitialize(np.zeros(3))


# ---------------------------------------------------------------- constructors
@pytest.mark.parametrize("name", ["Tanhh", "relu6", "softmax", ""])
def test_bad_elementwise_name(name):
    with pytest.raises(ParameterError, match=esc(f"ElementwiseLayer: unknown function {name!r}; expected a Python "
                                                 "function or one of Ramp, Tanh")):
        ElementwiseLayer(name)


def test_bad_elementwise_argument():
    with pytest.raises(NetTypeError, match=esc("ElementwiseLayer: f must be a function name or a callable, got 3")):
        ElementwiseLayer(3)


def test_bad_chain_shorthand():
    with pytest.raises(ParameterError, match="unknown function 'Tahn'"):
        NetChain([3, "Tahn"], input=2)
    with pytest.raises(NetTypeError, match=esc("layer 2: expected a layer, an int (LinearLayer), or an activation name, got 2.5")):
        NetChain([3, 2.5], input=2)


@pytest.mark.parametrize(
    "n, message",
    [
        (0, "'n': a vector length must be a positive int, got 0"),
        (-3, "'n': a vector length must be a positive int, got -3"),
        (2.5, "'n': cannot read a shape from 2.5"),
        ("foo", "'n': unknown shape 'foo'"),
        (True, "'n': a shape cannot be True"),
        ((2, None), "LinearLayer: n must be an int, a tuple of ints or (), got (2, None)"),
        (("Varying", 2), "LinearLayer: n must be an int, a tuple of ints or ()"),
    ],
)
def test_bad_linear_layer_n(n, message):
    with pytest.raises((ParameterError, NetTypeError), match=esc(message)):
        LinearLayer(n)


def test_bad_port_shape():
    with pytest.raises(NetTypeError, match=esc("port 'Input': bad dimension -1 in (2, -1)")):
        LinearLayer(2, input=(2, -1))


def test_bad_threading_function():
    with pytest.raises(NetTypeError, match="ThreadingLayer: f must be a function, got 3"):
        ThreadingLayer(3)


def test_bad_coders():
    with pytest.raises(ParameterError, match="needs at least 2 labels"):
        NetDecoder("Class", ["only"])
    with pytest.raises(ParameterError, match="labels must be distinct"):
        NetEncoder("Class", ["a", "a"])
    with pytest.raises(ParameterError, match="unknown type 'Klass'"):
        NetEncoder("Klass", ["a", "b"])
    with pytest.raises(NetTypeError, match="labels must be a list of class labels"):
        NetDecoder("Class", "ab")
