"""The fast paths of the loss evaluation give the results of the straightforward code they replace.

* Cross-entropy against index targets reads ``p[..., y]`` alone (``index_cross_entropy``, a
  primitive with its own VJP) instead of a one-hot sum over every class: same values, same
  gradient, and the same NaN where the Input holds one in another class.
* The value checks first try a cheap test that valid data passes (a reduction, a count) and
  only then build the masks that name the offending entry: same verdicts, same messages.
* The Gaussian kernel of MMD expands ``|a - b|**2`` around a centre instead of forming every
  difference: the same kernel to rounding, even far from the origin.
* The squared error squares its one temporary in place: same values and dtypes.
* ``pick`` gathers ``x[..., y]`` where a one-hot mask and a sum over the class axis did.
"""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.test_util import check_grads
from hypothesis import given, settings
from hypothesis import strategies as st

from lossviz.errors import DataError
from lossviz.losses import CrossEntropyLossLayer, get
from lossviz.losses.base import _all_within, check_distributions, check_in_range, check_in_set, class_indices
from lossviz.losses.classification import class_coefficients, index_coefficients
from lossviz.losses.primitives import index_cross_entropy, pick, probability_cross_entropy, squared_error
from lossviz.losses.probabilistic import gaussian_kernel, squared_distances


def _probabilities(rng, shape):
    e = np.exp(rng.normal(size=shape))
    return e / e.sum(-1, keepdims=True)


def _both_forms(p, y, class_weights=None, ignore_index=None):
    """The index form and the dense one-hot form of one cross-entropy, as functions of ``p``."""
    yy, w = index_coefficients(y, class_weights, ignore_index)
    a = class_coefficients(y, p.shape[-1], class_weights=class_weights, ignore_index=ignore_index)
    return (lambda q: index_cross_entropy(q, yy, w)), (lambda q: probability_cross_entropy(q, a))


@pytest.mark.parametrize("class_weights", [None, [0.5, 2.0, 0.0, 1.5]])
@pytest.mark.parametrize("ignore_index", [None, 3])
def test_index_cross_entropy_is_the_dense_form(rng, class_weights, ignore_index):
    p = _probabilities(rng, (3, 5, 4))
    p[0, 0] = [1.0, 0.0, 0.0, 0.0]  # log 0 clamped at -100; the gradient's floor 1e-12
    y = rng.integers(0, 4, size=(3, 5))
    y[0, 0] = 1
    fast, dense = _both_forms(p, y, class_weights, ignore_index)
    np.testing.assert_allclose(fast(p), dense(p), rtol=1e-15)
    g = rng.normal(size=y.shape)
    fast_grad = grad(lambda q: anp.sum(g * fast(q)))(p)
    np.testing.assert_allclose(fast_grad, grad(lambda q: anp.sum(g * dense(q)))(p), rtol=1e-15)
    assert np.all(fast_grad[np.arange(4) != y[..., None]] == 0)


def test_index_cross_entropy_gradient_matches_finite_differences(rng):
    p = rng.uniform(0.2, 0.8, size=(3, 2, 4))  # away from the clamp, as finite differences need
    y = rng.integers(0, 4, size=(3, 2))
    w = rng.uniform(0.5, 2.0, size=(3, 2))
    np.random.seed(0)
    check_grads(lambda q: index_cross_entropy(q, y, w), modes=["rev"], order=1)(p)
    check_grads(lambda q: index_cross_entropy(q, y), modes=["rev"], order=1)(p)


def test_the_layer_reads_index_targets_directly_and_agrees_with_the_dense_form(rng):
    p = _probabilities(rng, (6, 3, 5))
    y = rng.integers(0, 5, size=(6, 3))
    layer = get("cross_entropy", class_weights=[1.0, 2.0, 0.5, 1.0, 3.0])
    dense = probability_cross_entropy(p, class_coefficients(y, 5, class_weights=layer.class_weights))
    np.testing.assert_allclose(layer.apply(None, {"Input": p, "Target": y})["Loss"], dense.mean(1), rtol=1e-15)


