"""loss_shape: the curves are the registry's losses and their gradients; margins; update; errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossviz import losses
from lossviz.errors import NetTypeError, ParameterError
from lossviz.plot import loss_shape, shape_curves


def _finite_difference(layer, x, target, h=1e-6):
    def f(v):
        return layer.apply(layer.params, {"Input": v, "Target": np.full(len(v), target)})["Loss"]

    return (f(x + h) - f(x - h)) / (2 * h)


@pytest.mark.parametrize("name, options", [("mse", {}), ("mae", {}), ("huber", {"rho": 0.5}), ("log_cosh", {}),
                                           ("smooth_l1", {"beta": 2.0}), ("sigmoid_bce", {})])
def test_prediction_curves_are_the_registry_loss_and_its_gradient(name, options):
    target = 0.7 if name != "sigmoid_bce" else 1.0
    x, (curve,) = shape_curves([(name, options)], target, resolution=101)
    layer = losses.get(name, **options)
    expected = layer.apply(layer.params, {"Input": x, "Target": np.full_like(x, target)})["Loss"]
    np.testing.assert_allclose(curve["loss"], expected, rtol=1e-14)
    away = np.abs(x - target) > 1e-3  # kinks (mae, huber) have one-sided derivatives
    np.testing.assert_allclose(curve["gradient"][away], _finite_difference(layer, x, target)[away], atol=2e-5)
    assert x[0] == target - 3 and x[-1] == target + 3


def test_the_gradient_of_mse_is_twice_the_error():
    x, (curve,) = shape_curves("mse", 2.0)
    np.testing.assert_allclose(curve["gradient"], 2 * (x - 2.0), atol=1e-12)


def test_margin_curves_are_the_classic_figure():
    x, curves = shape_curves(["zero_one", "hinge", "squared_hinge", "logistic", "exponential",
                              "cross_entropy", "softmax_ce", "sigmoid_bce", ("bce", {})], against="margin",
                             resolution=201)
    by = {c["label"]: c for c in curves}
    np.testing.assert_array_equal(by["0/1"]["loss"], (x <= 0).astype(float))
    np.testing.assert_allclose(by["hinge"]["loss"], np.maximum(0, 1 - x), atol=1e-15)
    np.testing.assert_allclose(by["squared_hinge"]["loss"], np.maximum(0, 1 - x) ** 2, atol=1e-14)
    logistic = np.log1p(np.exp(-x))
    for label in ("logistic", "cross_entropy", "softmax_ce", "sigmoid_bce", "bce"):
        np.testing.assert_allclose(by[label]["loss"], logistic, rtol=1e-9, err_msg=label)
        np.testing.assert_allclose(by[label]["gradient"], -1 / (1 + np.exp(x)), atol=1e-9, err_msg=label)
    np.testing.assert_allclose(by["exponential"]["loss"], np.exp(-x))
    np.testing.assert_allclose(by["hinge"]["gradient"][x < 0.99], -1.0)
    assert x[0] == -2.5 and x[-1] == 2.5


@settings(max_examples=20, deadline=None)
@given(gamma=st.floats(0.0, 5.0))
def test_focal_loss_is_the_logistic_loss_shrunk_by_its_gamma(gamma):
    x, (focal, logistic) = shape_curves([("binary_focal", {"gamma": gamma, "alpha": None}), "logistic"],
                                        against="margin", resolution=41)
    p = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(focal["loss"], (1 - p) ** gamma * logistic["loss"], rtol=1e-9, atol=1e-14)
    assert np.all(focal["loss"] <= logistic["loss"] + 1e-12)


def test_options_go_to_the_losses_that_take_them():
    _, curves = shape_curves(["huber", "mse"], rho=0.25)
    assert curves[0]["layer"].rho == 0.25 and curves[0]["label"] == "huber(rho=0.25)" and curves[1]["label"] == "mse"
    with pytest.raises(ParameterError, match="no loss given by name takes the option.*gamma"):
        shape_curves(["huber", "mse"], gamma=2.0)


def test_probability_losses_have_gaps_outside_zero_to_one():
    x, (curve,) = shape_curves("bce", 1.0, xlim=(-1, 2), resolution=31)
    inside = (x > 0) & (x <= 1)
    assert np.all(np.isfinite(curve["loss"][inside])) and np.all(np.isnan(curve["loss"][(x < 0) | (x > 1)]))
    np.testing.assert_allclose(curve["loss"][inside], -np.log(x[inside]), rtol=1e-6)


def test_bad_arguments_get_lossviz_errors():
    with pytest.raises(ParameterError, match="against must be 'prediction' or 'margin'"):
        loss_shape("mse", against="label")
    with pytest.raises(ParameterError, match="zero_one.*against='margin'"):
        shape_curves("zero_one")
    with pytest.raises(ParameterError, match="xlim must be finite with low < high"):
        shape_curves("mse", xlim=(2, 1))
    with pytest.raises(ParameterError, match="empty list"):
        shape_curves([])
    with pytest.raises(NetTypeError, match="expected a loss name"):
        shape_curves([3.5])
    with pytest.raises(ParameterError, match="hinge.*target"):
        shape_curves("hinge", target=0.5)  # hinge labels are -1 or 1
    with pytest.raises(ParameterError, match="cross_entropy against the prediction.*against='margin'"):
        shape_curves("cross_entropy")
    with pytest.raises(ParameterError, match="unknown loss .hubr.; did you mean .huber."):
        shape_curves("hubr")
    with pytest.raises(ParameterError, match="target must be a number"):
        shape_curves("mse", target="one")


def test_update_reuses_the_lines_and_redraws_the_numbers():
    plot = loss_shape(["mse", "mae"], target=0.0)
    lines = list(plot.artists["loss"]) + list(plot.artists["gradient"])
    assert len(plot.ax.lines) == 6  # 2 losses, 2 gradients, the target marker, the zero line
    plot.update(target=1.0)
    assert list(plot.artists["loss"]) + list(plot.artists["gradient"]) == lines and len(plot.ax.lines) == 6
    x, y = lines[0].get_data()
    np.testing.assert_allclose(y, (x - 1.0) ** 2)
    assert plot.artists["marker"].get_xdata()[0] == 1.0
    # a whole target sits on a grid line: the dotted marker is drawn over the grid, under the curves
    assert plot.ax.xaxis.get_zorder() < plot.artists["marker"].get_zorder() < lines[0].get_zorder()
    plot.update(losses=["huber"])
    assert plot.artists["loss"][0] is lines[0] and len(plot.artists["loss"]) == 1 and len(plot.ax.lines) == 4
    assert plot.ax.get_legend().get_texts()[0].get_text() == "huber"


@pytest.mark.parametrize("name", ["cross_entropy", "softmax_ce", "categorical_focal", "bce", "binary_focal",
                                  "squared_hinge", "logistic"])
def test_margin_adapters_are_differentiable(name):
    """The functions behind the margin curves pass autograd's own gradient check (away from kinks)."""
    from autograd.test_util import check_grads

    from lossviz.plot.shapes import _loss_function

    f = _loss_function(name, losses.get(name), 1.0, "margin")
    check_grads(lambda m: np.sum(f(m)), modes=["rev"], order=1)(np.array([-1.7, -0.4, 0.3, 0.8, 1.9]) + 0.05)
