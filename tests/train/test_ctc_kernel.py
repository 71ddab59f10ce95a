"""CTC's forward-backward in C (lossviz/train/_ctc.c) and its numpy fallback, against the layer's autograd.

The compiled step's CTC head runs its dynamic program in a C extension built with the package, or in
numpy where no compiler was at hand. Both are held here to the layer itself (log-space forward
algorithm, differentiated by autograd) and to each other, over random shapes, paddings, repeated
labels, either blank and logits far apart.
"""
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from hypothesis import given, settings
from hypothesis import strategies as st

from lossviz import losses
from lossviz.train import heads
from lossviz.train.heads import make_head

KERNEL = heads._ctc_kernel
PATHS = ["C kernel", "numpy"]


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    if request.param == "C kernel" and KERNEL is None:
        pytest.skip("the C extension lossviz.train._ctc is not built here")
    if request.param == "numpy":
        monkeypatch.setattr(heads, "_ctc_kernel", None)
    return request.param


def _head_loss_and_gradient(layer, x, labels, gL, dtype=np.float64):
    B, T, C = x.shape
    head, _ = make_head(layer, (T, C))
    buf = head.alloc(B, dtype, {})
    value = head.forward({"Input": x.astype(dtype, copy=False), "Target": labels}, buf)["Loss"]
    gradient = head.backward({"Loss": gL.astype(dtype)}, buf, ("Input",))["Input"]
    return value, gradient


def _reference(layer, x, labels, gL):
    def total(v):
        return anp.sum(layer.apply(None, {"Input": v, "Target": labels})["Loss"] * gL)

    return layer.apply(None, {"Input": x, "Target": labels})["Loss"], grad(total)(x)


def _labels(rng, B, L, classes, first, T):
    """Targets of 0..L labels (not the blank), padded with -1, each fitting in T steps."""
    labels = np.full((B, L), -1)
    for b in range(B):
        n = int(rng.integers(0, L + 1))
        row = rng.integers(0, classes - 1, n) + first
        while n and n + np.sum(row[1:] == row[:-1]) > T:  # too long for T steps with its repeats
            row = row[:-1]
            n -= 1
        labels[b, :n] = row
    return labels


@settings(max_examples=40, deadline=None)
@given(B=st.integers(1, 9), T=st.integers(1, 7), C=st.integers(2, 6), L=st.integers(0, 4),
       first=st.booleans(), scale=st.sampled_from([0.3, 1.0, 5.0, 40.0]), seed=st.integers(0, 10_000))
def test_the_head_equals_the_layer_under_autograd_on_both_paths(B, T, C, L, first, scale, seed):
    rng = np.random.default_rng(seed)
    layer = losses.get("ctc", blank_label="first" if first else "last")
    x = rng.normal(size=(B, T, C)) * scale
    labels = _labels(rng, B, L, C, int(first), T)
    gL = rng.uniform(0.1, 2.0, B)
    ref_value, ref_grad = _reference(layer, x, labels, gL)
    kernel = heads._ctc_kernel
    try:
        for use in ([kernel, None] if kernel is not None else [None]):
            heads._ctc_kernel = use
            value, gradient = _head_loss_and_gradient(layer, x, labels, gL)
            np.testing.assert_allclose(value, ref_value, rtol=1e-10, atol=1e-10, err_msg=f"kernel={use}")
            np.testing.assert_allclose(gradient, ref_grad, rtol=1e-8, atol=1e-10, err_msg=f"kernel={use}")
    finally:
        heads._ctc_kernel = kernel


@pytest.mark.parametrize("scale", [1.0, 60.0, 150.0])
def test_float32_logits_far_apart_stay_finite_and_match_float64(path, scale):
    """A float32 softmax underflows for logits about 100 apart: the emissions are recomputed in float64."""
    rng = np.random.default_rng(3)
    layer = losses.get("ctc")
    x = rng.normal(size=(16, 6, 5)) * scale
    labels = _labels(rng, 16, 3, 5, 0, 6)
    gL = np.ones(16)
    ref_value, ref_grad = _reference(layer, x, labels, gL)
    value, gradient = _head_loss_and_gradient(layer, x.astype(np.float32).astype(np.float64), labels, gL,
                                              dtype=np.float32)
    assert value.dtype == np.float32 and gradient.dtype == np.float32
    assert np.isfinite(value).all() and np.isfinite(gradient).all()
    # float32 logits: a relative rounding of about 1e-7 each, and the loss grows with the scale
    np.testing.assert_allclose(value, ref_value, rtol=2e-6, atol=1e-6 * scale)
    np.testing.assert_allclose(gradient, ref_grad, atol=2e-5)


