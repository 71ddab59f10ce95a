"""Losses between distributions: KL divergences, Poisson and Gaussian likelihoods, MMD."""
from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from ..errors import ShapeError
from .base import BATCH_FIRST, LossLayer, check_in_range
from .options import OptionSpec
from .primitives import clamped_log, log_softmax
from .registry import register

__all__ = [
    "KLDivLossLayer",
    "KullbackLeiblerLossLayer",
    "PoissonNLLLossLayer",
    "GaussianLogLikelihoodLossLayer",
    "MaximumMeanDiscrepancyLossLayer",
    "xlogx",
    "poisson_nll",
    "gaussian_nll",
    "squared_distances",
    "gaussian_kernel",
    "mmd",
]


def xlogx(t):
    """``t log t`` elementwise, 0 where ``t = 0`` (and differentiable there in ``t > 0``)."""
    positive = t > 0
    return anp.where(positive, t * anp.log(anp.where(positive, t, 1.0)), 0.0)


# ------------------------------------------------------------------ KL divergences
@register("kl_div", aliases=("KLDivLoss", "kl_divergence_logits"), convention="Gluon",
          pytorch="torch.nn.KLDivLoss", family="probabilistic",
          qualified={"gluon.KLDivLoss": BATCH_FIRST, "torch.nn.KLDivLoss": {}})
class KLDivLossLayer(LossLayer):
    """Kullback-Leibler divergence from log-probabilities: ``t (log t - x)`` elementwise, then the mean.

    With ``x = log p`` the sum over a distribution's entries is
    ``KL(t || p) = sum_c t_c log(t_c / p_c)``; like Gluon's (and PyTorch's
    default ``reduction="mean"``), the loss is the *mean* over all entries, so
    for vectors of c classes it is ``KL / c``. The Gluon page's example, the
    logits ``[0.3906, 1.3069, 0.3906, -0.3026]`` against ``[0.3, 0.4, 0.1, 0.2]``
    with ``from_logits=False``, is ``0.1017 / 4 = 0.0254``: "about 0.02".
    Ports: "Input" log-probabilities (or logits, with ``from_logits=False``)
    and "Target" probabilities of one shape.
    Options: ``from_logits`` (True: the Input is log-probabilities, Gluon's
    naming; False: logits, ``log_softmax``-ed along ``axis``); ``axis`` (-1,
    the class axis of one example, used with ``from_logits=False``).
    Convention: Gluon's ``KLDivLoss`` (``t log t`` is taken as 0 at ``t = 0``,
    as PyTorch's ``kl_div`` does, instead of Gluon's ``log(t + 1e-12)``).
    """

    option_specs = (
        OptionSpec("from_logits", "bool", True, doc="True: the Input is log-probabilities; False: logits"),
        OptionSpec("axis", "int", -1, doc="the class axis of one example (with from_logits=False)"),
    )

    def __init__(self, from_logits=True, axis=-1, **ports):
        self._set_options(from_logits=from_logits, axis=axis)
        super().__init__(**ports)

    def _class_axis(self, x):
        """The batch array's axis that holds the classes (from_logits=False), or a ShapeError."""
        rank = anp.ndim(x) - 1
        ax = self.axis + rank if self.axis < 0 else self.axis
        if not 0 <= ax < rank:
            raise ShapeError(f"{type(self).__name__}: with from_logits=False port 'Input' needs a class axis "
                             f"{self.axis}, got examples of shape {anp.shape(x)[1:]}")
        return ax + 1

    def _log_probabilities(self, x):
        return x if self.from_logits else log_softmax(x, axis=self._class_axis(x))

    def check(self, data):
        check_in_range(self, "Target", data["Target"], 0.0, 1.0, "probabilities (between 0 and 1)")
        if self.from_logits:
            check_in_range(self, "Input", data["Input"], -np.inf, 1e-9,
                           "log-probabilities (<= 0) with from_logits=True; for logits use from_logits=False")
        else:
            self._class_axis(data["Input"])

    def elementwise(self, data):
        t = data["Target"]
        return xlogx(t) - t * self._log_probabilities(data["Input"])


@register("kl", aliases=("kld", "KullbackLeiblerDivergence", "kl_divergence"), convention="theanets",
          pytorch="torch.nn.KLDivLoss on log(p)", family="probabilistic",
          qualified={"theanets.kl": {"epsilon": 1e-8, "absolute": True, **BATCH_FIRST},
                     "theanets.KullbackLeiblerDivergence": {"epsilon": 1e-8, "absolute": True, **BATCH_FIRST},
                     "theanets.kld": {"epsilon": 1e-8, "absolute": True, **BATCH_FIRST}},
          ambiguous={"kl": "the divergence of theanets' documented formula; what theanets' code computes "
                           "(clipped, |term| before the mean) is 'theanets.kl'; Gluon's and PyTorch's KLDivLoss "
                           "take log-probabilities: 'kl_div'"})
