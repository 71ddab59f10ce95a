"""Parity with PyTorch 2.13 (CPU, float64): values and gradients with respect to the Input, to 1e-6 relative.

Each test builds a lossviz layer and the same loss from torch operations,
reduced the lossviz way (per example: the mean over the elementwise loss,
weights multiplying), on random inputs of several ranks, with per-example and
elementwise weights, and at the extremes (logits of +-100, probabilities of
exactly 0 and 1, zero distances). Run with ``-s`` to see the largest relative
error per loss.
"""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

from lossviz.losses import get

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL, ATOL = 1e-6, 1e-12
WORST = {}


@pytest.fixture(scope="module", autouse=True)
def report_worst():
    yield
    for name, err in sorted(WORST.items()):
        print(f"torch parity {name:>24}: max relative error {err:.2e}")


def f64(value):
    return torch.tensor(value, dtype=torch.float64)


def _tensor(value, port, wrt):
    value = np.asarray(value)
    if value.dtype.kind in "iu":
        return torch.tensor(value, dtype=torch.long)
    return torch.tensor(value, dtype=torch.float64, requires_grad=port == wrt)


def _per_example(loss, weight):
    """The lossviz reduction in torch: weights multiply, then the mean over the non-batch axes."""
    if weight is not None and weight.ndim > 1:
        loss = loss * weight
    out = loss.reshape(loss.shape[0], -1).mean(1) if loss.ndim > 1 else loss
    return out * weight if weight is not None and weight.ndim == 1 else out


def _close(label, ours, theirs):
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    assert ours.shape == theirs.shape, label
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=label)
    scale = np.maximum(np.abs(theirs), ATOL / RTOL)
    WORST[label] = max(WORST.get(label, 0.0), float(np.max(np.abs(ours - theirs) / scale, initial=0.0)))


def check(name, layer, data, reference, wrt="Input"):
    """Compare ``layer`` on ``data`` with ``reference(tensors)`` (elementwise or per-example torch losses)."""
    batch = np.shape(data[wrt])[0]
    upstream = np.linspace(0.5, 1.5, batch)
    for weight in (None, np.linspace(0.0, 2.0, batch), "elementwise"):
        feed = dict(data)
        if isinstance(weight, str):
            elem = layer.elementwise_dims(np.shape(data["Input"])[1:])
            weight = np.random.default_rng(0).uniform(0, 2, size=(batch, *elem))
        if weight is not None:
            feed["Weight"] = weight
        ours = layer.apply(None, feed)["Loss"]
        ours_grad = grad(lambda v: anp.sum(upstream * layer.apply(None, {**feed, wrt: v})["Loss"]))(feed[wrt])
        tensors = {port: _tensor(v, port, wrt) for port, v in data.items()}
        w = None if weight is None else torch.tensor(weight)
        theirs = _per_example(reference(tensors), w)
        (theirs * torch.tensor(upstream)).sum().backward()
        _close(name, ours, theirs.detach().numpy())
        _close(name, ours_grad, tensors[wrt].grad.numpy())


SHAPES = [(), (3,), (2, 3), (2, 2, 2)]


def _real(rng, shape, batch=4, scale=1.0):
    return scale * rng.normal(size=(batch, *shape))


# ------------------------------------------------------------------ regression
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "name, options, reference",
    [
        ("mse", {}, lambda t: F.mse_loss(t["Input"], t["Target"], reduction="none")),
        ("mae", {}, lambda t: F.l1_loss(t["Input"], t["Target"], reduction="none")),
        ("l2", {}, lambda t: 0.5 * F.mse_loss(t["Input"], t["Target"], reduction="none")),
        ("huber", {"rho": 0.7}, lambda t: F.smooth_l1_loss(t["Input"], t["Target"], beta=0.7, reduction="none")),
        ("smooth_l1", {"beta": 1.5},
         lambda t: F.smooth_l1_loss(t["Input"], t["Target"], beta=1.5, reduction="none")),
        ("smooth_l1", {"beta": 0.0},
         lambda t: F.smooth_l1_loss(t["Input"], t["Target"], beta=0.0, reduction="none")),
    ],
)
def test_regression(name, options, reference, shape):
    rng = np.random.default_rng(len(shape))
    x = _real(rng, shape, scale=2.0)
    t = _real(rng, shape)
    check(name, get(name, **options), {"Input": x, "Target": t}, reference)
    check(name, get(name, **options), {"Input": x, "Target": t}, reference, wrt="Target")
    check(name + " (zero distance)", get(name, **options), {"Input": t.copy(), "Target": t}, reference)


