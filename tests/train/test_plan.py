"""CompiledStep: every registry loss, with options, on chains and graphs, equals the autograd reference.

The reference is AutogradStep (autograd through ``net.apply`` and the loss
layers), in Real64. Values and gradients agree to rounding (a relative
tolerance, never bit-equality: the two take different BLAS paths), so do nets
trained for a few hundred steps; a spec change keeps the compiled net.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossviz import (
    CatenateLayer,
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPairEmbeddingOperator,
    NetPort,
    SoftmaxLayer,
    TotalLayer,
)
from lossviz import losses
from lossviz.errors import DataError
from lossviz.train import Scaled
from lossviz.train.data import read_data
from lossviz.train.heads import _Head, make_head
from lossviz.train.optimizers import ADAM
from lossviz.train.ops import LinearOp, SoftmaxOp
from lossviz.train.plan import CompiledStep
from lossviz.train.spec import Automatic, resolve_loss
from lossviz.train.steps import AutogradStep, select_step

RNG = np.random.default_rng(11)
N = 29
X = RNG.normal(size=(N, 3))


def _real(*shape):
    return RNG.normal(size=(N,) + shape)


def _index(k):
    return RNG.integers(0, k, N)


def _probs(k):
    return RNG.dirichlet(np.ones(k), N)


def _unit(k):
    return RNG.uniform(size=(N, k))


def _signs(k):
    return np.where(RNG.uniform(size=(N, k)) < 0.5, -1.0, 1.0)


def chain(*head):
    """The 3-8-Tanh trunk and a head: ``chain(4, "Softmax")``."""
    return NetChain([8, "Tanh", *head], input=3)


# ---------------------------------------------------------------------- natural outputs of every loss
def _pair(loss):
    embed = NetChain([6, "Tanh", 3], input=3)
    raw = {"Input1": X, "Input2": RNG.normal(size=(N, 3)), "Output": RNG.uniform(size=N) < 0.5}
    return NetPairEmbeddingOperator(embed), raw, loss


def _two_inputs(loss, target, dims=4):
    """Two heads on one trunk feed "Input" and "Input2" of a loss layer inside the graph."""
    net = NetGraph({"trunk": NetChain([8, "Tanh"], input=3), "a": LinearLayer(dims), "b": LinearLayer(dims),
                    "loss": loss},
                   [("trunk", "a", NetPort("loss", "Input")), ("trunk", "b", NetPort("loss", "Input2"))])
    return net, {"Input": X, "Target": target}, Automatic


def _triplet(loss):
    net = NetGraph({"a": LinearLayer(4), "p": LinearLayer(4), "n": LinearLayer(4), "loss": loss},
                   [(NetPort("A"), "a", NetPort("loss", "Input")), (NetPort("P"), "p", NetPort("loss", "Positive")),
                    (NetPort("Neg"), "n", NetPort("loss", "Negative"))], A=3, P=3, Neg=3)
    return net, {"A": X, "P": _real(3), "Neg": _real(3)}, Automatic


def _gaussian(loss):
    net = NetGraph({"trunk": NetChain([8, "Tanh"], input=3), "mean": LinearLayer(4),
                    "var": NetChain([4, "SoftPlus"]), "loss": loss},
                   [("trunk", "mean", NetPort("loss", "Input")), ("trunk", "var", NetPort("loss", "Variance"))])
    return net, {"Input": X, "Target": _real(4)}, Automatic


def _ctc(loss, first=False):
    labels = RNG.integers(0, 3, (N, 2)) + first  # the blank is class 3, or class 0 with first=True
    labels[::4, 1] = labels[::4, 0]  # repeated labels need a blank between them
    return NetChain([8, "Tanh", LinearLayer((5, 4))], input=3), {"Input": X, "Output": labels}, loss


NATURAL = {  # registry name -> [(options, setup(loss) -> (net, raw data, loss_function))]
    "mse": [({}, lambda l: (chain(4), {"Input": X, "Output": _real(4)}, l))],
    "mae": [({}, lambda l: (chain(4), {"Input": X, "Output": _real(4)}, l))],
    "l2": [({}, lambda l: (chain(4), {"Input": X, "Output": _real(4)}, l))],
    "huber": [({"rho": 0.5}, lambda l: (chain(4), {"Input": X, "Output": _real(4)}, l))],
    "smooth_l1": [({"beta": 0.0}, lambda l: (chain(4), {"Input": X, "Output": _real(4)}, l)),
                  ({"beta": 0.7}, lambda l: (chain(LinearLayer(())), {"Input": X, "Output": _real()}, l))],
    "log_cosh": [({}, lambda l: (chain(4), {"Input": X, "Output": 3 * _real(4)}, l))],
    "cross_entropy": [
        ({}, lambda l: (chain(4, "Softmax"), {"Input": X, "Output": _index(4)}, l)),
        ({"label_smoothing": 0.1}, lambda l: (chain(4, "Softmax"), {"Input": X, "Output": _index(4)}, l)),
        ({"class_weights": [1.0, 2.0, 0.0, 0.5], "ignore_index": 1},
         lambda l: (chain(4, "Softmax"), {"Input": X, "Output": _index(4)}, l)),
        ({"form": "Probabilities", "label_smoothing": 0.2, "class_weights": [1, 2, 3, 4]},
         lambda l: (chain(4, "Softmax"), {"Input": X, "Output": _probs(4)}, l)),
        ({"form": "Binary"}, lambda l: (chain(4, "LogisticSigmoid"), {"Input": X, "Output": _unit(4)}, l)),
        ({"form": "Probabilities"},  # not on a softmax: the layer itself, on probabilities
         lambda l: (NetChain([8, "Tanh", 4, SoftmaxLayer(), ElementwiseLayer("Sqrt"), SoftmaxLayer()], input=3),
                    {"Input": X, "Output": _probs(4)}, l)),
    ],
    "softmax_ce": [
        ({}, lambda l: (chain(4), {"Input": X, "Output": _index(4)}, l)),
        ({"sparse_label": False, "label_smoothing": 0.3}, lambda l: (chain(4), {"Input": X, "Output": _probs(4)}, l)),
        ({"from_logits": True, "class_weights": [2, 1, 1, 1]},
         lambda l: (chain(4, "Softmax", "Log"), {"Input": X, "Output": _index(4)}, l)),
    ],
    "sigmoid_bce": [({}, lambda l: (chain(4), {"Input": X, "Output": _unit(4)}, l)),
                    ({"pos_weight": [1.0, 2.0, 3.0, 0.5]}, lambda l: (chain(4), {"Input": X, "Output": _unit(4)}, l)),
                    ({"from_sigmoid": True},
                     lambda l: (chain(4, "LogisticSigmoid"), {"Input": X, "Output": _unit(4)}, l))],
    "hinge": [({}, lambda l: (chain(4), {"Input": X, "Output": _signs(4)}, l))],
    "squared_hinge": [({"margin": 0.5}, lambda l: (chain(4), {"Input": X, "Output": _signs(4)}, l))],
    "logistic": [({}, lambda l: (chain(4), {"Input": X, "Output": _signs(4)}, l)),
                 ({"label_format": "binary"},
                  lambda l: (chain(4), {"Input": X, "Output": (_signs(4) > 0).astype(float)}, l))],
    "multiclass_hinge": [({"margin": 1.0}, lambda l: (chain(4), {"Input": X, "Output": _index(4)}, l))],
    "binary_focal": [({}, lambda l: (chain(4), {"Input": X, "Output": _unit(4)}, l)),
                     ({"alpha": None, "gamma": 0.5}, lambda l: (chain(4), {"Input": X, "Output": _unit(4)}, l))],
    "categorical_focal": [({}, lambda l: (chain(4), {"Input": X, "Output": _index(4)}, l)),
                          ({"alpha": [0.5, 1.0, 2.0, 1.0], "gamma": 1.5},
                           lambda l: (chain(4), {"Input": X, "Output": _index(4)}, l)),
                          ({"alpha": None, "gamma": 0.0}, lambda l: (chain(4), {"Input": X, "Output": _index(4)}, l))],
    "kl_div": [({}, lambda l: (chain(4, "Softmax", "Log"), {"Input": X, "Output": _probs(4)}, l)),
               ({"from_logits": False}, lambda l: (chain(4), {"Input": X, "Output": _probs(4)}, l))],
    "kl": [({}, lambda l: (chain(4, "Softmax"), {"Input": X, "Output": _probs(4)}, l))],
    "poisson_nll": [({}, lambda l: (chain(2), {"Input": X, "Output": RNG.poisson(2.0, (N, 2)).astype(float)}, l)),
                    ({"compute_full": True},
                     lambda l: (chain(2), {"Input": X, "Output": RNG.poisson(2.0, (N, 2)).astype(float)}, l))],
    "gll": [({}, _gaussian)],
    "mmd": [({}, lambda l: (chain(LinearLayer((4, 2))), {"Input": X, "Output": _real(5, 2)}, l)),
            ({"kernel": 0.3}, lambda l: (chain(LinearLayer(4)), {"Input": X, "Output": _real(6)}, l))],
    "contrastive": [({}, _pair), ({"margin": 2.0}, _pair)],
    "triplet": [({}, _triplet)],
    "cosine_embedding": [({"margin": 0.2}, lambda l: _two_inputs(l, _signs(1)[:, 0]))],
    "margin_ranking": [({"margin": 0.1}, lambda l: _two_inputs(l, _signs(1)[:, 0], dims=()))],
    "ctc": [({}, _ctc), ({"blank_label": "first"}, lambda l: _ctc(l, first=True))],
}
CASES = [pytest.param(name, i, id=f"{name}-{i}") for name, cases in NATURAL.items() for i in range(len(cases))]


def test_every_registry_loss_has_a_case():
    """A loss added to the registry must get a case here (its natural output and target)."""
    builtin = [e.name for e in losses.catalogue() if e.builtin]
    assert set(builtin) <= set(NATURAL), sorted(set(builtin) - set(NATURAL))


def _setup(net, raw, loss_function, seed=1):
    net = NetInitialize(net, random_seed=seed)
    spec = resolve_loss(net, loss_function, raw)
    return net, spec, read_data(net, spec, raw, "data")


def _flat(grads):
    return np.concatenate([np.ravel(g) for g in grads])


def assert_same_as_autograd(net, spec, batch, rtol=1e-9, atol=1e-12):
    step = select_step(net, spec)
    assert isinstance(step, CompiledStep)
    ref = AutogradStep(net, spec)
    subs, (grad,) = step.step(batch)
    subs_r, grads_r = ref.step(batch)
    np.testing.assert_allclose(subs, subs_r, rtol=rtol, atol=atol)
    np.testing.assert_allclose(grad, _flat(grads_r), rtol=rtol, atol=atol)
    np.testing.assert_allclose(step.evaluate(batch), ref.evaluate(batch), rtol=rtol, atol=atol)
    assert np.abs(grad).max() > 0
    return step


@pytest.mark.parametrize("name, i", CASES)
def test_every_registry_loss_equals_autograd(name, i):
    options, setup = NATURAL[name][i]
    net, spec, batch = _setup(*setup(losses.get(name, **options)))
    step = assert_same_as_autograd(net, spec, batch)
    if (name in CLOSED_FORM or name == "cross_entropy") and (name, i) not in AUTOGRAD_HEADS:
        # the closed form is what was checked
        assert all(isinstance(n.op, _Head) for n in step.heads.nodes), [n.op for n in step.heads.nodes]
    if name in ("gll", "triplet", "cosine_embedding", "margin_ranking"):  # loss layers inside the graph
        assert [type(n.op).__name__ for n in step.trunk.nodes if n.path == ("loss",)] != ["LayerVJPOp"]
        assert isinstance(next(n.op for n in step.trunk.nodes if n.path == ("loss",)), _Head)


AUTOGRAD_HEADS = {("sigmoid_bce", 2), ("cross_entropy", 5)}  # on probabilities, not logits: the layer itself


@pytest.mark.parametrize("name, i", [c for c in CASES if c.values[0] in ("mse", "huber", "cross_entropy",
                                                                          "softmax_ce", "hinge", "kl")])
def test_per_example_weights(name, i):
    options, setup = NATURAL[name][i]
    net, raw, lf = setup(losses.get(name, **options))
    raw["Weight"] = RNG.uniform(0.0, 2.0, N)
    assert_same_as_autograd(*_setup(net, raw, lf))


def test_elementwise_weights_use_the_layer():
    net, spec, batch = _setup(chain(4), {"Input": X, "Output": _real(4), "Weight": _unit(4)},
                              losses.get("huber", weight=4))
    assert_same_as_autograd(net, spec, batch)


CLOSED_FORM = {  # (loss, output op) -> must have a closed-form head
    "mse": (losses.get("mse"), None), "mae": (losses.get("mae"), None), "l2": (losses.get("l2"), None),
    "huber": (losses.get("huber", rho=2.0), None), "smooth_l1": (losses.get("smooth_l1"), None),
    "log_cosh": (losses.get("log_cosh"), None), "hinge": (losses.get("hinge"), None),
    "squared_hinge": (losses.get("squared_hinge"), None), "logistic": (losses.get("logistic"), None),
    "sigmoid_bce": (losses.get("sigmoid_bce", pos_weight=2.0), None),
    "softmax_ce": (losses.get("softmax_ce", label_smoothing=0.1), None),
    "categorical_focal": (losses.get("categorical_focal"), None),
    "index": (losses.get("cross_entropy"), "Softmax"),
    "smoothed": (losses.get("cross_entropy", label_smoothing=0.1, class_weights=[1, 2, 3, 4]), "Softmax"),
    "binary": (losses.get("cross_entropy", form="Binary"), "LogisticSigmoid"),
    "kl": (losses.get("kl"), "Softmax"), "kl_div": (losses.get("kl_div"), None),
    "kl_div from logits": (losses.get("kl_div", from_logits=False), None),
    "poisson_nll": (losses.get("poisson_nll", compute_full=True), None),
    "binary_focal": (losses.get("binary_focal", gamma=0.5), None),
    "multiclass_hinge": (losses.get("multiclass_hinge"), None),
    "contrastive": (losses.get("contrastive"), None),
    "mmd": (losses.get("mmd", kernel=0.5), None),
    "ctc": (losses.get("ctc"), None),
}


@pytest.mark.parametrize("case", CLOSED_FORM)
def test_the_common_losses_have_closed_form_heads(case):
    loss, logits_of = CLOSED_FORM[case]
    assert make_head(loss, (4,), logits_of=logits_of) is not None


# ---------------------------------------------------------------------- graphs
def _two_heads(**extra):
    layers = {"trunk": NetChain([8, "Tanh", 8, "Tanh"], input=3), "reg": LinearLayer(2),
              "cls": NetChain([4, "Softmax"]), **extra}
    conns = [("trunk", "reg", NetPort("Reg")), ("trunk", "cls", NetPort("Class"))]
    if extra:
        conns.append(("trunk", "flag", NetPort("Flag")))
    return NetGraph(layers, conns)


def test_a_shared_trunk_with_two_scaled_terms():
    raw = {"Input": X, "Reg": _real(2), "Class": _index(4)}
    spec = [("Reg", losses.get("mse")), ("Class", (losses.get("cross_entropy"), Scaled(0.5)))]
    step = assert_same_as_autograd(*_setup(_two_heads(), raw, spec))
    assert len(step.spec.sub_loss_names) == 2


def test_three_scaled_terms_and_two_losses_on_one_port():
    net = _two_heads(flag=NetChain([1, "LogisticSigmoid"]))
    raw = {"Input": X, "Reg": _real(2), "Class": _index(4), "Flag": _unit(1)}
    spec = [("Reg", losses.get("mse")), ("Reg", (losses.get("huber", rho=0.3), Scaled(-0.25))),
            ("Class", (losses.get("cross_entropy", label_smoothing=0.05), Scaled(0.5))),
            ("Flag", (Automatic, Scaled(2.0)))]
    assert_same_as_autograd(*_setup(net, raw, spec))


def test_the_same_softmax_read_by_two_losses():
    """One loss reads the logits before the softmax, the other its output: both gradients meet there."""
    probs = {"Input": X, "Output": _probs(4)}
    both = [("Output", losses.get("cross_entropy", form="Probabilities")), ("Output", (losses.get("mse"), Scaled(3)))]
    step = assert_same_as_autograd(*_setup(chain(4, "Softmax"), probs, both))
    assert any(isinstance(n.op, SoftmaxOp) for n in step.heads.forward)


def test_branches_catenate_total_and_an_output_port_as_a_loss():
    net = NetGraph({"a": NetChain([5, "Ramp"], input=3), "b": NetChain([5, "Tanh"], input=3),
                    "cat": CatenateLayer(), "sum": TotalLayer(), "out": LinearLayer(3), "sq": LinearLayer(())},
                   [(NetPort("Input"), "a"), (NetPort("Input"), "b"), (["a", "b"], "cat", "out", NetPort("Output")),
                    (["a", "b"], "sum", "sq", NetPort("Penalty"))])
    raw = {"Input": X, "Output": _real(3)}
    spec = [("Output", losses.get("mse")), ("Penalty", Scaled(0.1))]
    assert_same_as_autograd(*_setup(net, raw, spec))


def test_a_tensor_input_and_nested_chains():
    net = NetChain([NetChain([6, "Tanh"]), NetChain([LinearLayer(4), "Softmax"])], input=(2, 3))
    assert_same_as_autograd(*_setup(net, {"Input": RNG.normal(size=(N, 2, 3)), "Output": _index(4)}, Automatic))


# ---------------------------------------------------------------------- fallbacks, errors, checks
@pytest.mark.parametrize("make", [
    lambda: (chain(4, ElementwiseLayer(lambda x: x * x)), losses.get("mse")),
    lambda: (chain(4), _user_loss()),
], ids=["user layer", "user loss"])
def test_user_functions_are_compiled_too(make):
    net, loss = make()
    net, spec, batch = _setup(net, {"Input": X, "Output": _real(4)}, loss)
    step = assert_same_as_autograd(net, spec, batch)
    assert any(type(n.op).__name__ == "LayerVJPOp" for n in step.heads.forward)


def _user_loss():
    from lossviz.losses.custom import function_loss

    return function_loss(lambda x, t: (x - t) ** 4, "fourth")()


def test_targets_are_checked_as_the_loss_checks_them():
    net, spec, batch = _setup(chain(4, "LogisticSigmoid"), {"Input": X, "Output": _unit(4)}, Automatic)
    batch["Output"] = batch["Output"] + 1.0
    with pytest.raises(DataError, match="between 0 and 1"):
        select_step(net, spec).step(batch)
    net, spec, batch = _setup(chain(4, "Softmax"), {"Input": X, "Output": _index(4)},
                              losses.get("cross_entropy", label_smoothing=0.1))
    batch["Output"] = batch["Output"] + 4
    with pytest.raises(DataError, match="class indices 0 .. 3"):
        select_step(net, spec).step(batch)


def test_saturated_logits_stay_finite():
    net, spec, batch = _setup(NetChain([4, "Softmax"], input=3), {"Input": X, "Output": _index(4)},
                              losses.get("cross_entropy", label_smoothing=0.1))
    net = net.with_params({"1": {"Weights": 1e4 * net.params["1"]["Weights"], "Biases": np.zeros(4)}})
    subs, (grad,) = select_step(net, spec).step(batch)
    assert np.isfinite(subs).all() and np.isfinite(grad).all() and subs[0] > 100


# ---------------------------------------------------------------------- set_spec
def test_a_scale_or_loss_change_keeps_the_compiled_net():
    raw = {"Input": X, "Reg": _real(2), "Class": _index(4)}
    net, spec, batch = _setup(_two_heads(), raw, [("Reg", losses.get("mse")), ("Class", losses.get("cross_entropy"))])
    step = select_step(net, spec)
    step.step(batch)
    nodes = list(step.trunk.nodes)
    ops = [n.op for n in nodes]
    bufs = [n.op.buffers(N, 0, step.dtype, None) for n in nodes]
    flat = step.leaves[0]
    changes = [
        [("Reg", (losses.get("mse"), Scaled(4.0))), ("Class", (losses.get("cross_entropy"), Scaled(0.5)))],
        [("Reg", losses.get("huber", rho=0.2)), ("Class", losses.get("cross_entropy", label_smoothing=0.2))],
        [("Class", losses.get("categorical_focal"))],
    ]
    for change in changes:
        new = resolve_loss(net, change, raw)
        data = read_data(net, new, {k: v for k, v in raw.items() if k in ("Input", *new.sub_loss_names)}, "data")
        assert step.set_spec(new) is True
        assert step.trunk.nodes == nodes and [n.op for n in nodes] == ops and step.leaves[0] is flat
        assert all(n.op.buffers(N, 0, step.dtype, None) is b for n, b in zip(nodes, bufs))
        subs, (grad,) = step.step(data)
        ref_subs, ref_grads = AutogradStep(net, new).step(data)
        np.testing.assert_allclose(subs, ref_subs, rtol=1e-10)
        np.testing.assert_allclose(grad, _flat(ref_grads), rtol=1e-9, atol=1e-12)
        assert step.spec is new


def test_set_spec_refuses_an_unknown_port_and_autograd_step_follows_too():
    net, spec, batch = _setup(chain(4), {"Input": X, "Output": _real(4)}, losses.get("mse"))
    step, ref = select_step(net, spec), AutogradStep(net, spec)
    other = resolve_loss(net, losses.get("mae"), {})
    assert step.set_spec(other) and ref.set_spec(other)
    np.testing.assert_allclose(step.step(batch)[0], ref.step(batch)[0], rtol=1e-12)
    bogus = type(other)((type(other.terms[0])(port="Nope", loss=None, names=("Nope",)),))
    assert step.set_spec(bogus) is False and ref.set_spec(bogus) is False
    assert step.spec is other


# ---------------------------------------------------------------------- training, threads, precision
@pytest.mark.parametrize("setup", [
    lambda: (_two_heads(), {"Input": X, "Reg": _real(2), "Class": _index(4)},
             [("Reg", losses.get("huber")), ("Class", (losses.get("cross_entropy", label_smoothing=0.1),
                                                        Scaled(0.5)))]),
    lambda: _pair(losses.get("contrastive")),
    lambda: (chain(4), {"Input": X, "Output": _index(4)}, losses.get("categorical_focal", gamma=1.0)),
], ids=["two-heads", "pair-embedding", "focal"])
def test_training_a_few_hundred_steps_gives_the_same_net(setup):
    net, spec, batch = _setup(*setup())
    trained = []
    for step in (select_step(net, spec), AutogradStep(net, spec)):
        opt = ADAM()
        opt.start(step.leaves)
        for _ in range(300):
            _, grads = step.step(batch)
            opt.step(step.leaves, grads, 0.01)
        trained.append((step.params(), step.evaluate(batch)))
    (p1, l1), (p2, l2) = trained
    np.testing.assert_allclose(l1, l2, rtol=1e-7)
    for a, b in zip(_flat_tree(p1), _flat_tree(p2)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def _flat_tree(tree):
    from lossviz.train.trees import tree_leaves

    return tree_leaves(tree)


def test_a_batch_split_over_two_threads_gives_the_same_step():
    rows = 600
    raw = {"Input": RNG.normal(size=(rows, 3)), "Reg": RNG.normal(size=(rows, 2)), "Class": RNG.integers(0, 4, rows)}
    layers = {"trunk": NetChain([300, "Tanh", 300, "Tanh"], input=3), "reg": LinearLayer(2),
              "cls": NetChain([4, "Softmax"])}
    net = NetGraph(layers, [("trunk", "reg", NetPort("Reg")), ("trunk", "cls", NetPort("Class"))])
    spec = [("Reg", losses.get("huber")), ("Class", (losses.get("cross_entropy", label_smoothing=0.1), Scaled(0.5)))]
    net, spec, batch = _setup(net, raw, spec)
    one, two = CompiledStep(net, spec, threads=1), CompiledStep(net, spec, threads=2)
    s1, (g1,) = one.step(batch)
    s2, (g2,) = two.step(batch)
    np.testing.assert_array_equal(s1, s2)  # the same split on both: exact by construction
    np.testing.assert_array_equal(g1, g2)
    ref_s, ref_g = AutogradStep(net, spec).step(batch)
    np.testing.assert_allclose(s1, ref_s, rtol=1e-10)
    np.testing.assert_allclose(g1, _flat(ref_g), rtol=1e-8, atol=1e-12)


def test_real32_computes_in_float32_close_to_real64():
    raw = {"Input": X, "Reg": _real(2), "Class": _probs(4)}
    spec = [("Reg", losses.get("huber")), ("Class", losses.get("kl_div", from_logits=False))]
    net, spec, batch = _setup(_two_heads(), raw, spec)
    s32, s64 = select_step(net, spec, "Real32"), select_step(net, spec, "Real64")
    (a, (g32,)), (b, (g64,)) = s32.step(batch), s64.step(batch)
    assert s32.dtype == np.float32 and g32.dtype == np.float32 and s32.leaves[0].dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=1e-5)
    np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-5)
    assert all(v.dtype == np.float64 for v in _flat_tree(s32.params()))


def test_a_pair_embedding_runs_its_net_twice_with_shared_weights():
    net, spec, batch = _setup(*_pair(losses.get("contrastive")))
    step = assert_same_as_autograd(net, spec, batch)
    kinds = [type(n.op).__name__ for n in step.trunk.nodes]
    assert kinds == ["LinearOp", "ActivationOp", "LinearOp"] * 2 + ["EuclideanDistanceOp"]
    assert [n.op.accumulate for n in step.trunk.nodes if isinstance(n.op, LinearOp)] == [True, True, False, False]
    cosine = NetPairEmbeddingOperator(NetChain([6, "Tanh", 3], input=3), "CosineDistance")
    raw = {"Input1": X, "Input2": _real(3), "Output": RNG.uniform(size=N) < 0.5}
    step = assert_same_as_autograd(*_setup(cosine, raw, losses.get("contrastive")))
    assert [type(n.op).__name__ for n in step.trunk.nodes] == ["LayerVJPOp"]  # the operator as one op


def test_a_target_computed_by_the_net_is_differentiated_by_the_layer():
    net = NetGraph({"trunk": NetChain([8, "Tanh"], input=3), "a": LinearLayer(4), "b": LinearLayer(4),
                    "loss": losses.get("huber")},
                   [("trunk", "a", NetPort("loss", "Input")), ("trunk", "b", NetPort("loss", "Target"))])
    step = assert_same_as_autograd(*_setup(net, {"Input": X}, Automatic))
    (loss_node,) = [n for n in step.trunk.nodes if n.path == ("loss",)]
    assert type(loss_node.op).__name__ == "LayerVJPOp" and set(loss_node.grad_ports) == {"Input", "Target"}


def test_the_ctc_head_takes_padded_targets_like_the_layer():
    from autograd import grad
    import autograd.numpy as anp

    layer = losses.get("ctc")
    x = RNG.normal(size=(6, 5, 4))
    labels = np.array([[0, 1], [2, -1], [1, 1], [0, -1], [2, 0], [-1, -1]])
    gL = RNG.uniform(size=6)
    head, _ = make_head(layer, (5, 4))
    buf = head.alloc(6, np.float64, {})
    value = head.forward({"Input": x, "Target": labels}, buf)["Loss"]
    ref = layer.apply(None, {"Input": x, "Target": labels})["Loss"]
    np.testing.assert_allclose(value, ref, rtol=1e-12)
    ref_grad = grad(lambda v: anp.sum(layer.apply(None, {"Input": v, "Target": labels})["Loss"] * gL))(x)
    np.testing.assert_allclose(head.backward({"Loss": gL}, buf, ("Input",))["Input"], ref_grad, rtol=1e-9,
                               atol=1e-12)


@pytest.mark.parametrize("blank_label", ["last", "first"])
@pytest.mark.parametrize("scale", [1.0, 60.0, 200.0])
def test_the_ctc_head_in_float32_stays_finite_with_large_logits(scale, blank_label):
    """Logits a hundred apart underflow a float32 softmax: the emissions come from the logits in float64."""
    layer = losses.get("ctc", blank_label=blank_label)
    x = RNG.normal(size=(8, 5, 4)) * scale
    labels = RNG.integers(0, 3, size=(8, 2)) + (blank_label == "first")
    ref = layer.apply(None, {"Input": x, "Target": labels})["Loss"]
    head, _ = make_head(layer, (5, 4))
    buf = head.alloc(8, np.float32, {})
    value = head.forward({"Input": x.astype(np.float32), "Target": labels}, buf)["Loss"]
    assert value.dtype == np.float32
    # float32 logits: relative rounding of about 1e-7 per logit, and the loss grows with the scale
    np.testing.assert_allclose(value, ref, rtol=2e-6, atol=1e-6)
    gradient = head.backward({"Loss": np.ones(8, np.float32)}, buf, ("Input",))["Input"]
    assert gradient.dtype == np.float32 and np.isfinite(gradient).all()


@settings(max_examples=25, deadline=None)
@given(eps=st.floats(0.0, 1.0), weights=st.lists(st.floats(0.0, 3.0), min_size=4, max_size=4),
       scale=st.floats(-3.0, 3.0).filter(lambda r: abs(r) > 1e-3), rho=st.floats(0.01, 5.0),
       gamma=st.floats(0.0, 4.0), seed=st.integers(0, 10_000))
def test_options_and_scales_on_a_shared_trunk_equal_autograd(eps, weights, scale, rho, gamma, seed):
    """Any smoothing, class weights, Huber rho, focal gamma and scale: the compiled step is the reference."""
    rng = np.random.default_rng(seed)
    raw = {"Input": rng.normal(size=(N, 3)), "Reg": rng.normal(size=(N, 2)), "Class": rng.integers(0, 4, N),
           "Flag": rng.integers(0, 4, N)}
    net = _two_heads(flag=LinearLayer(4))
    spec = [("Reg", (losses.get("huber", rho=rho), Scaled(scale))),
            ("Class", losses.get("cross_entropy", label_smoothing=eps, class_weights=weights)),
            ("Flag", losses.get("categorical_focal", gamma=gamma, alpha=None))]
    assert_same_as_autograd(*_setup(net, raw, spec, seed=seed), rtol=1e-8, atol=1e-11)
