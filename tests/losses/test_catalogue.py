"""The common suite: every loss in the registry, held to the same properties."""
import autograd.numpy as anp
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads
from hypothesis import given, settings
from hypothesis import strategies as st
from tolerance import assert_equal_up_to_rounding

from lossviz.errors import LossvizError
from lossviz.losses import catalogue, get

BUILTIN = [entry.name for entry in catalogue() if entry.builtin]


def losses(layer, data):
    return layer.apply(None, data)["Loss"]


def port_loss(layer, data, port, weights):
    """The weighted sum of the losses as a function of one port's data."""
    return lambda value: anp.sum(weights * losses(layer, {**data, port: value}))


def test_every_registered_loss_has_a_case(all_cases):
    assert {c.name for c in all_cases} == set(BUILTIN)


def test_values_and_gradients_are_finite(case, rng):
    layer, data = case.layer(), case.make(rng, 4)
    value = losses(layer, data)
    assert value.shape == (4,) and np.all(np.isfinite(value))
    for port in case.diff:
        g = grad(port_loss(layer, data, port, 1.0))(data[port])
        assert g.shape == data[port].shape and np.all(np.isfinite(g)), port


def test_gradients_match_finite_differences(case, rng):
    np.random.seed(0)  # check_grads draws its directions from numpy's global generator
    layer, data = case.layer(), case.make(rng, 3)
    weights = rng.uniform(0.5, 1.5, size=3)
    for port in case.diff:
        check_grads(port_loss(layer, data, port, weights), modes=["rev"], order=1)(data[port])


def test_nonnegative(nonnegative_case, rng):
    layer = nonnegative_case.layer()
    for _ in range(5):
        assert np.all(losses(layer, nonnegative_case.make(rng, 8)) >= -1e-12)


def test_zero_at_a_perfect_prediction(perfect_case, rng):
    value = losses(perfect_case.layer(), perfect_case.perfect(rng, 5))
    np.testing.assert_allclose(value, 0.0, atol=1e-9)


def test_weights_of_one_are_no_weights(case, rng):
    layer, data = case.layer(), case.make(rng, 4)
    plain = losses(layer, data)
    np.testing.assert_allclose(losses(layer, {**data, "Weight": np.ones(4)}), plain, rtol=1e-14)
    elem = layer.elementwise_dims(data["Input"].shape[1:])
    np.testing.assert_allclose(losses(layer, {**data, "Weight": np.ones((4, *elem))}), plain, rtol=1e-14)


def test_weights_multiply(case, rng):
    layer, data = case.layer(), case.make(rng, 4)
    plain = losses(layer, data)
    w = np.array([0.0, 0.5, 1.0, 3.0])
    np.testing.assert_allclose(losses(layer, {**data, "Weight": w}), w * plain, rtol=1e-12, atol=1e-15)
    elem = layer.elementwise_dims(data["Input"].shape[1:])
    repeated = np.broadcast_to(w.reshape((4,) + (1,) * len(elem)), (4, *elem))
    np.testing.assert_allclose(losses(layer, {**data, "Weight": repeated}), w * plain, rtol=1e-12, atol=1e-15)


def test_one_example_and_a_batch_agree(case, rng):
    """A batch of one and a batch of three may take different BLAS / SIMD paths: equal up to rounding."""
    data = case.make(rng, 3)
    batch = losses(case.layer(), data)
    undeclared = case.layer()
    declared = case.layer(**{port.lower(): value.shape[1:] for port, value in data.items()})
    assert_equal_up_to_rounding(declared(data), batch)
    for i in range(3):
        example = {port: value[i] for port, value in data.items()}
        assert_equal_up_to_rounding(undeclared(example), batch[i], err_msg=f"example {i}, undeclared ports")
        assert_equal_up_to_rounding(declared(example), batch[i], err_msg=f"example {i}, declared ports")


def test_config_rebuilds_the_layer(case):
    layer = case.layer()
    assert type(layer)(**layer.config()) == layer


_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-3, 6).map(float),
    st.sampled_from([0.0, 1.0, -1.0, 0.5]),
)
_arrays = hnp.arrays(
    dtype=np.float64,
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    elements=_numbers,
)


@pytest.mark.parametrize("name", BUILTIN)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_data_gives_a_loss_or_a_lossviz_error(name, data):
    layer = get(name)
    ports = [p for p in layer.input_names if p != "Weight" or data.draw(st.booleans(), label="weighted")]
    inputs = {port: data.draw(_arrays, label=port) for port in ports}
    try:
        result = layer(inputs)
    except LossvizError:
        return
    assert np.ndim(result) <= 1