# ------------------------------------------------------------------ cross-entropy on probabilities
def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _classes_second(v):
    """(batch, ..., c) -> (batch, c, ...), PyTorch's layout."""
    return v.movedim(-1, 1).contiguous() if v.ndim > 2 else v


def _torch_index_ce(t, weight=None, ignore_index=-100, smoothing=0.0):
    """PyTorch's CrossEntropyLoss on log-probabilities without its log_softmax: nll_loss plus its
    label-smoothing term (as torch.nn.functional.cross_entropy composes them)."""
    lp = _classes_second(torch.log(t["Input"]).clamp(min=-100))
    y = t["Target"]
    loss = F.nll_loss(lp, y, weight=weight, ignore_index=ignore_index, reduction="none")
    if smoothing:
        w = torch.ones(lp.shape[1], dtype=lp.dtype) if weight is None else weight
        smooth = -(lp * w.reshape((1, -1) + (1,) * (lp.ndim - 2))).sum(1).masked_fill(y == ignore_index, 0.0)
        loss = (1 - smoothing) * loss + smoothing / lp.shape[1] * smooth
    return loss


@pytest.mark.parametrize("shape", [(5,), (3, 5), (2, 2, 5)])
def test_cross_entropy_index(shape):
    rng = np.random.default_rng(7)
    p = _softmax(rng.normal(size=(4, *shape)))
    y = rng.integers(0, 5, size=(4, *shape[:-1]))
    check("cross_entropy Index", get("cross_entropy"), {"Input": p, "Target": y}, _torch_index_ce)
    weights = [0.5, 1.0, 2.0, 0.0, 1.5]
    layer = get("cross_entropy", class_weights=weights, label_smoothing=0.2)
    check("cross_entropy Index", layer, {"Input": p, "Target": y},
          lambda t: _torch_index_ce(t, f64(weights), smoothing=0.2))


def test_cross_entropy_index_ignore_index():
    """Ignored positions count neither in the sum nor in the per-example mean (PyTorch's 'mean' per example)."""
    rng = np.random.default_rng(8)
    p = _softmax(rng.normal(size=(3, 4, 5)))
    y = rng.integers(0, 5, size=(3, 4))
    y[0, 1] = y[2, :3] = -100
    layer = get("cross_entropy", ignore_index=-100)
    ours = layer.apply(None, {"Input": p, "Target": y})["Loss"]
    loss = _torch_index_ce({"Input": torch.tensor(p), "Target": torch.tensor(y)})
    _close("cross_entropy ignore_index", ours, (loss.sum(1) / (torch.tensor(y) != -100).sum(1)).numpy())


def test_cross_entropy_index_extremes():
    """Probabilities of exactly 0 and 1: the value is PyTorch's clamped log (100 at p = 0); the gradient
    is -1/p, and at p = 0 (where torch's log gives nan) BCELoss's -1/1e-12."""
    p = np.eye(3)[[0, 1, 2, 0]]
    y = np.array([0, 2, 2, 1])
    ours = get("cross_entropy").apply(None, {"Input": p, "Target": y})["Loss"]
    g = grad(lambda v: anp.sum(get("cross_entropy").apply(None, {"Input": v, "Target": y})["Loss"]))(p)
    pt = torch.tensor(p[np.arange(4), y], requires_grad=True)
    bce = F.binary_cross_entropy(pt, f64(np.ones(4)), reduction="none")
    bce.sum().backward()
    _close("cross_entropy Index extremes", ours, bce.detach().numpy())
    expected = np.zeros_like(p)
    expected[np.arange(4), y] = np.where(p[np.arange(4), y] > 0, -1.0 / np.maximum(p[np.arange(4), y], 1e-300),
                                         pt.grad.numpy())
    _close("cross_entropy Index extremes", g, expected)


