"""Shape inference: through layers, chains and graphs, from declared ports."""
import numpy as np
import pytest

from lossviz import (
    CatenateLayer,
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetGraph,
    NetInitialize,
    NetPort,
    SoftmaxLayer,
    SummationLayer,
    ThreadingLayer,
    TotalLayer,
)
from lossviz.net.ports import PortType, port_type


def dims(t):
    return t.dims


# ---------------------------------------------------------------- port specs
@pytest.mark.parametrize(
    "spec, expected",
    [
        (None, None),
        ("Real", ()),
        ("Integer", ()),
        (3, (3,)),
        ((2, 3), (2, 3)),
        (("Varying", 2), ("Varying", 2)),
        ("Varying", ("Varying",)),
        (NetEncoder("Class", ["a", "b", "c"]), ()),
        (NetEncoder("Class", ["a", "b", "c"], output="UnitVector"), (3,)),
        (NetDecoder("Class", ["a", "b"]), (2,)),
    ],
)
def test_port_type_specs(spec, expected):
    assert port_type(spec).dims == expected


def test_port_type_kinds():
    assert port_type("Integer").kind == "Integer"
    assert port_type("Real").kind == "Real"
    assert port_type(NetEncoder("Class", ["a", "b"])).kind == "Integer"


# ---------------------------------------------------------------- LinearLayer
def test_linear_layer_infers_n_from_a_declared_real_output():
    layer = LinearLayer(input=3, output="Real")
    assert layer.outputs["Output"].dims == ()
    assert layer.param_shapes() == {"Weights": (1, 3), "Biases": (1,)}
    net = NetInitialize(layer, random_seed=0)
    assert np.ndim(net([1.0, 2.0, 3.0])) == 0


def test_linear_layer_infers_n_from_a_declared_vector_output():
    layer = LinearLayer(input=2, output=5)
    assert layer.param_shapes() == {"Weights": (5, 2), "Biases": (5,)}


def test_linear_layer_without_sizes_has_unknown_parameters():
    layer = LinearLayer()
    assert layer.param_shapes() == {"Weights": None, "Biases": None}
    assert layer.parameter_count is None
    assert not layer.initialized


def test_linear_layer_shapes():
    assert LinearLayer(4, input=(2, 3)).param_shapes() == {"Weights": (4, 6), "Biases": (4,)}
    assert LinearLayer((2, 3), input=2).outputs["Output"].dims == (2, 3)
    assert LinearLayer((2, 3), input=2).param_shapes() == {"Weights": (6, 2), "Biases": (6,)}
    assert LinearLayer("Real", input="Real").param_shapes() == {"Weights": (1, 1), "Biases": (1,)}


def test_linear_layer_in_a_chain_infers_n_from_the_next_layer():
    net = NetChain([LinearLayer(), LinearLayer(2, input=4)], input=3)
    assert net["1"].param_shapes() == {"Weights": (4, 3), "Biases": (4,)}
    assert net.parameter_count == 4 * 3 + 4 + 2 * 4 + 2


def test_linear_layer_in_a_chain_infers_n_from_the_chain_output():
    net = NetChain([8, "Tanh", LinearLayer()], input=2, output="Real")
    assert net["3"].param_shapes() == {"Weights": (1, 8), "Biases": (1,)}
    assert net.outputs["Output"].dims == ()


# ---------------------------------------------------------------- chains
def test_chain_infers_sizes_through_layers():
    net = NetChain([16, "Tanh", 3, "Softmax"], input=2)
    assert [dims(net[k].outputs["Output"]) for k in "1234"] == [(16,), (16,), (3,), (3,)]
    assert net.inputs["Input"].dims == (2,)
    assert net.outputs["Output"].dims == (3,)
    assert net["1"].param_shapes() == {"Weights": (16, 2), "Biases": (16,)}
    assert net["3"].param_shapes() == {"Weights": (3, 16), "Biases": (3,)}
    assert net.parameter_count == 16 * 2 + 16 + 3 * 16 + 3


def test_chain_infers_its_input_backwards_from_a_layer():
    net = NetChain(["Tanh", LinearLayer(2, input=5)])
    assert net.inputs["Input"].dims == (5,)
    assert net["1"].outputs["Output"].dims == (5,)


def test_chain_shorthands():
    net = NetChain([4, "Tanh", "ReLU", "Softmax", (2, 2)], input=3)
    assert isinstance(net["1"], LinearLayer) and net["1"].n == (4,)
    assert isinstance(net["2"], ElementwiseLayer) and net["2"].function == "Tanh"
    assert net["3"].function == "Ramp"  # ReLU is an alias
    assert isinstance(net["4"], SoftmaxLayer)
    assert isinstance(net["5"], LinearLayer) and net.outputs["Output"].dims == (2, 2)


def test_chain_with_a_dict_of_named_layers():
    net = NetChain({"hidden": 3, "act": "Tanh", "out": LinearLayer("Real")}, input=2)
    assert list(net.layers) == ["hidden", "act", "out"]
    assert net.outputs["Output"].dims == ()


def test_chain_ports_are_case_insensitive():
    net = NetChain([3], INPUT=2)
    assert net.inputs["Input"].dims == (2,)


def test_chain_with_a_decoder_keeps_it_on_the_output():
    dec = NetDecoder("Class", ["Less", "Greater"])
    net = NetChain([LinearLayer(), "Softmax"], input=2, output=dec)
    assert net.outputs["Output"].coder == dec
    assert net["1"].param_shapes() == {"Weights": (2, 2), "Biases": (2,)}


