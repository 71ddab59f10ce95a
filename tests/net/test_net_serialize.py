"""save/load: exact round trips; bad files give a DataError, never code execution."""
import json
import zipfile

import autograd.numpy as anp
import numpy as np
import pytest

import lossviz
from lossviz import (
    CatenateLayer,
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetGraph,
    NetInitialize,
    NetPairEmbeddingOperator,
    NetPort,
    NetTake,
    SoftmaxLayer,
    SummationLayer,
    ThreadingLayer,
    TotalLayer,
)
from lossviz.errors import DataError, NetTypeError

KEY = "__lossviz__"


def leaves(params, prefix=()):
    if isinstance(params, dict):
        for k, v in params.items():
            yield from leaves(v, prefix + (k,))
    else:
        yield prefix, params


def assert_bit_equal(a, b):
    """The parameters of ``a`` and ``b`` have the same dtypes, shapes and bytes: save/load copies
    numbers, it computes none, so a round trip is exact on any machine."""
    la, lb = dict(leaves(a.params)), dict(leaves(b.params))
    assert la.keys() == lb.keys()
    for k in la:
        assert la[k].dtype == lb[k].dtype and la[k].shape == lb[k].shape, k
        assert la[k].tobytes() == lb[k].tobytes(), k


def round_trip(net, tmp_path, name="net.npz"):
    path = tmp_path / name
    net.save(path)
    back = lossviz.load(path)
    assert type(back) is type(net)
    assert back == net
    assert repr(back) == repr(net)
    assert back.inputs == net.inputs and back.outputs == net.outputs
    if net.initialized and net.params:
        assert_bit_equal(net, back)
    return back


def assert_same_outputs(a, b, data, prop=None):
    """``a`` and ``b`` give the same bits on ``data``: after a round trip they hold the same
    parameters and run the same products on the same shapes, so the comparison is exact."""
    x, y = a(data, prop), b(data, prop)
    if isinstance(x, dict):
        assert x.keys() == y.keys()
        for k in x:
            np.testing.assert_array_equal(x[k], y[k])
    elif isinstance(x, np.ndarray):
        np.testing.assert_array_equal(x, y)
    else:
        assert x == y


RNG = np.random.default_rng(0)
X2 = RNG.normal(size=(6, 2))


# ---------------------------------------------------------------- round trips
def test_chain_round_trip(tmp_path):
    net = NetInitialize(NetChain([8, "Tanh", 4, "GELU", LinearLayer("Real")], input=2), random_seed=3)
    back = round_trip(net, tmp_path)
    assert_same_outputs(net, back, X2)
    assert list(back.layers) == list(net.layers)
    assert back.order == net.order


def test_round_trip_after_changing_parameters(tmp_path):
    net = NetInitialize(NetChain([3], input=2), random_seed=0)
    w = net["1", "Weights"]
    w[0, 0] = np.nextafter(1.0, 2.0)  # a value that a decimal text format would round
    net = net.with_params({"1": {"Weights": w, "Biases": np.array([1e-300, -0.0, np.pi])}})
    back = round_trip(net, tmp_path)
    assert back["1", "Weights"][0, 0] == np.nextafter(1.0, 2.0)
    assert np.signbit(back["1", "Biases"][1])


def test_graph_round_trip(tmp_path):
    net = NetGraph(
        {"lin": LinearLayer(4), "tanh": "Tanh", "sin": "Sin", "cat": CatenateLayer(inputs=3),
         "tot": TotalLayer(), "sum": SummationLayer(), "soft": SoftmaxLayer()},
        [("lin", "tanh"), ("lin", "sin"), (["tanh", "sin", "lin"], "cat", "soft", NetPort("Probs")),
         (NetPort("Other"), NetPort("tot", "Input1")), ("lin", NetPort("tot", "Input2")), ("tot", "sum", NetPort("S"))],
        input=2,
    )
    net = NetInitialize(net, random_seed=1)
    back = round_trip(net, tmp_path)
    assert back._in_edges == net._in_edges and back._out_map == net._out_map
    data = {"Input": X2, "Other": RNG.normal(size=(6, 4))}
    assert_same_outputs(net, back, data)


