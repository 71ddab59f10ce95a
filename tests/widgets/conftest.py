"""Small problems for the widget tests (fast: a few hundred examples, small nets)."""
import numpy as np
import pytest

from lossviz import ElementwiseLayer, LinearLayer, NetChain, SoftmaxLayer


@pytest.fixture
def disc():
    """(X, labels): 240 points in [-1, 1]^2, class 1 inside a disc of radius 0.6."""
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (240, 2))
    return X, (np.hypot(X[:, 0], X[:, 1]) < 0.6).astype(int)


@pytest.fixture
def classifier():
    """A 2-8-2 tanh softmax net."""
    return NetChain([LinearLayer(8), ElementwiseLayer("Tanh"), LinearLayer(2), SoftmaxLayer()], input=2)


@pytest.fixture
def regression_data():
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, (200, 2))
    return X, X[:, 0] * X[:, 1] + 0.05 * rng.normal(size=200)


@pytest.fixture
def regressor():
    """A 2-8-1 tanh net with a scalar output."""
    return NetChain([LinearLayer(8), ElementwiseLayer("Tanh"), LinearLayer([])], input=2)
