"""Bad input and bad options get lossviz errors whose messages say what was wrong and what was expected."""
import numpy as np
import pytest

from lossviz.errors import DataError, LossvizError, ParameterError, PortError, ShapeError
from lossviz.losses import CrossEntropyLossLayer, get
from lossviz.net.coders import NetEncoder

P3 = [0.2, 0.3, 0.5]


@pytest.mark.parametrize(
    "target, message",
    [
        (3, r"must hold class indices 0 \.\. 2 \(0-based\) for 3 classes, got 3"),
        (-1, r"must hold class indices 0 \.\. 2 .* got -1"),
    ],
)
def test_index_targets_out_of_range(target, message):
    with pytest.raises(DataError, match=r"CrossEntropyLossLayer: port 'Target' " + message):
        CrossEntropyLossLayer("Index", input=3)({"Input": P3, "Target": target})


def test_index_targets_must_be_integers():
    with pytest.raises(DataError, match="integer class indices, got 1.5"):
        CrossEntropyLossLayer("Index").apply(None, {"Input": np.array([P3]), "Target": np.array([1.5])})
    with pytest.raises(DataError, match=r"class indices 0 \.\. 3 .* got 4"):
        get("softmax_ce", input=4)({"Input": [1.0, 2.0, 3.0, 4.0], "Target": 4})


@pytest.mark.parametrize(
    "name, options, inputs, message",
    [
        ("cross_entropy", {}, {"Input": [0.2, 1.3, -0.5], "Target": 1},
         r"port 'Input' must hold probabilities .* got 1.3"),
        ("cross_entropy", {}, {"Input": [0.2, 0.3, 0.4], "Target": 1}, r"sum to 1, got one that sums to 0.9"),
        ("cross_entropy", {"form": "Probabilities"}, {"Input": P3, "Target": [0.5, 0.6, 0.1]},
         r"port 'Target' must hold probability vectors that sum to 1"),
        ("bce", {}, {"Input": [0.5, 1.5], "Target": [0.0, 1.0]}, r"port 'Input' must hold probabilities .* got 1.5"),
        ("bce", {}, {"Input": [0.5, 0.5], "Target": [0.0, 2.0]}, r"port 'Target' must hold probabilities"),
        ("sigmoid_bce", {"from_sigmoid": True}, {"Input": [3.0], "Target": [1.0]},
         r"for logits use from_sigmoid=False"),
        ("kl", {}, {"Input": [-0.1, 1.1], "Target": [0.5, 0.5]}, r"port 'Input' must hold probabilities"),
        ("softmax_ce", {"from_logits": True}, {"Input": [0.5, 1.0], "Target": 0}, r"use from_logits=False"),
        ("hinge", {}, {"Input": [0.5], "Target": [0.0]}, r"port 'Target' must hold labels -1 or 1, got 0.0"),
        ("logistic", {"label_format": "binary"}, {"Input": [0.5], "Target": [-1.0]}, r"labels 0 or 1"),
        ("cosine_embedding", {}, {"Input": [1.0, 0.0], "Input2": [0.0, 1.0], "Target": 0}, r"labels -1 or 1"),
        ("contrastive", {}, {"Input": -0.5, "Target": True}, r"port 'Input' must hold distances \(>= 0\), got -0.5"),
        ("poisson_nll", {}, {"Input": [0.5], "Target": [-2.0]}, r"port 'Target' must hold counts"),
        ("gll", {}, {"Input": [0.5], "Variance": [-1.0], "Target": [0.0]}, r"port 'Variance' must hold variances"),
    ],
)
def test_values_outside_a_loss_domain(name, options, inputs, message):
    with pytest.raises(DataError, match=message):
        get(name, **options)(inputs)


