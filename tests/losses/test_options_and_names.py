"""Option declarations, library-qualified names, Gluon's reading of data, the catalogue table, reprs."""
import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lossviz.losses as losses
from lossviz.errors import NetTypeError, ParameterError, ShapeError
from lossviz.losses import LossLayer, OptionSpec, catalogue, get, info, names
from lossviz.losses.base import _check_specs

BUILTIN = [entry for entry in catalogue() if entry.builtin]


# ------------------------------------------------------------------ option specs
@pytest.mark.parametrize("entry", BUILTIN, ids=lambda e: e.name)
def test_every_constructor_option_has_a_spec_with_its_default(entry):
    params = inspect.signature(entry.layer.__init__).parameters
    options = [n for n, p in params.items()
               if n not in ("self", "batch_axis") and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    specs = {spec.name: spec for spec in info(entry.name).option_specs}
    assert sorted(specs) == sorted(options)
    for name in options:
        spec = specs[name]
        assert isinstance(spec, OptionSpec) and spec.kind in ("float", "int", "bool", "choice", "array")
        assert spec.default == params[name].default or (spec.default is None and params[name].default is None)
        assert spec.doc, f"{entry.name}.{name} has no doc line"


@pytest.mark.parametrize("entry", BUILTIN, ids=lambda e: e.name)
def test_every_spec_default_passes_the_layers_own_validation(entry):
    for spec in entry.option_specs:
        assert spec.validate(entry.layer.__name__, spec.default) == spec.default
        layer = entry.layer(**{spec.name: spec.default})
        assert getattr(layer, spec.name) == spec.default
        if spec.typical is not None:  # a slider's range lies inside the allowed one
            for value in spec.typical:
                spec.validate(entry.layer.__name__, float(value))


@pytest.mark.parametrize("entry", BUILTIN, ids=lambda e: e.name)
def test_values_outside_a_specs_range_are_refused_by_the_layer(entry):
    for spec in entry.option_specs:
        bad = []
        if spec.kind in ("float", "int", "array") and spec.low is not None:
            bad.append(spec.low - 1 if not spec.open_low else spec.low)
        if spec.kind in ("float", "int", "array") and spec.high is not None:
            bad.append(spec.high + 1)
        if spec.kind == "choice":
            bad.append("no such choice")
        if spec.kind == "bool":
            bad.append("yes")
        for value in bad:
            if spec.kind == "int":
                value = int(value)
            with pytest.raises(ParameterError, match=rf"{entry.layer.__name__}: option '{spec.name}' must be"):
                entry.layer(**{spec.name: value})


_ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4), st.lists(st.floats(-2, 5), max_size=3), st.sampled_from(["Index", "first", "binary"]),
    st.just(np.float32(0.5)), st.just(np.int64(2)), st.just(np.array([1.0, 2.0])), st.just({"a": 1}),
)


@pytest.mark.parametrize("entry", BUILTIN, ids=lambda e: e.name)
@settings(max_examples=40, deadline=None)
@given(value=_ANY_VALUE)
def test_any_option_value_gives_the_validated_value_or_a_parameter_error_naming_it(entry, value):
    for spec in entry.option_specs:
        try:
            layer = entry.layer(**{spec.name: value})
        except ParameterError as error:
            assert f"'{spec.name}'" in str(error)
            continue
        expected = spec.validate(entry.layer.__name__, value)
        got = getattr(layer, spec.name)
        assert got == expected or (got is None and expected is None)


def test_spec_validation_names_the_option_the_value_and_the_range():
    rho = info("huber").option_specs[0]
    assert (rho.name, rho.kind, rho.default, rho.low, rho.log) == ("rho", "float", 1.0, 0.0, True)
    with pytest.raises(ParameterError, match=r"HuberLossLayer: option 'rho' must be a finite number > 0.0, got 0"):
        rho.validate("HuberLossLayer", 0)
    assert rho.validate("HuberLossLayer", 2) == 2.0 and isinstance(rho.validate("x", 2), float)
    form = info("cross_entropy").option_specs[0]
    assert form.kind == "choice" and form.choices == ("Index", "Probabilities", "Binary")
    assert form.validate("x", "binary") == "Binary"
    weights = OptionSpec("w", "array", None, low=0.0, optional=True)
    assert weights.validate("x", [1, 2]) == (1.0, 2.0) and weights.validate("x", None) is None
    with pytest.raises(ParameterError, match=r"option 'w' must be a list of finite numbers \(each >= 0.0\)"):
        weights.validate("x", 3.0)
    with pytest.raises(ParameterError, match="kind must be one of"):
        OptionSpec("bad", "complex", 0)


