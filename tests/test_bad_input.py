"""The catalogue of bad input (issue 14): every mistake a student makes gets a message that teaches.

``CASES`` is a table: an id, a function making the bad call (it gets a :class:`Files`
of prepared bad files), the lossviz error class it must raise, and words its message
must contain - the port, parameter or value involved, and what was expected. The
hypothesis test at the end throws random loss specs, data shapes and option values at
NetTrain and checks that nothing but a lossviz error ever escapes.
"""
from __future__ import annotations

import json
import math
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lossviz
from lossviz import (
    Automatic,
    CrossEntropyLossLayer,
    ElementwiseLayer,
    LinearLayer,
    MeanSquaredLossLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetExtract,
    NetGraph,
    NetInitialize,
    NetPort,
    NetTake,
    NetTrain,
    Scaled,
    SoftmaxLayer,
    TotalLayer,
)
from lossviz.errors import (
    DataError,
    GraphError,
    LossvizError,
    NetTypeError,
    ParameterError,
    PortError,
    ShapeError,
    SpecError,
)
from lossviz.losses import get

RNG = np.random.default_rng(14)
X = RNG.uniform(-1, 1, (40, 2))
LABELS = ["Less" if a < b else "Greater" for a, b in X]
Y = X.sum(axis=1, keepdims=True)
QUIET = {"max_training_rounds": 1, "progress": None}


def classifier():
    return NetChain([LinearLayer(2), SoftmaxLayer()], input=2, output=NetDecoder("Class", ["Less", "Greater"]))


def regressor():
    return NetChain([3, "Tanh", 1], input=2)


def trained_classifier():
    return NetInitialize(classifier(), random_seed=0)


def pair_net():
    """Two inputs, "Input" and "Target", into a TotalLayer."""
    return NetInitialize(NetGraph({"lin": LinearLayer(2), "tot": TotalLayer()},
                                  [(NetPort("Input"), "lin", NetPort("tot", "Input1")),
                                   (NetPort("Target"), NetPort("tot", "Input2"))], input=2), random_seed=0)


def with_label(labels, i, label):
    labels = list(labels)
    labels[i] = label
    return labels


def with_value(x, index, value):
    x = np.array(x, dtype=float)
    x[index] = value
    return x


def train(net, data, **options):
    return NetTrain(net, data, **{**QUIET, **options})


class Files:
    """Bad files for ``load`` and bad places for ``save``, made in a temporary folder."""

    def __init__(self, folder):
        self.folder = folder
        self.npy = folder / "array.npy"
        np.save(self.npy, np.arange(3))
        self.text = folder / "notes.txt"
        self.text.write_text("weights: 1 2 3\n")
        self.empty = folder / "empty.npz"
        self.empty.write_bytes(b"")
        self.fake_member = folder / "fake_member.npz"
        with zipfile.ZipFile(self.fake_member, "w") as z:
            z.writestr("__lossviz__.npy", b"this is not an npy array")
        self.plain_npz = folder / "plain.npz"
        np.savez(self.plain_npz, a=np.zeros(3))
        self.pickled = folder / "pickled.npz"
        np.savez(self.pickled, __lossviz__=np.array([{"evil": 1}], dtype=object))
        self.good = folder / "good.npz"
        trained_classifier().save(self.good)
        with np.load(self.good, allow_pickle=False) as f:
            self.arrays = {k: f[k] for k in f.files}
        self.doc = json.loads(self.arrays["__lossviz__"].tobytes().decode("utf-8"))
        self.truncated = folder / "truncated.npz"
        self.truncated.write_bytes(self.good.read_bytes()[:200])
        self.missing = folder / "nope.npz"

    def tampered(self, change, raw=None):
        """A copy of the good file whose structure record was changed by ``change(doc)`` (or is ``raw``)."""
        doc = json.loads(json.dumps(self.doc))
        if change is not None:
            change(doc)
        path = self.folder / "tampered.npz"
        record = raw if raw is not None else json.dumps(doc).encode("utf-8")
        np.savez(path, **{**self.arrays, "__lossviz__": np.frombuffer(record, dtype=np.uint8)})
        return path


def case(id, call, error, *words):
    """One row of the table: the call, the lossviz error class, and words its message must contain."""
    return pytest.param(call, error, words, id=id)


def set_edges(edges):
    return lambda doc: doc["net"].update(edges=edges)