@pytest.mark.parametrize(
    "name, inputs, message",
    [
        ("mse", {"Input": [1.0, 2.0, 3.0], "Target": [1.0, 2.0]},
         r"MeanSquaredLossLayer: port 'Target' got data of shape \(2,\) per example, but port 'Input' \(shape \(3,\) "
         r"per example\) needs a vector of length 3"),
        ("cross_entropy", {"Input": [P3, P3], "Target": [0, 1, 2]},
         r"port 'Target' got data of shape \(3,\) per example, but port 'Input' .* needs a vector of length 2"),
        ("cross_entropy", {"Input": 0.5, "Target": 0}, r"port 'Input' must be a vector of class scores"),
        ("triplet", {"Input": [1.0, 2.0], "Positive": [1.0], "Negative": [1.0, 2.0]}, r"port 'Positive' got data"),
        ("mmd", {"Input": [[1.0, 2.0]], "Target": [[1.0, 2.0, 3.0]]}, r"port 'Target' got data .* needs"),
        ("mse", {"Input": [], "Target": []}, r"port 'Input' got examples of shape \(0,\), which have no elements"),
    ],
)
def test_mismatched_shapes(name, inputs, message):
    with pytest.raises(ShapeError, match=message):
        get(name)(inputs)


def test_declared_shapes_that_contradict_each_other():
    with pytest.raises(ShapeError, match=r"port 'Input' is a vector of length 3, but port 'Target' .* needs a vector "
                                         r"of length 2"):
        CrossEntropyLossLayer("Index", input=3, target=NetEncoder("Class", ["a", "b"]))
    with pytest.raises(ShapeError, match=r"MeanSquaredLossLayer: port 'Target' is a vector of length 4"):
        get("mse", input=3, target=4)
    with pytest.raises(ShapeError, match=r"port 'Weight' is a vector of length 2, but the elementwise loss needs"):
        get("mse", input=3, weight=2)


def test_data_that_does_not_fit_a_declared_port():
    with pytest.raises(ShapeError, match="port 'Input'"):
        get("mse", input=3)({"Input": [1.0, 2.0], "Target": [1.0, 2.0]})


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("huber", {"rho": -1}, r"HuberLossLayer: option 'rho' must be a finite number > 0.0, got -1"),
        ("huber", {"rho": "big"}, r"option 'rho' must be a finite number > 0.0, got 'big'"),
        ("huber", {"rho": float("nan")}, r"option 'rho' must be a finite number"),
        ("huber", {"rhoo": 2}, r"unknown option or port 'rhoo' \(did you mean 'rho'\?\); its options are rho"),
        ("cross_entropy", {"form": "Indx"},
         r"option 'form' must be one of 'Index', 'Probabilities', 'Binary', got 'Indx'"),
        ("cross_entropy", {"label_smoothing": 2},
         r"option 'label_smoothing' must be a finite number >= 0.0 and <= 1.0"),
        ("cross_entropy", {"class_weights": [1, -1]}, r"option 'class_weights' must be a list of non-negative numbers"),
        ("cross_entropy", {"form": "Binary", "label_smoothing": 0.1}, r"are for the 'Index' and 'Probabilities' forms"),
        ("cross_entropy", {"form": "Probabilities", "ignore_index": 0}, r"'ignore_index' is for the 'Index' form only"),
        ("cross_entropy", {"ignore_index": 1.5}, r"option 'ignore_index' must be an int class index or None"),
        ("softmax_ce", {"axis": "last"}, r"option 'axis' must be an int, got 'last'"),
        ("softmax_ce", {"sparse_label": "yes"}, r"option 'sparse_label' must be True or False, got 'yes'"),
        ("softmax_ce", {"sparse_label": False, "ignore_index": 0}, r"'ignore_index' needs sparse_label=True"),
        ("sigmoid_bce", {"pos_weight": 0}, r"option 'pos_weight' must be a positive number .* or None, got 0"),
        ("sigmoid_bce", {"pos_weight": [1.0, 0.0]}, r"option 'pos_weight' must be a positive number or a list of positive"),
        ("logistic", {"label_format": "signs"}, r"option 'label_format' must be one of 'signed', 'binary'"),
        ("binary_focal", {"alpha": 1.5}, r"option 'alpha' must be a finite number >= 0.0 and <= 1.0 or None"),
        ("binary_focal", {"gamma": -1}, r"option 'gamma' must be a finite number >= 0.0"),
        ("ctc", {"blank_label": "middle"}, r"option 'blank_label' must be one of 'last', 'first'"),
        ("mmd", {"kernel": -1.0}, r"option 'kernel' must be a finite number > 0.0"),
        ("cosine_embedding", {"margin": 2}, r"option 'margin' must be a finite number >= -1.0 and <= 1.0"),
        ("contrastive", {"margin": True}, r"option 'margin' must be a finite number >= 0.0, got True"),
    ],
)
def test_bad_option_values(name, options, message):
    with pytest.raises(ParameterError, match=message):
        get(name, **options)