def test_a_class_whose_specs_disagree_with_its_constructor_is_refused():
    class Good(LossLayer):
        option_specs = (OptionSpec("k", "float", 2.0, doc="a k"),)

        def __init__(self, k=2.0, **ports):
            self._set_options(k=k)
            super().__init__(**ports)

    assert Good(k=3).k == 3.0 and Good.options == ("k",)
    with pytest.raises(NetTypeError, match=r"option 'k' defaults to 2.0 in the constructor but to 1.0"):
        class WrongDefault(LossLayer):
            option_specs = (OptionSpec("k", "float", 1.0),)

            def __init__(self, k=2.0, **ports):
                super().__init__(**ports)
    with pytest.raises(NetTypeError, match=r"option_specs declare \['k'\], but the constructor's options are"):
        class Missing(LossLayer):
            option_specs = (OptionSpec("k", "float", 1.0),)

            def __init__(self, k=1.0, j=0, **ports):
                super().__init__(**ports)
    _check_specs(Good)


def test_registered_functions_get_inferred_specs():
    from lossviz.losses.custom import function_loss

    layer = function_loss(lambda input, target, scale=2.0, signed=False: scale * (input - target), "scaled")
    specs = {s.name: s for s in layer.specs()}
    assert (specs["scale"].kind, specs["scale"].default) == ("float", 2.0)
    assert (specs["signed"].kind, specs["signed"].default) == ("bool", False)


# ------------------------------------------------------------------ qualified names
@pytest.mark.parametrize("qname, cls, options", [
    ("gluon.HingeLoss", "HingeLossLayer", {"margin": 1.0, "batch_axis": 0}),
    ("theanets.hinge", "MulticlassHingeLossLayer", {"margin": 0.0, "batch_axis": 0}),
    ("theanets.mmd", "MaximumMeanDiscrepancyLossLayer", {"batch_axis": None}),
    ("keras.hinge", "HingeLossLayer", {"batch_axis": None}),
    ("torch.nn.MSELoss", "MeanSquaredLossLayer", {}),
    ("torch.MSELoss", "MeanSquaredLossLayer", {}),
    ("torch.nn.CrossEntropyLoss", "SoftmaxCrossEntropyLossLayer", {"axis": 0}),
    ("torch.CTCLoss", "CTCLossLayer", {"blank_label": "first"}),
    ("gluon.CTCLoss", "CTCLossLayer", {"blank_label": "last", "batch_axis": 0}),
    ("theanets.kl", "KullbackLeiblerLossLayer", {"epsilon": 1e-8, "absolute": True}),
    ("theanets.xe", "CrossEntropyLossLayer", {"form": "Index"}),
    ("torch.nn.BCELoss", "CrossEntropyLossLayer", {"form": "Binary"}),
    ("wolfram.ContrastiveLossLayer", "ContrastiveLossLayer", {"margin": 0.5}),
    ("Gluon.L2Loss", "L2LossLayer", {"batch_axis": 0}),
])
def test_qualified_names_give_the_loss_and_the_options_of_that_library(qname, cls, options):
    layer = get(qname)
    assert type(layer).__name__ == cls
    for key, value in options.items():
        assert getattr(layer, key) == value


def test_qualified_names_are_listed_and_unambiguous():
    assert info("hinge").qualified_names[0] == "gluon.HingeLoss"
    assert "theanets.hinge" in info("multiclass_hinge").qualified_names
    assert info("gluon.HingeLoss").name == "hinge" and info("theanets.hinge").name == "multiclass_hinge"
    every = names(qualified=True)
    qualified = [n for n in every if "." in n]
    assert len(qualified) == len(set(qualified)) >= 40
    assert {"gluon.HingeLoss", "theanets.hinge", "keras.hinge", "torch.nn.MSELoss"} <= set(qualified)
    for qname in qualified:
        assert isinstance(get(qname), LossLayer)
    assert "gluon.L2Loss" not in names(aliases=True)
    # the plain alias keeps working, and its ambiguity is said
    assert type(get("hinge")).__name__ == "HingeLossLayer"
    assert "theanets.hinge" in info("hinge").ambiguous["hinge"]


def test_options_override_those_a_qualified_name_implies():
    assert get("gluon.HuberLoss", rho=2.0).rho == 2.0 and get("gluon.HuberLoss", batch_axis=None).batch_axis is None


def test_unknown_qualified_names_suggest_close_ones():
    with pytest.raises(ParameterError, match=r"unknown loss 'gluon.HingLoss'; did you mean 'gluon.HingeLoss'"):
        get("gluon.HingLoss")


def test_qualified_names_must_name_a_library(monkeypatch):
    from lossviz.losses import registry

    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    monkeypatch.setattr(registry, "_LOOKUP", dict(registry._LOOKUP))
    with pytest.raises(ParameterError, match=r"a library-qualified name is 'library.Name', got 'L2'"):
        registry.register("mine", qualified={"L2": {}})(lambda input: input)