CASES = [
    # ---------------------------------------------------------------- layers and ports
    case("linear-negative-size", lambda f: LinearLayer(-1), NetTypeError, "port 'n'", "a positive int", "-1"),
    case("linear-unknown-input-kind", lambda f: LinearLayer(2, input="Complex"), NetTypeError,
         "'Complex'", "expected 'Real', 'Integer', 'Boolean'"),
    case("elementwise-misspelled", lambda f: ElementwiseLayer("Tanhh"), ParameterError,
         "unknown function 'Tanhh'", "Tanh"),
    case("elementwise-not-a-function", lambda f: ElementwiseLayer(3), NetTypeError, "3", "function"),
    case("chain-of-nothing", lambda f: NetChain([]), GraphError, "at least one layer"),
    case("chain-not-a-list", lambda f: NetChain("abc"), NetTypeError, "list"),
    case("chain-with-an-object", lambda f: NetChain([3, object()]), NetTypeError, "layer 2", "expected a layer"),
    case("chain-input-mismatch", lambda f: NetChain([LinearLayer(3, input=2)], input=5), ShapeError,
         "a vector of length 5", "expected a vector of length 2"),
    case("decoder-mismatch", lambda f: NetChain([3, "Softmax"], input=2, output=NetDecoder("Class", ["a", "b"])),
         ShapeError, "got a vector of length 3, expected a vector of length 2"),
    case("graph-layers-not-a-list", lambda f: NetGraph("abc"), NetTypeError, "layers must be a list or a dict"),
    case("graph-no-layers", lambda f: NetGraph({}), GraphError, "at least one layer"),
    case("graph-unknown-layer", lambda f: NetGraph({"a": 2}, [("a", "b")], input=2), PortError,
         "no layer named 'b'", "'a'"),
    case("graph-unknown-output-port", lambda f: NetGraph({"a": 2}, [(NetPort("a", "Foo"), NetPort("Out"))]),
         PortError, "no output port 'Foo'", "its outputs are 'Output'"),
    case("graph-unknown-input-port", lambda f: NetGraph({"a": 2}, [(NetPort("In"), NetPort("a", "Foo"))]),
         PortError, "no input port 'Foo'", "its inputs are 'Input'"),
    case("graph-self-loop", lambda f: NetGraph({"a": LinearLayer(2)}, [("a", "a")]), GraphError,
         "cycle: 'a' -> 'a'", "feeds its own input", "NetPort('a', 'Input')"),
    case("graph-self-loop-by-netport", lambda f: NetGraph({"a": LinearLayer(2)}, [(NetPort("a"), NetPort("a"))]),
         GraphError, "cycle: 'a' -> 'a'"),
    case("graph-two-cycle", lambda f: NetGraph({"a": 2, "b": 2}, [("a", "b"), ("b", "a")]), GraphError,
         "cycle: 'a' -> 'b' -> 'a'", "remove one of these connections"),
    case("graph-cycle-through-netports",
         lambda f: NetGraph({"a": 2, "b": 2, "c": 2}, [(NetPort("a", "Output"), NetPort("b", "Input")),
                                                      (NetPort("b", "Output"), NetPort("c", "Input")),
                                                      (NetPort("c", "Output"), NetPort("a", "Input"))]),
         GraphError, "cycle: 'a' -> 'b' -> 'c' -> 'a'", "NetPort('c', 'Output') -> NetPort('a', 'Input')"),
    case("graph-cycle-with-an-exit", lambda f: NetGraph({"a": TotalLayer(), "b": "Tanh", "c": "Sin"},
                                                       [("a", "b"), ("b", NetPort("a", "Input2")), ("b", "c")]),
         GraphError, "cycle: 'a' -> 'b' -> 'a'", "NetPort('b', 'Output') -> NetPort('a', 'Input2')"),
    case("graph-cycle-through-a-graph-port",
         lambda f: NetGraph({"a": 2}, [("a", NetPort("Out")), (NetPort("Out"), "a")]),
         GraphError, "'Out' is both an input and an output port", "cycle through NetPort('Out')"),
    case("graph-port-as-a-wire", lambda f: NetGraph({"a": 2, "b": 2}, [("a", NetPort("Mid")), (NetPort("Mid"), "b")]),
         GraphError, "'Mid' is both an input and an output port", "connect them directly: ('a', 'b')"),
    case("graph-connection-not-a-tuple", lambda f: NetGraph({"a": 2}, ["a"]), NetTypeError,
         "a connection is a tuple (source, destination, ...)", "'a'"),
    case("graph-input-fed-twice", lambda f: NetGraph({"a": 2, "b": 2, "c": 2}, [("a", "c"), ("b", "c")]),
         GraphError, "input 'Input' of layer 'c' is fed by two connections"),
    case("graph-unknown-port-keyword", lambda f: NetGraph({"a": 2}, input=2, bogus=3), PortError, "'bogus'"),
    case("netport-of-a-float", lambda f: NetPort(1.5), NetTypeError, "NetPort takes a port name", "1.5"),
    case("decoder-one-label", lambda f: NetDecoder("Class", ["a"]), ParameterError, "at least 2 labels", "['a']"),
    case("decoder-repeated-labels", lambda f: NetDecoder("Class", ["a", "a"]), ParameterError,
         "labels must be distinct"),
    case("decoder-unknown-type", lambda f: NetDecoder("Klass", ["a", "b"]), ParameterError,
         "unknown type 'Klass'", "'Class'"),
    case("decoder-labels-as-a-string", lambda f: NetDecoder("Class", "ab"), NetTypeError,
         "labels must be a list of class labels", "'ab'"),
    case("encoder-unknown-output", lambda f: NetEncoder("Class", ["a", "b"], output="OneHot"), ParameterError,
         "output must be 'Index' or 'UnitVector'", "'OneHot'"),
    case("encoder-repeated-characters", lambda f: NetEncoder("Characters", "aab"), ParameterError,
         "repeated characters", "'aab'"),
    # ---------------------------------------------------------------- evaluation
    case("evaluate-uninitialized", lambda f: regressor()([1.0, 2.0]), NetTypeError,
         "not initialized", "NetInitialize"),
    case("evaluate-misspelled-port", lambda f: trained_classifier()({"Inptu": [1, 2]}), PortError,
         "unknown port 'Inptu'", "the net's inputs are 'Input'", "did you mean 'Input'?"),
    case("evaluate-lowercase-port", lambda f: trained_classifier()({"input": [1, 2]}), PortError,
         "unknown port 'input'", "did you mean 'Input'?"),
    case("evaluate-output-port-as-input", lambda f: trained_classifier()({"Input": [1, 2], "Output": "Less"}),
         PortError, "'Output' is an output port of the net, not an input", "the net's inputs are 'Input'"),
    case("evaluate-two-ports-wrong-name", lambda f: pair_net()({"Input": [1.0, 2.0], "Targte": [1.0, 2.0]}),
         PortError, "unknown port 'Targte'", "'Input', 'Target'", "did you mean 'Target'?"),
    case("evaluate-two-ports-missing", lambda f: pair_net()({"Input": [1.0, 2.0]}), PortError,
         "missing data for input port 'Target'"),
    case("evaluate-two-ports-not-a-dict", lambda f: pair_net()([1.0, 2.0]), NetTypeError,
         "'Input', 'Target'", "dict keyed by port name"),
    case("evaluate-batches-of-two-lengths",
         lambda f: pair_net()({"Input": np.zeros((3, 2)), "Target": np.zeros((4, 2))}),
         ShapeError, "different lengths", "'Input': 3", "'Target': 4"),
    case("evaluate-strings", lambda f: trained_classifier()(["a", "b"]), DataError,
         "port 'Input'", "cannot read numeric data", "a vector of length 2"),
    case("evaluate-wrong-length", lambda f: trained_classifier()([1.0, 2.0, 3.0]), ShapeError,
         "port 'Input'", "(3,)", "a vector of length 2"),
    case("evaluate-batch-of-wrong-length", lambda f: trained_classifier()(np.zeros((4, 3))), ShapeError,
         "port 'Input'", "(4, 3)", "a vector of length 2"),
    case("evaluate-unknown-property", lambda f: trained_classifier()([1.0, 2.0], "Foo"), PortError,
         "unknown output 'Foo'", "'Output'"),
    case("evaluate-probabilities-without-decoder",
         lambda f: NetInitialize(regressor(), random_seed=0)([1.0, 2.0], "Probabilities"), PortError,
         "has no class decoder", "'Probabilities'"),
    case("decoder-given-nan", lambda f: trained_classifier()([np.nan, 1.0]), DataError,
         "port 'Output'", "class probabilities are [nan nan]", "NaN or an infinite value"),
    case("decoder-given-inf-in-a-batch", lambda f: trained_classifier()([[0.0, 1.0], [np.inf, 1.0]]), DataError,
         "no class is the most probable", "example 1 (0-based) of 2"),
    case("boolean-decoder-given-nan",
         lambda f: NetInitialize(NetChain([LinearLayer("Real"), "LogisticSigmoid"], input=2,
                                          output=NetDecoder("Boolean")),
                                 random_seed=0)([np.nan, 0.0]), DataError, "port 'Output'", "probability is nan",
         "neither True nor False"),
    case("encoder-unknown-label",
         lambda f: NetInitialize(NetChain([2], input=NetEncoder("Class", ["cat", "dog"])), random_seed=0)("cta"),
         DataError, "'cta' is not one of the classes ['cat', 'dog']", "did you mean 'cat'?"),
    case("encoder-unknown-label-in-a-batch",
         lambda f: NetInitialize(NetChain([2], input=NetEncoder("Class", ["cat", "dog"])), random_seed=0)(
             ["cat", "dog", "bird"]), DataError, "'bird' is not one of the classes", "example 2 (0-based) of 3"),
    case("encoder-unknown-character", lambda f: NetEncoder("Characters", "ab").encode("abc", "Input"), DataError,
         "port 'Input'", "character 'c'", "'ab'"),
    case("integer-port-given-fractions",
         lambda f: NetInitialize(NetChain([2], input="Integer"), random_seed=0)(1.5), DataError,
         "expected integers", "1.5"),
    # ---------------------------------------------------------------- NetInitialize, NetExtract, NetTake
    case("initialize-seed-string", lambda f: NetInitialize(regressor(), random_seed="abc"), ParameterError,
         "NetInitialize", "random_seed", "'abc'", "None or an int >= 0"),
    case("initialize-seed-negative", lambda f: NetInitialize(regressor(), random_seed=-1), ParameterError,
         "random_seed", "-1", "None or an int >= 0"),
    case("initialize-seed-fraction", lambda f: NetInitialize(regressor(), random_seed=1.5), ParameterError,
         "random_seed", "1.5", "an int >= 0"),
    case("initialize-seed-bool", lambda f: NetInitialize(regressor(), random_seed=True), ParameterError,
         "random_seed", "True", "a bool"),
    case("initialize-seed-list", lambda f: NetInitialize(regressor(), random_seed=[1, 2]), ParameterError,
         "random_seed", "[1, 2]"),
    case("initialize-not-a-net", lambda f: NetInitialize("net"), NetTypeError, "expected a layer or net", "str"),
    case("extract-unknown-layer", lambda f: NetExtract(trained_classifier(), "zz"), PortError,
         "no layer named 'zz'", "'1', '2'"),
    case("extract-position-out-of-range", lambda f: NetExtract(trained_classifier(), 5), PortError,
         "position 5 is out of range", "2 layers"),
    case("extract-misspelled-parameter", lambda f: NetExtract(trained_classifier(), "1", "Wieghts"), PortError,
         "no part 'Wieghts'", "'Weights'"),
    case("extract-uninitialized-parameter", lambda f: regressor()["1", "Weights"], PortError,
         "'Weights' is not initialized"),
    case("take-unknown-port", lambda f: NetTake(trained_classifier(), "Nope"), PortError,
         "'Nope' is not a port", "'Output'"),
    case("take-of-a-layer", lambda f: NetTake(LinearLayer(2), "Output"), NetTypeError,
         "expected a NetGraph or NetChain", "LinearLayer"),
    # ---------------------------------------------------------------- save and load
    case("load-npy", lambda f: lossviz.load(f.npy), DataError,
         "array.npy", "single numpy array (.npy", "net.save"),
    case("load-text-file", lambda f: lossviz.load(f.text), DataError, "notes.txt", "not a .npz archive"),
    case("load-empty-file", lambda f: lossviz.load(f.empty), DataError, "empty.npz", "empty (0 bytes)"),
    case("load-zip-member-not-npy", lambda f: lossviz.load(f.fake_member), DataError,
         "its member '__lossviz__' is not a numpy array"),
    case("load-truncated", lambda f: lossviz.load(f.truncated), DataError,
         "truncated.npz is not a readable lossviz net file"),
    case("load-npz-without-structure", lambda f: lossviz.load(f.plain_npz), DataError,
         "no lossviz structure record", "'a'"),
    case("load-pickled-objects", lambda f: lossviz.load(f.pickled), DataError,
         "pickled Python objects", "never loads"),
    case("load-missing-file", lambda f: lossviz.load(f.missing), DataError, "there is no file", "nope.npz"),
    case("load-none", lambda f: lossviz.load(None), NetTypeError, "load: path must be a file name", "None"),
    case("load-a-number", lambda f: lossviz.load(3), NetTypeError, "path must be a file name", "3"),
    case("load-a-directory", lambda f: lossviz.load(f.folder), ParameterError, "is a directory"),
    case("load-structure-not-json", lambda f: lossviz.load(f.tampered(None, raw=b"{not json")), DataError,
         "structure record is not valid JSON"),
    case("load-wrong-format-tag", lambda f: lossviz.load(f.tampered(lambda d: d.update(format="x"))), DataError,
         "wrong format tag", "'lossviz-net'"),
    case("load-wrong-version", lambda f: lossviz.load(f.tampered(lambda d: d.update(version=7))), DataError,
         "version 7", "reads version 1"),
    case("load-no-net-entry", lambda f: lossviz.load(f.tampered(lambda d: d.pop("net"))), DataError,
         "no 'net' entry"),
    case("load-edge-to-unknown-layer",
         lambda f: lossviz.load(f.tampered(set_edges([["zz", "Input", "1", "Output"]]))), DataError,
         "names layer 'zz'", "not one of its layers '1', '2'"),
    case("load-edge-too-short", lambda f: lossviz.load(f.tampered(set_edges([["1", "Input"]]))), DataError,
         "['1', 'Input']", "expected a list of 4 strings"),
    case("load-edges-not-a-list", lambda f: lossviz.load(f.tampered(set_edges("zz"))), DataError,
         "the 'edges' entry at top is a str, expected a list"),
    case("load-unknown-layer-type",
         lambda f: lossviz.load(f.tampered(lambda d: d["net"]["layers"]["1"].update(type="os.system"))), DataError,
         "unknown layer type 'os.system' at /1"),
    case("load-bad-config",
         lambda f: lossviz.load(f.tampered(lambda d: d["net"]["layers"]["1"].update(config={"bogus": 1}))),
         DataError, "bad LinearLayer at /1", "'bogus'"),
    case("load-missing-array",
         lambda f: lossviz.load(f.tampered(lambda d: d["net"]["layers"]["1"]["params"].update(Weights="a404"))),
         DataError, "missing array 'a404' for /1/Weights"),
    case("load-layer-without-ports",
         lambda f: lossviz.load(f.tampered(lambda d: d["net"]["layers"]["1"].pop("inputs"))), DataError,
         "the record at /1 has no 'inputs' entry"),
    case("save-to-a-directory", lambda f: trained_classifier().save(f.folder), ParameterError,
         "is a directory", "net.npz"),
    case("save-to-a-missing-folder", lambda f: trained_classifier().save(f.folder / "no" / "net.npz"),
         ParameterError, "the folder", "does not exist"),
    case("save-to-none", lambda f: trained_classifier().save(None), NetTypeError,
         "save: path must be a file name", "None"),
    case("save-a-lambda", lambda f: NetChain([2, ElementwiseLayer(lambda x: x)], input=2).save(f.folder / "l.npz"),
         NetTypeError, "cannot save ElementwiseLayer", "Python function"),
    case("save-not-a-net", lambda f: lossviz.net.serialize.save("net", f.folder / "s.npz"), NetTypeError,
         "save: expected a layer or net", "str"),
    # ---------------------------------------------------------------- losses
    case("loss-registry-misspelled", lambda f: get("hubr"), ParameterError, "'hubr'", "huber"),
    case("loss-negative-option", lambda f: get("huber", rho=-1), ParameterError, "rho", "-1"),
    case("loss-unknown-option", lambda f: get("huber", bogus=1), ParameterError, "'bogus'"),
    case("loss-target-length", lambda f: get("mse", input=3, target=4), ShapeError,
         "port 'Target' is a vector of length 4"),
    case("loss-unknown-cross-entropy-kind", lambda f: CrossEntropyLossLayer("Indx"), ParameterError, "'Indx'"),
    case("loss-class-index-out-of-range",
         lambda f: get("softmax_ce", input=4)({"Input": [1.0, 2.0, 3.0, 4.0], "Target": 4}), DataError,
         "class indices 0 .. 3", "got 4"),
    case("loss-class-weights-mismatch",
         lambda f: get("cross_entropy", class_weights=[1, 2])({"Input": [0.2, 0.3, 0.5], "Target": 0}),
         ParameterError, "'class_weights' has 2 entries", "3 classes"),
    case("loss-boolean-target-nested-unevenly", lambda f: get("contrastive")({"Input": 0.5, "Target": [1, [2, 3]]}),
         DataError, "port 'Target'", "cannot read numeric data from [1, [2, 3]]"),
    # ---------------------------------------------------------------- NetTrain: data
    case("train-data-a-string", lambda f: train(classifier(), "data"), DataError,
         "expected a dict {port: examples}", "str"),
    case("train-lengths-differ", lambda f: train(classifier(), (X, LABELS[:-1])), DataError,
         "different numbers of examples", "'Input': 40", "'Output': 39"),
    case("train-label-typo-first", lambda f: train(classifier(), (X, with_label(LABELS, 0, "Lesss"))), DataError,
         "port 'Output'", "'Lesss' is not one of the classes ['Less', 'Greater']", "example 0 (0-based)",
         "did you mean 'Less'?"),
    case("train-label-typo-within-50", lambda f: train(classifier(), (X, with_label(LABELS, 3, "Lesss"))), DataError,
         "'Lesss' is not one of the classes", "example 3 (0-based) of 40"),
    case("train-label-typo-past-50",
         lambda f: train(classifier(), (np.vstack([X] * 2), with_label(LABELS * 2, 70, "greater"))), DataError,
         "'greater' is not one of the classes", "example 70 (0-based) of 80", "did you mean 'Greater'?"),
    case("train-labels-all-lowercase",
         lambda f: train(classifier(), (X, [lab.lower() for lab in LABELS])), DataError,
         "'greater' is not one of the classes", "example 0"),
    case("train-label-typo-in-validation",
         lambda f: train(classifier(), (X, LABELS), validation_set=(X, with_label(LABELS, 2, "Lesss"))), DataError,
         "validation_set: port 'Output'", "'Lesss' is not one of the classes", "example 2 (0-based)"),
    case("train-validation-wrong-width", lambda f: train(regressor(), (X, Y), validation_set=(X[:, :1], Y)),
         ShapeError, "validation_set: port 'Input'", "(1,)", "a vector of length 2"),
    case("train-label-none", lambda f: train(classifier(), (X, with_label(LABELS, 5, None))), DataError,
         "None is not one of the classes", "example 5"),
    case("train-nan-input", lambda f: train(classifier(), (with_value(X, (5, 1), np.nan), LABELS)), DataError,
         "port 'Input'", "example 5 (0-based)", "nan", "position [1]", "finite numbers"),
    case("train-inf-input", lambda f: train(regressor(), (with_value(X, (7, 0), np.inf), Y)), DataError,
         "port 'Input'", "example 7", "inf"),
    case("train-several-nan-inputs", lambda f: train(regressor(), (with_value(X, [2, 9, 30], np.nan), Y)),
         DataError, "example 2 (0-based)", "3 of the 40 examples"),
    case("train-nan-target", lambda f: train(regressor(), (X, with_value(Y, (11, 0), np.nan))), DataError,
         "port 'Output'", "example 11", "nan"),
    case("train-nan-validation",
         lambda f: train(regressor(), (X, Y), validation_set=(with_value(X, (1, 1), -np.inf), Y)), DataError,
         "validation_set", "port 'Input'", "example 1", "-inf"),
    case("train-nan-weight",
         lambda f: train(regressor(), {"Input": X, "Output": Y, "Weight": with_value(np.ones(40), 4, np.nan)},
                         loss_function=MeanSquaredLossLayer()), DataError, "port 'Weight'", "example 4"),
    case("train-unknown-data-port", lambda f: train(regressor(), {"Input": X, "Output": Y, "Outptu": Y}), PortError,
         "'Outptu'", "'Input', 'Output'"),
    case("train-missing-target", lambda f: train(regressor(), {"Input": X}), PortError,
         "no data for 'Output'", "the target"),
    case("train-missing-input", lambda f: train(regressor(), {"Output": Y}), PortError,
         "no data for the net's input port 'Input'"),
    case("train-class-index-out-of-range", lambda f: train(classifier(), (X, np.full(40, 2))), DataError,
         "class indices must be in 0..1", "from 2 to 2"),
    case("train-fractional-class-indices", lambda f: train(classifier(), (X, np.full(40, 0.5))), DataError,
         "port 'Output'", "fractional"),
    case("train-no-examples", lambda f: train(regressor(), (np.zeros((0, 2)), np.zeros((0, 1)))), DataError,
         "no examples"),
    case("train-wrong-input-width", lambda f: train(regressor(), (np.zeros((40, 3)), Y)), ShapeError,
         "port 'Input'", "(3,)", "a vector of length 2"),
    case("train-one-example-not-a-list", lambda f: train(regressor(), (X[0], Y[0])), ShapeError,
         "port 'Input'", "got one example", "a list of examples"),
    case("train-validation-fraction-too-big", lambda f: train(regressor(), (X, Y), validation_set=Scaled(1.5)),
         ParameterError, "Scaled", "1.5"),
    case("train-validation-not-data", lambda f: train(regressor(), (X, Y), validation_set="some"), DataError,
         "validation_set", "expected a dict"),
    case("train-data-list-of-lists", lambda f: train(LinearLayer(), [[1, 1.9], [2, 4.1], [3, 6.0]]), DataError,
         "a list of lists", "write each example as a tuple (input, target)"),
    case("train-data-list-of-inputs-and-targets", lambda f: train(LinearLayer(), [[1, 2, 3], [1.9, 4.1, 6.0]]),
         DataError, "a list of two lists", "(inputs, targets) as a tuple"),
    case("train-data-one-array", lambda f: train(regressor(), np.hstack([X, Y])), DataError,
         "one array of shape (40, 3)", "holds no targets", "(inputs, targets)"),
    case("train-data-empty-list", lambda f: train(regressor(), []), DataError, "an empty list (no examples)"),
    case("train-string-targets-without-a-decoder",
         lambda f: train(NetChain([LinearLayer(2), SoftmaxLayer()], input=2), (X, LABELS)), DataError,
         "port 'Output'", "example 0 (0-based), which holds 'Greater'", "NetDecoder('Class', labels)"),
    case("train-a-number-that-is-a-string", lambda f: train(LinearLayer(), [(1, 2.0), (2, "a")]), DataError,
         "port 'Output'", "example 1 (0-based), which holds 'a'", "expected numbers"),
    case("train-numbers-written-as-text", lambda f: train(regressor(), (X, Y.astype(str))), DataError,
         "port 'Output'", "text: example 0 (0-based) is", "numbers written as strings", "dtype=float"),
    case("train-weights-of-the-wrong-width",
         lambda f: train(classifier(), {"Input": X, "Output": LABELS, "Weight": np.ones((40, 2))}), ShapeError,
         "port 'Weight'", "(2,) per example", "one weight per example (an array of shape (n,))",
         "(a scalar, an array of shape (n,))"),
    case("train-class-indices-counted-from-one",
         lambda f: train(NetChain([LinearLayer(2), SoftmaxLayer()], input=2), (X, np.r_[np.ones(20), np.full(20, 2)])),
         DataError, "0..1 (0-based)", "from 1 to 2", "counted from 1", "subtract 1"),
    case("loss-class-index-counted-from-one",
         lambda f: CrossEntropyLossLayer("Index")({"Input": [0.1, 0.2, 0.7], "Target": 3}), DataError,
         "0 .. 2 (0-based) for 3 classes", "got 3", "counted from 1 (as Wolfram counts, 1 .. 3)"),
    case("train-loss-without-a-target-given-targets",
         lambda f: train(classifier(), (X, LABELS), loss_function=SoftmaxLayer()), PortError,
         "port 'Output' is not used", "SoftmaxLayer, has no 'Target' port", "is it the loss you meant?"),
    case("train-loss-a-layer-class", lambda f: train(regressor(), (X, Y), loss_function=MeanSquaredLossLayer),
         SpecError, "loss_function", "did you mean MeanSquaredLossLayer() (with parentheses)?"),
    case("train-loss-a-python-function",
         lambda f: train(regressor(), (X, Y), loss_function=lambda a, b: (a - b) ** 2), SpecError,
         "loss_function", "a Python function is not a loss layer", "lossviz.losses.register"),
    case("train-property-typo", lambda f: NetTrain(regressor(), (X, Y), "TrainedNett", **QUIET), ParameterError,
         "unknown property 'TrainedNett'", "did you mean 'TrainedNet'?"),
    # ---------------------------------------------------------------- NetTrain: options
    case("train-net-a-string", lambda f: train("net", (X, Y)), NetTypeError, "net must be a lossviz net", "str"),
    case("train-unknown-property", lambda f: NetTrain(regressor(), (X, Y), "Loss", **QUIET), ParameterError,
         "unknown property 'Loss'", "'All'"),
    case("train-batch-size-zero", lambda f: train(regressor(), (X, Y), batch_size=0), ParameterError,
         "batch_size", "0", "int >= 1"),
    case("train-batch-size-fraction", lambda f: train(regressor(), (X, Y), batch_size=2.5), ParameterError,
         "batch_size", "2.5"),
    case("train-learning-rate-negative", lambda f: train(regressor(), (X, Y), learning_rate=-1), ParameterError,
         "learning_rate", "-1", "positive"),
    case("train-learning-rate-nan", lambda f: train(regressor(), (X, Y), learning_rate=math.nan), ParameterError,
         "learning_rate", "nan"),
    case("train-rounds-fraction", lambda f: train(regressor(), (X, Y), max_training_rounds=1.5), ParameterError,
         "max_training_rounds", "1.5"),
    case("train-unknown-method", lambda f: train(regressor(), (X, Y), method="Adamm"), ParameterError,
         "'Adamm'", "ADAM"),
    case("train-unknown-progress", lambda f: NetTrain(regressor(), (X, Y), max_training_rounds=1, progress="yes"),
         ParameterError, "progress", "'yes'"),
    case("train-callback-not-callable", lambda f: train(regressor(), (X, Y), callbacks=3), NetTypeError,
         "callbacks", "3"),
    case("train-unknown-precision", lambda f: train(regressor(), (X, Y), working_precision="Real16"), ParameterError,
         "working_precision", "'Real16'"),
    case("train-unknown-schedule", lambda f: train(regressor(), (X, Y), learning_rate_schedule="Cos"),
         ParameterError, "learning_rate_schedule", "'Cos'"),
    case("train-time-goal-negative", lambda f: NetTrain(regressor(), (X, Y), time_goal=-1, progress=None),
         ParameterError, "time_goal", "-1"),
    case("train-l2-a-string", lambda f: train(regressor(), (X, Y), l2_regularization="x"), ParameterError,
         "l2_regularization", "'x'"),
    case("train-stopping-unknown-key",
         lambda f: train(regressor(), (X, Y), training_stopping_criterion={"patient": 2}), ParameterError,
         "training_stopping_criterion", "'patient'", "'patience'"),
    case("train-loss-registry-name", lambda f: train(regressor(), (X, Y), loss_function="huber"), SpecError,
         "'huber'", "port"),
    case("train-loss-unknown-port", lambda f: train(regressor(), (X, Y), loss_function=("Nope", Automatic)),
         SpecError, "'Nope'", "'Output'"),
    case("train-loss-a-number", lambda f: train(regressor(), (X, Y), loss_function=3), SpecError,
         "loss_function", "3"),
    # the training session's own checks (the lead's list in issue 14)
    case("train-seed-string", lambda f: train(regressor(), (X, Y), random_seed="abc"), ParameterError,
         "NetTrain", "random_seed", "'abc'", "None or an int >= 0"),
    case("train-seed-negative", lambda f: train(regressor(), (X, Y), random_seed=-1), ParameterError,
         "random_seed", "-1"),
    case("train-seed-fraction", lambda f: train(regressor(), (X, Y), random_seed=1.5), ParameterError,
         "random_seed", "1.5"),
    case("train-stopping-min-delta-string",
         lambda f: train(regressor(), (X, Y), training_stopping_criterion={"patience": 2, "min_delta": "x"}),
         ParameterError, "min_delta", "'x'"),
    case("train-unknown-keyword-epochs", lambda f: train(regressor(), (X, Y), epochs=3), (ParameterError, NetTypeError),
         "'epochs'", "max_training_rounds"),
    case("train-linear-layer-as-loss", lambda f: train(regressor(), (X, Y), loss_function=LinearLayer(1)), SpecError,
         "LinearLayer", "not a loss"),
]
# MSE on a class-decoder net is not bad input: the labels reach the loss as unit vectors
# (tests/train/test_class_targets.py).


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return Files(tmp_path_factory.mktemp("bad_files"))


