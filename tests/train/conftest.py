"""Data for the NetTrain tests: the seeds' toy problems."""
import numpy as np
import pytest


@pytest.fixture
def line_data():
    """y = 2 x - 1 on 100 points of [-1, 1]: the first Basic Example's linear regression."""
    x = np.linspace(-1, 1, 100)
    return x, 2 * x - 1


@pytest.fixture
def less_greater():
    """Pairs (a, b) labelled "Less" if a < b else "Greater"; 400 to train, 200 held out."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (600, 2))
    labels = np.where(x[:, 0] < x[:, 1], "Less", "Greater").tolist()
    return x[:400], labels[:400], x[400:], labels[400:]
