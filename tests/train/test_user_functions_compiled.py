"""Nets and losses built from user Python functions train through the compiled step (issue 11).

Autograd runs on the user's layers and losses only (LayerVJPOp nodes and heads); every built-in layer
and loss around them keeps its closed-form op, and they compute in float64 whatever the working
precision. The reference is AutogradStep (autograd through the whole net, float64): sub-losses and
gradients equal up to rounding, and so do nets trained for a few hundred steps.
"""
import autograd.numpy as anp
import numpy as np
import pytest

from lossviz import (
    ElementwiseLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetInitialize,
    NetPairEmbeddingOperator,
    NetPort,
    ThreadingLayer,
    losses,
)
from lossviz.errors import NetTypeError
from lossviz.losses.base import LossLayer
from lossviz.losses.custom import function_loss
from lossviz.net.layer import Layer
from lossviz.net.ports import PortType, unify
from lossviz.train import NetTrain, Scaled
from lossviz.train import session as training_session
from lossviz.train.data import read_data
from lossviz.train.heads import _Head
from lossviz.train.ops import ActivationOp, EuclideanDistanceOp, LayerVJPOp, LinearOp, SoftmaxOp
from lossviz.train.optimizers import ADAM
from lossviz.train.plan import CompiledStep, why_not_compiled, working_dtype
from lossviz.train.session import TrainingSession
from lossviz.train.spec import resolve_loss
from lossviz.train.steps import AutogradStep, select_step
from lossviz.train.trees import tree_leaves
from tolerance import assert_equal_up_to_rounding

RNG = np.random.default_rng(23)
N = 31
X = RNG.normal(size=(N, 3))
CLOSED_FORM = (LinearOp, ActivationOp, SoftmaxOp, EuclideanDistanceOp, _Head)


def _x_tanh_x(x):
    return x * anp.tanh(x)


def _real(*shape):
    return RNG.normal(size=(N,) + shape)


def user_chain(k=4):
    """The 3-8-8-k chain with x tanh(x) activations (user functions) in the trunk."""
    return NetChain([8, ElementwiseLayer(_x_tanh_x), 8, ElementwiseLayer(lambda x: x * anp.tanh(x)), k], input=3)


def cube_loss():
    """A user loss made from a function, as lossviz.losses.register makes it."""
    return function_loss(lambda input, target: anp.abs(input - target) ** 3, "cube")()


class SoftL1(LossLayer):
    """A user's LossLayer subclass: sqrt(1 + d^2) - 1 per element."""

    def elementwise(self, data):
        d = data["Input"] - data["Target"]
        return anp.sqrt(1.0 + d * d) - 1.0


class ClippedSquare(LossLayer):
    """A user's LossLayer subclass whose check converts the Input (clips it): the gradient goes through that."""

    def check(self, data):
        data["Input"] = anp.clip(data["Input"], -0.5, 0.5)

    def elementwise(self, data):
        d = data["Input"] - data["Target"]
        return d * d


class Slope(Layer):
    """A user layer with a parameter: ``max(x, 0) + a min(x, 0)``, a slope ``a`` per entry (a PReLU)."""

    def _propagate(self, ins, outs):
        t = unify(ins["Input"], PortType(outs["Output"].dims), where="Slope")
        return {"Input": PortType(t.dims, ins["Input"].kind, ins["Input"].coder)}, {"Output": PortType(t.dims)}

    def param_shapes(self):
        return {"Slope": self.inputs["Input"].dims}

    def _init_param(self, name, shape, rng):
        return rng.uniform(0.1, 0.5, shape)

    def apply(self, params, inputs):
        x = inputs["Input"]
        return {"Output": anp.maximum(x, 0.0) + params["Slope"] * anp.minimum(x, 0.0)}


class SquashedLinear(LinearLayer):
    """A user subclass of a built-in layer with parameters: ``2 tanh(x W^T + b)``."""

    def apply(self, params, inputs):
        return {"Output": 2.0 * anp.tanh(super().apply(params, inputs)["Output"])}


class Residual(NetChain):
    """A user subclass of a net with its own apply: the chain plus its input."""

    def apply(self, params, inputs):
        return {"Output": super().apply(params, inputs)["Output"] + inputs["Input"]}


def _setup(net, raw, loss_function, seed=1):
    net = NetInitialize(net, random_seed=seed)
    spec = resolve_loss(net, loss_function, raw)
    return net, spec, read_data(net, spec, raw, "data")