def test_nested_nets_round_trip(tmp_path):
    inner = NetChain({"h": 3, "a": "Swish"}, input=2)
    graph = NetGraph({"enc": inner, "head": LinearLayer(2), "skip": LinearLayer(2), "t": TotalLayer()},
                     [("enc", "head"), (NetPort("Input"), "skip"), (["head", "skip"], "t")], input=2)
    net = NetInitialize(NetChain({"g": graph, "out": "Softmax"}), random_seed=5)
    back = round_trip(net, tmp_path)
    assert isinstance(back["g", "enc"], NetChain)
    assert_same_outputs(net, back, X2)


def test_classifier_with_decoder_round_trip(tmp_path):
    net = NetChain([4, "Tanh", 2, "Softmax"], input=2, output=NetDecoder("Class", ["Less", "Greater"]))
    net = NetInitialize(net, random_seed=2)
    back = round_trip(net, tmp_path)
    assert back.outputs["Output"].coder == NetDecoder("Class", ["Less", "Greater"])
    assert_same_outputs(net, back, X2)
    assert_same_outputs(net, back, X2, "Probabilities")


def test_encoders_round_trip(tmp_path):
    enc = NetEncoder("Class", ["x", "y", "z"], output="UnitVector")
    net = NetInitialize(NetChain([LinearLayer(2)], input=enc), random_seed=0)
    back = round_trip(net, tmp_path, "class.npz")
    assert_same_outputs(net, back, ["x", "z", "y"])
    chars = NetChain([SummationLayer()], input=NetEncoder("Characters", "abc d", output="UnitVector"))
    back = round_trip(chars, tmp_path, "chars.npz")
    assert back.inputs["Input"].coder == NetEncoder("Characters", "abc d", output="UnitVector")
    assert_same_outputs(chars, back, ["ab d", "c"])
    integer_labels = NetChain([2, "Softmax"], input=2, output=NetDecoder("Class", [10, 20]))
    back = round_trip(NetInitialize(integer_labels, random_seed=0), tmp_path, "ints.npz")
    assert back.outputs["Output"].coder.labels == [10, 20]


@pytest.mark.parametrize("distance", ["EuclideanDistance", "CosineDistance"])
def test_pair_embedding_round_trip(tmp_path, distance):
    op = NetInitialize(NetPairEmbeddingOperator(NetChain([3, "Tanh", 2], input=2), distance=distance), random_seed=4)
    back = round_trip(op, tmp_path)
    assert back.distance == distance
    assert_same_outputs(op, back, {"Input1": X2, "Input2": X2[::-1]})


def test_uninitialized_net_round_trip(tmp_path):
    net = NetChain([3, "Tanh", LinearLayer("Real"), "Sigmoid"], input=(2, 2))
    back = round_trip(net, tmp_path)
    assert not back.initialized
    assert back.parameter_count == net.parameter_count


def test_single_layer_round_trip(tmp_path):
    layer = NetInitialize(LinearLayer((2, 3), input="Real"), random_seed=0)
    back = round_trip(layer, tmp_path)
    np.testing.assert_array_equal(back(1.5), layer(1.5))  # same parameters, same products: exact


def test_save_accepts_str_paths(tmp_path):
    net = NetChain(["Tanh"], input=2)
    net.save(str(tmp_path / "a.npz"))
    assert lossviz.load(str(tmp_path / "a.npz")) == net


def test_take_then_save_a_net_that_had_a_lambda(tmp_path):
    loss = ThreadingLayer(lambda a, b: (a - b) ** 2, inputs=["Input", "Target"])
    net = NetInitialize(NetGraph({"eval": NetChain([2], input=2), "loss": loss},
                                 [("eval", NetPort("loss", "Input")), ("eval", NetPort("Output")),
                                  ("loss", NetPort("Loss"))]),
                        random_seed=0)
    round_trip(NetTake(net, "Output"), tmp_path)


# ---------------------------------------------------------------- unsaveable nets
def test_python_lambda_cannot_be_saved(tmp_path):
    net = NetGraph({"eval": NetChain([2], input=2),
                    "loss": ThreadingLayer(lambda a, b: (a - b) ** 2, inputs=["Input", "Target"])},
                   [("eval", NetPort("loss", "Input"))])
    path = tmp_path / "net.npz"
    with pytest.raises(NetTypeError, match=r"cannot save ThreadingLayer at /loss: it holds a Python function <lambda>; only functions given by name"):
        net.save(path)
    assert not path.exists()


def test_custom_elementwise_function_cannot_be_saved(tmp_path):
    def bump(x):
        return anp.tanh(x) + 0.1 * x

    net = NetChain([3, ElementwiseLayer(bump)], input=2)
    with pytest.raises(NetTypeError, match=r"cannot save ElementwiseLayer at /2: it holds a Python function.*bump"):
        net.save(tmp_path / "net.npz")