class KullbackLeiblerLossLayer(LossLayer):
    """Kullback-Leibler divergence between probabilities: ``t log(t / p)`` elementwise, then the mean.

    The mean over the output variables of ``t_i log(t_i / p_i)``: for
    distributions over c classes, ``KL(t || p) / c`` (theanets' documented
    formula ``(1/d) sum_i t_i log(t_i / x_i)``).
    Ports: "Input" probabilities ``p`` and "Target" probabilities ``t`` of one
    shape, in [0, 1].
    Options: ``epsilon`` (0, or up to 0.5): clip ``p`` and ``t`` to
    ``[epsilon, 1 - epsilon]`` first, as theanets does with 1e-8 (with 0,
    ``log p`` is clamped at -100 as everywhere in lossviz and ``t log t = 0`` at
    ``t = 0``); ``absolute`` (False): take the absolute value of each term
    ``t_i log(t_i / p_i)`` before the mean, as theanets' code does
    (``abs(kl).mean()``; a term is negative where ``p_i > t_i``, so this is not
    the divergence of two distributions, which is >= 0 only as a sum).
    Convention: theanets' ``KullbackLeiblerDivergence`` ("kl"), on
    probabilities: its documented formula by default; ``get("theanets.kl")``
    (``epsilon=1e-8, absolute=True``) is what its code computes, unweighted
    (weighted, theanets divides ``sum(w |term|)`` by ``sum(w)``; lossviz's weights
    multiply, see :mod:`lossviz.losses.base`).
    """

    option_specs = (
        OptionSpec("epsilon", "float", 0.0, low=0.0, high=0.5,
                   doc="clip p and t to [epsilon, 1 - epsilon] first (theanets: 1e-8)"),
        OptionSpec("absolute", "bool", False, doc="|t log(t / p)| before the mean (theanets' code)"),
    )

    def __init__(self, epsilon=0.0, absolute=False, **ports):
        self._set_options(epsilon=epsilon, absolute=absolute)
        super().__init__(**ports)

    def check(self, data):
        for port in ("Input", "Target"):
            check_in_range(self, port, data[port], 0.0, 1.0, "probabilities (between 0 and 1)")

    def elementwise(self, data):
        p, t = data["Input"], data["Target"]
        if self.epsilon:
            p = anp.clip(p, self.epsilon, 1.0 - self.epsilon)
            t = anp.clip(t, self.epsilon, 1.0 - self.epsilon)
            term = t * (anp.log(t) - anp.log(p))
        else:
            term = xlogx(t) - t * clamped_log(p)
        return anp.abs(term) if self.absolute else term


# ------------------------------------------------------------------ Poisson
def poisson_nll(x, t, from_logits=True, compute_full=False, epsilon=1e-8):
    """Poisson negative log-likelihood of counts ``t`` elementwise (see PoissonNLLLossLayer)."""
    loss = anp.exp(x) - t * x if from_logits else x - t * anp.log(x + epsilon)
    if compute_full:
        big = t > 1
        tb = anp.where(big, t, 2.0)
        loss = loss + anp.where(big, tb * anp.log(tb) - tb + 0.5 * anp.log(2.0 * np.pi * tb), 0.0)
    return loss


@register("poisson_nll", aliases=("PoissonNLLLoss", "poisson"), convention="Gluon",
          pytorch="torch.nn.PoissonNLLLoss", family="probabilistic",
          qualified={"gluon.PoissonNLLLoss": BATCH_FIRST, "torch.nn.PoissonNLLLoss": {}})
class PoissonNLLLossLayer(LossLayer):
    """Poisson negative log-likelihood: ``exp(x) - t x`` (``x`` the log-rate), then the mean.

    ``-log P(t | rate)`` up to the constant ``log t!``: with ``from_logits``
    the Input is ``log(rate)``, else the rate itself and the loss is
    ``rate - t log(rate + epsilon)``. ``compute_full`` adds Stirling's
    approximation of ``log t!``, ``t log t - t + log(2 pi t) / 2``, for
    ``t > 1``. The loss can be negative.
    Ports: "Input" log-rates (or rates >= 0) and "Target" counts >= 0, one shape.
    Options: ``from_logits`` (True), ``compute_full`` (False), ``epsilon`` (1e-8).
    Convention: Gluon's ``PoissonNLLLoss`` (= PyTorch's ``PoissonNLLLoss(log_input,
    full, eps)``), averaged per example (Gluon averages over the whole batch).
    """

    option_specs = (
        OptionSpec("from_logits", "bool", True, doc="True: the Input is the log-rate; False: the rate"),
        OptionSpec("compute_full", "bool", False, doc="add Stirling's approximation of log t!"),
        OptionSpec("epsilon", "float", 1e-8, low=0.0, doc="added to the rate inside the log (from_logits=False)"),
    )

    def __init__(self, from_logits=True, compute_full=False, epsilon=1e-8, **ports):
        self._set_options(from_logits=from_logits, compute_full=compute_full, epsilon=epsilon)
        super().__init__(**ports)

    def check(self, data):
        check_in_range(self, "Target", data["Target"], 0.0, np.inf, "counts (>= 0)")
        if not self.from_logits:
            check_in_range(self, "Input", data["Input"], 0.0, np.inf,
                           "rates (>= 0) with from_logits=False; for log-rates use from_logits=True")

    def elementwise(self, data):
        return poisson_nll(data["Input"], data["Target"], self.from_logits, self.compute_full, self.epsilon)


