"""The compiled step on plain chains and NetTrain: the same losses, gradients and trained nets as
AutogradStep, float32 by default, batches split over two threads, and user functions (compiled too, in float64).

(These were the fused step's tests; every registry loss and the graphs are in test_plan.py.)"""
import numpy as np
import pytest

from lossviz import (
    CatenateLayer,
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPort,
    SoftmaxLayer,
    ThreadingLayer,
)
from lossviz.errors import DataError, ParameterError
from lossviz.losses import (
    CrossEntropyLossLayer,
    HuberLossLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    SoftmaxCrossEntropyLossLayer,
)
from lossviz.net.primitives import ACTIVATIONS
from lossviz.train import NetTrain, Scaled, nettrain
from lossviz.train import session as training_session
from tolerance import ROUNDING_ULPS, assert_equal_up_to_rounding
from lossviz.train.plan import CompiledStep, why_not_compiled
from lossviz.train.data import read_data as _read_data
from lossviz.train.steps import AutogradStep, select_step
from lossviz.train.spec import Automatic, resolve_loss

RNG = np.random.default_rng(7)
N = 23
X = RNG.normal(size=(N, 3))
INDEX = RNG.integers(0, 4, N)
PROBS = RNG.dirichlet(np.ones(4), N)
UNIT = RNG.uniform(size=(N, 4))
REAL = RNG.normal(size=(N, 4))


def _setup(net, loss_function, target, x=X, seed=1):
    net = NetInitialize(net, random_seed=seed)
    raw = {"Input": x, "Output": target}
    spec = resolve_loss(net, loss_function, raw)
    return net, spec, _read_data(net, spec, raw, "data")


def _flat(grads):
    return np.concatenate([np.ravel(g) for g in grads])


def assert_same_as_autograd(net, spec, batch, ulps=ROUNDING_ULPS):
    """The compiled step and autograd (float64) agree up to rounding: they take different paths."""
    fused = select_step(net, spec)
    assert isinstance(fused, CompiledStep), why_not_compiled(net, spec)
    ref = AutogradStep(net, spec)
    subs_f, (grad_f,) = fused.step(batch)
    subs_r, grads_r = ref.step(batch)
    assert_equal_up_to_rounding(subs_f, subs_r, ulps=ulps)
    assert_equal_up_to_rounding(grad_f, _flat(grads_r), ulps=ulps)
    assert_equal_up_to_rounding(fused.evaluate(batch), ref.evaluate(batch), ulps=ulps)
    assert np.abs(grad_f).max() > 0
    return fused


CASES = {
    "softmax-index": ([8, "Tanh", 6, "Ramp", 4, "Softmax"], Automatic, INDEX),
    "softmax-probabilities": ([8, "Tanh", 4, "Softmax"], CrossEntropyLossLayer("Probabilities"), PROBS),
    "sigmoid-binary": ([8, "Swish", 4, "LogisticSigmoid"], Automatic, UNIT),
    "mse-scaled": ([8, "GELU", 4], (MeanSquaredLossLayer(), Scaled(2.5)), REAL),
    "mae-on-softmax": ([8, "SELU", 4, "Softmax"], MeanAbsoluteLossLayer(), PROBS),
    "mse-on-activation": ([8, "ELU", 4, "Sin"], Automatic, REAL),
    "index-scaled-negative": ([5, "Tanh", 4, "Softmax"], (CrossEntropyLossLayer("Index"), Scaled(-0.5)), INDEX),
    "deep": ([7, "Tanh", 7, "Tanh", 7, "Ramp", 7, "Tanh", 4, "Softmax"], Automatic, INDEX),
    "many-classes": ([8, "Tanh", 12, "Softmax"], Automatic, RNG.integers(0, 12, N)),
    "many-classes-mse": ([8, "Tanh", 12, "Softmax"], MeanSquaredLossLayer(), RNG.dirichlet(np.ones(12), N)),
}