@pytest.mark.parametrize("shape", [(4,), (3, 4)])
def test_cross_entropy_probabilities(shape):
    rng = np.random.default_rng(9)
    p = _softmax(rng.normal(size=(4, *shape)))
    t = _softmax(2 * rng.normal(size=(4, *shape)))
    check("cross_entropy Probabilities", get("cross_entropy", form="Probabilities"), {"Input": p, "Target": t},
          lambda t: -(t["Target"] * torch.log(t["Input"]).clamp(min=-100)).sum(-1))
    values = get("cross_entropy", form="Probabilities").apply(None, {"Input": p, "Target": t})["Loss"]
    torch_ce = F.cross_entropy(_classes_second(torch.log(torch.tensor(p))), _classes_second(torch.tensor(t)),
                               reduction="none")
    _close("cross_entropy Probabilities", values, torch_ce.reshape(4, -1).mean(1).numpy())


@pytest.mark.parametrize("shape", SHAPES)
def test_cross_entropy_binary(shape):
    rng = np.random.default_rng(10)
    p = rng.uniform(0.01, 0.99, size=(4, *shape))
    t = rng.uniform(0, 1, size=(4, *shape))
    reference = lambda t: F.binary_cross_entropy(t["Input"], t["Target"], reduction="none")  # noqa: E731
    check("cross_entropy Binary", get("bce"), {"Input": p, "Target": t}, reference)
    check("cross_entropy Binary", get("bce"), {"Input": p, "Target": t}, reference, wrt="Target")


def test_cross_entropy_binary_extremes():
    p = np.array([[0.0, 1.0, 0.0, 1.0, 0.5, 1e-20]])
    t = np.array([[0.0, 1.0, 1.0, 0.0, 1.0, 1.0]])
    check("cross_entropy Binary extremes", get("bce"), {"Input": p, "Target": t},
          lambda t: F.binary_cross_entropy(t["Input"], t["Target"], reduction="none"))


# ------------------------------------------------------------------ logits
@pytest.mark.parametrize("shape, axis", [((5,), -1), ((3, 5), -1), ((5, 3), 0), ((2, 3, 5), -1)])
def test_softmax_ce(shape, axis):
    rng = np.random.default_rng(11)
    x = 3 * rng.normal(size=(4, *shape))
    classes = shape[axis]
    y = rng.integers(0, classes, size=(4, *[d for i, d in enumerate(shape) if i != axis % len(shape)]))

    def to_torch(v):
        return v if axis == 0 else _classes_second(v)

    check("softmax_ce", get("softmax_ce", axis=axis), {"Input": x, "Target": y},
          lambda t: F.cross_entropy(to_torch(t["Input"]), t["Target"], reduction="none"))
    weights = list(np.linspace(0.2, 2.0, classes))
    check("softmax_ce", get("softmax_ce", axis=axis, class_weights=weights, label_smoothing=0.1),
          {"Input": x, "Target": y},
          lambda t: F.cross_entropy(to_torch(t["Input"]), t["Target"], weight=f64(weights),
                                    label_smoothing=0.1, reduction="none"))
    batch_axis = axis + 1 if axis >= 0 else axis
    t = np.moveaxis(_softmax(rng.normal(size=np.moveaxis(x, batch_axis, -1).shape)), -1, batch_axis)
    check("softmax_ce dense", get("softmax_ce", axis=axis, sparse_label=False, label_smoothing=0.2),
          {"Input": x, "Target": t},
          lambda t: F.cross_entropy(to_torch(t["Input"]), to_torch(t["Target"]), label_smoothing=0.2,
                                    reduction="none"))


def test_softmax_ce_ignore_index_and_extremes():
    x = np.array([[[100.0, -100.0, 0.0], [-100.0, 100.0, -100.0], [0.0, 0.0, 0.0]],
                  [[100.0, 100.0, -100.0], [1.0, 2.0, 3.0], [-100.0, -100.0, 100.0]]])
    y = np.array([[1, 1, -1], [0, -1, 2]])
    layer = get("softmax_ce", ignore_index=-1)
    ours = layer.apply(None, {"Input": x, "Target": y})["Loss"]
    g = grad(lambda v: anp.sum(layer.apply(None, {"Input": v, "Target": y})["Loss"]))(x)
    xt = torch.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt.movedim(-1, 1), torch.tensor(y), ignore_index=-1, reduction="none")
    per_example = loss.sum(1) / (torch.tensor(y) != -1).sum(1)
    per_example.sum().backward()
    _close("softmax_ce extremes", ours, per_example.detach().numpy())
    _close("softmax_ce extremes", g, xt.grad.numpy())