# ------------------------------------------------------------------ Gaussian
def gaussian_nll(x, var, t, full=True, eps=1e-6):
    """``(log v + (x - t)**2 / v + log(2 pi)) / 2`` elementwise with ``v = max(var, eps)``.

    As in PyTorch, the clamp changes the value only: the gradient with respect
    to ``var`` is taken as if ``v`` were ``var``. ``full=False`` drops the
    ``log(2 pi) / 2``.
    """
    raw = getval(var)
    v = var + (np.maximum(raw, eps) - raw)
    loss = 0.5 * (anp.log(v) + (x - t) ** 2 / v)
    return loss + 0.5 * np.log(2.0 * np.pi) if full else loss


@register("gll", aliases=("gaussian_nll", "GaussianLogLikelihood", "GaussianNLLLoss", "gaussian_log_likelihood"),
          convention="theanets", pytorch="torch.nn.GaussianNLLLoss (summed over the last axis)",
          family="probabilistic",
          qualified={"theanets.GaussianLogLikelihood": BATCH_FIRST, "theanets.gll": BATCH_FIRST})
class GaussianLogLikelihoodLossLayer(LossLayer):
    """Gaussian negative log-likelihood of the target under a predicted mean and diagonal covariance.

    ``-log N(t | x, diag(v)) = sum_i (log v_i + (t_i - x_i)**2 / v_i + log 2 pi) / 2``:
    the sum runs over the last axis (one multivariate observation), the mean
    over any others. Lower is better; it can be negative.
    Ports: "Input" the mean ``x`` (a net output), "Variance" the diagonal of the
    covariance ``v`` (a second net output, >= 0), "Target" the observation
    ``t``; all of one shape (a vector per example, or any rank).
    Options: ``full`` (True: include the constant ``log(2 pi) / 2`` per
    entry; PyTorch's default is False), ``eps`` (1e-6): variances are clamped
    to at least ``eps`` (in the value only, as PyTorch does).
    Convention: theanets' ``GaussianLogLikelihood`` over mean and covariance
    outputs, as its documentation defines it: the correct density. (Its code
    takes ``log sum_i lambda_i`` for the log-determinant ``sum_i log lambda_i``
    of the precision ``lambda = 1 / v``, and ``eta^T Lambda eta`` for
    ``mu^T Lambda mu`` with ``eta = Lambda mu``, so its numbers agree with the
    density only for one output of variance 1.) It equals PyTorch's
    ``GaussianNLLLoss(full, eps, reduction="none")`` summed over the last axis.
    """

    input_names = ("Input", "Variance", "Target", "Weight")
    option_specs = (
        OptionSpec("full", "bool", True, doc="include the constant log(2 pi) / 2 per entry"),
        OptionSpec("eps", "float", 1e-6, low=0.0, open_low=True, log=True, doc="the smallest variance used"),
    )

    def __init__(self, full=True, eps=1e-6, **ports):
        self._set_options(full=full, eps=eps)
        super().__init__(**ports)

    def elementwise_dims(self, input_dims):
        return tuple(input_dims[:-1])

    def check(self, data):
        check_in_range(self, "Variance", data["Variance"], 0.0, np.inf, "variances (>= 0)")

    def elementwise(self, data):
        loss = gaussian_nll(data["Input"], data["Variance"], data["Target"], self.full, self.eps)
        return anp.sum(loss, axis=-1) if anp.ndim(loss) > 1 else loss