def test_a_nan_in_another_class_still_gives_nan(rng):
    """The dense form's sum over classes turns a NaN anywhere in a class vector into a NaN loss."""
    p = _probabilities(rng, (3, 4))
    y = np.array([0, 1, 2])
    p[1, 3] = np.nan  # not the target class of example 1
    loss = CrossEntropyLossLayer().apply(None, {"Input": p, "Target": y})["Loss"]
    assert np.isnan(loss[1]) and np.all(np.isfinite(loss[[0, 2]]))
    g = grad(lambda q: anp.sum(CrossEntropyLossLayer().apply(None, {"Input": q, "Target": y})["Loss"]))(p)
    assert np.isnan(g[1, 3]) and np.all(np.isfinite(g[[0, 2]]))


def test_integer_and_float32_probabilities_give_the_dense_values_and_dtype(rng):
    y = np.array([0, 2, 1, 1])
    onehot = np.eye(3, dtype=np.int64)[[0, 1, 1, 2]]
    p32 = _probabilities(rng, (4, 3)).astype(np.float32)
    for p in (onehot, p32):
        ours = index_cross_entropy(p, y)
        dense = probability_cross_entropy(p, np.eye(3)[y])
        assert ours.dtype == dense.dtype == np.float64
        np.testing.assert_array_equal(ours, dense)  # the dense sum adds exact zeros to the one term: exact


# ------------------------------------------------------------------ value checks
LAYER = CrossEntropyLossLayer()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_range_check_verdicts(dtype):
    ok = np.array([[0.0, -0.0, 1.0], [np.nan, 0.5, 1e-300 if dtype == np.float64 else 1e-30]], dtype=dtype)
    check_in_range(LAYER, "Input", ok, 0.0, 1.0, "probabilities")  # -0.0 and NaN pass, as they always did
    for bad in (np.nextafter(dtype(1), dtype(2)), -1e-30, np.inf):
        v = ok.copy()
        v[1, 1] = bad
        with pytest.raises(DataError, match=rf"CrossEntropyLossLayer: port 'Input' must hold probabilities, "
                                            rf"got {float(v[1, 1])!r}"):
            check_in_range(LAYER, "Input", v, 0.0, 1.0, "probabilities")
    check_in_range(LAYER, "Input", np.array([0.0, 3.0, np.inf]), 0.0, np.inf, "counts")
    with pytest.raises(DataError, match=r"must hold logs, got 0.5"):
        check_in_range(LAYER, "Input", np.array([-np.inf, -3.0, 0.5]), -np.inf, 1e-9, "logs")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["i1", "i2", "i4", "i8", ">i4", "<i8", ">f8", "f8", "f4"]), st.data())
def test_range_verdicts_of_every_dtype_and_bound(dtype, data):
    """The one-reduction test (signed numbers read as unsigned) gives the plain comparison's verdict: for every
    integer width, byte order and upper bound, including bounds past the dtype's range and infinity."""
    dtype = np.dtype(dtype)
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        values = st.integers(int(info.min), int(info.max))
    else:
        width = 32 if dtype.itemsize == 4 else 64
        values = st.one_of(st.floats(-1e6, 1e6, width=width), st.floats(width=width),
                           st.sampled_from([1.0, 0.1, 1.0000001, 16_777_217.0, 2.0**60 + 2.0**40]))
    v = np.array(data.draw(st.lists(values, min_size=1, max_size=6)), dtype=dtype)
    if dtype.kind == "f":
        v = v + dtype.type(0.0)  # no -0.0: the one-reduction test sends it to the caller's exact check
    # bounds the dtype cannot hold exactly (1.0000001 and 0.1 in float32, 2**60 + 1 in either) round to a
    # neighbour, which must not let through a value above the bound
    high = data.draw(st.one_of(st.integers(0, 2**40), st.floats(0.0, 1e40),
                               st.sampled_from([np.inf, 0.5, 0.1, 1.0000001, 199, 70_000, 2**31, 16_777_217,
                                                2**60 + 1, 2**60 + 2**40 - 1, 1e39, 2.0**53, 2.0**62])))
    # Python compares its ints and floats exactly (numpy would round a large int bound to float64)
    assert _all_within(v, 0, high) == all(0 <= x <= high for x in v.tolist())