def _flat(grads):
    return np.concatenate([np.ravel(g) for g in grads])


def assert_same_as_autograd(net, spec, batch, working_precision="Real64", loss_precision=None):
    """The compiled step (float64, whatever was asked) equals AutogradStep up to rounding; returns it.

    ``loss_precision``: "Real32" when a user function returns float32 losses (the two average them in
    different precisions).
    """
    step = select_step(net, spec, working_precision)
    assert isinstance(step, CompiledStep), why_not_compiled(net, spec)
    assert step.dtype == np.float64 and step.leaves[0].dtype == np.float64
    ref = AutogradStep(net, spec)
    subs, (grad,) = step.step(batch)
    subs_r, grads_r = ref.step(batch)
    assert grad.dtype == np.float64 and np.abs(grad).max() > 0
    assert_equal_up_to_rounding(subs, np.asarray(subs_r), precision=loss_precision)
    assert_equal_up_to_rounding(grad, _flat(grads_r))
    assert_equal_up_to_rounding(step.evaluate(batch), ref.evaluate(batch), precision=loss_precision)
    return step


def _kinds(nodes):
    return [type(n.op).__name__ for n in nodes]


# ---------------------------------------------------------------------- user layers
def test_a_user_activation_in_the_trunk_runs_alone_under_autograd():
    net, spec, batch = _setup(user_chain(), {"Input": X, "Output": _real(4)}, losses.get("mse"))
    step = assert_same_as_autograd(net, spec, batch)
    assert _kinds(step.trunk.nodes) == ["LinearOp", "LayerVJPOp", "LinearOp", "LayerVJPOp", "LinearOp"]
    assert all(isinstance(n.op, _Head) for n in step.heads.nodes)  # the MSE head keeps its closed form
    # a batch is not split over two threads: autograd's tracer is not made for that
    big = {k: np.repeat(v, 40, axis=0) for k, v in batch.items()}
    assert not step.heads.threadsafe and step._split(big, len(big["Input"])) is None


def test_a_threading_layer_and_a_pair_embedding_of_user_functions():
    graph = NetGraph({"a": LinearLayer(4), "b": LinearLayer(4), "t": ThreadingLayer(lambda a, b: a * anp.tanh(b)),
                      "out": LinearLayer(2)}, [("a", NetPort("t", "Input1")), ("b", NetPort("t", "Input2")),
                                               ("t", "out")], input=3)
    step = assert_same_as_autograd(*_setup(graph, {"Input": X, "Output": _real(2)}, losses.get("huber")))
    assert _kinds(step.trunk.nodes).count("LayerVJPOp") == 1
    pair = NetPairEmbeddingOperator(NetChain([6, ElementwiseLayer(_x_tanh_x), 3], input=3))
    raw = {"Input1": X, "Input2": _real(3), "Output": RNG.uniform(size=N) < 0.5}
    step = assert_same_as_autograd(*_setup(pair, raw, losses.get("contrastive")))
    assert _kinds(step.trunk.nodes) == ["LinearOp", "LayerVJPOp", "LinearOp"] * 2 + ["EuclideanDistanceOp"]


def test_user_layers_with_parameters_get_their_gradients_into_the_flat_vector():
    net = NetChain([8, Slope(), SquashedLinear(6), ElementwiseLayer(_x_tanh_x), 4], input=3)
    net, spec, batch = _setup(net, {"Input": X, "Output": _real(4)}, losses.get("mse"))
    step = assert_same_as_autograd(net, spec, batch)
    by_path = {n.path: n.op for n in step.trunk.nodes}
    assert isinstance(by_path[("2",)], LayerVJPOp) and by_path[("2",)].param_paths == [("Slope",)]
    assert isinstance(by_path[("3",)], LayerVJPOp) and by_path[("3",)].has_params  # not a LinearOp
    grads = dict(zip([p for p, _ in _items(net.params)], _split_like(step, step.step(batch)[1][0])))
    assert np.abs(grads[("2", "Slope")]).max() > 0 and np.abs(grads[("3", "Weights")]).max() > 0


def _items(tree):
    from lossviz.train.trees import tree_items

    return tree_items(tree)


def _split_like(step, flat):
    return [flat[a:b] for a, b in zip(step._offsets[:-1], step._offsets[1:])]