def test_the_catalogue_is_large():
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("call, error, words", CASES)
def test_bad_input(files, call, error, words):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a case must fail by its error, not pass through a warning
        with pytest.raises(LossvizError) as caught:
            call(files)
    err = caught.value
    assert isinstance(err, error), f"{type(err).__name__}: {err}"
    assert isinstance(err, (ValueError, TypeError))
    message = str(err)
    for word in words:
        assert word in message, f"{word!r} is not in the message: {message}"
    assert "allow_pickle" not in message  # lossviz never suggests unpickling


def test_a_missing_file_is_also_a_file_not_found_error(files):
    with pytest.raises(FileNotFoundError) as caught:
        lossviz.load(files.missing)
    assert isinstance(caught.value, DataError)


def test_a_nan_input_still_has_nan_probabilities():
    """Only the label refuses NaN: the probabilities show the raw values."""
    probs = trained_classifier()([np.nan, 1.0], "Probabilities")
    assert set(probs) == {"Less", "Greater"} and all(math.isnan(p) for p in probs.values())


def test_labels_are_read_when_they_are_all_right():
    """The label checks do not refuse good data: 40 labels train."""
    net = train(classifier(), (X, LABELS), random_seed=0)
    assert net([0.1, 0.9]) in ("Less", "Greater")


