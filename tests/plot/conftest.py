"""Shared fixtures of the plot tests: a small trained classifier, its data, and the PNG artifact folder."""
import os
from pathlib import Path

import numpy as np
import pytest

ARTIFACTS = Path(os.environ.get("LOSSVIZ_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) / "plots"


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def xor_data():
    """A 2-class XOR-like set: 300 training and 100 test points, class labels as strings."""
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, (400, 2))
    labels = np.where(X[:, 0] * X[:, 1] > 0, "same", "opposite")
    return (X[:300], list(labels[:300])), (X[300:], list(labels[300:]))


@pytest.fixture(scope="session")
def trained_run(xor_data):
    from lossviz import NetChain, NetDecoder, NetTrain

    net = NetChain([16, "Tanh", 16, "Tanh", 2, "Softmax"], input=2, output=NetDecoder("Class", ["same", "opposite"]))
    train, test = xor_data
    return NetTrain(net, train, "All", validation_set=test, max_training_rounds=30, learning_rate=0.02,
                    random_seed=0, progress=None)
