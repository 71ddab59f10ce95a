"""The registry: names, aliases, presets, metadata, and registering custom losses."""
import autograd.numpy as anp
import numpy as np
import pytest

import lossviz.losses as losses
from lossviz.errors import NetTypeError, ParameterError, ShapeError
from lossviz.losses import (
    CrossEntropyLossLayer,
    HuberLossLayer,
    LossLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    catalogue,
    get,
    info,
    names,
    register,
)
from lossviz.losses import registry

ISSUE_NAMES = [
    "mse", "mae", "cross_entropy", "contrastive", "l1", "l2", "huber", "sigmoid_bce", "softmax_ce", "hinge",
    "squared_hinge", "logistic", "kl_div", "triplet", "ctc", "cosine_embedding", "poisson_nll", "xe", "gll",
    "multiclass_hinge", "kl", "mmd", "smooth_l1", "log_cosh", "binary_focal", "categorical_focal", "margin_ranking",
]


@pytest.fixture
def scratch_registry(monkeypatch):
    """Registrations made in a test are undone after it."""
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    monkeypatch.setattr(registry, "_LOOKUP", dict(registry._LOOKUP))


@pytest.mark.parametrize("name", ISSUE_NAMES)
def test_every_name_of_the_issue_builds_a_loss(name):
    layer = get(name)
    assert isinstance(layer, LossLayer) and layer.is_loss


@pytest.mark.parametrize("name", ["mse", "MSE", "mean_squared_error", "MeanSquaredLoss", "MeanSquaredLossLayer",
                                  "Mean Squared Error", "mean-squared-error"])
def test_names_ignore_case_and_separators(name):
    assert type(get(name)) is MeanSquaredLossLayer


def test_aliases_and_class_names():
    assert type(get("l1")) is MeanAbsoluteLossLayer
    assert type(get("HuberLoss")) is HuberLossLayer
    assert type(get("CrossEntropyLossLayer", form="Binary")) is CrossEntropyLossLayer


def test_get_passes_options_and_port_shapes():
    layer = get("huber", rho=2.0, input=3)
    assert layer.rho == 2.0 and layer.inputs["Target"].dims == (3,)


def test_presets_imply_options_that_can_be_overridden():
    assert get("bce").form == "Binary"
    assert get("categorical_crossentropy").form == "Probabilities"
    assert get("categorical_hinge").margin == 1.0
    assert get("categorical_hinge", margin=2.0).margin == 2.0


def test_a_layer_passes_through_get():
    layer = HuberLossLayer(rho=3.0)
    assert get(layer) is layer


def test_unknown_names_suggest_close_ones():
    with pytest.raises(ParameterError, match=r"unknown loss 'hubber'; did you mean 'huber'"):
        get("hubber")
    with pytest.raises(ParameterError, match=r"unknown loss 'zzz'.*names\(\)"):
        get("zzz")
    with pytest.raises(NetTypeError, match="must be a string"):
        get(3)


def test_names_lists_canonical_names_in_order_and_aliases_on_request():
    assert names()[:2] == ["mse", "mae"]
    assert len(names()) == len(set(names()))
    assert "l1" not in names() and "l1" in names(aliases=True) and "bce" in names(aliases=True)


def test_metadata_for_widgets_and_the_spec_parser():
    mse = info("mean_squared_error")
    assert (mse.name, mse.layer, mse.convention, mse.pytorch, mse.family) == (
        "mse", MeanSquaredLossLayer, "Wolfram", "torch.nn.MSELoss", "regression")
    assert mse.has_target and mse.ports == ("Input", "Target", "Weight") and mse.builtin
    assert mse.description.startswith("Mean of the squared distance")
    triplet = info("triplet")
    assert not triplet.has_target and triplet.ports == ("Input", "Positive", "Negative", "Weight")
    assert info("huber").options == ["rho"]
    assert info("hinge").pytorch is None
    assert info("l2").convention == "Gluon" and info("kl").convention == "theanets"
    assert {entry.family for entry in catalogue()} == {"regression", "classification", "probabilistic",
                                                       "embedding", "sequence"}


def test_theanets_step_loss_registers_as_a_function(scratch_registry):
    @register("step")
    def step(input):
        """A step function averaged over the outputs (theanets' custom loss)."""
        return input > 0

    layer = get("step")
    assert not layer.has_target and layer.is_loss
    assert layer({"Input": [1.0, -2.0, 3.0]}) == pytest.approx(2 / 3)
    x = np.array([[1.0, -1.0], [1.0, 1.0]])
    np.testing.assert_allclose(layer.apply(None, {"Input": x, "Weight": np.array([2.0, 1.0])})["Loss"], [1.0, 1.0])
    entry = info("step")
    assert entry.family == "custom" and entry.convention == "user" and not entry.builtin
    assert entry.description.startswith("A step function")


def test_registered_functions_take_targets_and_options(scratch_registry):
    @register("scaled_l1", aliases=("sl1",))
    def scaled_l1(input, target, scale=2.0):
        return scale * anp.abs(input - target)

    assert get("sl1")({"Input": [1.0, 2.0], "Target": [0.0, 0.0]}) == pytest.approx(3.0)
    layer = get("scaled_l1", scale=0.5)
    assert layer.config() == {"scale": 0.5}
    assert layer({"Input": [1.0, 2.0], "Target": [0.0, 0.0]}) == pytest.approx(0.75)
    with pytest.raises(ParameterError, match="did you mean 'scale'"):
        get("scaled_l1", scael=1.0)


def test_registering_a_class(scratch_registry):
    @register("cube", description="mean |d|**3")
    class CubeLossLayer(LossLayer):
        def elementwise(self, data):
            return anp.abs(data["Input"] - data["Target"]) ** 3

    assert get("CubeLoss")({"Input": [2.0], "Target": [0.0]}) == 8.0
    assert info("cube").description == "mean |d|**3"


def test_user_entries_can_be_replaced_but_builtins_cannot(scratch_registry):
    register("mine")(lambda input: input ** 2)
    register("mine")(lambda input: input ** 4)
    assert get("mine")({"Input": [2.0]}) == 16.0
    with pytest.raises(ParameterError, match="'mse' is a built-in loss"):
        register("mse")(lambda input, target: input - target)
    with pytest.raises(ParameterError, match="already names the loss 'mse'"):
        register("mine2", aliases=("mean_squared_error",))(lambda input: input)


def test_bad_registrations(scratch_registry):
    with pytest.raises(NetTypeError, match="expected a LossLayer subclass or a function"):
        register("bad")(42)
    with pytest.raises(NetTypeError, match=r"takes \(input\) or \(input, target\)"):
        register("bad")(lambda a, b, c: a)
    with pytest.raises(ParameterError, match="non-empty string"):
        register("")


def test_a_function_must_keep_the_batch_dimension(scratch_registry):
    register("total")(lambda input: anp.sum(input))
    with pytest.raises(ShapeError, match=r"returned shape \(\); it must return one loss per example"):
        get("total")({"Input": [1.0, 2.0]})


def test_the_package_exports():
    for name in ["MeanSquaredLossLayer", "MeanAbsoluteLossLayer", "CrossEntropyLossLayer", "ContrastiveLossLayer",
                 "HuberLossLayer", "TripletLossLayer", "get", "register", "names"]:
        assert name in losses.__all__ and hasattr(losses, name)