def test_a_user_net_subclass_with_its_own_apply_is_one_op():
    net = NetChain([LinearLayer(4), Residual([4, "Tanh", 4]), 2], input=3)
    step = assert_same_as_autograd(*_setup(net, {"Input": X, "Output": _real(2)}, losses.get("mse")))
    assert _kinds(step.trunk.nodes) == ["LinearOp", "LayerVJPOp", "LinearOp"]  # not flattened: its apply counts


@pytest.mark.parametrize("f, kind, precision", [
    (lambda x: (x * anp.tanh(x)).astype(np.float32), "f", "Real32"),
    (lambda x: anp.round(3.0 * x).astype(np.int64), "i", None),
    (lambda x: x.astype(np.int64) + x, "f", None),
    (lambda x: (3.0 * x).astype(np.int64), "i", None),  # autograd passes the gradient straight through the cast
], ids=["float32", "rounded integers", "integers and floats", "integers, gradient straight through"])
def test_user_functions_returning_float32_or_integers(f, kind, precision):
    """Into another user layer: float32 comes out as float64 (autograd would compute the next layer in float32,
    hence the float32 tolerance there), integers as integers."""
    net = NetChain([6, ElementwiseLayer(f), ElementwiseLayer(lambda x: x * anp.tanh(x / 3.0)), 4], input=3)
    net, spec, batch = _setup(net, {"Input": X, "Output": _real(4)}, losses.get("mse"))
    step = select_step(net, spec)
    ref = AutogradStep(net, spec)
    (subs, (grad,)), (subs_r, grads_r) = step.step(batch), ref.step(batch)
    assert_equal_up_to_rounding(subs, np.asarray(subs_r), precision=precision)
    assert_equal_up_to_rounding(grad, _flat(grads_r), precision=precision)
    assert step.dtype == np.float64 and np.abs(grad).max() > 0
    node = next(n for n in step.heads.forward if isinstance(n.op, LayerVJPOp))
    out = node.op.forward({"Input": X @ np.ones((3, 6))}, node.op.alloc(N, step.dtype, step._gviews[0]))["Output"]
    assert out.dtype.kind == kind and (kind == "i" or out.dtype == np.float64)


# ---------------------------------------------------------------------- user losses
class _Registered:
    """A loss registered with lossviz.losses.register (removed again after the test)."""

    def __call__(self):
        return losses.get("test-user-compiled-pseudo-huber")


USER_LOSSES = {
    "function_loss": (cube_loss, lambda: _real(4)),
    "LossLayer subclass": (SoftL1, lambda: _real(4)),
    "registered function": (_Registered(), lambda: _real(4)),
    "LossLayer subclass converting its Input": (ClippedSquare, lambda: _real(4)),
    # loss nets whose output is not one number per example: summed per example, as AutogradStep does
    "array-valued ThreadingLayer": (lambda: ThreadingLayer(lambda x, t: (x - t) ** 2, inputs=["Input", "Target"]),
                                    lambda: _real(4)),
    "batch-mean ThreadingLayer": (lambda: ThreadingLayer(lambda x, t: anp.mean(anp.abs(x - t)),
                                                         inputs=["Input", "Target"]), lambda: _real(4)),
}


@pytest.fixture
def registered(monkeypatch):
    from lossviz.losses import registry

    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    monkeypatch.setattr(registry, "_LOOKUP", dict(registry._LOOKUP))

    @losses.register("test-user-compiled-pseudo-huber")
    def pseudo_huber(input, target, delta=1.5):
        """delta^2 (sqrt(1 + (d/delta)^2) - 1)"""
        return delta ** 2 * (anp.sqrt(1.0 + ((input - target) / delta) ** 2) - 1.0)


@pytest.mark.parametrize("case", USER_LOSSES)
def test_a_user_loss_on_a_built_in_net(case, registered):
    make, target = USER_LOSSES[case]
    net = NetChain([8, "Tanh", 4], input=3)
    net, spec, batch = _setup(net, {"Input": X, "Output": target()}, make())
    step = assert_same_as_autograd(net, spec, batch)
    assert _kinds(step.trunk.nodes) == ["LinearOp", "ActivationOp", "LinearOp"]  # the net keeps its closed forms
    assert _kinds(step.heads.nodes) == ["LayerVJPOp"]


def test_a_user_loss_returning_float32():
    loss = function_loss(lambda input, target: ((input - target) ** 2).astype(np.float32), "square32")()
    net, spec, batch = _setup(NetChain([8, "Tanh", 4], input=3), {"Input": X, "Output": _real(4)}, loss)
    assert_same_as_autograd(net, spec, batch, loss_precision="Real32")