def test_a_long_sequence_takes_the_log_of_its_scales_before_they_underflow(path):
    """400 steps of 20 classes: the product of the step scales falls below 1e-300, past float64's range."""
    rng = np.random.default_rng(5)
    layer = losses.get("ctc")
    x = rng.normal(size=(3, 400, 20))
    labels = rng.integers(0, 19, (3, 30))
    gL = np.ones(3)
    ref_value, ref_grad = _reference(layer, x, labels, gL)
    assert ref_value.min() > 300 * np.log(10)  # p(labels | x) < 1e-300: the flush is exercised
    value, gradient = _head_loss_and_gradient(layer, x, labels, gL)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(gradient, ref_grad, rtol=1e-8, atol=1e-12)


def test_the_kernel_and_numpy_agree_on_a_teaching_batch():
    if KERNEL is None:
        pytest.skip("the C extension lossviz.train._ctc is not built here")
    rng = np.random.default_rng(7)
    B, T, C = 512, 5, 4
    x = rng.normal(size=(B, T, C)).astype(np.float32)
    labels = rng.integers(0, 3, (B, 2))
    labels[::5, 1] = -1
    z = x.reshape(B * T, C)
    m = z.max(1, keepdims=True)
    s = np.exp(z - m).sum(1, keepdims=True)
    p = np.exp(z - m) / s
    grad_c, log_p = p.astype(np.float64).reshape(B, T, C), np.empty(B)
    KERNEL.loss_and_gradient(x, m, s, labels.astype(np.int64), C - 1, B, T, C, 2, grad_c, log_p)
    grad_np, log_p_np = heads._ctc_numpy(x, p, m, s, labels, C - 1)
    np.testing.assert_allclose(log_p, log_p_np, rtol=1e-6)
    np.testing.assert_allclose(grad_c, grad_np, atol=1e-6)
    assert np.allclose(grad_c.sum(2), 0.0, atol=1e-6)  # each step: softmax minus occupancies summing to 1


def test_the_kernel_refuses_arrays_it_cannot_read():
    if KERNEL is None:
        pytest.skip("the C extension lossviz.train._ctc is not built here")
    B, T, C = 2, 3, 4
    x = np.zeros((B, T, C))
    m, s = np.zeros(B * T), np.full(B * T, 4.0)
    labels = np.array([[0, 1], [2, -1]])
    good = dict(grad=np.full((B, T, C), 0.25), log_p=np.empty(B))

    def call(x=x, m=m, s=s, labels=labels, blank=C - 1, grad=None, log_p=None):
        KERNEL.loss_and_gradient(x, m, s, labels, blank, B, T, C, labels.shape[1],
                                 good["grad"] if grad is None else grad, good["log_p"] if log_p is None else log_p)

    call()  # uniform logits: every path has probability 4^-3; "01" has 5 alignments in 3 steps, "2" has 6
    np.testing.assert_allclose(good["log_p"], np.log([5 / 4 ** 3, 6 / 4 ** 3]), rtol=1e-12)
    with pytest.raises(ValueError, match="grad must be a C-contiguous array .* of kind 'd'"):
        call(grad=np.zeros((B, T, C), np.float32))
    with pytest.raises(ValueError, match="x must be a C-contiguous array of 24 items"):
        call(x=np.zeros((B, T, C + 1)))
    with pytest.raises((ValueError, BufferError)):
        call(x=np.zeros((B, C, T)).transpose(0, 2, 1))  # not C-contiguous
    with pytest.raises(ValueError, match="x, m and s must have one dtype"):
        call(m=m.astype(np.float32))
    with pytest.raises(ValueError, match="labels must be classes 0..3 other than the blank 3"):
        call(labels=np.array([[0, 3], [2, -1]]))
    with pytest.raises(ValueError, match="padded at the end with -1"):
        call(labels=np.array([[-1, 1], [2, -1]]))
    with pytest.raises(ValueError, match="labels must be a C-contiguous array .* of kind 'q'"):
        call(labels=labels.astype(np.int32))
    with pytest.raises(ValueError, match="0 <= blank < C"):
        call(blank=C)


