"""LossFunction forms and the automatic attachment table, row by row."""
import numpy as np
import pytest

from lossviz import (
    Automatic,
    ContrastiveLossLayer,
    CrossEntropyLossLayer,
    ElementwiseLayer,
    LinearLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetDecoder,
    NetGraph,
    NetPairEmbeddingOperator,
    NetPort,
    Scaled,
    SoftmaxLayer,
    SummationLayer,
    ThreadingLayer,
)
from lossviz.errors import SpecError
from lossviz.train import resolve_loss


def _form(term):
    return term.loss.config().get("form")


# ------------------------------------------------------------- the attachment table
def test_softmax_gets_index_cross_entropy():
    (t,) = resolve_loss(NetChain([3, SoftmaxLayer()], input=2)).terms
    assert isinstance(t.loss, CrossEntropyLossLayer) and _form(t) == "Index"
    assert t.target == "Output" and "SoftmaxLayer" in t.reason


def test_softmax_with_probability_targets_gets_probabilities():
    net = NetChain([3, SoftmaxLayer()], input=2)
    (t,) = resolve_loss(net, Automatic, {"Output": np.full((5, 3), 1 / 3)}).terms
    assert _form(t) == "Probabilities" and "probability" in t.reason
    (t,) = resolve_loss(net, Automatic, {"Output": [0, 1, 2, 1, 0]}).terms
    assert _form(t) == "Index"


def test_logistic_sigmoid_gets_binary_cross_entropy():
    (t,) = resolve_loss(NetChain([1, ElementwiseLayer("LogisticSigmoid")], input=2)).terms
    assert isinstance(t.loss, CrossEntropyLossLayer) and _form(t) == "Binary"
    (t,) = resolve_loss(NetChain([1, "Sigmoid"], input=2)).terms  # the alias names the same layer
    assert _form(t) == "Binary"


def test_pair_embedding_gets_contrastive():
    net = NetPairEmbeddingOperator(NetChain([4, "Tanh"], input=3))
    (t,) = resolve_loss(net).terms
    assert isinstance(t.loss, ContrastiveLossLayer) and "NetPairEmbeddingOperator" in t.reason


@pytest.mark.parametrize("last", [LinearLayer(2), ElementwiseLayer("Tanh"), ElementwiseLayer("Ramp")])
def test_other_layers_get_mean_squared(last):
    (t,) = resolve_loss(NetChain([2, last], input=2)).terms
    assert isinstance(t.loss, MeanSquaredLossLayer) and type(last).__name__ in t.reason


def test_loss_layers_are_used_unchanged():
    net = NetGraph({"lin": LinearLayer(2), "loss": MeanAbsoluteLossLayer()},
                   [(NetPort("Input"), "lin", "loss")], Input=2)
    (t,) = resolve_loss(net).terms
    assert t.port == "Loss" and t.loss is None


def test_automatic_attaches_to_every_output_with_its_own_target():
    net = NetGraph({"a": LinearLayer(2), "b": SoftmaxLayer(), "c": LinearLayer(1)},
                   [(NetPort("Input"), "a", "b", NetPort("Class")), ("a", "c", NetPort("Value"))], Input=2)
    terms = resolve_loss(net).terms
    assert [(t.port, type(t.loss).__name__, t.target) for t in terms] == [
        ("Class", "CrossEntropyLossLayer", "Class"), ("Value", "MeanSquaredLossLayer", "Value")]


def test_the_producer_is_found_inside_nested_nets():
    inner = NetChain([3, "Softmax"])
    net = NetChain([inner], input=2)
    assert _form(resolve_loss(net).terms[0]) == "Index"


# ------------------------------------------------------------- forms
def _two_outputs():
    return NetGraph({"a": LinearLayer(2), "b": LinearLayer(1)},
                    [(NetPort("Input"), "a", NetPort("Out1")), ("a", "b", NetPort("Out2"))], Input=2)


def test_a_loss_layer_attaches_to_the_only_output():
    (t,) = resolve_loss(NetChain([2], input=2), MeanAbsoluteLossLayer()).terms
    assert t.port == "Output" and isinstance(t.loss, MeanAbsoluteLossLayer) and t.reason == ""


def test_a_loss_layer_needs_a_single_output():
    with pytest.raises(SpecError, match=r"only output.*'Out1', 'Out2'.*\('Port', loss\)"):
        resolve_loss(_two_outputs(), MeanSquaredLossLayer())


