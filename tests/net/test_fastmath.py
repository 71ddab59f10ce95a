"""The exp-based tanh equals numpy's to a few ulps, including the edges."""
import numpy as np
import pytest

from lossviz.net.fastmath import TANH_EXP_MIN_SIZE, tanh


def test_tanh_matches_numpy_to_a_few_ulps_over_every_scale():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(size=4000), rng.normal(scale=1e-3, size=4000), 10.0 ** rng.uniform(-300, 3, 4000),
                        -(10.0 ** rng.uniform(-300, 3, 4000)), [0.0, -0.0, 0.026, -0.026, 0.1, 20.0, 400.0]])
    got, want = tanh(x), np.tanh(x)
    assert x.size >= TANH_EXP_MIN_SIZE  # the exp route
    np.testing.assert_allclose(got, want, rtol=5e-15, atol=0)
    assert np.signbit(tanh(np.full(2000, -0.0))).all()


def test_tanh_edges_and_out():
    x = np.full(2048, np.nan)
    x[:3] = [np.inf, -np.inf, 0.0]
    out = np.empty_like(x)
    assert tanh(x, out=out) is out
    assert out[0] == 1.0 and out[1] == -1.0 and out[2] == 0.0 and np.isnan(out[3:]).all()


@pytest.mark.parametrize("x", [np.linspace(-3, 3, 10), np.linspace(-3, 3, 5000).astype(np.float32), 0.5])
def test_small_or_float32_arrays_are_numpys_tanh(x):
    np.testing.assert_array_equal(tanh(x), np.tanh(x))


def test_tanh_in_place():
    x = np.linspace(-3, 3, 2048)
    want = np.tanh(x)
    assert tanh(x, out=x) is x
    np.testing.assert_allclose(x, want, rtol=5e-15, atol=0)
