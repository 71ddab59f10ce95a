"""The library-qualified names reproduce their library: every "torch.nn.X" against PyTorch's ``nn.X``.

``get("torch.nn.X")`` must be the loss PyTorch's ``torch.nn.X()`` computes, with its default options and
PyTorch's layout of the data: ``nn.X(reduction="none")`` averaged over each example's non-batch axes (the
lossviz reduction) equals the lossviz layer's loss, and ``nn.X()`` (reduction "mean") equals the batch mean
when every example has the same number of elements. theanets' names are checked against theanets' formulas
(theanets itself needs Theano, which does not install here).
"""
import math

import numpy as np
import pytest

from lossviz.losses import get, names

torch = pytest.importorskip("torch")
nn = torch.nn

RTOL = 1e-9


def t(x, dtype=torch.float64):
    return torch.tensor(np.asarray(x), dtype=dtype)


def per_example(loss):
    return (loss.reshape(loss.shape[0], -1).mean(1) if loss.ndim > 1 else loss).detach().numpy()


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _cases(rng):
    b = 5
    x, y = rng.normal(size=(b, 3, 2)), rng.normal(size=(b, 3, 2))
    p, q = rng.uniform(0.05, 0.95, size=(b, 3)), rng.uniform(0, 1, size=(b, 3))
    logits = 3 * rng.normal(size=(b, 4, 3))             # PyTorch's layout: (batch, classes, positions)
    classes = rng.integers(0, 4, size=(b, 3))
    signs = rng.choice([-1.0, 1.0], size=(b, 3))
    log_p = np.log(softmax(rng.normal(size=(b, 4))))
    dist = softmax(rng.normal(size=(b, 4)))
    counts = rng.poisson(3.0, size=(b, 3)).astype(float)
    a1, a2, sim = rng.normal(size=(b, 4)), rng.normal(size=(b, 4)), rng.choice([-1.0, 1.0], size=b)
    ctc_logits = rng.normal(size=(b, 7, 4))
    ctc_labels = rng.integers(1, 4, size=(b, 3))      # PyTorch's blank is class 0
    ctc_log_probs = torch.log_softmax(t(ctc_logits), -1).transpose(0, 1)   # (T, batch, C)
    return {
        "torch.nn.MSELoss": ({"Input": x, "Target": y}, nn.MSELoss, (t(x), t(y))),
        "torch.nn.L1Loss": ({"Input": x, "Target": y}, nn.L1Loss, (t(x), t(y))),
        "torch.nn.SmoothL1Loss": ({"Input": x, "Target": y}, nn.SmoothL1Loss, (t(x), t(y))),
        "torch.nn.BCELoss": ({"Input": p, "Target": q}, nn.BCELoss, (t(p), t(q))),
        "torch.nn.BCEWithLogitsLoss": ({"Input": x, "Target": (y > 0) * 1.0}, nn.BCEWithLogitsLoss,
                                       (t(x), t((y > 0) * 1.0))),
        "torch.nn.CrossEntropyLoss": ({"Input": logits, "Target": classes}, nn.CrossEntropyLoss,
                                      (t(logits), t(classes, torch.long))),
        "torch.nn.SoftMarginLoss": ({"Input": x[:, :, 0], "Target": signs}, nn.SoftMarginLoss,
                                    (t(x[:, :, 0]), t(signs))),
        "torch.nn.KLDivLoss": ({"Input": log_p, "Target": dist}, nn.KLDivLoss, (t(log_p), t(dist))),
        "torch.nn.PoissonNLLLoss": ({"Input": x[:, :, 0], "Target": counts}, nn.PoissonNLLLoss,
                                    (t(x[:, :, 0]), t(counts))),
        "torch.nn.CosineEmbeddingLoss": ({"Input": a1, "Input2": a2, "Target": sim}, nn.CosineEmbeddingLoss,
                                         (t(a1), t(a2), t(sim))),
        "torch.nn.MarginRankingLoss": ({"Input": a1, "Input2": a2, "Target": np.sign(a1 - a2 + 0.3)},
                                       nn.MarginRankingLoss, (t(a1), t(a2), t(np.sign(a1 - a2 + 0.3)))),
        "torch.nn.CTCLoss": ({"Input": ctc_logits, "Target": ctc_labels}, nn.CTCLoss,
                             (ctc_log_probs, t(ctc_labels, torch.long), torch.full((b,), 7, dtype=torch.long),
                              torch.full((b,), 3, dtype=torch.long))),
    }


CASES = _cases(np.random.default_rng(7))


def test_every_torch_name_has_a_case():
    assert {n for n in names(qualified=True) if n.startswith("torch.nn.")} == set(CASES)


@pytest.mark.parametrize("qname", sorted(CASES))
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # KLDivLoss's own advice
def test_torch_names_compute_pytorchs_loss(qname):
    data, module, args = CASES[qname]
    ours = get(qname).apply(None, {k: np.asarray(v) for k, v in data.items()})["Loss"]
    theirs = per_example(module(reduction="none")(*args))
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=1e-12, err_msg=qname)
    if qname != "torch.nn.CTCLoss":  # CTC's "mean" divides by the target lengths
        assert math.isclose(np.mean(ours), module()(*args).item(), rel_tol=RTOL), qname
    assert type(get(qname.replace("torch.nn.", "torch."))) is type(get(qname))


# ------------------------------------------------------------------ theanets' formulas
def test_theanets_names_compute_theanets_formulas():
    rng = np.random.default_rng(3)
    out, target = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    probs, labels = softmax(rng.normal(size=(6, 4))), rng.integers(0, 4, size=6)
    p, q = softmax(rng.normal(size=(6, 3))), softmax(rng.normal(size=(6, 3)))

    def batch_mean(name, data):
        return np.mean(get(name)(data))

    assert math.isclose(batch_mean("theanets.mse", {"Input": out, "Target": target}), ((out - target) ** 2).mean())
    assert math.isclose(batch_mean("theanets.mae", {"Input": out, "Target": target}), np.abs(out - target).mean())
    nlp = -np.log(np.clip(probs[np.arange(6), labels], 1e-8, 1))
    assert math.isclose(batch_mean("theanets.xe", {"Input": probs, "Target": labels}), nlp.mean())
    err = np.maximum(0, (probs - probs[np.arange(6), labels][:, None]).max(axis=-1))
    assert math.isclose(batch_mean("theanets.hinge", {"Input": probs, "Target": labels}), err.mean())
    eps = 1e-8
    tc = np.clip(q, eps, 1 - eps)
    kl = tc * np.log(tc / np.clip(p, eps, 1 - eps))
    assert math.isclose(batch_mean("theanets.kl", {"Input": p, "Target": q}), np.abs(kl).mean())
    # weighted, theanets divides by sum(w); lossviz multiplies: the ratio is the mean weight
    w = rng.uniform(0, 2, size=(6, 3))
    ours = np.mean(get("theanets.kl")({"Input": p, "Target": q, "Weight": w}))
    assert math.isclose(ours / w.mean(), (np.abs(w * kl)).sum() / w.sum())