def test_two_output_ports_a_user_loss_and_a_scaled_built_in_one():
    layers = {"trunk": NetChain([8, "Tanh", 8, "Tanh"], input=3), "reg": LinearLayer(2),
              "cls": NetChain([4, "Softmax"])}
    net = NetGraph(layers, [("trunk", "reg", NetPort("Reg")), ("trunk", "cls", NetPort("Class"))])
    raw = {"Input": X, "Reg": _real(2), "Class": RNG.integers(0, 4, N)}
    spec = [("Reg", cube_loss()), ("Class", (losses.get("cross_entropy"), Scaled(0.5)))]
    step = assert_same_as_autograd(*_setup(net, raw, spec), working_precision="Real32")
    assert len(step.spec.sub_loss_names) == 2 and list(step._scales) == [1.0, 0.5]
    user, ce = step.heads.nodes
    assert isinstance(user.op, LayerVJPOp) and isinstance(ce.op, _Head)  # the cross-entropy keeps its closed form
    assert all(isinstance(n.op, CLOSED_FORM) for n in step.trunk.nodes)


def test_per_example_weights_with_a_user_loss():
    raw = {"Input": X, "Output": _real(4), "Weight": RNG.uniform(0.0, 2.0, N)}
    net, spec, batch = _setup(NetChain([8, "Tanh", 4], input=3), raw, cube_loss())
    assert spec.terms[0].weight and "Weight" in batch
    assert_same_as_autograd(net, spec, batch)
    unweighted = dict(batch)
    del unweighted["Weight"]
    step = select_step(net, spec)
    assert not np.allclose(step.step(batch)[0], step.step(unweighted)[0])  # the weights were used


# ---------------------------------------------------------------------- precision
PRECISION_CASES = {
    "user layer": lambda: (user_chain(), losses.get("mse"), "ElementwiseLayer computes a user function"),
    "user loss": lambda: (NetChain([8, "Tanh", 4], input=3), cube_loss(), "CubeLossLayer is not a built-in loss"),
    "user layer subclass": lambda: (NetChain([8, Slope(), 4], input=3), losses.get("mse"),
                                    "Slope is not a built-in layer"),
}


@pytest.mark.parametrize("case", PRECISION_CASES)
def test_select_step_compiles_user_functions_in_float64_under_real32(case):
    net, loss, why = PRECISION_CASES[case]()
    net, spec, batch = _setup(net, {"Input": X, "Output": _real(4)}, loss)
    step = select_step(net, spec, "Real32")
    assert isinstance(step, CompiledStep) and step.working_precision == "Real32"
    assert step.dtype == np.float64 and step.leaves[0].dtype == np.float64 and step.step(batch)[1][0].dtype == np.float64
    assert why in step.float64_because
    assert working_dtype(step.trunk, spec, "Real32") == (np.dtype(np.float64), step.float64_because)
    assert working_dtype(step.trunk, spec, "Real64") == (np.dtype(np.float64), None)


def test_built_in_nets_and_losses_stay_in_float32():
    net, spec, batch = _setup(NetChain([8, "Tanh", 4], input=3), {"Input": X, "Output": _real(4)}, losses.get("mse"))
    step = select_step(net, spec, "Real32")
    assert step.dtype == np.float32 and step.float64_because is None
    assert step.step(batch)[1][0].dtype == np.float32


# ---------------------------------------------------------------------- changing the loss
def test_set_spec_between_a_user_loss_and_a_built_in_one_keeps_the_plan():
    raw = {"Input": X, "Output": _real(4)}
    for net, precision in ((NetChain([8, "Tanh", 8, "Tanh", 4], input=3), "Real64"), (user_chain(), "Real32")):
        net, spec, batch = _setup(net, raw, cube_loss())
        step = select_step(net, spec, precision)
        step.step(batch)
        trunk, nodes, ops, flat = step.trunk, list(step.trunk.nodes), [n.op for n in step.trunk.nodes], step.leaves[0]
        for loss in [losses.get("mse"), (SoftL1(), Scaled(3.0)), losses.get("huber", rho=0.5), cube_loss()]:
            new = resolve_loss(net, loss, raw)
            assert step.set_spec(new) is True and step.spec is new
            assert step.trunk is trunk and step.trunk.nodes == nodes and [n.op for n in nodes] == ops
            assert step.leaves[0] is flat and step.dtype == np.float64
            subs, (grad,) = step.step(batch)
            ref_subs, ref_grads = AutogradStep(net, new).step(batch)
            assert_equal_up_to_rounding(subs, np.asarray(ref_subs))
            assert_equal_up_to_rounding(grad, _flat(ref_grads))