# ------------------------------------------------------------------ Gluon's reading of data
def test_gluon_l2_of_ones_against_twos_is_one_loss_per_example():
    loss = get("gluon.L2Loss")
    x, y = np.ones((2,)), np.ones((2,)) * 2
    np.testing.assert_allclose(loss(x, y), [0.5, 0.5], rtol=1e-15)
    np.testing.assert_allclose(loss(x, y, np.array([1, 2])), [0.5, 1.0], rtol=1e-15)
    np.testing.assert_allclose(loss(x, y, sample_weight=[1, 2]), [0.5, 1.0], rtol=1e-15)
    np.testing.assert_allclose(loss({"Input": x, "Target": y}), [0.5, 0.5], rtol=1e-15)
    # lossviz's own reading of the same call: one example of two numbers
    assert math.isclose(get("l2")({"Input": x, "Target": y}), 0.5)


def test_gluon_reshapes_labels_like_the_prediction():
    pred, label = np.array([[1.0], [3.0]]), np.array([2.0, 2.0])
    np.testing.assert_allclose(get("gluon.L2Loss")(pred, label), [0.5, 0.5])
    np.testing.assert_allclose(get("gluon.L1Loss")(pred, label), [1.0, 1.0])


def test_gluon_softmax_cross_entropy_of_the_page():
    loss = get("gluon.SoftmaxCrossEntropyLoss")
    out = loss(np.array([[1, 10], [8, 2]]), np.array([0, 1]))
    np.testing.assert_allclose(out, [9 + math.log1p(math.exp(-9)), 6 + math.log1p(math.exp(-6))], rtol=1e-12)


def test_gluon_batch_axis_other_than_zero():
    x = np.arange(6.0).reshape(3, 2)  # axis 1 is the batch: two examples of three numbers
    np.testing.assert_allclose(get("l2", batch_axis=1)(x, np.zeros_like(x)), np.mean(x ** 2 / 2, axis=0))


def test_gluon_reads_one_vector_and_a_scalar_label_as_one_example():
    loss = get("gluon.CosineEmbeddingLoss")
    x, y = np.array([1, 0, 1, 0, 1, 0.0]), np.array([0, 1, 0, 1, 0, 1.0])
    same, opposite = loss(x, x, np.array(1.0)), loss(x, y, np.array(-1.0))
    assert same.shape == (1,) and abs(same[0]) < 1e-12 and opposite.shape == (1,) and opposite[0] == 0.0


def test_gluon_reading_errors():
    loss = get("gluon.L2Loss")
    with pytest.raises(NetTypeError, match=r"takes at most 3 arrays"):
        loss(np.ones(2), np.ones(2), np.ones(2), np.ones(2))
    with pytest.raises(NetTypeError, match=r"either as sample_weight= or as 'Weight'"):
        loss(np.ones(2), np.ones(2), np.ones(2), sample_weight=np.ones(2))
    with pytest.raises(ShapeError, match=r"no axis 1 to read as the batch"):
        get("l2", batch_axis=1)(np.ones(2), np.ones(2))
    with pytest.raises(ShapeError, match=r"port .Input. got data of shape \(2,\) per example, expected a vector"):
        get("l2", batch_axis=0, input=3)(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ParameterError, match=r"option 'batch_axis' must be an int >= 0 or None, got -1"):
        get("l2", batch_axis=-1)


# ------------------------------------------------------------------ the catalogue and reprs
def test_the_catalogue_is_a_list_with_a_table():
    table = catalogue()
    assert isinstance(table, list) and len(table) == len(names()) and table[0].name == "mse"
    page = table._repr_html_()
    assert page.startswith("<table") and page.count("<tr>") == len(table) + 1
    for column in ("name", "family", "convention", "ports", "options (defaults)", "qualified names", "PyTorch",
                   "description"):
        assert f">{column}</th>" in page
    assert "<code>rho=1</code>" in page and "<code>gluon.HingeLoss</code>" in page
    text = repr(table)
    assert text.startswith(f"Catalogue of {len(table)} losses")
    assert "huber (regression, Gluon)" in text and "options: rho=1" in text
    assert "'hinge': Gluon's (and Keras's) binary hinge" in text


def test_reprs_show_only_options_that_differ_from_their_defaults():
    assert repr(get("cross_entropy")).startswith("CrossEntropyLossLayer('Index') <")
    assert repr(get("cross_entropy", label_smoothing=0.1)).startswith(
        "CrossEntropyLossLayer('Index', label_smoothing=0.1) <")
    assert repr(get("huber")).startswith("HuberLossLayer() <")
    assert repr(get("huber", rho=2)).startswith("HuberLossLayer(rho=2.0) <")
    assert repr(get("softmax_ce")).startswith("SoftmaxCrossEntropyLossLayer() <")
    assert repr(get("gluon.L2Loss")).startswith("L2LossLayer(batch_axis=0) <")


