"""The hand-written VJPs equal autograd's gradient of the plain numpy formula, and stay finite."""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import make_vjp
from tolerance import assert_equal_up_to_rounding

from lossviz import ElementwiseLayer, LinearLayer, NetInitialize, SoftmaxLayer
from lossviz.net.primitives import ACTIVATIONS, euclidean_distance, linear, softmax

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805

#: the textbook formulas, written with autograd.numpy and differentiated by autograd
PLAIN = {
    "Ramp": lambda x: anp.maximum(x, 0.0),
    "Tanh": anp.tanh,
    "LogisticSigmoid": lambda x: 1.0 / (1.0 + anp.exp(-x)),
    "SoftPlus": lambda x: anp.log(1.0 + anp.exp(x)),
    "ELU": lambda x: anp.where(x > 0, x, anp.exp(x) - 1.0),
    "SELU": lambda x: SELU_SCALE * anp.where(x > 0, x, SELU_ALPHA * (anp.exp(x) - 1.0)),
    "GELU": lambda x: 0.5 * x * (1.0 + anp.tanh(anp.sqrt(2.0 / anp.pi) * (x + 0.044715 * x**3))),
    "Swish": lambda x: x / (1.0 + anp.exp(-x)),
    "HardTanh": lambda x: anp.clip(x, -1.0, 1.0),
    "HardSigmoid": lambda x: anp.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "Sin": anp.sin,
    "Cos": anp.cos,
    "Exp": anp.exp,
    "Log": anp.log,
    "Abs": anp.abs,
    "Square": lambda x: x**2,
    "Sqrt": anp.sqrt,
}

X = np.array([[-3.6, -2.4, -0.7, -0.2, 0.15], [0.6, 1.4, 3.3, -5.0, 2.2]])
XPOS = np.array([[0.3, 0.8, 1.7, 2.5, 0.05], [0.45, 4.0, 9.0, 0.01, 30.0]])


def vjp_and_value(f, x, g):
    vjp, y = make_vjp(f)(x)
    return y, vjp(g)


def test_every_activation_has_a_plain_formula():
    assert set(PLAIN) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_vjp_equals_autograd_of_the_formula(name):
    x = XPOS if name in ("Log", "Sqrt") else X
    g = np.random.default_rng(0).normal(size=x.shape)
    y, dx = vjp_and_value(ACTIVATIONS[name][0], x, g)
    y_ref, dx_ref = vjp_and_value(PLAIN[name], x, g)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_are_single_primitives(name):
    assert getattr(ACTIVATIONS[name][0], "_is_autograd_primitive", False)


@pytest.mark.parametrize("f", [linear, softmax, euclidean_distance])
def test_closed_form_layers_are_single_primitives(f):
    assert getattr(f, "_is_autograd_primitive", False)


@pytest.mark.parametrize(
    "name", ["Tanh", "LogisticSigmoid", "SoftPlus", "ELU", "SELU", "GELU", "Swish", "HardTanh", "HardSigmoid"]
)
def test_saturating_activations_are_finite_far_out(name):
    x = np.array([-800.0, -40.0, 40.0, 800.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow, no 0/0, no inf*0 inside
        y, dx = vjp_and_value(ACTIVATIONS[name][0], x, np.ones_like(x))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))


def test_sigmoid_is_accurate_at_plus_minus_40():
    f = ACTIVATIONS["LogisticSigmoid"][0]
    y, dx = vjp_and_value(f, np.array([-40.0, 40.0]), np.ones(2))
    tiny = np.exp(-40.0) / (1.0 + np.exp(-40.0))  # 4.248e-18, not rounded to 0
    np.testing.assert_allclose(y, [tiny, 1.0], rtol=1e-15)
    # y (1 - y) reuses the output: at +40 it rounds to 0 (the true value is 4e-18), which is
    # harmless in absolute terms; at -40 it is accurate
    np.testing.assert_allclose(dx, [tiny * (1 - tiny), tiny], rtol=1e-12, atol=1e-16)
    assert dx[0] > 0 and y[0] > 0