def test_under_real32_a_user_loss_on_a_built_in_net_asks_for_a_new_float64_step():
    raw = {"Input": X, "Output": _real(4)}
    net, spec, batch = _setup(NetChain([8, "Tanh", 4], input=3), raw, losses.get("mse"))
    step = select_step(net, spec, "Real32")
    assert step.dtype == np.float32
    assert step.set_spec(resolve_loss(net, cube_loss(), raw)) is False and step.spec is spec  # float64 needed
    assert step.set_spec(resolve_loss(net, losses.get("huber"), raw)) is True


def test_a_session_switching_to_a_user_loss_and_back_keeps_the_adam_moments():
    x = RNG.normal(size=(64, 3))
    s = TrainingSession(NetChain([8, "Tanh", 2], input=3), (x, np.sin(x[:, :2])), random_seed=1, batch_size=16,
                        learning_rate=0.01)  # Real32, the default
    s.step(batches=3)
    assert isinstance(s._engine, CompiledStep) and s._engine.dtype == np.float32
    before = np.concatenate([np.ravel(m) for m in s.optimizer._m])
    s.set_loss_function(cube_loss())
    s.step()
    engine = s._engine
    assert isinstance(engine, CompiledStep) and engine.dtype == np.float64
    s.set_loss_function(losses.get("mse"))
    s.step()
    assert isinstance(s._engine, CompiledStep) and s._engine.dtype == np.float32
    assert s.total_batches == 5 and len(s.changes) == 2
    assert not np.allclose(np.concatenate([np.ravel(m) for m in s.optimizer._m]), before)
    s2 = TrainingSession(user_chain(2), (x, np.sin(x[:, :2])), random_seed=1, batch_size=16, learning_rate=0.01)
    s2.step()
    engine = s2._engine
    assert isinstance(engine, CompiledStep) and engine.dtype == np.float64
    s2.set_loss_function(cube_loss())
    s2.step()
    assert s2._engine is engine  # a user net computes in float64 either way: the same step, a new head