def test_save_needs_a_net(tmp_path):
    from lossviz.net.serialize import save

    with pytest.raises(NetTypeError, match="save: expected a layer or net"):
        save({"not": "a net"}, tmp_path / "x.npz")


# ---------------------------------------------------------------- bad files
@pytest.fixture
def saved(tmp_path):
    """A valid saved net and its parts: (path, arrays, doc)."""
    net = NetInitialize(NetChain([3, "Tanh", 2, "Softmax"], input=2, output=NetDecoder("Class", ["a", "b"])),
                        random_seed=0)
    path = tmp_path / "good.npz"
    net.save(path)
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    doc = json.loads(arrays[KEY].tobytes().decode("utf-8"))
    return path, arrays, doc


def write(path, arrays, doc=None, raw=None):
    arrays = dict(arrays)
    if doc is not None:
        raw = json.dumps(doc).encode("utf-8")
    if raw is not None:
        arrays[KEY] = np.frombuffer(raw, dtype=np.uint8)
    np.savez(path, **arrays)
    return path


def test_the_fixture_file_is_good(saved):
    path, arrays, doc = saved
    assert doc["format"] == "lossviz-net" and doc["version"] == 1
    assert isinstance(lossviz.load(write(path.with_name("copy.npz"), arrays, doc)), NetChain)


def test_file_of_garbage(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"this is not a zip file at all" * 10)
    with pytest.raises(DataError, match=r"garbage.npz is not a readable lossviz net file"):
        lossviz.load(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="not a readable lossviz net file"):
        lossviz.load(path)


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.9, 0.99])
def test_truncated_file(saved, fraction):
    path, _, _ = saved
    data = path.read_bytes()
    cut = path.with_name("cut.npz")
    cut.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(DataError, match="not a readable lossviz net file"):
        lossviz.load(cut)


