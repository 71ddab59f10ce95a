"""repr and _repr_html_ show ports with shapes, layers and parameter counts."""
import html

import pytest

from lossviz import (
    LinearLayer,
    NetChain,
    NetDecoder,
    NetGraph,
    NetInitialize,
    NetPairEmbeddingOperator,
    NetPort,
    ThreadingLayer,
)


@pytest.fixture(scope="module")
def classifier():
    net = NetChain([3, "Tanh", 2, "Softmax"], input=2, output=NetDecoder("Class", ["Less", "Greater"]))
    return NetInitialize(net, random_seed=0)


def test_chain_repr(classifier):
    text = repr(classifier)
    lines = text.splitlines()
    assert lines[0] == "NetChain <17 parameters>"
    assert lines[1] == "  inputs:  Input: a vector of length 2"
    assert lines[2] == "  outputs: Output: NetDecoder(\"Class\", ['Less', 'Greater'])"
    assert lines[3] == "  1  LinearLayer(n=3) -> Output: a vector of length 3  [9 params]"
    assert lines[4] == "  2  ElementwiseLayer('Tanh') -> Output: a vector of length 3"
    assert lines[5] == "  3  LinearLayer(n=2) -> Output: a vector of length 2  [8 params]"
    assert lines[6].startswith("  4  SoftmaxLayer() -> Output:")
    assert len(lines) == 7


def test_uninitialized_and_uninferred_status():
    assert repr(NetChain([3], input=2)).splitlines()[0] == "NetChain <9 parameters, uninitialized>"
    text = repr(NetChain([LinearLayer(), "Tanh"]))
    assert text.splitlines()[0] == "NetChain <sizes not yet inferred>"
    assert "Input: any shape" in text
    assert repr(NetChain(["Tanh"], input=2)).splitlines()[0] == "NetChain <no parameters>"


def test_layer_repr():
    assert repr(LinearLayer(3, input=2)) == (
        "LinearLayer(n=3) <Input: a vector of length 2 -> Output: a vector of length 3; "
        "9 parameters, uninitialized>"
    )
    assert repr(LinearLayer("Real", input=(2, 3))) == (
        "LinearLayer(n='Real') <Input: a tensor of dimensions 2\u00d73 -> Output: a scalar; "
        "7 parameters, uninitialized>"
    )
    assert repr(LinearLayer((2, 2), input="Real")).startswith("LinearLayer(n=[2, 2]) <Input: a scalar -> ")
    op = NetPairEmbeddingOperator(NetChain([3], input=2), distance="CosineDistance")
    assert repr(op) == (
        "NetPairEmbeddingOperator(distance='CosineDistance') <Input1: a vector of length 2, "
        "Input2: a vector of length 2 -> Output: a scalar; 9 parameters, uninitialized>"
    )


def test_graph_repr_shows_every_port_and_nested_nets():
    loss = ThreadingLayer(lambda a, b: (a - b) ** 2, inputs=["Input", "Target"])
    net = NetGraph({"enc": NetChain([3, "Tanh"], input=2), "loss": loss},
                   [("enc", NetPort("loss", "Input")), ("loss", NetPort("Loss")), ("enc", NetPort("Output"))])
    text = repr(net)
    assert text.splitlines()[0] == "NetGraph <9 parameters, uninitialized>"
    assert "inputs:  Input: a vector of length 2, Target: a vector of length 3" in text
    assert "outputs: Loss: a vector of length 3, Output: a vector of length 3" in text
    assert " enc  NetChain(2 layers) -> Output: a vector of length 3  [9 params]" in text
    assert "loss  ThreadingLayer(<function <lambda>>, inputs=['Input', 'Target'])" in text


def test_html_summary(classifier):
    page = classifier._repr_html_()
    assert page.startswith("<div class='lossviz-net'>") and page.endswith("</div>")
    assert "<b>NetChain</b> <small>(17 parameters)</small>" in page
    assert "inputs: Input: a vector of length 2" in page
    assert html.escape("NetDecoder(\"Class\", ['Less', 'Greater'])") in page
    # one table row per layer: name, type, output, parameter count
    assert page.count("<tr><td>") == 4
    assert "<tr><td>1</td><td><code>LinearLayer(n=3)</code></td><td>Output: a vector of length 3</td><td>9</td></tr>" in page
    assert "<td><code>ElementwiseLayer(&#x27;Tanh&#x27;)</code></td>" in page


def test_html_escapes_user_text():
    net = NetChain([2, "Softmax"], input=2, output=NetDecoder("Class", ["<b>", "a&b"]))
    page = net._repr_html_()
    assert "<b>&" not in page and "&lt;b&gt;" in page and "a&amp;b" in page


def test_layer_html():
    page = LinearLayer(3, input=2)._repr_html_()
    assert "<b>LinearLayer</b>" in page and "9 parameters, uninitialized" in page
    assert "inputs: Input: a vector of length 2" in page and "outputs: Output: a vector of length 3" in page