# ---------------------------------------------------------------------- training
def test_a_few_hundred_steps_give_the_same_net_as_autograd():
    raw = {"Input": X, "Output": _real(4), "Weight": RNG.uniform(0.5, 1.5, N)}
    net, spec, batch = _setup(NetChain([8, Slope(), 8, ElementwiseLayer(_x_tanh_x), 4], input=3), raw, cube_loss())
    trained = []
    for step in (select_step(net, spec, "Real32"), AutogradStep(net, spec)):
        opt = ADAM()
        opt.start(step.leaves)
        for _ in range(300):
            _, grads = step.step(batch)
            opt.step(step.leaves, grads, 0.01)
        trained.append((step.params(), step.evaluate(batch)))
    assert isinstance(select_step(net, spec, "Real32"), CompiledStep)
    (p1, l1), (p2, l2) = trained
    np.testing.assert_allclose(l1, l2, rtol=1e-8)  # rounding errors grow through 300 steps
    for a, b in zip(tree_leaves(p1), tree_leaves(p2)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert l1[0] < 0.5 * AutogradStep(net, spec).evaluate(batch)[0]  # it did train


_XT = np.random.default_rng(0).normal(size=(200, 3))


@pytest.mark.parametrize("make", [
    lambda: (user_chain(2), cube_loss(), {"Input": _XT, "Output": np.sin(_XT[:, :2])}),
    lambda: (NetGraph({"trunk": NetChain([8, ElementwiseLayer(_x_tanh_x)], input=3), "reg": LinearLayer(2),
                       "cls": NetChain([2, "Softmax"])},
                      [("trunk", "reg", NetPort("Reg")), ("trunk", "cls", NetPort("Class"))]),
             [("Reg", SoftL1()), ("Class", (losses.get("cross_entropy"), Scaled(0.5)))],
             {"Input": _XT, "Reg": np.sin(_XT[:, :2]), "Class": (_XT[:, 0] * _XT[:, 1] > 0).astype(int)}),
], ids=["user chain, user loss", "graph: user loss + Scaled cross-entropy"])
def test_nettrain_trains_the_same_net_as_with_autograd(monkeypatch, make):
    net, loss, data = make()
    kw = dict(loss_function=loss, batch_size=20, max_training_rounds=30, random_seed=3, progress=None,
              learning_rate=0.01, working_precision="Real64")
    chosen, select = [], training_session.select_step
    monkeypatch.setattr(training_session, "select_step", lambda *a: chosen.append(select(*a)) or chosen[-1])
    compiled = NetTrain(net, data, "All", **kw)
    assert chosen and all(isinstance(s, CompiledStep) for s in chosen)
    monkeypatch.setattr(training_session, "select_step",
                        lambda net, spec, working_precision="Real64": AutogradStep(net, spec))
    ref = NetTrain(net, data, "All", **kw)
    assert compiled["TotalBatches"] == ref["TotalBatches"] == 300
    np.testing.assert_allclose(compiled["RoundLossList"], ref["RoundLossList"], rtol=1e-8)  # through 300 steps
    for a, b in zip(tree_leaves(compiled["TrainedNet"].params), tree_leaves(ref["TrainedNet"].params)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert compiled["RoundLossList"][-1] < 0.7 * compiled["RoundLossList"][0]


# ---------------------------------------------------------------------- errors
def _in_place(x):
    y = x * 1.0
    y[y < 0] = 0.0  # autograd cannot trace an assignment into an array
    return y


@pytest.mark.parametrize("where", ["layer", "loss"])
def test_a_function_autograd_cannot_differentiate_gives_the_error_autograd_gives(where):
    if where == "layer":
        net, loss = NetChain([6, ElementwiseLayer(_in_place), 4], input=3), losses.get("mse")
    else:
        net, loss = NetChain([6, "Tanh", 4], input=3), function_loss(lambda x, t: _in_place(x - t) ** 2, "clip2")()
    net, spec, batch = _setup(net, {"Input": X, "Output": _real(4)}, loss)
    with pytest.raises(Exception) as ref:
        AutogradStep(net, spec).step(batch)
    step = select_step(net, spec)
    assert isinstance(step, CompiledStep)
    with pytest.raises(type(ref.value)) as got:
        step.step(batch)
    assert str(got.value) == str(ref.value)
    assert_equal_up_to_rounding(step.evaluate(batch), AutogradStep(net, spec).evaluate(batch))  # no tracing


def test_a_function_autograd_cannot_see_into_is_named():
    vectorized = np.vectorize(lambda v: 2.0 * v)
    net, spec, batch = _setup(NetChain([6, ElementwiseLayer(vectorized), 4], input=3),
                              {"Input": X, "Output": _real(4)}, losses.get("mse"))
    with pytest.raises(Exception):
        AutogradStep(net, spec).step(batch)
    with pytest.raises(NetTypeError, match=r"ElementwiseLayer at 2: port 'Output' came out as an array of Python "
                                           r"objects .* autograd\.numpy"):
        select_step(net, spec).step(batch)


def test_functions_made_by_exec_without_a_module_name_train():
    """A function made by ``exec`` in a namespace with no ``__name__`` has ``__module__`` None (a teaching tool
    or a test harness running a notebook's cells does this); NetTrain must still read it as a user function."""
    namespace = {"anp": anp}
    exec("square = lambda a, b: (a - b) ** 2\ncube = lambda input, target: anp.abs(input - target) ** 3\n"
         "act = lambda x: x * anp.tanh(x)", namespace)
    assert namespace["square"].__module__ is None
    X = np.random.default_rng(0).uniform(-1, 1, (64, 2))
    y = X @ np.array([1.0, -1.0])
    loss_net = NetGraph({"evaluation": NetChain([LinearLayer(8), ElementwiseLayer(namespace["act"]), LinearLayer()],
                                                output="Real"),
                         "loss": ThreadingLayer(namespace["square"], inputs=["Input", "Target"])},
                        [(NetPort("Input"), "evaluation", "loss", NetPort("Loss")),
                         (NetPort("Target"), NetPort("loss", "Target"))])
    first = NetTrain(loss_net, {"Input": X, "Target": y}, "All", loss_function="Loss", max_training_rounds=3,
                     random_seed=0, progress=None)
    assert np.isfinite(first["RoundLoss"])
    cube = function_loss(namespace["cube"], "exec_cube")()
    assert type(cube).__module__ is None
    second = NetTrain(NetChain([LinearLayer(4), "Tanh", LinearLayer()], input=2, output="Real"), (X, y), "All",
                      loss_function=cube, max_training_rounds=3, random_seed=0, progress=None)
    assert np.isfinite(second["RoundLoss"])
