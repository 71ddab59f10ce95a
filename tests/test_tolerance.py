"""The "equal up to rounding" helper: it forgives a few ulps and catches real differences."""
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tolerance import ROUNDING_ULPS, assert_equal_up_to_rounding


def ulps_away(x, k, dtype=np.float64):
    """``x`` moved ``k`` representable numbers towards +inf, in ``dtype``."""
    x = np.asarray(x, dtype=dtype)
    for _ in range(k):
        x = np.nextafter(x, dtype(np.inf))
    return x


def test_a_product_of_one_row_equals_the_same_row_of_a_batch():
    """The situation the helper is for: one example and a batch may take different BLAS kernels."""
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(16, 8)), rng.normal(size=(2, 8))
    assert_equal_up_to_rounding(np.tanh(x[:1] @ W.T), np.tanh(x @ W.T)[:1])


def test_a_few_ulps_pass_and_a_wrong_value_fails():
    x = np.linspace(-3.0, 5.0, 9)
    assert_equal_up_to_rounding(ulps_away(x, 8), x)
    with pytest.raises(AssertionError, match="equal up to 64 ulps"):
        assert_equal_up_to_rounding(x * (1 + 1e-11), x)
    near_one = np.array([1.0, 1.5, 1.9])  # one ulp is one eps here
    with pytest.raises(AssertionError):  # 8 eps > 2 eps * (|x| + 1.9)
        assert_equal_up_to_rounding(ulps_away(near_one, 8), near_one, ulps=2)


def test_float32_results_get_float32_rounding():
    x = np.linspace(0.5, 2.0, 7)
    x32 = ulps_away(x, 8, np.float32)  # 8 float32 ulps: about 1e-6 relative
    assert_equal_up_to_rounding(x32, x)  # the coarser dtype of the two sets the precision
    widened = x32.astype(np.float64)
    with pytest.raises(AssertionError):
        assert_equal_up_to_rounding(widened, x)  # two float64 arrays: float64 rounding
    assert_equal_up_to_rounding(widened, x, precision="Real32")
    assert_equal_up_to_rounding(widened, x, precision=np.float32)


def test_entries_that_cancel_to_nearly_zero_are_measured_at_the_arrays_scale():
    expected = np.array([1.0, -1.0, 1e-17])
    assert_equal_up_to_rounding(np.array([1.0, -1.0, -2e-16]), expected)  # 1 - 1 rounded differently
    with pytest.raises(AssertionError):
        assert_equal_up_to_rounding(np.array([1.0, -1.0, 1e-10]), expected)


def test_nan_and_infinity_must_match():
    assert_equal_up_to_rounding(np.array([np.nan, np.inf, 1.0]), np.array([np.nan, np.inf, 1.0]))
    with pytest.raises(AssertionError):
        assert_equal_up_to_rounding(np.array([np.nan, 1.0]), np.array([0.0, 1.0]))
    with pytest.raises(AssertionError):
        assert_equal_up_to_rounding(np.array([-np.inf, 1.0]), np.array([np.inf, 1.0]))


def test_structures_keys_shapes_and_labels():
    p = {"Less": 0.5140778493464732, "Greater": 0.4859221506535269}
    batch = [{"Less": 0.514077849346473, "Greater": 0.4859221506535269}, {"Less": 0.4, "Greater": 0.6}]
    assert_equal_up_to_rounding(batch[0], p)  # the last bit of issue 8
    assert_equal_up_to_rounding(batch, [p, {"Less": 0.4, "Greater": 0.6}])
    assert_equal_up_to_rounding({"1": {"Weights": np.eye(2)}}, {"1": {"Weights": ulps_away(np.eye(2), 2)}})
    assert_equal_up_to_rounding(["Less", "Greater"], ["Less", "Greater"])
    with pytest.raises(AssertionError, match="keys"):
        assert_equal_up_to_rounding({"Less": 0.5}, {"Greater": 0.5})
    with pytest.raises(AssertionError, match=r"\[1\]"):
        assert_equal_up_to_rounding(["Less", "Less"], ["Less", "Greater"])
    with pytest.raises(AssertionError, match=r"shape \(1, 3\) != \(3,\)"):
        assert_equal_up_to_rounding(np.zeros((1, 3)), np.zeros(3))
    with pytest.raises(AssertionError, match=r"\['Greater'\] why"):
        assert_equal_up_to_rounding({"Less": p["Less"], "Greater": 0.6}, p, err_msg="why")


NONZERO = st.floats(1e-6, 1e6) | st.floats(-1e6, -1e-6)  # an all-zero array allows no error at all


@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=5), elements=NONZERO),
       k=st.integers(0, ROUNDING_ULPS // 2))
def test_any_array_within_half_the_allowance_passes(x, k):
    assert_equal_up_to_rounding(ulps_away(x, k), x)


@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=5), elements=NONZERO))
def test_any_relative_error_of_1e_10_fails(x):
    with pytest.raises(AssertionError):
        assert_equal_up_to_rounding(x * (1 + 1e-10), x)