@pytest.mark.parametrize("case", CASES)
def test_loss_and_gradient_equal_autograd(case):
    layers, loss, target = CASES[case]
    assert_same_as_autograd(*_setup(NetChain(layers, input=3), loss, target))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_named_activation(name):
    layers = [6, "Exp", name, 4] if name in ("Log", "Sqrt") else [6, name, 4]
    assert_same_as_autograd(*_setup(NetChain(layers, input=3), Automatic, REAL))


def test_nested_chains_plain_graphs_and_scalar_ports():
    inner = NetChain([5, "Tanh"])
    assert_same_as_autograd(*_setup(NetChain([inner, 4, "Softmax"], input=3), Automatic, INDEX))
    graph = NetGraph({"a": LinearLayer(5), "b": ElementwiseLayer("Tanh"), "c": LinearLayer(4),
                      "d": SoftmaxLayer()}, [("a", "b", "c", "d")], input=3)
    assert_same_as_autograd(*_setup(graph, Automatic, INDEX))
    # a scalar input and a scalar output ("Real"), and a single layer as the whole net
    net = NetChain([6, "Tanh", LinearLayer("Real")], input="Real")
    assert_same_as_autograd(*_setup(net, Automatic, REAL[:, 0], x=X[:, 0]))
    assert_same_as_autograd(*_setup(LinearLayer(4, input=3), Automatic, REAL))
    # a tensor input flattened by the first LinearLayer
    assert_same_as_autograd(*_setup(NetChain([4], input=(2, 3)), Automatic, REAL, x=RNG.normal(size=(N, 2, 3))))


def test_saturated_logits_stay_finite():
    net, spec, batch = _setup(NetChain([4, "Softmax"], input=3), Automatic, INDEX)
    net = net.with_params({"1": {"Weights": 1e4 * net.params["1"]["Weights"], "Biases": np.zeros(4)}})
    subs, (grad,) = select_step(net, spec).step(batch)
    assert np.isfinite(subs).all() and np.isfinite(grad).all() and subs[0] > 100


FALLBACKS = {
    "custom function": lambda: NetChain([4, ElementwiseLayer(lambda x: x * x), 4], input=3),
    "threading layer": lambda: NetGraph({"a": LinearLayer(4), "sq": ThreadingLayer(lambda x: x * x, inputs=1)},
                                        [("a", "sq")], input=3),
}


@pytest.mark.parametrize("case", FALLBACKS)
def test_nets_of_user_functions_are_compiled_in_float64(case):
    """Autograd on the user's layer alone (tests/train/test_user_functions_compiled.py has the rest)."""
    net, spec, batch = _setup(FALLBACKS[case](), MeanSquaredLossLayer(), REAL)
    assert why_not_compiled(net, spec) is None
    step = select_step(net, spec, "Real32")
    assert isinstance(step, CompiledStep) and step.dtype == np.float64
    assert "user function" in step.float64_because
    assert_same_as_autograd(net, spec, batch)


@pytest.mark.parametrize("loss, target", [
    (CrossEntropyLossLayer("Index", label_smoothing=0.1), INDEX),  # options: closed form too
    (SoftmaxCrossEntropyLossLayer(), INDEX),                        # softmax_ce on probabilities
    (HuberLossLayer(), REAL),
    (CrossEntropyLossLayer("Binary"), UNIT),                        # Binary on a softmax output: the layer
])
def test_other_losses_are_compiled_too(loss, target):
    assert_same_as_autograd(*_setup(NetChain([5, "Tanh", 4, "Softmax"], input=3), loss, target))


def test_branches_and_several_outputs_are_compiled_too():
    branch = NetGraph({"a": LinearLayer(4), "b": LinearLayer(4), "cat": CatenateLayer(), "out": LinearLayer(4)},
                      [("a", "b"), (["a", "b"], "cat", "out")], input=3)
    assert_same_as_autograd(*_setup(branch, MeanSquaredLossLayer(), REAL))
    net = NetInitialize(NetGraph({"a": LinearLayer(4), "b": LinearLayer(4)},
                                 [("a", NetPort("Out1")), ("b", NetPort("Out2"))], input=3), random_seed=0)
    raw = {"Input": X, "Out1": REAL, "Out2": UNIT}
    spec = resolve_loss(net, Automatic, raw)
    assert len(spec.terms) == 2
    assert_same_as_autograd(net, spec, _read_data(net, spec, raw, "data"))