def test_numeric_targets_of_a_decoder_net_stay_indices():
    """Integer targets of a class-decoder net are class indices, not labels."""
    net = train(classifier(), (X, np.array([lab == "Greater" for lab in LABELS], dtype=int)), random_seed=0)
    assert net([0.5, -0.5]) in ("Less", "Greater")


def test_integer_labels_with_a_string_among_them_are_refused():
    net = NetChain([LinearLayer(3), SoftmaxLayer()], input=2, output=NetDecoder("Class", [10, 20, 30]))
    with pytest.raises(DataError, match=r"'20' is not one of the classes \[10, 20, 30\].*example 1"):
        train(net, (X[:3], [10, "20", 30]))


# ---------------------------------------------------------------- random bad input through NetTrain
#: loss specs: right ones (Automatic most often), wrong ones, and junk
LOSSES = [
    Automatic, Automatic, Automatic, "Output", ("Output", Automatic), {"Output": Automatic},
    MeanSquaredLossLayer(), CrossEntropyLossLayer("Index"), CrossEntropyLossLayer("Probabilities"),
    CrossEntropyLossLayer("Binary"), get("huber"), get("mae"), get("hinge"), get("kl_div"), get("gll"),
    get("mmd"), get("logistic"), get("multiclass_hinge"), get("poisson_nll"), get("ctc"), get("triplet"),
    get("contrastive"), get("margin_ranking"), get("cosine_embedding"),
    (MeanSquaredLossLayer(), Scaled(2.0)), (MeanSquaredLossLayer(), Scaled(-1.0)), (get("mae"), Scaled(0)),
    [("Output", Automatic), ("Output", Scaled(0.5))], [MeanSquaredLossLayer(), get("mae")],
    "Loss", "Nope", "huber", None, 3, 2.5, [], (), {}, {"Nope": Automatic}, ("Output",), ("Output", "Output"),
    Scaled(2.0), SoftmaxLayer(), ElementwiseLayer("Tanh"), LinearLayer(1),
]