@pytest.mark.parametrize("entry", BUILTIN, ids=lambda e: e.name)
def test_config_rebuilds_layers_with_every_option_changed(entry):
    for spec in entry.option_specs:
        if spec.kind == "bool":
            value = not spec.default
        elif spec.kind == "choice":
            value = spec.choices[-1] if spec.default == spec.choices[0] else spec.choices[0]
        elif spec.typical is not None:
            value = float(spec.typical[1])
        else:
            continue
        layer = entry.layer(**{spec.name: value})
        assert layer.config().get(spec.name) == value
        assert type(layer)(**layer.config()) == layer


def test_the_package_exports_the_registry_contract():
    for name in ("OptionSpec", "catalogue", "info", "names", "get"):
        assert name in losses.__all__


# ------------------------------------------------------------------ CrossEntropyLossLayer("Index"): pairs
def test_undeclared_index_cross_entropy_reads_a_list_of_pairs_as_a_batch():
    layer = get("cross_entropy")
    probabilities, classes = [[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]], [1, 0, 0]
    np.testing.assert_allclose(layer({"Input": probabilities, "Target": classes}), -np.log([0.8, 0.6, 0.5]))
    np.testing.assert_allclose(layer(input=probabilities, target=classes), -np.log([0.8, 0.6, 0.5]))
    np.testing.assert_allclose(layer({"Input": probabilities, "Target": classes, "Weight": [1, 2, 0]}),
                               -np.log([0.8, 0.6, 0.5]) * [1, 2, 0])
    assert math.isclose(layer({"Input": [0.2, 0.8], "Target": 1}), -math.log(0.8))  # one pair: one number
    # a batch of sequences: rank 3 with rank 2, one loss per sequence (the mean over its positions)
    seqs = np.array([[[0.2, 0.8], [0.6, 0.4]], [[0.5, 0.5], [0.1, 0.9]]])
    np.testing.assert_allclose(layer({"Input": seqs, "Target": [[1, 0], [0, 1]]}),
                               [-np.log([0.8, 0.6]).mean(), -np.log([0.5, 0.9]).mean()])


def test_declared_index_cross_entropy_threads_over_a_tensor_of_vectors():
    seq = [[0.2, 0.8], [0.6, 0.4]]
    threaded = get("cross_entropy", input=(2, 2))({"Input": seq, "Target": [1, 0]})
    assert math.isclose(threaded, -np.log([0.8, 0.6]).mean())
    assert np.ndim(get("cross_entropy", form="Probabilities")({"Input": seq, "Target": seq})) == 0


def test_gluon_names_module():
    from lossviz.losses import gluon as gloss

    assert set(gloss.__all__) == {q.split(".", 1)[1] for q in names(qualified=True) if q.startswith("gluon.")}
    for name in gloss.__all__:
        layer = getattr(gloss, name)()
        assert layer.batch_axis == 0 and type(layer) is type(get(f"gluon.{name}"))
        assert name in getattr(gloss, name).__doc__
    assert gloss.HuberLoss(rho=2).rho == 2.0
    np.testing.assert_allclose(gloss.L2Loss()(np.ones(2), 2 * np.ones(2), np.array([1, 2])), [0.5, 1.0])


def test_gluon_reading_names_unknown_ports():
    from lossviz.errors import PortError

    with pytest.raises(PortError, match=r"L2LossLayer: no input port 'Input2'"):
        get("gluon.L2Loss")({"Input": np.ones(2), "Input2": np.ones(2)})


# ------------------------------------------------------------------ Gluon's reading, every loss
def test_gluons_reading_gives_the_batch_losses_of_apply(case, rng):
    """For every registry loss: batch_axis=0 on a batch (positionally, in port order) is ``apply``; any
    other batch axis reads the same batch moved there."""
    data = case.make(rng, 3)
    expected = case.layer().apply(None, data)["Loss"]
    ports = [p for p in case.layer().input_names if p in data]
    np.testing.assert_allclose(case.layer(batch_axis=0)(*[data[p] for p in ports]), expected, rtol=1e-12)
    weights = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(case.layer(batch_axis=0)(data, sample_weight=weights), weights * expected,
                               rtol=1e-12)
    moved = {p: np.moveaxis(v, 0, -1) if np.ndim(v) > 1 else v for p, v in data.items()}
    axis = {p: np.ndim(v) - 1 for p, v in data.items()}
    if len(set(axis.values())) == 1:  # one batch axis fits every port
        np.testing.assert_allclose(case.layer(batch_axis=axis[ports[0]])(moved), expected, rtol=1e-12)