def test_weighted_batches_follow_the_optimizers_updates():
    net, spec, batch = _setup(NetChain([5, "Tanh", 4, "Softmax"], input=3), Automatic, INDEX)
    batch["Weight"] = RNG.uniform(size=N)
    fused, ref = select_step(net, spec), AutogradStep(net, spec)
    subs_f, (grad_f,) = fused.step(batch)
    subs_r, grads_r = ref.step(batch)
    assert_equal_up_to_rounding(subs_f, subs_r)
    assert_equal_up_to_rounding(grad_f, _flat(grads_r))
    fused.leaves[0] -= 0.1 * grad_f  # the step sees the optimizer's in-place updates
    moved = AutogradStep(net.with_params(fused.params()), spec)
    assert_equal_up_to_rounding(fused.step(batch)[0], moved.step(batch)[0])
    assert not np.allclose(fused.step(batch)[0], subs_r)


def test_parameters_round_trip_and_a_restored_vector_is_used():
    net, spec, batch = _setup(NetChain([5, "Tanh", 4, "Softmax"], input=3), Automatic, INDEX)
    fused = select_step(net, spec)
    assert net.with_params(fused.params()) == net
    before = fused.step(batch)[0]
    fused.leaves[:] = [fused.leaves[0] * 2.0]  # what NetTrain does to restore the last finite net
    after = fused.step(batch)[0]
    changed = net.with_params(fused.params())
    assert not np.allclose(before, after)
    assert_equal_up_to_rounding(after, AutogradStep(changed, spec).step(batch)[0])


def test_binary_targets_are_checked_like_the_loss_checks_them():
    net, spec, batch = _setup(NetChain([4, "LogisticSigmoid"], input=3), Automatic, UNIT)
    batch["Output"] = batch["Output"] + 1.0
    with pytest.raises(DataError, match="between 0 and 1"):
        select_step(net, spec).step(batch)


DATA = {"Input": RNG.normal(size=(200, 2))}
DATA["Output"] = (DATA["Input"][:, 0] * DATA["Input"][:, 1] > 0).astype(int)


@pytest.mark.parametrize("layers", [[16, "Tanh", 16, "Tanh", 2, "Softmax"], [8, "Ramp", 2]])
def test_nettrain_trains_the_same_net_as_with_autograd(monkeypatch, layers):
    net = NetChain(layers, input=2)
    data = DATA if layers[-1] == "Softmax" else {"Input": DATA["Input"], "Output": np.eye(2)[DATA["Output"]]}
    kw = dict(batch_size=32, max_training_rounds=5, random_seed=3, progress=None,
              validation_set=Scaled(0.2), learning_rate=0.01, working_precision="Real64")
    chosen, select = [], training_session.select_step
    monkeypatch.setattr(training_session, "select_step", lambda *a: chosen.append(select(*a)) or chosen[-1])
    fused = NetTrain(net, data, "All", **kw)
    assert isinstance(chosen[0], CompiledStep)
    monkeypatch.setattr(training_session, "select_step",
                        lambda net, spec, working_precision="Real64": AutogradStep(net, spec))
    ref = NetTrain(net, data, "All", **kw)
    np.testing.assert_allclose(fused["RoundLossList"], ref["RoundLossList"], rtol=1e-10)
    np.testing.assert_allclose(fused["ValidationLossList"], ref["ValidationLossList"], rtol=1e-10)
    for name in ref["TrainedNet"].params:
        for k, v in ref["TrainedNet"].params[name].items():
            np.testing.assert_allclose(fused["TrainedNet"].params[name][k], v, rtol=1e-9, atol=1e-12)