@pytest.mark.parametrize("dtype, value, high", [
    ("f8", 2.0**60 + 2.0**40, 2**60 + 2**40 - 1),  # the int bound rounds up to the value in float64
    ("f4", 1.0000001, 1.0000001),  # float32(1.0000001) = 1.00000012 > 1.0000001
    ("f4", 0.1, 0.1),  # float32(0.1) = 0.100000001 > 0.1
    (">f4", 0.1, 0.1),  # non-native: the two-reduction test, which must not round the bound to float32
    ("f4", 3.4e38, 1e38),
    ("i8", 2**53 + 1, 2.0**53),  # an integer just past a float bound that float64 cannot tell apart
    ("i8", 2**62 + 1, 2.0**62),
])
def test_a_bound_the_dtype_rounds_up_lets_nothing_above_it_through(dtype, value, high):
    v = np.array([0.0, value], dtype=dtype)
    assert v[1].item() > high  # Python compares exactly
    assert not _all_within(v, 0, high)
    assert _all_within(v[:1], 0, high)


def test_a_bound_past_float64s_range_is_a_bound_all_numbers_are_within():
    assert _all_within(np.array([0.0, 1e308]), 0, 10**400)
    assert not _all_within(np.array([0.0, np.inf]), 0, 10**400)


def test_set_check_verdicts():
    check_in_set(LAYER, "Target", np.array([[1.0, -1.0], [np.nan, 1.0]]), (-1.0, 1.0), "signs")
    check_in_set(LAYER, "Target", np.array([0.0, -0.0, 1.0]), (0.0, 1.0), "bits")
    check_in_set(LAYER, "Target", np.zeros((0, 2)), (0.0, 1.0), "bits")
    with pytest.raises(DataError, match=r"port 'Target' must hold signs, got 0.0"):
        check_in_set(LAYER, "Target", np.array([1.0, np.nan, 0.0, -1.0]), (-1.0, 1.0), "signs")


def test_distribution_check_verdicts_and_messages(rng):
    p = _probabilities(rng, (50, 3))
    check_distributions(LAYER, "Input", p)
    check_distributions(LAYER, "Input", np.moveaxis(p, 1, 0), axis=0)
    q = p.copy()
    q[7] = [0.2, 0.3, 0.50002]
    with pytest.raises(DataError, match=r"sum to 1, got one that sums to 1.00002"):
        check_distributions(LAYER, "Input", q)
    q[7] = [0.2, 0.3, 0.500002]  # within the tolerance 1e-5
    check_distributions(LAYER, "Input", q)
    q[7, 0] = np.nan
    check_distributions(LAYER, "Input", q)


def test_class_index_check():
    y = np.array([[0, 2], [1, 2]])
    assert class_indices(LAYER, "Target", y, 3).dtype == np.int64
    assert class_indices(LAYER, "Target", y.astype(np.int32), 3).dtype == np.int64
    np.testing.assert_array_equal(class_indices(LAYER, "Target", np.array([0, -100, 2]), 3, -100), [0, -100, 2])
    with pytest.raises(DataError, match=r"class indices 0 \.\. 2 \(0-based\) for 3 classes, got 3"):
        class_indices(LAYER, "Target", np.array([0, 3, -1]), 3)
    with pytest.raises(DataError, match=r"got -1"):
        class_indices(LAYER, "Target", np.array([0, -1, -100]), 3, -100)