def test_sigmoid_layer_matches_the_naive_formula_where_that_is_safe():
    layer = ElementwiseLayer("Sigmoid", input=5)
    out = layer.apply(None, {"Input": X})["Output"]
    np.testing.assert_allclose(out, 1.0 / (1.0 + np.exp(-X)), rtol=1e-14)


def test_softmax_vjp_equals_autograd_of_the_formula():
    def plain(x):
        e = anp.exp(x - anp.max(x, axis=-1, keepdims=True))
        return e / anp.sum(e, axis=-1, keepdims=True)

    g = np.random.default_rng(1).normal(size=X.shape)
    y, dx = vjp_and_value(softmax, X, g)
    y_ref, dx_ref = vjp_and_value(plain, X, g)
    np.testing.assert_allclose(y, y_ref, rtol=1e-13)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-15)


def test_softmax_with_huge_logits_is_finite():
    x = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y, dx = vjp_and_value(softmax, x, np.array([[1.0, -2.0, 0.5], [0.3, 0.1, -1.0]]))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    np.testing.assert_allclose(y.sum(axis=-1), 1.0)
    np.testing.assert_allclose(y[0], [1.0, 0.0, 0.0])
    e = np.exp(-1.0)
    np.testing.assert_allclose(y[1], [1 / (2 + e), 1 / (2 + e), e / (2 + e)])
    # through the layer as well
    out = SoftmaxLayer(input=3).apply(None, {"Input": x})["Output"]
    assert np.all(np.isfinite(out))


def test_linear_vjp_equals_autograd_of_the_formula():
    rng = np.random.default_rng(2)
    x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    g = rng.normal(size=(4, 2))

    def plain(x, W, b):
        return anp.dot(x, anp.transpose(W)) + b

    for argnum in range(3):
        def at(v, argnum=argnum):
            args = [x, W, b]
            args[argnum] = v
            return args

        y, d = vjp_and_value(lambda v: linear(*at(v)), [x, W, b][argnum], g)
        y_ref, d_ref = vjp_and_value(lambda v: plain(*at(v)), [x, W, b][argnum], g)
        assert_equal_up_to_rounding(y, y_ref)  # the products may be ordered differently: rounding
        assert_equal_up_to_rounding(d, d_ref)


def test_linear_does_not_modify_its_arguments():
    rng = np.random.default_rng(3)
    x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)
    copies = [a.copy() for a in (x, W, b)]
    linear(x, W, b)
    for a, c in zip((x, W, b), copies):
        assert np.array_equal(a, c)  # untouched memory: exact


def test_euclidean_distance_vjp_equals_autograd_of_the_formula():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    g = rng.normal(size=3)

    def plain(a, b):
        return anp.sqrt(anp.sum((a - b) ** 2, axis=-1))

    for argnum in (0, 1):
        if argnum == 0:
            y, d = vjp_and_value(lambda v: euclidean_distance(v, b), a, g)
            y_ref, d_ref = vjp_and_value(lambda v: plain(v, b), a, g)
        else:
            y, d = vjp_and_value(lambda v: euclidean_distance(a, v), b, g)
            y_ref, d_ref = vjp_and_value(lambda v: plain(a, v), b, g)
        assert_equal_up_to_rounding(y, y_ref)  # the products may be ordered differently: rounding
        assert_equal_up_to_rounding(d, d_ref)


def test_euclidean_distance_gradient_is_zero_not_nan_at_zero_distance():
    a = np.array([[1.0, 2.0], [0.0, 0.0]])
    b = np.array([[1.0, 2.0], [3.0, 4.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y, d = vjp_and_value(lambda v: euclidean_distance(v, b), a, np.ones(2))
    np.testing.assert_allclose(y, [0.0, 5.0])
    np.testing.assert_allclose(d, [[0.0, 0.0], [-0.6, -0.8]])


def test_linear_layer_matches_numpy():
    layer = NetInitialize(LinearLayer(3, input=2), random_seed=0)
    x = np.array([[1.0, 2.0], [-3.0, 0.5]])
    W, b = layer.params["Weights"], layer.params["Biases"]
    np.testing.assert_allclose(layer.apply(layer.params, {"Input": x})["Output"], x @ W.T + b)