def test_npz_without_structure(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(DataError, match="it has no lossviz structure record"):
        lossviz.load(path)


def test_structure_that_is_not_json(saved):
    path, arrays, _ = saved
    write(path, arrays, raw=b"{not json")
    with pytest.raises(DataError, match="its structure record is not valid JSON"):
        lossviz.load(path)
    write(path, arrays, raw=b"\xff\xfe\x00")
    with pytest.raises(DataError, match="its structure record is not valid JSON"):
        lossviz.load(path)


def test_deeply_nested_json(saved):
    path, arrays, _ = saved
    write(path, arrays, raw=b"[" * 200_000 + b"]" * 200_000)
    with pytest.raises(DataError, match="not a readable lossviz net file"):
        lossviz.load(path)


@pytest.mark.parametrize("depth", [100, 300, 450, 600, 5000])
def test_deeply_nested_layers(saved, depth):
    """Graphs nested deeper than Python recurses load or give a DataError, never a RecursionError."""
    path, arrays, doc = saved
    # written as text: json.dumps itself cannot nest this deep
    head = '{"type": "NetChain", "inputs": {}, "outputs": {}, "layers": {"1": '
    tail = '}, "edges": [], "graph_outputs": [["Output", "1", "Output"]]}'
    net_json = head * depth + json.dumps(doc["net"]) + tail * depth
    raw = '{"format": "lossviz-net", "version": 1, "net": ' + net_json + "}"
    write(path, arrays, raw=raw.encode("utf-8"))
    try:
        net = lossviz.load(path)
    except DataError as e:
        assert "not a readable lossviz net file" in str(e)
        assert depth > 300, e  # shallower ones are fine
    else:
        assert depth <= 600
        if depth <= 100:
            assert net(np.zeros(2)) in ("a", "b")


def test_wrong_format_tag(saved):
    path, arrays, doc = saved
    write(path, arrays, dict(doc, format="something-else"))
    with pytest.raises(DataError, match="wrong format tag"):
        lossviz.load(path)
    write(path, arrays, raw=b"[1, 2, 3]")
    with pytest.raises(DataError, match="wrong format tag"):
        lossviz.load(path)


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_wrong_version(saved, version):
    path, arrays, doc = saved
    write(path, arrays, dict(doc, version=version))
    with pytest.raises(DataError, match=f"version {version!r}, this lossviz reads version 1"):
        lossviz.load(path)


@pytest.mark.parametrize("bad_type", ["os.system", "eval", "__import__", "NetPort", "Layer", "", None, 3, ["LinearLayer"]])
def test_unknown_layer_type(saved, bad_type):
    path, arrays, doc = saved
    doc["net"]["layers"]["2"]["type"] = bad_type
    write(path, arrays, doc)
    with pytest.raises(DataError, match="not a readable lossviz net file"):
        lossviz.load(path)


def test_unknown_top_level_type(saved):
    path, arrays, doc = saved
    doc["net"]["type"] = "os.system"
    write(path, arrays, doc)
    with pytest.raises(DataError, match="unknown layer type 'os.system' at top"):
        lossviz.load(path)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["net"]["layers"]["1"].update(config={"n": "rm -rf /"}),
        lambda d: d["net"]["layers"]["1"].update(config={"bogus": 1}),
        lambda d: d["net"]["layers"]["1"].update(config=[1, 2]),
        lambda d: d["net"]["layers"]["2"].update(config={"f": "__import__('os').system('true')"}),
        lambda d: d["net"]["layers"]["2"].update(config={"f": {"nested": 1}}),
        lambda d: d["net"]["layers"]["1"]["params"].update(Weights="a404"),
        lambda d: d["net"]["layers"]["1"]["params"].update(Weights=d["net"]["layers"]["3"]["params"]["Weights"]),
        lambda d: d["net"]["layers"]["1"].update(inputs={"Input": {"dims": [-1], "kind": "Real", "coder": None}}),
        lambda d: d["net"]["layers"]["1"].update(inputs={"Input": {"dims": [5], "kind": "Real", "coder": None}}),
        lambda d: d["net"]["layers"]["1"].update(inputs={"Input": {"dims": [2], "kind": "Complex"}}),
        lambda d: d["net"]["outputs"]["Output"].update(coder={"class": "os.system", "type": "Class"}),
        lambda d: d["net"]["outputs"]["Output"].update(coder={"class": "NetDecoder", "type": "Class", "labels": ["a"]}),
        lambda d: d["net"].update(edges=[["1", "Input"]]),
        lambda d: d["net"].update(edges=[["nope", "Input", "", "Input"]]),
        lambda d: d["net"].update(graph_outputs=[["Output", "nope", "Output"]]),
        lambda d: d["net"].update(layers=[]),
        lambda d: d["net"].pop("inputs"),
        lambda d: d.update(net="LinearLayer"),
    ],
)
def test_tampered_structure(saved, tamper):
    path, arrays, doc = saved
    tamper(doc)
    write(path, arrays, doc)
    with pytest.raises(DataError, match="not a readable lossviz net file"):
        lossviz.load(path)


def test_missing_array(saved):
    path, arrays, doc = saved
    key = doc["net"]["layers"]["1"]["params"]["Weights"]
    arrays = {k: v for k, v in arrays.items() if k != key}
    write(path, arrays, doc)
    with pytest.raises(DataError, match=f"missing array '{key}'"):
        lossviz.load(path)


def test_array_of_the_wrong_dtype(saved):
    path, arrays, doc = saved
    key = doc["net"]["layers"]["1"]["params"]["Weights"]
    arrays[key] = np.array([["a", "b"], ["c", "d"], ["e", "f"]])
    write(path, arrays, doc)
    with pytest.raises(DataError, match="not a readable lossviz net file"):
        lossviz.load(path)


class Payload:
    """Unpickling this creates a marker file: proof that pickle ran."""

    marker = None

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("where", ["param", "structure"])
def test_pickled_object_array_is_refused_and_never_unpickled(saved, tmp_path, where):
    path, arrays, doc = saved
    marker = tmp_path / "pwned"
    Payload.marker = marker
    evil = np.array([Payload()], dtype=object)
    arrays = dict(arrays)
    if where == "param":
        arrays[doc["net"]["layers"]["1"]["params"]["Weights"]] = evil
    else:
        arrays[KEY] = evil
    np.savez(path, **arrays)  # np.savez pickles object arrays
    with zipfile.ZipFile(path) as z:  # the payload really is in the file
        assert any(b"pwned" in z.read(n) for n in z.namelist())
    with pytest.raises(DataError, match="not a readable lossviz net file"):
        lossviz.load(path)
    assert not marker.exists()


def test_load_uses_allow_pickle_false(saved, monkeypatch):
    path, _, _ = saved
    seen = {}
    real_load = np.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    lossviz.load(path)
    assert seen.get("allow_pickle") is False


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        lossviz.load(tmp_path / "nope.npz")