#: each option's values: mostly right, some wrong
OPTION_VALUES = {
    "batch_size": [1, 2, 64, np.int64(4), 0, -3, 2.5, "8", None, True],
    "learning_rate": [None, 0.1, 1e-6, 1e6, np.float32(0.01), 0, -1, math.inf, math.nan, "0.1", True],
    "method": ["ADAM", "SGD", "RMSProp", "SignSGD", ("SGD", {"momentum": 0.9}), "adam", "Nope", 3, None,
               ("SGD", {"bogus": 1}), ("ADAM", 3), ("ADAM",)],
    "random_seed": [None, 0, 7, np.int64(3), -1, 1.5, "abc", True, [1]],
    "working_precision": ["Real32", "Real64", "Real16", None, 32],
    "validation_set": [None, Scaled(0.25), Scaled(0.5), Scaled(0), Scaled(1), Scaled(-0.5), "x", 3, (), {}],
    "training_stopping_criterion": [None, 1, 2, {"patience": 2}, {"patience": 2, "min_delta": 0.1}, 0, -1, "x",
                                    1.5, {"patience": 0}, {"bogus": 1}, {"patience": "x"},
                                    {"patience": 2, "min_delta": "x"}, {"patience": 2, "min_delta": None}],
    "l2_regularization": [0.0, 0.1, -1.0, "x", None, math.nan],
    "gradient_clipping": [None, 1.0, 0, -1, "x", math.inf],
    "learning_rate_schedule": ["Cosine", "Linear", None, lambda p: 1 - p, "Nope", 3, lambda p: "x",
                               lambda p: -1.0, lambda p: math.nan],
    "callbacks": [(), [], lambda e: None, lambda e: "StopTraining", None, 3, [print, 3]],
    "max_training_rounds": [1, 2, np.int64(1), 0, -1, 1.5, "2", None],
    "batch": [3],  # not an option at all
}