@pytest.mark.parametrize("shape", SHAPES)
def test_sigmoid_bce(shape):
    rng = np.random.default_rng(12)
    x = 3 * rng.normal(size=(4, *shape))
    x.flat[:2] = [100.0, -100.0]
    t = rng.uniform(0, 1, size=(4, *shape))
    check("sigmoid_bce", get("sigmoid_bce"), {"Input": x, "Target": t},
          lambda t: F.binary_cross_entropy_with_logits(t["Input"], t["Target"], reduction="none"))
    check("sigmoid_bce", get("sigmoid_bce", pos_weight=3.0), {"Input": x, "Target": t},
          lambda t: F.binary_cross_entropy_with_logits(t["Input"], t["Target"], pos_weight=f64(3.0),
                                                       reduction="none"), wrt="Target")
    if shape:
        pw = list(np.linspace(0.5, 2.5, shape[-1]))
        check("sigmoid_bce", get("sigmoid_bce", pos_weight=pw), {"Input": x, "Target": t},
              lambda t: F.binary_cross_entropy_with_logits(t["Input"], t["Target"], pos_weight=f64(pw),
                                                           reduction="none"))


def test_sigmoid_bce_from_sigmoid_is_bceloss():
    p = np.array([[0.0, 1.0, 0.3, 0.9], [1.0, 0.0, 0.5, 1e-30]])
    t = np.array([[0.0, 1.0, 1.0, 0.2], [0.0, 1.0, 0.5, 1.0]])
    check("sigmoid_bce from_sigmoid", get("sigmoid_bce", from_sigmoid=True), {"Input": p, "Target": t},
          lambda t: F.binary_cross_entropy(t["Input"], t["Target"], reduction="none"))


@pytest.mark.parametrize("shape", SHAPES)
def test_logistic(shape):
    rng = np.random.default_rng(13)
    x = 3 * rng.normal(size=(4, *shape))
    x.flat[:2] = [100.0, -100.0]
    t = rng.choice([-1.0, 1.0], size=x.shape)
    check("logistic", get("logistic"), {"Input": x, "Target": t},
          lambda t: F.soft_margin_loss(t["Input"], t["Target"], reduction="none"))
    check("logistic", get("logistic", label_format="binary"), {"Input": x, "Target": (t + 1) / 2},
          lambda t: F.binary_cross_entropy_with_logits(t["Input"], t["Target"], reduction="none"))


# ------------------------------------------------------------------ distributions
@pytest.mark.parametrize("shape", [(4,), (3, 4)])
def test_kl_div(shape):
    rng = np.random.default_rng(14)
    x = rng.normal(size=(4, *shape))
    t = _softmax(rng.normal(size=x.shape))
    t[0, ..., 0] = 0.0  # t log t is 0 at t = 0
    check("kl_div", get("kl_div"), {"Input": np.log(_softmax(x)), "Target": t},
          lambda t: F.kl_div(t["Input"], t["Target"], reduction="none"))
    check("kl_div", get("kl_div", from_logits=False), {"Input": x, "Target": t},
          lambda t: F.kl_div(F.log_softmax(t["Input"], -1), t["Target"], reduction="none"))
    positive = _softmax(rng.normal(size=x.shape))  # d(t log t)/dt is infinite at t = 0
    check("kl_div", get("kl_div", from_logits=False), {"Input": x, "Target": positive},
          lambda t: F.kl_div(F.log_softmax(t["Input"], -1), t["Target"], reduction="none"), wrt="Target")


def test_kl():
    rng = np.random.default_rng(15)
    p = _softmax(rng.normal(size=(4, 5)))
    t = _softmax(rng.normal(size=(4, 5)))
    t[1, 2] = 0.0
    check("kl", get("kl"), {"Input": p, "Target": t},
          lambda t: F.kl_div(torch.log(t["Input"]).clamp(min=-100), t["Target"], reduction="none"))


@pytest.mark.parametrize("options", [{}, {"compute_full": True}, {"from_logits": False},
                                     {"from_logits": False, "compute_full": True, "epsilon": 1e-3}])