def test_the_ctc_kernel_is_built_wherever_it_can_be(tmp_path):
    """The install builds the extension when it can (setup.py, optional=True); a silent failure would
    only show as CTC training about 1.6x slower. Whether it can: build the same source here."""
    import setuptools  # noqa: F401 - setuptools' distutils for build_ext
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    source = Path(heads.__file__).with_name("_ctc.c")
    dist = Distribution({"ext_modules": [Extension("_ctc_probe", [str(source)])], "script_name": "setup.py"})
    cmd = build_ext(dist)
    cmd.build_temp, cmd.build_lib = str(tmp_path / "temp"), str(tmp_path / "lib")
    try:
        cmd.ensure_finalized()
        cmd.run()
    except Exception as error:  # noqa: BLE001 - no compiler, no Python headers, ...: lossviz runs CTC in numpy
        pytest.skip(f"this machine cannot build C extensions ({type(error).__name__}: {error})")
    assert KERNEL is not None, (
        "lossviz.train._ctc is not built although this machine builds it: reinstall with "
        "`.venv/bin/pip install --no-deps -e .` (make does it when setup.py or _ctc.c change)")


def test_the_head_reads_an_input_that_is_a_strided_view(path):
    """A graph may hand the head a slice of a wider array: the same loss and gradient as a copy."""
    rng = np.random.default_rng(11)
    layer = losses.get("ctc")
    wide = rng.normal(size=(6, 5, 7))
    x = wide[:, :, 2:6]  # (6, 5, 4), not C-contiguous
    assert not x.flags.c_contiguous
    labels = _labels(rng, 6, 2, 4, 0, 5)
    gL = np.ones(6)
    value, gradient = _head_loss_and_gradient(layer, x, labels, gL)
    ref_value, ref_grad = _reference(layer, np.ascontiguousarray(x), labels, gL)
    np.testing.assert_allclose(value, ref_value, rtol=1e-10)
    np.testing.assert_allclose(gradient, ref_grad, rtol=1e-8, atol=1e-12)


def test_a_padded_target_in_a_long_batch_keeps_its_probability(path):
    """The states past a short target's end emit nothing: were they to emit the blank, they would draw
    probability away from the final states at every scaled step until it underflowed (here at T = 2000)."""
    rng = np.random.default_rng(1)
    layer = losses.get("ctc")
    T, L = 2000, 200
    x = rng.normal(size=(2, T, 5))
    labels = np.full((2, L), -1)
    labels[0] = np.arange(L) % 4
    labels[1, 0] = 2  # one label, then 199 paddings: 398 states past its end
    gL = np.ones(2)
    ref_value, ref_grad = _reference(layer, x, labels, gL)
    value, gradient = _head_loss_and_gradient(layer, x, labels, gL)
    np.testing.assert_allclose(value, ref_value, rtol=1e-10)
    np.testing.assert_allclose(gradient, ref_grad, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("case", ["confident blanks, loss above 700 nats", "a class 740 above the targets'"])
def test_an_example_the_scaled_arithmetic_cannot_carry_is_recomputed_in_log_space(path, case):
    """Beyond float64's range even rescaled probabilities vanish; those examples (and only those) go to the
    layer's log-space algorithm, and the batch's other examples keep the fast path's answer."""
    rng = np.random.default_rng(0)
    layer = losses.get("ctc")
    if case.startswith("confident"):
        x = rng.normal(size=(3, 60, 5))
        x[0, :, 4] += 40.0  # the blank (last class) 40 above the labels at every step
        labels = np.tile(np.arange(20) % 4, (3, 1))
    else:
        x = rng.normal(size=(3, 4, 5))
        x[0, :, 2] += 740.0  # class 2, neither the blank nor a label, dominates every step
        labels = np.tile([0, 1], (3, 1))
    gL = np.ones(3)
    ref_value, ref_grad = _reference(layer, x, labels, gL)
    assert ref_value[0] > 700
    value, gradient = _head_loss_and_gradient(layer, x, labels, gL)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(gradient, ref_grad, rtol=1e-8, atol=1e-12)


def test_only_the_lost_examples_go_to_log_space(path, monkeypatch):
    rng = np.random.default_rng(2)
    layer = losses.get("ctc")
    x = rng.normal(size=(4, 60, 5))
    x[2, :, 4] += 40.0
    labels = np.tile(np.arange(20) % 4, (4, 1))
    seen = []
    real = heads._ctc_in_log_space

    def spy(x, labels, blank, rows, grad, log_p):
        seen.append(np.flatnonzero(rows).tolist())
        return real(x, labels, blank, rows, grad, log_p)

    monkeypatch.setattr(heads, "_ctc_in_log_space", spy)
    _head_loss_and_gradient(layer, x, labels, np.ones(4))
    assert seen == [[2]]