#: how the examples or targets are spoiled (None: they are right)
SPOILS = [None, None, None, None, "nan", "inf", "columns", "rank", "empty", "strings", "object", "ragged",
          "bool", "one", "int"]


def _examples(draw, n, shape, spoil):
    """``n`` examples of ``shape`` (floats in [-1, 1]), or the same spoiled as ``spoil`` says."""
    x = draw(st.lists(st.floats(-1, 1), min_size=n * math.prod(shape), max_size=n * math.prod(shape)))
    x = np.array(x, dtype=float).reshape((n, *shape))
    if spoil in ("nan", "inf") and x.size:
        x.flat[draw(st.integers(0, x.size - 1))] = math.nan if spoil == "nan" else -math.inf
    elif spoil == "columns":
        x = np.zeros((n, *shape[:-1], shape[-1] + 1) if shape else (n, 2))
    elif spoil == "rank":
        x = x[..., None]
    elif spoil == "empty":
        x = x[:0]
    elif spoil == "strings":
        x = x.astype(str).tolist()
    elif spoil == "object":
        x = [object()] * n
    elif spoil == "ragged":
        x = [[0.0] * (i + 1) for i in range(n)]
    elif spoil == "bool":
        x = x > 0
    elif spoil == "one":
        x = x[0]
    elif spoil == "int":
        x = np.round(x * 3).astype(int)
    return x