# ------------------------------------------------------------------ maximum mean discrepancy
def squared_distances(a, b):
    """``|a_i - b_j|**2`` between sample sets ``a`` ``(batch, n, d)`` and ``b`` ``(batch, m, d)``: ``(batch, n, m)``.

    Expanded as ``|a_i|**2 - 2 a_i . b_j + |b_j|**2``, the products from one
    batched matrix product and the norms from ``einsum``, so no ``(batch, n, m, d)``
    differences (nor ``a * a``) are formed. Both sets are first centred on the
    mean of ``b``, which moves no distance but keeps the squared norms as small
    as the spread of the samples, so the subtraction loses no more than rounding
    for samples far from 0.
    """
    centre = anp.mean(b, axis=1, keepdims=True)
    a_c = a - centre
    b_c = a_c if b is a else b - centre
    a_norms = anp.einsum("bnd,bnd->bn", a_c, a_c)
    b_norms = a_norms if b is a else anp.einsum("bmd,bmd->bm", b_c, b_c)
    return (a_norms[:, :, None] - 2.0 * anp.matmul(a_c, anp.swapaxes(b_c, 1, 2))) + b_norms[:, None, :]


def gaussian_kernel(bandwidth):
    """``k(a, b) = exp(-|a - b|**2 / bandwidth)`` between sample sets ``(batch, n, d)``, ``(batch, m, d)``.

    The squared distances come from :func:`squared_distances`.
    """

    def kernel(a, b):
        return anp.exp(squared_distances(a, b) * (-1.0 / bandwidth))

    return kernel


def mmd(x, y, kernel):
    """``mean k(y, y) - 2 mean k(y, x) + mean k(x, x)`` per example, for sample sets ``(batch, n, d)``."""
    def avg(k):
        return anp.mean(anp.mean(k, axis=-1), axis=-1)

    return avg(kernel(y, y)) - 2.0 * avg(kernel(y, x)) + avg(kernel(x, x))


@register("mmd", aliases=("maximum_mean_discrepancy", "MaximumMeanDiscrepancy"), convention="theanets",
          family="probabilistic", qualified={"theanets.mmd": {}, "theanets.MaximumMeanDiscrepancy": {}})
class MaximumMeanDiscrepancyLossLayer(LossLayer):
    """Maximum mean discrepancy between a predicted sample set and an observed one.

    ``MMD^2 = mean_jj' k(y_j, y_j') - 2 mean_ji k(y_j, x_i) + mean_ii' k(x_i, x_i')``:
    how far apart the two empirical distributions are in the kernel's feature
    space; 0 when the sets are equal (the biased estimator, >= 0 for a
    positive-definite kernel).
    Ports: "Input" ``n`` samples (an ``n x d`` matrix per example, or a vector
    of ``n`` one-dimensional samples) and "Target" ``m`` samples of the same
    dimension ``d``; one loss per example (a whole set). To compare the
    outputs of a batch with a batch of data, pass each as one example.
    Options: ``kernel``: a positive number, the bandwidth ``s`` of the
    Gaussian kernel ``exp(-|a - b|**2 / s)`` (default 1), or a function
    ``k(a, b)`` of sample sets ``(batch, n, d)`` and ``(batch, m, d)``
    returning ``(batch, n, m)`` (written with autograd.numpy; such a layer's
    config only names the function, so it cannot be saved).
    Convention: theanets' ``MaximumMeanDiscrepancy`` (PyTorch has none).
    """

    min_example_rank = 1
    option_specs = (
        OptionSpec("kernel", "float", 1.0, low=0.0, open_low=True, log=True, callable_ok=True,
                   typical=(0.1, 10.0), doc="the Gaussian kernel's bandwidth s, or a kernel function k(a, b)"),
    )

    def __init__(self, kernel=1.0, **ports):
        self._set_options(kernel=kernel)
        super().__init__(**ports)

    def _sample_dims(self, dims, port):
        if len(dims) not in (1, 2):
            raise ShapeError(f"{type(self).__name__}: port {port!r} must be a set of samples (n x d, or a "
                             f"vector of n numbers), got {len(dims)} dimensions")
        return (None,) + tuple(dims[1:])

    def port_dims(self, port, input_dims):
        return self._sample_dims(input_dims, "Input")

    def input_dims_from(self, port, t):
        return self._sample_dims(t.dims, port)

    def elementwise_dims(self, input_dims):
        return ()

    def check(self, data):
        if anp.shape(data["Target"])[1] == 0:
            raise ShapeError(f"{type(self).__name__}: port 'Target' got an empty set of samples")

    def elementwise(self, data):
        x, y = data["Input"], data["Target"]
        if anp.ndim(x) == 2:
            x, y = x[:, :, None], y[:, :, None]
        kernel = self.kernel if callable(self.kernel) else gaussian_kernel(self.kernel)

        def checked(a, b):
            k = kernel(a, b)
            want = (anp.shape(a)[0], anp.shape(a)[1], anp.shape(b)[1])
            if anp.shape(k) != want:
                raise ShapeError(f"{type(self).__name__}: the kernel returned shape {anp.shape(k)} for sample "
                                 f"sets of shapes {anp.shape(a)} and {anp.shape(b)}; expected {want}")
            return k

        return mmd(x, y, checked)