def test_options_that_must_fit_the_data():
    with pytest.raises(ParameterError, match=r"option 'class_weights' has 2 entries, but port 'Input' has 3 classes"):
        get("cross_entropy", class_weights=[1, 2])({"Input": P3, "Target": 0})
    with pytest.raises(ShapeError, match=r"option 'pos_weight' has 2 entries.*one per entry of the last axis"):
        get("sigmoid_bce", pos_weight=[1.0, 2.0])({"Input": [0.0, 1.0, 2.0], "Target": [0.0, 1.0, 1.0]})
    with pytest.raises(ParameterError, match=r"option 'alpha' has 2 entries, but port 'Input' has 3 classes"):
        get("categorical_focal", alpha=[0.5, 0.5])({"Input": [0.0, 1.0, 2.0], "Target": 0})


def test_ctc_targets():
    x = np.zeros((3, 4))
    with pytest.raises(DataError, match=r"holds the blank index 3 \(blank_label='last'\)"):
        get("ctc")({"Input": x, "Target": [0, 3]})
    with pytest.raises(DataError, match=r"a target needs at least 4 steps .* but the Input has 3"):
        get("ctc")({"Input": x, "Target": [0, 0, 1]})
    with pytest.raises(DataError, match=r"padded with -1 only at the end"):
        get("ctc")({"Input": x, "Target": [-1, 1]})
    with pytest.raises(ShapeError, match=r"must be a sequence of score vectors"):
        get("ctc")({"Input": [1.0, 2.0], "Target": [0]})


def test_weights():
    mse = get("mse", input=3)
    x = np.zeros((2, 3))
    with pytest.raises(DataError, match=r"port 'Weight' must hold non-negative weights, got -1.0"):
        mse.apply(None, {"Input": x, "Target": x, "Weight": np.array([1.0, -1.0])})
    with pytest.raises(ShapeError, match=r"port 'Weight' got weights of shape \(2, 2\); expected one weight per "
                                         r"example, shape \(2,\), or weights shaped like the elementwise loss"):
        mse.apply(None, {"Input": x, "Target": x, "Weight": np.ones((2, 2))})
    with pytest.raises(ShapeError, match=r"ports got batches of different lengths"):
        mse.apply(None, {"Input": x, "Target": x, "Weight": np.ones(3)})


def test_ports_of_apply():
    mse = get("mse")
    with pytest.raises(PortError, match=r"missing data for port 'Target'"):
        mse.apply(None, {"Input": np.zeros((1, 2))})
    with pytest.raises(PortError, match=r"no input port 'Output'"):
        mse.apply(None, {"Input": np.zeros((1, 2)), "Target": np.zeros((1, 2)), "Output": np.zeros((1, 2))})
    with pytest.raises(ShapeError, match=r"got a scalar; apply\(\) takes a batch"):
        mse.apply(None, {"Input": np.float64(1.0), "Target": np.zeros(1)})
    with pytest.raises(DataError, match=r"cannot read numbers from"):
        mse.apply(None, {"Input": [["a"]], "Target": np.zeros((1, 1))})


def test_errors_are_value_errors_too():
    """lossviz errors subclass ValueError/TypeError, so generic handlers still catch them."""
    with pytest.raises(ValueError):
        get("huber", rho=-1)
    assert issubclass(DataError, LossvizError)


def test_kl_div_on_logits_needs_a_class_axis():
    """The check names the axis without computing the log-softmax it guards."""
    with pytest.raises(ShapeError, match=r"with from_logits=False port 'Input' needs a class axis -1, got examples "
                                         r"of shape \(\)"):
        get("kl_div", from_logits=False)({"Input": 0.5, "Target": 0.5})
    with pytest.raises(ShapeError, match=r"needs a class axis 1, got examples of shape \(3,\)"):
        get("kl_div", from_logits=False, axis=1)({"Input": np.zeros(3), "Target": np.ones(3) / 3})
