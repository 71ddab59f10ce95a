"""Issue 12: the encoder forms of the CrossEntropyLossLayer page.

The default "Characters" alphabet reads ordinary text, and a port shape
``(n, coder)`` (Wolfram's ``{n, NetEncoder[...]}``) maps an encoder or a
decoder over a sequence of n items.
"""
import numpy as np
import pytest

from lossviz import (CrossEntropyLossLayer, LinearLayer, NetChain, NetDecoder, NetEncoder, NetInitialize,
                     SoftmaxLayer, SummationLayer, load)
from lossviz.errors import DataError, NetTypeError, ParameterError
from lossviz.net.coders import DEFAULT_CHARACTERS


def test_the_default_alphabet_reads_capitals_digits_and_punctuation():
    enc = NetEncoder("Characters")
    assert len(DEFAULT_CHARACTERS) == 95 and DEFAULT_CHARACTERS[0] == " "
    codes = enc.encode_one("Hello, World! 42")
    assert "".join(DEFAULT_CHARACTERS[i] for i in codes) == "Hello, World! 42"
    assert repr(enc) == 'NetEncoder("Characters")'
    with pytest.raises(DataError, match="character 'é'"):
        enc.encode_one("café")


def test_a_class_encoder_mapped_over_n_items():
    layer = CrossEntropyLossLayer("Index", target=(4, NetEncoder("Class", ["a", "b", "c"])))
    assert layer.inputs["Input"].dims == (4, 3) and layer.inputs["Target"].dims == (4,)
    p = np.full((4, 3), 0.1)
    p[np.arange(4), [0, 1, 2, 0]] = 0.8
    # one example: the mean of the four positions' losses (threading over the extra dimension)
    assert layer({"Input": p, "Target": ["a", "b", "c", "a"]}) == pytest.approx(-np.log(0.8), rel=1e-12)
    both = layer({"Input": [p, p], "Target": [["a", "b", "c", "a"], ["b", "b", "b", "b"]]})
    np.testing.assert_allclose(both, [-np.log(0.8), -np.mean(np.log([0.1, 0.8, 0.1, 0.1]))], rtol=1e-12)
    with pytest.raises(DataError, match="expected a list of 4 labels"):
        layer({"Input": p, "Target": ["a", "b"]})


def test_unit_vectors_decoders_and_saving():
    enc = NetEncoder("Class", ["x", "y"], output="UnitVector")
    net = NetChain([SummationLayer()], input=(3, enc))
    assert net.inputs["Input"].dims == (3, 2) and net(["x", "y", "y"]) == 3.0
    np.testing.assert_array_equal(net([["x", "y", "y"], ["x", "x", "x"]]), [3.0, 3.0])
    dec = NetChain([LinearLayer((2, 2)), SoftmaxLayer()], input=1, output=(2, NetDecoder("Class", ["u", "v"])))
    dec = NetInitialize(dec, random_seed=0)
    labels = dec([0.3])
    assert len(labels) == 2 and set(labels) <= {"u", "v"}
    probs = dec([0.3], "Probabilities")
    assert [sum(p.values()) for p in probs] == [pytest.approx(1.0)] * 2


def test_a_saved_mapped_encoder_loads_back(tmp_path):
    net = NetChain([SummationLayer()], input=(3, NetEncoder("Class", ["x", "y"], output="UnitVector")))
    net.save(tmp_path / "net.npz")
    back = load(tmp_path / "net.npz")
    assert back.inputs["Input"] == net.inputs["Input"] and repr(back.inputs["Input"].coder).startswith("(3, ")


def test_fixed_length_strings_and_bad_lengths():
    layer = CrossEntropyLossLayer("Index", target=(3, NetEncoder("Characters", "abc")))
    assert layer.inputs["Target"].dims == (3,) and layer.inputs["Input"].dims == (3, 3)
    assert layer({"Input": np.eye(3), "Target": "abc"}) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(DataError, match="a string of 3 characters"):
        layer({"Input": np.eye(3), "Target": "ab"})
    with pytest.raises(NetTypeError, match="sequence length must be a positive int"):
        CrossEntropyLossLayer("Index", target=(0, NetEncoder("Class", ["a", "b"])))
    with pytest.raises(ParameterError, match="length must be a positive int"):
        NetEncoder("Class", ["a", "b"], length=-2)