# ------------------------------------------------------------------ MMD
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_expanded_squared_distances_are_the_differences(rng, offset):
    """Centred first, the expansion keeps full precision for samples far from 0 (without the centring
    an offset of 1e6 would cost about 1e-4 of absolute error in each distance)."""
    a = rng.normal(size=(2, 5, 3)) + offset
    b = rng.normal(size=(2, 4, 3)) + offset + 0.5
    direct = np.sum((a[:, :, None, :] - b[:, None, :, :]) ** 2, axis=-1)
    np.testing.assert_allclose(squared_distances(a, b), direct, rtol=1e-9, atol=1e-9)
    kernel = np.exp(-direct / 2.0)
    np.testing.assert_allclose(gaussian_kernel(2.0)(a, b), kernel, rtol=1e-9)
    within = np.sum((a[:, :, None, :] - a[:, None, :, :]) ** 2, axis=-1)  # one set against itself
    np.testing.assert_allclose(squared_distances(a, a), within, rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------ squared error
def test_squared_error_values_and_dtypes(rng):
    x, t = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    # elementwise - and *, each correctly rounded by IEEE 754 on every CPU: exact
    np.testing.assert_array_equal(squared_error(x, t), (x - t) ** 2)
    np.testing.assert_array_equal(squared_error(x, t, 0.5), 0.5 * (x - t) * (x - t))
    assert squared_error(x.astype(np.float32), t.astype(np.float32)).dtype == np.float32
    ints = squared_error(np.array([3, -4]), np.array([1, 1]))
    assert ints.dtype == np.float64 and list(ints) == [4.0, 25.0]
    assert squared_error(2.0, 0.5, 2.0) == 4.5


# ------------------------------------------------------------------ pick
def test_pick_is_the_masked_sum_and_its_gradient(rng):
    """``pick`` replaces ``sum(where(onehot, x, 0), -1)`` in the multiclass hinge and the categorical focal loss."""
    x = rng.normal(size=(3, 2, 5))
    y = rng.integers(0, 5, size=(3, 2))
    onehot = np.eye(5, dtype=bool)[y]
    masked = lambda v: anp.sum(anp.where(onehot, v, 0.0), axis=-1)  # noqa: E731
    # the masked sum adds exact zeros to the one picked value, and its gradient is g or 0: exact
    np.testing.assert_array_equal(pick(x, y), masked(x))
    g = rng.normal(size=y.shape)
    np.testing.assert_array_equal(grad(lambda v: anp.sum(g * pick(v, y)))(x), grad(lambda v: anp.sum(g * masked(v)))(x))
    np.random.seed(0)
    check_grads(lambda v: pick(v, y), modes=["rev"], order=1)(x)


# ------------------------------------------------------------------ CTC targets
def _ctc_target_problem(labels, steps, classes, blank):
    """What the CTC layer must refuse, in plain Python: None for a valid batch of targets."""
    for row in labels.tolist():
        if any(v < -1 or v >= classes for v in row):
            return "range"
        if blank in row:
            return "blank"
        kept = [v for v in row if v >= 0]
        if row[:len(kept)] != kept:
            return "padding"
        if len(kept) + sum(a == b for a, b in zip(kept, kept[1:])) > steps:
            return "steps"
    return None


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 6), st.integers(2, 5), st.sampled_from(["last", "first"]), st.integers(0, 4), st.data())
def test_ctc_target_check_verdicts(steps, classes, blank_label, length, data):
    """The CTC check accepts a usual batch in two reductions; the verdicts are the full checks'."""
    rows = data.draw(st.integers(1, 4))
    entries = data.draw(st.lists(st.integers(-2, classes), min_size=rows * length, max_size=rows * length))
    dtype = data.draw(st.sampled_from([np.int64, np.int32, np.float64]))
    labels = np.array(entries, dtype=dtype).reshape(rows, length)
    layer = get("ctc", blank_label=blank_label)
    blank = classes - 1 if blank_label == "last" else 0
    problem = _ctc_target_problem(labels, steps, classes, blank)
    batch = {"Input": np.zeros((len(labels), steps, classes)), "Target": labels}
    if problem is None:
        layer.check(batch)
        assert batch["Target"].dtype == np.int64
        np.testing.assert_array_equal(batch["Target"], labels)
    else:
        with pytest.raises(DataError):
            layer.check(batch)
