"""The lessons on choosing a loss (notebooks/20_* .. 23_*): their shape, and the facts they rest on.

The notebooks themselves run under nbval (``make test``) and assert their claims on the data. Here:

* each lesson notebook is valid nbformat 4, committed without outputs, opens with what the student will
  learn, asserts in its code, offers a panel, and ends with questions to try;
* the two facts the lessons explain everything else with, checked on the loss layers directly: the squared
  error's pull on a saturated sigmoid vanishes while cross-entropy's does not (notebook 20), and a scaled
  multi-port loss has the scaled sum of the gradients (notebook 23).
"""
from __future__ import annotations

from pathlib import Path

import autograd.numpy as anp
import nbformat
import numpy as np
import pytest
from autograd import elementwise_grad
from autograd.misc import flatten

from lossviz import (CrossEntropyLossLayer, LinearLayer, MeanSquaredLossLayer, NetChain, NetGraph, NetPort, Scaled,
                     loss_and_gradient)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = ["20_classification_losses.ipynb", "21_regression_losses.ipynb", "22_imperfect_data.ipynb",
           "23_several_losses_and_embeddings.ipynb"]


@pytest.fixture(params=LESSONS)
def lesson(request):
    return nbformat.read(NOTEBOOKS / request.param, as_version=4)


def test_every_lesson_exists():
    assert sorted(p.name for p in NOTEBOOKS.glob("2*.ipynb")) == sorted(LESSONS)


def test_a_lesson_is_valid_and_committed_without_outputs(lesson):
    nbformat.validate(lesson)
    assert lesson.nbformat == 4
    for cell in lesson.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_a_lesson_opens_with_its_goals_asserts_offers_a_panel_and_ends_with_questions(lesson):
    first, last = lesson.cells[0], lesson.cells[-1]
    assert first.cell_type == "markdown" and first.source.startswith("# ") and "you will learn" in first.source
    assert last.cell_type == "markdown" and "Questions to try" in last.source
    code = [c.source for c in lesson.cells if c.cell_type == "code"]
    assert sum(s.count("\nassert ") + s.startswith("assert ") for s in code) >= 6
    assert any("TrainingPanel(" in s for s in code)
    assert not any("plt." in s or "pyplot" in s for s in code)      # figures are pyplot-free (shown once)


def _sigmoid(z):
    return 0.5 * (anp.tanh(0.5 * z) + 1.0)


@pytest.mark.parametrize("z", [-4.0, -6.0, -10.0])
def test_the_squared_error_stops_pulling_a_sure_and_wrong_sigmoid_and_cross_entropy_does_not(z):
    """d/dz of (1 - sigmoid(z))^2 is -2 (1 - p)^2 p -> 0, of -log sigmoid(z) it is -(1 - p) -> -1."""
    ones = np.ones(1)
    mse, ce = MeanSquaredLossLayer(), CrossEntropyLossLayer("Binary")
    score = np.array([z])
    pull_mse = elementwise_grad(lambda s: mse.apply(None, {"Input": _sigmoid(s), "Target": ones})["Loss"])(score)
    pull_ce = elementwise_grad(lambda s: ce.apply(None, {"Input": _sigmoid(s), "Target": ones})["Loss"])(score)
    p = 1.0 / (1.0 + np.exp(-z))
    np.testing.assert_allclose(pull_mse, -2 * (1 - p) ** 2 * p, rtol=1e-6)
    np.testing.assert_allclose(pull_ce, -(1 - p), rtol=1e-6)
    assert abs(pull_mse[0]) < 0.04 and abs(pull_ce[0]) > 0.98


@pytest.mark.parametrize("r", [0.01, 3.0, 100.0])
def test_scaled_losses_on_two_ports_add_their_gradients_times_the_scale(r):
    net = NetGraph({"body": NetChain([3, "Tanh"]), "class": NetChain([2, "Softmax"]), "value": LinearLayer("Real")},
                   [(NetPort("Input"), "body"), ("body", "class"), ("body", "value"),
                    ("class", NetPort("Class")), ("value", NetPort("Value"))], Input=2)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (32, 2))
    classes, values = (x[:, 0] * x[:, 1] > 0).astype(int), x[:, 0] - x[:, 1]
    class_term, value_term = ("Class", CrossEntropyLossLayer("Index")), ("Value", MeanSquaredLossLayer())
    class_loss, class_grad = loss_and_gradient(net, {"Input": x, "Class": classes}, class_term)
    value_loss, value_grad = loss_and_gradient(net, {"Input": x, "Value": values}, value_term)
    total, grad = loss_and_gradient(net, {"Input": x, "Class": classes, "Value": values},
                                    [class_term, ("Value", (MeanSquaredLossLayer(), Scaled(r)))])
    assert np.isclose(total, class_loss + r * value_loss, rtol=1e-6)
    expected = flatten(class_grad)[0] + r * flatten(value_grad)[0]
    np.testing.assert_allclose(flatten(grad)[0], expected, rtol=1e-5, atol=1e-9)
