"""Training steps: what computes a batch's loss and gradient for NetTrain.

Every step offers the same small interface:

``leaves``
    the list of parameter arrays, updated in place by the optimizer;
``step(batch) -> (sub-losses, gradients)``
    the unscaled sub-losses (one per name in ``spec.sub_loss_names``) and the
    gradient of ``sum(scale * sub-loss)`` at the current ``leaves``;
``evaluate(batch) -> sub-losses``
    no gradient;
``params(leaves=None)``
    the parameter tree (float64) for ``net.with_params``.

:func:`select_step` picks the fastest step that computes a net's loss exactly:
:class:`~lossviz.train.plan.CompiledStep` for every net it can compile (built-in
layers and losses in closed form, user functions under autograd, one layer at a
time), :class:`AutogradStep` (autograd through the whole net, float64) for the
rest: a net with a parameter no op of the plan owns.

``set_spec(spec) -> bool``
    compute another LossSpecification on the same net and parameters from
    the next batch on; False when the caller must make a new step.
"""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad_and_aux

from .trees import tree_leaves, tree_rebuild

__all__ = ["AutogradStep", "make_objective", "select_step", "sub_losses_per_example"]


def _per_example(v):
    """A loss port's value per example: array-valued losses are summed."""
    if v.ndim > 1:
        v = anp.sum(anp.reshape(v, (v.shape[0], -1)), axis=1)
    return v


def make_objective(net, spec):
    """``objective(params, batch) -> (total, sub-losses)``: batch means of every term.

    ``total = sum(scale * sub-loss)``; the sub-losses are unscaled, one per
    name in ``spec.sub_loss_names``.
    """
    inputs = tuple(net.inputs)
    scales = np.array([t.scale for t in spec.terms for _ in t.names])

    def objective(params, batch):
        outs = net.apply(params, {p: batch[p] for p in inputs if p in batch})
        subs = [anp.mean(v) for v in sub_losses_per_example(spec, outs, batch)]
        subs = anp.stack(subs) if len(subs) > 1 else anp.reshape(subs[0], (1,))
        return anp.sum(subs * scales), subs

    return objective


def sub_losses_per_example(spec, outs, batch):
    """The unscaled sub-losses of ``spec``, each ``(batch,)``, from the net's outputs ``outs``.

    One array per name in ``spec.sub_loss_names``; a loss port's (or a loss
    layer's) array values are summed per example. ``batch`` supplies the
    targets and the optional "Weight". Differentiable with autograd.
    """
    subs = []
    for term in spec.terms:
        if term.loss is None:  # the port is itself a loss
            subs.append(_per_example(outs[term.port]))
            continue
        ins = {"Input": outs[term.port]}
        if term.target is not None:
            ins["Target"] = batch[term.target]
        if term.weight and "Weight" in batch:
            ins["Weight"] = batch["Weight"]
        louts = term.loss.apply(term.loss.params, ins)
        subs += [_per_example(louts[name]) for name in term.loss.outputs]
    return subs


class AutogradStep:
    """The general training step: autograd through ``net.apply`` and the losses.

    The interface every step offers NetTrain:

    ``leaves``: list of parameter arrays, updated in place by the optimizer;
    ``step(batch) -> (sub-losses, gradients)``: at the current ``leaves``;
    ``evaluate(batch) -> sub-losses``: no gradient;
    ``params(leaves=None)``: the parameter tree for ``net.with_params``.
    """

    dtype = np.dtype(np.float64)

    def __init__(self, net, spec):
        self.net = net
        self.template = net.params or {}
        self.leaves = [np.array(a, dtype=float) for a in tree_leaves(self.template)]
        self.set_spec(spec)

    def set_spec(self, spec):
        """Compute ``spec`` from the next batch on (same net, same parameters): a new objective; True."""
        for term in spec.terms:
            if term.port not in self.net.outputs:
                return False
        self.spec = spec
        self.objective = make_objective(self.net, spec)
        self._grad = grad_and_aux(self.objective)
        return True

    def params(self, leaves=None):
        return tree_rebuild(self.template, [a.copy() for a in (leaves if leaves is not None else self.leaves)])

    def step(self, batch):
        grads, subs = self._grad(tree_rebuild(self.template, self.leaves), batch)
        return np.asarray(subs), tree_leaves(grads)

    def evaluate(self, batch):
        return np.asarray(self.objective(tree_rebuild(self.template, self.leaves), batch)[1])


def select_step(net, spec, working_precision="Real64"):
    """The fastest step that computes this net's loss exactly.

    Every net the plan compiles gets the compiled step
    (:class:`~lossviz.train.plan.CompiledStep`: one flat parameter vector;
    closed-form forward and backward for built-in layers and losses, and
    autograd confined to the layers and losses built from user Python
    functions). It computes in ``working_precision`` ("Real64" or "Real32"),
    except that a net or a loss of ``spec`` built from a user function
    computes in float64 (:func:`~lossviz.train.plan.working_dtype` decides).
    A net the plan cannot compile gets AutogradStep, in float64.
    """
    from .fused import check_precision
    from .plan import CompiledStep, check_spec, compile_net

    check_precision(working_precision)
    trunk = compile_net(net)
    if not isinstance(trunk, str) and check_spec(trunk, spec) is None:
        return CompiledStep(net, spec, working_precision=working_precision, trunk=trunk)
    return AutogradStep(net, spec)