def test_port_and_loss_pairs_dicts_and_lists():
    net = _two_outputs()
    (t,) = resolve_loss(net, ("Out2", MeanAbsoluteLossLayer())).terms
    assert (t.port, type(t.loss).__name__) == ("Out2", "MeanAbsoluteLossLayer")
    terms = resolve_loss(net, {"Out1": Automatic, "Out2": (MeanAbsoluteLossLayer(), Scaled(2))}).terms
    assert [(t.port, type(t.loss).__name__, t.scale) for t in terms] == [
        ("Out1", "MeanSquaredLossLayer", 1.0), ("Out2", "MeanAbsoluteLossLayer", 2.0)]
    terms = resolve_loss(net, [("Out1", MeanSquaredLossLayer()), ("Out2", (Automatic, Scaled(-0.5)))]).terms
    assert [t.scale for t in terms] == [1.0, -0.5]


def test_scaled_port_is_the_port_itself_as_in_wolfram():
    net = NetGraph({"lin": LinearLayer(1), "l1": MeanSquaredLossLayer(), "l2": MeanAbsoluteLossLayer()},
                   [(NetPort("Input"), "lin", "l1", NetPort("Loss1")), ("lin", "l2", NetPort("Loss2"))], Input=2)
    terms = resolve_loss(net, ["Loss1", ("Loss2", Scaled(0.5))]).terms
    assert [(t.port, t.loss, t.scale) for t in terms] == [("Loss1", None, 1.0), ("Loss2", None, 0.5)]


def test_a_loss_net_with_several_outputs_reports_each_as_a_sub_loss():
    loss_net = NetGraph({"sq": ThreadingLayer(lambda a, b: (a - b) ** 2, inputs=["Input", "Target"]),
                         "ab": ThreadingLayer(lambda a, b: abs(a - b), inputs=["Input", "Target"]),
                         "s1": SummationLayer(), "s2": SummationLayer()},
                        [(NetPort("Input"), "sq", "s1", NetPort("Squared")), (NetPort("Input"), "ab"),
                         (NetPort("Target"), NetPort("sq", "Target")), (NetPort("Target"), NetPort("ab", "Target")),
                         ("ab", "s2", NetPort("Absolute"))])
    spec = resolve_loss(NetChain([2], input=2), loss_net)
    assert spec.sub_loss_names == ("Output/Squared", "Output/Absolute")


def test_the_resolved_spec_is_readable():
    spec = resolve_loss(NetChain([3, "Softmax"], input=2))
    text = repr(spec)
    assert "'Output'" in text and "CrossEntropyLossLayer('Index')" in text and "SoftmaxLayer" in text
    assert "<table>" in spec._repr_html_()


# ------------------------------------------------------------- bad specs
@pytest.mark.parametrize("spec, message", [
    ("Nope", r"no output port 'Nope'.*'Output'"),
    ("Input", r"'Input' is an input port"),
    ("huber", r"no output port 'huber'.*lossviz.losses.get\('huber'\)"),
    (Scaled(2), r"Scaled\(2\) needs a loss to scale"),
    ((MeanSquaredLossLayer(), 2), r"Scaled\(r\)"),
    (ThreadingLayer(lambda a, b: a - b), r"cannot be a loss.*inputs=\['Input', 'Target'\]"),
    ([], r"empty list"),
    (3.5, r"cannot read a loss specification"),
])
def test_bad_specs_get_clear_errors(spec, message):
    with pytest.raises(SpecError, match=message):
        resolve_loss(NetChain([2], input=2), spec)


@pytest.mark.parametrize("r", ["a", None, float("nan"), True])
def test_scaled_needs_a_number(r):
    with pytest.raises(SpecError, match="Scaled needs a finite real number"):
        Scaled(r)


def test_a_decoder_port_is_not_a_loss():
    net = NetChain([2, "Softmax"], input=2, output=NetDecoder("Class", ["a", "b"]))
    with pytest.raises(SpecError, match="is not a loss"):
        resolve_loss(net, "Output")


def test_the_same_loss_twice_is_an_error():
    with pytest.raises(SpecError, match="given twice"):
        resolve_loss(NetChain([2], input=2), ["Output", "Output"])
    with pytest.raises(SpecError, match="given twice"):
        resolve_loss(NetChain([2], input=2), [MeanSquaredLossLayer(), MeanSquaredLossLayer()])


def test_several_losses_on_one_port_are_named_apart():
    # theanets: net.add_loss('mse') on a model whose loss is 'mae'
    spec = resolve_loss(NetChain([2], input=2), [MeanAbsoluteLossLayer(), (MeanSquaredLossLayer(), Scaled(2))])
    assert spec.sub_loss_names == ("Output/MeanAbsoluteLossLayer", "Output/MeanSquaredLossLayer")
    assert [t.target for t in spec.terms] == ["Output", "Output"]
