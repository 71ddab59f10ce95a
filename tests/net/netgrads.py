"""The gradient check shared by the engine tests (a plain module, not a conftest.py, so that it
cannot shadow another folder's ``from conftest import ...``).

``check_layer_grads(layer, inputs)`` is the gradient check every layer and net
goes through: it initializes the layer with a fixed seed and runs
``autograd.test_util.check_grads(f, modes=["rev"], order=1)`` on
``f = lambda params, inputs: layer.apply(params, inputs)`` (its outputs
flattened into one array) with respect to the parameters and, separately,
with respect to the inputs (each check in several random directions).
"""
import autograd.numpy as anp
import numpy as np
from autograd.test_util import check_grads

from lossviz import NetInitialize


def _as_float(inputs):
    return {k: np.asarray(v, dtype=float) for k, v in inputs.items()}


def check_layer_grads(layer, inputs, *, seed=0, directions=3, wrt=("params", "inputs")):
    """check_grads of ``layer.apply`` w.r.t. params and inputs; returns the initialized layer."""
    layer = NetInitialize(layer, random_seed=seed)
    inputs = _as_float(inputs)
    params = layer.params

    def f(params, inputs):
        # one flat array: autograd does not trace through a plain dict of outputs
        outs = layer.apply(params, inputs)
        return anp.concatenate([anp.reshape(outs[k], (-1,)) for k in sorted(outs)])

    np.random.seed(seed)  # check_grads draws its random directions from np.random
    checked = 0
    for _ in range(directions):
        if "params" in wrt and params:
            check_grads(f, argnum=0, modes=["rev"], order=1)(params, inputs)
            checked += 1
        if "inputs" in wrt:
            check_grads(f, argnum=1, modes=["rev"], order=1)(params, inputs)
            checked += 1
    assert checked, "nothing was checked"
    return layer