def _targets(draw, kind, n, k, spoil):
    """Targets for a net of ``kind`` with ``k`` outputs: values, class indices, labels; or spoiled ones."""
    if kind == "decoder" and spoil is None:
        return draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    if kind == "decoder" and spoil == "strings":
        return draw(st.lists(st.sampled_from(["a", "b", "c", "A", None]), min_size=n, max_size=n))
    if kind == "softmax" and spoil is None:
        return np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=int)
    if kind == "softmax" and spoil == "int":
        return np.array(draw(st.lists(st.integers(-1, k), min_size=n, max_size=n)), dtype=int)
    return _examples(draw, n, (k,), spoil)


@st.composite
def training_calls(draw):
    """(net, data, loss_function, options) for a NetTrain call that may be right or wrong in any part."""
    kind = draw(st.sampled_from(["regression", "softmax", "decoder", "single"]))
    d, k = draw(st.integers(1, 3)), draw(st.integers(2, 3))
    if kind == "regression":
        net = NetChain([k, draw(st.sampled_from(["Tanh", "ReLU", "LogisticSigmoid"])), 1], input=d)
        k = 1
    elif kind == "softmax":
        net = NetChain([k, "Softmax"], input=d)
    elif kind == "decoder":
        net, k = NetChain([2, "Softmax"], input=d, output=NetDecoder("Class", ["a", "b"])), 2
    else:
        net = LinearLayer(k, input=d)
    n = draw(st.integers(1, 8))
    x = _examples(draw, n, (d,), draw(st.sampled_from(SPOILS)))
    y = _targets(draw, kind, n, k, draw(st.sampled_from(SPOILS)))
    form = draw(st.sampled_from(["pair", "pair", "dict", "pairs", "extra port", "misnamed port", "junk"]))
    if form == "pair":
        data = (x, y)
    elif form == "dict":
        data = {"Input": x, "Output": y}
    elif form == "pairs":
        data = list(zip(x, y)) if len(x) == len(y) and len(x) else [(x, y)]
    elif form == "extra port":
        data = {"Input": x, "Output": y, draw(st.sampled_from(["Weight", "Target", "Loss"])): np.ones(n)}
    elif form == "misnamed port":
        data = {"Inptu": x, "Output": y}
    else:
        data = draw(st.sampled_from(["data", None, 3, (), [], {}, (x,), (x, y, y)]))
    loss = draw(st.sampled_from(LOSSES))
    names = draw(st.lists(st.sampled_from(sorted(OPTION_VALUES)), max_size=2, unique=True))
    options = {name: draw(st.sampled_from(OPTION_VALUES[name])) for name in names}
    options.setdefault("max_training_rounds", 1)
    return net, data, loss, options


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(call=training_calls())
def test_only_lossviz_errors_escape_nettrain(call):
    """Random specs, data shapes and option values: NetTrain trains or raises a lossviz error, nothing else."""
    net, data, loss, options = call
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # divergence and stalled-training warnings are fine here
        try:
            NetTrain(net, data, loss_function=loss, progress=None, **options)
        except LossvizError as e:
            assert isinstance(e, (ValueError, TypeError)) and str(e)