@pytest.mark.parametrize("shape", SHAPES)
def test_poisson_nll(options, shape):
    rng = np.random.default_rng(16)
    x = rng.normal(size=(4, *shape))
    if options.get("from_logits") is False:
        x = np.exp(x)
    t = rng.poisson(2.0, size=x.shape).astype(float)
    check("poisson_nll", get("poisson_nll", **options), {"Input": x, "Target": t},
          lambda t: F.poisson_nll_loss(t["Input"], t["Target"], log_input=options.get("from_logits", True),
                                       full=options.get("compute_full", False),
                                       eps=options.get("epsilon", 1e-8), reduction="none"))


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_gll(full, shape):
    rng = np.random.default_rng(17)
    x, t = rng.normal(size=(4, *shape)), rng.normal(size=(4, *shape))
    var = rng.uniform(0.2, 2.0, size=x.shape)
    var.flat[:2] = [0.0, 1e-9]  # clamped to eps

    def reference(t):
        loss = F.gaussian_nll_loss(t["Input"], t["Target"], t["Variance"], full=full, eps=1e-6, reduction="none")
        return loss.sum(-1) if loss.ndim > 1 else loss  # the NLL of each vector: a sum over the last axis

    data = {"Input": x, "Variance": var, "Target": t}
    check("gll", get("gll", full=full), data, reference)
    check("gll", get("gll", full=full), data, reference, wrt="Variance")


# ------------------------------------------------------------------ embeddings and sequences
@pytest.mark.parametrize("shape", [(3,), (2, 3)])
def test_triplet(shape):
    rng = np.random.default_rng(18)
    a, p, n = (rng.normal(size=(4, *shape)) for _ in range(3))
    p[0] = a[0]  # a zero distance
    loss = torch.nn.TripletMarginWithDistanceLoss(
        distance_function=lambda u, v: ((u - v) ** 2).reshape(u.shape[0], -1).sum(1), margin=1.5, reduction="none")
    data = {"Input": a, "Positive": p, "Negative": n}
    for port in ("Input", "Positive", "Negative"):
        check("triplet", get("triplet", margin=1.5), data,
              lambda t: loss(t["Input"], t["Positive"], t["Negative"]), wrt=port)


def test_cosine_embedding():
    rng = np.random.default_rng(19)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    a[0] = 0.0  # a zero vector
    b[1] = 3.0 * a[1]
    y = np.array([1.0, 1.0, -1.0, -1.0, 1.0, -1.0])
    for margin in (0.0, 0.3, -0.2):
        for port in ("Input", "Input2"):
            check("cosine_embedding", get("cosine_embedding", margin=margin), {"Input": a, "Input2": b, "Target": y},
                  lambda t: F.cosine_embedding_loss(t["Input"], t["Input2"], t["Target"], margin=margin,
                                                    reduction="none"), wrt=port)


@pytest.mark.parametrize("shape", SHAPES)
def test_margin_ranking(shape):
    rng = np.random.default_rng(20)
    a, b = rng.normal(size=(4, *shape)), rng.normal(size=(4, *shape))
    y = rng.choice([-1.0, 1.0], size=a.shape)
    check("margin_ranking", get("margin_ranking", margin=0.4), {"Input": a, "Input2": b, "Target": y},
          lambda t: F.margin_ranking_loss(t["Input"], t["Input2"], t["Target"], margin=0.4, reduction="none"))


@pytest.mark.parametrize("blank_label", ["last", "first"])
def test_ctc(blank_label):
    rng = np.random.default_rng(21)
    x = 2 * rng.normal(size=(4, 7, 5))
    x[0, 0, 0] = 100.0
    low, blank = (0, 4) if blank_label == "last" else (1, 0)
    y = rng.integers(low, low + 4, size=(4, 4))
    y[1, 1] = y[1, 0]  # a repeated label needs a blank between
    y[2, 2:] = -1  # a shorter target, padded
    y[3, :] = -1  # the empty target
    lengths = (y >= 0).sum(1)

    def reference(t):
        lp = F.log_softmax(t["Input"], -1).transpose(0, 1)
        targets = t["Target"].clamp(min=low)
        return F.ctc_loss(lp, targets, torch.full((4,), 7), torch.tensor(lengths), blank=blank, reduction="none")

    check("ctc", get("ctc", blank_label=blank_label), {"Input": x, "Target": y}, reference)