def test_chain_with_an_encoder_input():
    enc = NetEncoder("Class", ["a", "b", "c"], output="UnitVector")
    net = NetChain([2], input=enc)
    assert net.inputs["Input"].coder == enc
    assert net["1"].param_shapes() == {"Weights": (2, 3), "Biases": (2,)}


# ---------------------------------------------------------------- graphs
def test_graph_port_shapes_from_keywords_case_insensitive():
    net = NetGraph({"a": LinearLayer(), "b": LinearLayer()}, [(NetPort("X"), "a", NetPort("Y")), (NetPort("X"), "b", NetPort("Z"))],
                   x=2, y=3, Z="Real")
    assert net.inputs == {"X": PortType((2,))}
    assert net.outputs["Y"].dims == (3,)
    assert net.outputs["Z"].dims == ()
    assert net["a"].param_shapes()["Weights"] == (3, 2)
    assert net["b"].param_shapes()["Weights"] == (1, 2)


def test_graph_unconnected_inputs_are_shared_by_name():
    net = NetGraph(
        {
            "d1": ThreadingLayer(lambda a, b: a - b, inputs=["Input", "Target"]),
            "d2": ThreadingLayer(lambda a, b: a * b, inputs=["Input", "Target"]),
            "out": TotalLayer(),
        },
        [(["d1", "d2"], "out")],
        target=3,
    )
    assert list(net.inputs) == ["Input", "Target"]
    assert list(net.outputs) == ["Output"]
    # one "Target" port feeds both layers; its shape propagates everywhere
    assert net.source_of("d1", "Target") == net.source_of("d2", "Target") == ("", "Target")
    assert net.inputs["Input"].dims == (3,)
    assert net.outputs["Output"].dims == (3,)
    out = net({"Input": [1.0, 2.0, 3.0], "Target": [1.0, 1.0, 2.0]})
    np.testing.assert_allclose(out, [0.0 + 1.0, 1.0 + 2.0, 1.0 + 6.0])


def test_graph_unconnected_outputs_become_ports():
    net = NetGraph({"a": LinearLayer(3), "b": "Tanh", "s": SummationLayer()},
                   [("a", "b"), ("a", "s"), ("s", NetPort("Loss"))], input=2)
    # b's output is not connected: it becomes the graph's "Output"
    assert set(net.outputs) == {"Loss", "Output"}
    assert net.output_source("Output") == ("b", "Output")
    assert net.output_source("Loss") == ("s", "Output")
    assert net.outputs["Loss"].dims == ()
    assert net.outputs["Output"].dims == (3,)
    # an output that feeds another layer is not a graph port
    assert net.output_source("Output") != ("a", "Output")


def test_graph_list_connection_feeds_inputs_in_order():
    net = NetGraph({"a": LinearLayer(2), "b": LinearLayer(3), "cat": CatenateLayer()},
                   [(["a", "b"], "cat")], input=4)
    assert net.source_of("cat", "Input1") == ("a", "Output")
    assert net.source_of("cat", "Input2") == ("b", "Output")
    assert net.outputs["Output"].dims == (5,)
    # and with three sources the variadic layer grows a third input
    net3 = NetGraph({"a": LinearLayer(2), "b": LinearLayer(3), "c": LinearLayer(1), "cat": CatenateLayer()},
                    [(["a", "b", "c"], "cat")], input=4)
    assert list(net3["cat"].inputs) == ["Input1", "Input2", "Input3"]
    assert net3.outputs["Output"].dims == (6,)


def test_graph_longer_tuple_chains():
    net = NetGraph({"a": 3, "b": "Tanh", "c": 1}, [("a", "b", "c")], input=2)
    assert net.source_of("b", "Input") == ("a", "Output")
    assert net.source_of("c", "Input") == ("b", "Output")
    assert net.order == ["a", "b", "c"]


def test_graph_list_of_layers_is_named_by_position():
    net = NetGraph([LinearLayer(3), "Tanh"], [("1", "2")], input=2)
    assert list(net.layers) == ["1", "2"]
    assert net.outputs["Output"].dims == (3,)


def test_graph_infers_shapes_backwards_from_an_output():
    net = NetGraph({"a": LinearLayer(), "b": "Tanh"}, [("a", "b")], input=2, output=7)
    assert net["a"].param_shapes()["Weights"] == (7, 2)


def test_catenate_of_scalars_and_vectors():
    net = NetGraph({"a": LinearLayer("Real"), "b": LinearLayer(3), "cat": CatenateLayer()},
                   [(["a", "b"], "cat")], input=2)
    assert net.outputs["Output"].dims == (4,)
    out = NetInitialize(net, random_seed=0)([1.0, 2.0])
    assert out.shape == (4,)


def test_nested_net_shapes_propagate_into_the_inner_net():
    inner = NetChain([LinearLayer(), "Tanh"])
    outer = NetGraph({"inner": inner, "head": LinearLayer(1, input=5)}, [("inner", "head")], input=2)
    assert outer["inner"].inputs["Input"].dims == (2,)
    assert outer["inner", "1"].param_shapes() == {"Weights": (5, 2), "Biases": (5,)}
    # the inner net value passed in is unchanged
    assert inner["1"].param_shapes() == {"Weights": None, "Biases": None}


def test_varying_sequences_pass_through_shape_preserving_layers():
    net = NetChain(["Tanh", SummationLayer()], input=("Varying", 2))
    assert net["1"].outputs["Output"].dims == ("Varying", 2)
    assert net.outputs["Output"].dims == ()