def test_real32_is_the_default_trains_in_float32_and_returns_float64_parameters(monkeypatch):
    net = NetChain([16, "Tanh", 2, "Softmax"], input=2)
    kw = dict(batch_size=32, max_training_rounds=3, random_seed=3, progress=None)
    r64 = NetTrain(net, DATA, "All", working_precision="Real64", **kw)
    r32 = NetTrain(net, DATA, "All", working_precision="Real32", **kw)
    chosen, select = [], training_session.select_step
    monkeypatch.setattr(training_session, "select_step", lambda *a: chosen.append(select(*a)) or chosen[-1])
    default = NetTrain(net, DATA, "All", **kw)
    assert chosen[0].dtype == np.float32
    assert default["RoundLossList"] == r32["RoundLossList"]
    w32 = r32["TrainedNet"].params["1"]["Weights"]
    assert w32.dtype == np.float64
    np.testing.assert_allclose(w32, r64["TrainedNet"].params["1"]["Weights"], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(r32["RoundLossList"], r64["RoundLossList"], rtol=1e-5)
    spec = resolve_loss(NetInitialize(net, random_seed=0), Automatic, DATA)
    step = select_step(NetInitialize(net, random_seed=0), spec, "Real32")
    assert step.leaves[0].dtype == np.float32 and step.step(DATA)[1][0].dtype == np.float32
    with pytest.raises(ParameterError, match="working_precision"):
        NetTrain(net, DATA, working_precision="Real16", progress=None)


@pytest.mark.parametrize("loss, target", [(Automatic, "index"), (MeanSquaredLossLayer(), "real")])
def test_a_batch_split_over_two_threads_gives_the_same_step(loss, target):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(301, 3))  # odd: the halves differ in size
    t = rng.integers(0, 4, 301) if target == "index" else rng.normal(size=(301, 4))
    net, spec, batch = _setup(NetChain([200, "Tanh", 200, "Tanh", 4, "Softmax"], input=3), loss, t, x=x)
    one, two = (CompiledStep(net, spec, threads=k) for k in (1, 2))
    (s1, (g1,)), (s2, (g2,)) = one.step(batch), two.step(batch)
    assert one._bufs.keys() == two._bufs.keys() == {(150, 0), (151, 1)}  # both split
    # the split does not depend on the thread count: one core gives the same bits as two
    np.testing.assert_array_equal(s2, s1)
    np.testing.assert_array_equal(g2, g1)
    assert_same_as_autograd(net, spec, batch)


def test_the_worker_thread_keeps_the_callers_errstate():
    import warnings

    net = NetChain([300, "Tanh", 300, "Tanh", 4, "Softmax"], input=3)
    t = np.zeros(400, dtype=int)
    net, spec, batch = _setup(net, Automatic, t, x=np.zeros((400, 3)))
    batch["Input"] = np.full((400, 3), np.inf)  # inf - inf in the first product: "invalid value" warnings
    step = CompiledStep(net, spec, threads=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning from either half fails the test
        with np.errstate(all="ignore"):
            subs, _ = step.step(batch)
    assert step._bufs.keys() == {(200, 0), (200, 1)} and not np.isfinite(subs).all()
    with pytest.warns(RuntimeWarning):  # and a caller that wants the warnings gets them
        step.step(batch)


def test_nettrain_on_a_split_batch_reports_divergence_even_with_warnings_as_errors():
    import warnings

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 2))
    x[7] = 1e300  # inf in float32 (Real32): the loss is NaN at the first batch, and numpy warns
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("always", nettrain.TrainingDivergedWarning)
        r = NetTrain(NetChain([256, "Tanh", 256, "Tanh", 2, "Softmax"], input=2), (x, (x[:, 0] > 0).astype(int)),
                     "All", batch_size=512, max_training_rounds=2, progress=None, random_seed=0)
    assert r["ReasonTrainingStopped"] == "Diverged"
    assert [w.category for w in caught] == [nettrain.TrainingDivergedWarning]
