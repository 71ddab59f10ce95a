"""Training steps to compare: forward, softmax cross-entropy, backward, Adam, on an MLP with tanh.

Every ``make_*`` function takes ``(sizes, batch)`` -- sizes such as ``(2, 16, 16, 2)`` -- and
returns a zero-argument function doing ONE training step on a fixed batch (the lossviz
NetTrain entries instead return a function ``steps_per_second(seconds)``).
All use Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8) and the same toy data.
"""
from __future__ import annotations

import time

import numpy as np

LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8


def toy_data(n, seed=0):
    """``X`` (n, 2) normal, ``y`` (n,) int: the XOR-like quadrant labels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def _init(sizes, rng, dtype):
    """Glorot-uniform weights (n_out, n_in), zero biases."""
    Ws = [rng.uniform(-1, 1, (o, i)) * np.sqrt(6.0 / (i + o)) for i, o in zip(sizes[:-1], sizes[1:])]
    return [W.astype(dtype) for W in Ws], [np.zeros(o, dtype) for o in sizes[1:]]


# ---------------------------------------------------------------------- hand-written numpy
def make_numpy(sizes, batch, dtype=np.float64):
    """Plain numpy, written as one would by hand: ``@``, ``np.tanh``, stable softmax, Adam per array."""
    X, y = toy_data(batch)
    X = X.astype(dtype)
    Ws, bs = _init(sizes, np.random.default_rng(1), dtype)
    params = Ws + bs
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    rows = np.arange(batch)
    t = [0]

    def step():
        hs = [X]
        for i, (W, b) in enumerate(zip(Ws, bs)):
            z = hs[-1] @ W.T + b
            hs.append(np.tanh(z) if i < len(Ws) - 1 else z)
        z = hs[-1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(p[rows, y]))
        g = p
        g[rows, y] -= 1.0
        g /= batch
        gWs, gbs = [None] * len(Ws), [None] * len(Ws)
        for i in reversed(range(len(Ws))):
            gWs[i] = g.T @ hs[i]
            gbs[i] = g.sum(axis=0)
            if i:
                g = (g @ Ws[i]) * (1.0 - hs[i] ** 2)
        t[0] += 1
        c1, c2 = 1.0 - B1 ** t[0], 1.0 - B2 ** t[0]
        for p_, g_, m_, v_ in zip(params, gWs + gbs, m, v):
            m_ *= B1
            m_ += (1.0 - B1) * g_
            v_ *= B2
            v_ += (1.0 - B2) * g_ * g_
            p_ -= LR * (m_ / c1) / (np.sqrt(v_ / c2) + EPS)
        return loss

    return step


def make_numpy32(sizes, batch):
    return make_numpy(sizes, batch, np.float32)


# ---------------------------------------------------------------------- PyTorch
def make_torch(sizes, batch, fused=False):
    """PyTorch eager, float32, ``torch.optim.Adam`` (``fused=True``: the fused Adam kernel)."""
    import torch

    X, y = toy_data(batch)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [torch.nn.Linear(a, b)] + ([torch.nn.Tanh()] if i < len(sizes) - 2 else [])
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=LR, betas=(B1, B2), eps=EPS, fused=fused or None)
    Xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(Xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step


def make_torch_fused(sizes, batch):
    return make_torch(sizes, batch, fused=True)


# ---------------------------------------------------------------------- JAX
def make_jax(sizes, batch):
    """JAX, float32, the whole step (forward, backward, Adam) under one ``jax.jit``."""
    import jax
    import jax.numpy as jnp

    X, y = toy_data(batch)
    Ws, bs = _init(sizes, np.random.default_rng(1), np.float32)
    params = [jnp.asarray(a) for a in Ws + bs]
    n = len(Ws)
    Xj, yj = jnp.asarray(X, jnp.float32), jnp.asarray(y)

    def loss_fn(params):
        h = Xj
        for i in range(n):
            h = h @ params[i].T + params[n + i]
            if i < n - 1:
                h = jnp.tanh(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(logp, yj[:, None], axis=1))

    @jax.jit
    def update(params, m, v, t):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        m = [B1 * a + (1 - B1) * g for a, g in zip(m, grads)]
        v = [B2 * a + (1 - B2) * g * g for a, g in zip(v, grads)]
        c1, c2 = 1 - B1 ** t, 1 - B2 ** t
        params = [p - LR * (a / c1) / (jnp.sqrt(b / c2) + EPS) for p, a, b in zip(params, m, v)]
        return params, m, v, loss

    state = {"p": params, "m": [jnp.zeros_like(p) for p in params], "v": [jnp.zeros_like(p) for p in params],
             "t": 0}

    def step():
        state["t"] += 1
        state["p"], state["m"], state["v"], loss = update(state["p"], state["m"], state["v"],
                                                          jnp.float32(state["t"]))
        return loss

    step.sync = lambda: state["p"][0].block_until_ready()
    return step


# ---------------------------------------------------------------------- lossviz
def lossviz_net(sizes):
    """``NetChain([16, "Tanh", 16, "Tanh", 2, "Softmax"], input=2)`` for sizes (2, 16, 16, 2)."""
    from lossviz import NetChain

    layers = []
    for i, n in enumerate(sizes[1:]):
        layers += [n] + (["Tanh"] if i < len(sizes) - 2 else ["Softmax"])
    return NetChain(layers, input=sizes[0])


def make_engine(sizes, batch, working_precision="Real64", autograd=False, rounds_of=8, shuffle=False):
    """The bare engine: ``select_step`` (or AutogradStep) + ADAM in a plain loop, no NetTrain.

    It cycles through ``rounds_of`` batches made beforehand from the data NetTrain gets
    (the engine is measurably faster on one batch repeated: warm caches, the same values);
    ``shuffle``: like NetTrain, a new permutation every round and batches gathered from it
    (with NetTrain's own :func:`~lossviz.train.data.shuffled_batches`).
    """
    from lossviz import NetInitialize
    from lossviz.train.data import shuffled_batches
    from lossviz.train.data import read_data as _read_data
    from lossviz.train.steps import AutogradStep, select_step
    from lossviz.train.optimizers import ADAM
    from lossviz.train.spec import resolve_loss

    X, y = toy_data(rounds_of * batch)
    net = NetInitialize(lossviz_net(sizes), random_seed=1)
    raw = {"Input": X, "Output": y}
    spec = resolve_loss(net, None, raw)
    data = _read_data(net, spec, raw, "data")
    perm = np.random.default_rng(2).permutation(len(X))
    batches = [{k: v[perm[i * batch:(i + 1) * batch]] for k, v in data.items()} for i in range(rounds_of)]
    engine = AutogradStep(net, spec) if autograd else select_step(net, spec, working_precision)
    opt = ADAM()
    opt.start(engine.leaves)
    count = [0]

    rng, drawn = np.random.default_rng(3), [iter(())]

    def step():
        i = count[0] % rounds_of
        count[0] += 1
        if shuffle:  # NetTrain's batching: a permutation per round, rows gathered in blocks
            if i == 0:
                drawn[0] = shuffled_batches(data, rng.permutation(len(X)), batch)
            b = next(drawn[0])
        else:
            b = batches[i]
        with np.errstate(all="ignore"):  # as NetTrain does
            subs, grads = engine.step(b)
        opt.step(engine.leaves, grads, LR)
        return subs

    step.engine = engine
    return step


def make_engine_shuffled(sizes, batch):
    return make_engine(sizes, batch, shuffle=True)


def make_engine32_shuffled(sizes, batch):
    return make_engine(sizes, batch, "Real32", shuffle=True)


def make_engine32(sizes, batch):
    return make_engine(sizes, batch, "Real32")


def make_autograd(sizes, batch):
    return make_engine(sizes, batch, autograd=True)


def make_nettrain(sizes, batch, working_precision="Real64", progress=None, rounds_of=8):
    """NetTrain end to end on ``rounds_of * batch`` examples: returns ``steps_per_second(seconds)``.

    Steps/s = TotalBatches / TotalTrainingTime (the loop: batching, events,
    optimizer, round bookkeeping; not the one-off setup).
    """
    from lossviz.train import NetTrain

    X, y = toy_data(rounds_of * batch)
    net = lossviz_net(sizes)

    def steps_per_second(seconds, cpu=False):
        """Per wall-clock second of the loop, or (``cpu``) per CPU second of the loop."""
        clock = {}

        def stopwatch(event):  # CPU time from the "start" event to the "end" event
            clock[event.kind] = time.process_time()

        stopwatch.wants_batches = False
        r = NetTrain(net, (X, y), "All", batch_size=batch, time_goal=seconds, random_seed=1,
                     progress=progress, working_precision=working_precision, callbacks=[stopwatch])
        if cpu:
            return r["TotalBatches"] / (clock["end"] - clock["start"])
        return r["TotalBatches"] / r["TotalTrainingTime"]

    steps_per_second.self_timed = True
    return steps_per_second


def make_nettrain32(sizes, batch):
    return make_nettrain(sizes, batch, "Real32")


def make_nettrain_progress(sizes, batch):
    """NetTrain with its progress bar (tqdm), drawn into /dev/null."""
    import os

    from lossviz.train.progress import ProgressBar

    return make_nettrain(sizes, batch, "Real32", progress=ProgressBar(file=open(os.devnull, "w")))


IMPLEMENTATIONS = {
    # key: (worker group, label, factory)
    "nettrain64": ("lossviz", "lossviz NetTrain, Real64", make_nettrain),
    "nettrain32": ("lossviz", "lossviz NetTrain, Real32 (the default)", make_nettrain32),
    "nettrain_progress": ("lossviz", "lossviz NetTrain, Real32, progress bar", make_nettrain_progress),
    "engine64": ("lossviz", "lossviz bare step + ADAM, float64", make_engine),
    "engine64_shuffled": ("lossviz", "lossviz bare step + ADAM, float64, batches shuffled per round",
                          make_engine_shuffled),
    "engine32_shuffled": ("lossviz", "lossviz bare step + ADAM, Real32, batches shuffled per round",
                          make_engine32_shuffled),
    "engine32": ("lossviz", "lossviz bare step + ADAM, Real32", make_engine32),
    "autograd": ("lossviz", "lossviz AutogradStep + ADAM (not compiled), float64", make_autograd),
    "torch": ("torch", "PyTorch eager, float32, Adam (default threads)", make_torch),
    "torch_fused": ("torch", "PyTorch eager, float32, fused Adam (default threads)", make_torch_fused),
    "torch_1t": ("torch1", "PyTorch eager, float32, Adam, 1 thread", make_torch),
    "torch_fused_1t": ("torch1", "PyTorch eager, float32, fused Adam, 1 thread", make_torch_fused),
    "numpy64": ("numpy", "hand-written numpy + Adam, float64", make_numpy),
    "numpy32": ("numpy", "hand-written numpy + Adam, float32", make_numpy32),
    "jax": ("jax", "JAX, whole step under jit, float32", make_jax),
}


# ====================================================================== every loss, several heads (issue 11)
# A configuration trains the 2-16-16 tanh trunk (2-256-256 for the wide net) with some head and loss:
# ``lossviz`` gives ``(net, data, loss_function)`` for NetTrain; ``torch`` gives ``(module, loss(module, batch))``
# computing the same loss in PyTorch ops on the same data. ADAM everywhere; batches cycle through
# ``rounds_of`` fixed batches on the PyTorch side (NetTrain shuffles; that costs it, not PyTorch).
K = 3  # classes / regression outputs of the teaching heads


def _hidden(sizes):
    """lossviz layers of the trunk: [16, "Tanh", 16, "Tanh"] for sizes (2, 16, 16, k)."""
    out = []
    for n in sizes[1:-1]:
        out += [n, "Tanh"]
    return out


def _torch_trunk(sizes):
    import torch

    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(a, b), torch.nn.Tanh()]
    return torch.nn.Sequential(*layers)


def _targets(kind, X, k, seed=5):
    """Targets of a kind for inputs X (n, 2): regression values, labels, signs, distributions, counts."""
    rng = np.random.default_rng(seed)
    n = len(X)
    cls = (X[:, 0] * X[:, 1] > 0).astype(np.int64) + (X[:, 0] > 1).astype(np.int64)  # 0, 1, 2
    if kind == "real":
        return np.stack([np.sin(X[:, 0] * (j + 1)) + X[:, 1] * j for j in range(k)], 1)
    if kind == "index":
        return cls % k
    if kind == "probs":
        return rng.dirichlet(np.ones(k), n)
    if kind == "unit":  # 0/1 labels, shape (n, 1)
        return (cls[:, None] == 1).astype(float)
    if kind == "sign":
        return 2.0 * (cls[:, None] == 1) - 1.0
    if kind == "counts":
        return rng.poisson(np.exp(0.5 * X[:, :1]), (n, 1)).astype(float)
    raise ValueError(kind)


class _Single:
    """One output port: the trunk, ``Linear(k)`` and an optional activation, one loss."""

    def __init__(self, head, k, target, loss, torch_loss, note=""):
        self.head, self.k, self.target, self.loss, self.torch_loss, self.note = head, k, target, loss, torch_loss, note

    def lossviz(self, sizes, X):
        from lossviz import NetChain

        layers = _hidden(sizes) + [self.k] + ([self.head] if self.head else [])
        return NetChain(layers, input=sizes[0]), {"Input": X, "Output": _targets(self.target, X, self.k)}, \
            self.loss()

    def torch(self, sizes, X):
        import torch

        net = torch.nn.Sequential(_torch_trunk(sizes), torch.nn.Linear(sizes[-2], self.k))
        t = _targets(self.target, X, self.k)
        T = torch.tensor(t) if t.dtype.kind == "i" else torch.tensor(t, dtype=torch.float32)
        Xt = torch.tensor(X, dtype=torch.float32)
        return net, lambda idx: self.torch_loss(net(Xt[idx]), T[idx])


def _lv(name, **options):
    def make():
        from lossviz import losses

        return losses.get(name, **options)
    return make


def _tf():
    import torch
    import torch.nn.functional as F

    return torch, F


def _t_ce(z, y, **kw):
    torch, F = _tf()
    return F.cross_entropy(z, y, **kw)


def _t_focal(z, y, alpha=0.25, gamma=2.0):
    torch, F = _tf()
    logp = F.log_softmax(z, 1).gather(1, y[:, None])[:, 0]
    return (-alpha * (1 - logp.exp()) ** gamma * logp).mean()


def _t_binary_focal(z, t, alpha=0.25, gamma=2.0):
    torch, F = _tf()
    p = torch.sigmoid(z)
    ce = F.binary_cross_entropy_with_logits(z, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    return ((alpha * t + (1 - alpha) * (1 - t)) * ce * (1 - p_t) ** gamma).mean()


def _t_multiclass_hinge(z, y, margin=0.0):
    torch, F = _tf()
    true = z.gather(1, y[:, None])[:, 0]
    rival = z.masked_fill(F.one_hot(y, z.shape[1]).bool(), float("-inf")).max(1).values
    return torch.clamp(rival - true + margin, min=0).mean()


def _t_log_cosh(z, t):
    torch, F = _tf()
    ad = (z - t).abs()
    return (ad + F.softplus(-2 * ad) - np.log(2.0)).mean()


def _t_kl(z, t):
    torch, F = _tf()
    p = torch.softmax(z, 1)
    return (torch.xlogy(t, t) - t * torch.clamp(torch.log(p), min=-100)).mean()


def _t_kl_div(z, t):
    torch, F = _tf()
    return F.kl_div(F.log_softmax(z, 1), t, reduction="none").mean()


SINGLE = {  # name: (head activation, k, target kind, lossviz loss, torch loss of (z = last Linear's output, t))
    "mse": _Single(None, K, "real", _lv("mse"), lambda z, t: _tf()[1].mse_loss(z, t)),
    "mae": _Single(None, K, "real", _lv("mae"), lambda z, t: _tf()[1].l1_loss(z, t)),
    "l2": _Single(None, K, "real", _lv("l2"), lambda z, t: 0.5 * _tf()[1].mse_loss(z, t)),
    "huber": _Single(None, K, "real", _lv("huber"), lambda z, t: _tf()[1].smooth_l1_loss(z, t, beta=1.0)),
    "smooth_l1": _Single(None, K, "real", _lv("smooth_l1", beta=0.5),
                         lambda z, t: _tf()[1].smooth_l1_loss(z, t, beta=0.5)),
    "log_cosh": _Single(None, K, "real", _lv("log_cosh"), _t_log_cosh),
    "cross_entropy": _Single("Softmax", K, "index", _lv("cross_entropy"), _t_ce),
    "cross_entropy (Probabilities)": _Single("Softmax", K, "probs", _lv("cross_entropy", form="Probabilities"),
                                             _t_ce),
    "cross_entropy (Binary)": _Single("LogisticSigmoid", 1, "unit", _lv("cross_entropy", form="Binary"),
                                      lambda z, t: _tf()[1].binary_cross_entropy_with_logits(z, t)),
    "cross_entropy, label_smoothing=0.1": _Single("Softmax", K, "index", _lv("cross_entropy", label_smoothing=0.1),
                                                  lambda z, y: _t_ce(z, y, label_smoothing=0.1)),
    "cross_entropy, class_weights": _Single(
        "Softmax", K, "index", _lv("cross_entropy", class_weights=[1.0, 2.0, 0.5]),
        lambda z, y: (_t_ce(z, y, reduction="none") * _tf()[0].tensor([1.0, 2.0, 0.5])[y]).mean()),
    "softmax_ce": _Single(None, K, "index", _lv("softmax_ce"), _t_ce),
    "sigmoid_bce": _Single(None, 1, "unit", _lv("sigmoid_bce"),
                           lambda z, t: _tf()[1].binary_cross_entropy_with_logits(z, t)),
    "hinge": _Single(None, 1, "sign", _lv("hinge"), lambda z, t: _tf()[0].clamp(1 - z * t, min=0).mean()),
    "squared_hinge": _Single(None, 1, "sign", _lv("squared_hinge"),
                             lambda z, t: (_tf()[0].clamp(1 - z * t, min=0) ** 2).mean()),
    "logistic": _Single(None, 1, "sign", _lv("logistic"), lambda z, t: _tf()[1].soft_margin_loss(z, t)),
    "multiclass_hinge": _Single(None, K, "index", _lv("multiclass_hinge", margin=1.0),
                                lambda z, y: _t_multiclass_hinge(z, y, 1.0)),
    "binary_focal": _Single(None, 1, "unit", _lv("binary_focal"), _t_binary_focal),
    "categorical_focal (gamma=2)": _Single(None, K, "index", _lv("categorical_focal"), _t_focal),
    "kl_div (from logits)": _Single(None, K, "probs", _lv("kl_div", from_logits=False), _t_kl_div),
    "kl": _Single("Softmax", K, "probs", _lv("kl"), _t_kl),
    "poisson_nll": _Single(None, 1, "counts", _lv("poisson_nll"),
                           lambda z, t: _tf()[1].poisson_nll_loss(z, t, log_input=True)),
}


class _Graph:
    """Several heads on one shared trunk: ``heads`` = [(port, activation, k, target kind, lossviz loss, scale,
    torch loss)]; per-example weights on the first term when ``weights``."""

    def __init__(self, heads, weights=False):
        self.heads, self.weights = heads, weights

    def lossviz(self, sizes, X):
        from lossviz import NetChain, NetGraph, NetPort, Scaled

        layers = {"trunk": NetChain(_hidden(sizes), input=sizes[0])}
        conns = []
        data, spec = {"Input": X}, []
        for port, act, k, kind, loss, scale, _ in self.heads:
            layers[port + " head"] = NetChain([k] + ([act] if act else []))
            conns.append(("trunk", port + " head", NetPort(port)))
            data[port] = _targets(kind, X, k)
            spec.append((port, (loss(), Scaled(scale)) if scale != 1 else loss()))
        if self.weights:
            data["Weight"] = _weights(len(X))
        return NetGraph(layers, conns, input=sizes[0]), data, spec if len(spec) > 1 else spec[0][1]

    def torch(self, sizes, X):
        import torch

        trunk = _torch_trunk(sizes)
        heads = torch.nn.ModuleList([torch.nn.Linear(sizes[-2], k) for _, _, k, *_ in self.heads])
        module = torch.nn.ModuleList([trunk, heads])
        Xt = torch.tensor(X, dtype=torch.float32)
        Ts = []
        for _, _, k, kind, *_ in self.heads:
            t = _targets(kind, X, k)
            Ts.append(torch.tensor(t) if t.dtype.kind == "i" else torch.tensor(t, dtype=torch.float32))
        W = torch.tensor(_weights(len(X)), dtype=torch.float32)

        def loss(idx):
            h = trunk(Xt[idx])
            total = 0.0
            for head, T, (_, _, _, _, _, scale, fn) in zip(heads, Ts, self.heads):
                total = total + scale * (fn(head(h), T[idx], W[idx]) if self.weights else fn(head(h), T[idx]))
            return total

        return module, loss


def _weights(n):
    return np.random.default_rng(9).uniform(0.2, 2.0, n)


class _Pairs:
    """A NetPairEmbeddingOperator over the trunk + Linear(k), contrastive loss on the distance."""

    def lossviz(self, sizes, X):
        from lossviz import NetChain, NetPairEmbeddingOperator

        embed = NetChain(_hidden(sizes) + [K], input=sizes[0])
        X2 = np.roll(X, 1, axis=0)
        same = (X[:, 0] * X[:, 1] > 0) == (X2[:, 0] * X2[:, 1] > 0)
        return NetPairEmbeddingOperator(embed), {"Input1": X, "Input2": X2, "Output": ~same}, _lv("contrastive")()

    def torch(self, sizes, X):
        import torch

        net = torch.nn.Sequential(_torch_trunk(sizes), torch.nn.Linear(sizes[-2], K))
        X2 = np.roll(X, 1, axis=0)
        same = (X[:, 0] * X[:, 1] > 0) == (X2[:, 0] * X2[:, 1] > 0)
        A, B = torch.tensor(X, dtype=torch.float32), torch.tensor(X2, dtype=torch.float32)
        T = torch.tensor(~same, dtype=torch.float32)

        def loss(idx):
            d = torch.sqrt(((net(A[idx]) - net(B[idx])) ** 2).sum(1))
            t = T[idx]
            return (t * torch.clamp(0.5 - d, min=0) ** 2 + (1 - t) * d * d).mean()

        return net, loss


def _t_w(fn):
    """A torch loss ``fn(z, t)`` averaged per example and weighted: ``mean(w * mean_j fn)``."""
    def weighted(z, t, w):
        per = fn(z, t).reshape(len(z), -1).mean(1)
        return (w * per).mean()
    return weighted


class _InGraph:
    """A loss layer inside a NetGraph, fed by several heads on the trunk: ``heads`` maps the loss's ports to
    (output dims, activation); ``target(X)`` gives the data of its "Target" (None: no target); ``torch_loss``
    takes the heads' outputs (in ``heads`` order) and the target."""

    def __init__(self, loss, heads, target, torch_loss):
        self.loss, self.heads, self.target, self.torch_loss = loss, heads, target, torch_loss

    def lossviz(self, sizes, X):
        from lossviz import LinearLayer, NetChain, NetGraph, NetPort

        layers = {"trunk": NetChain(_hidden(sizes), input=sizes[0]), "loss": self.loss()}
        conns = []
        for port, (dims, act) in self.heads.items():
            layers[port] = NetChain([LinearLayer(dims)] + ([act] if act else []))
            conns.append(("trunk", port, NetPort("loss", port)))
        data = {"Input": X}
        if self.target is not None:
            data["Target"] = self.target(X)
        return NetGraph(layers, conns), data, None

    def torch(self, sizes, X):
        import torch

        trunk = _torch_trunk(sizes)
        heads = []
        for dims, act in self.heads.values():
            n = int(np.prod(dims)) if dims else 1
            layer = torch.nn.Linear(sizes[-2], n)
            post = {"SoftPlus": torch.nn.functional.softplus}.get(act, lambda v: v)
            shape = (-1,) + tuple(dims)
            heads.append((layer, lambda h, layer=layer, post=post, shape=shape: post(layer(h)).reshape(shape)))
        module = torch.nn.ModuleList([trunk] + [layer for layer, _ in heads])
        Xt = torch.tensor(X, dtype=torch.float32)
        t = None if self.target is None else self.target(X)
        T = None if t is None else (torch.tensor(t) if t.dtype.kind == "i" else torch.tensor(t, dtype=torch.float32))

        def loss(idx):
            h = trunk(Xt[idx])
            outs = [f(h) for _, f in heads]
            return self.torch_loss(*outs, None if T is None else T[idx])

        return module, loss


def _signs1(X):
    return np.where(X[:, 0] * X[:, 1] > 0, 1.0, -1.0)


def _t_triplet(a, p, n, _):
    torch, _F = _tf()
    return torch.clamp(((p - a) ** 2).sum(1) - ((n - a) ** 2).sum(1) + 1.0, min=0).mean()


def _t_cosine(a, b, t):
    torch, F = _tf()
    return F.cosine_embedding_loss(a, b, t, margin=0.0)


def _t_gll(mean, var, t):
    torch, F = _tf()
    v = torch.clamp(var, min=1e-6)
    return (0.5 * (torch.log(v) + (mean - t) ** 2 / v + np.log(2 * np.pi))).sum(1).mean()


def _t_mmd(x, _unused, y):
    torch, _F = _tf()
    x, y = x[:, :, None], y[:, :, None]

    def k(a, b):
        return torch.exp(-((a[:, :, None, :] - b[:, None, :, :]) ** 2).sum(-1))

    return (k(x, x).mean((1, 2)) - 2 * k(x, y).mean((1, 2)) + k(y, y).mean((1, 2))).mean()


def _t_ctc(x, _unused, labels):
    torch, F = _tf()
    logp = F.log_softmax(x, -1).transpose(0, 1)  # (T, B, C)
    B, T = x.shape[0], x.shape[1]
    return F.ctc_loss(logp, labels, torch.full((B,), T), torch.full((B,), labels.shape[1]), blank=x.shape[2] - 1,
                      reduction="none").mean()


IN_GRAPH = {
    "margin_ranking (two scores)": _InGraph(
        _lv("margin_ranking", margin=0.1), {"Input": ((), None), "Input2": ((), None)}, _signs1,
        lambda a, b, t: _tf()[1].margin_ranking_loss(a, b, t, margin=0.1)),
    "cosine_embedding (two embeddings)": _InGraph(
        _lv("cosine_embedding"), {"Input": ((K,), None), "Input2": ((K,), None)}, _signs1, _t_cosine),
    "triplet (three embeddings)": _InGraph(
        _lv("triplet"), {"Input": ((K,), None), "Positive": ((K,), None), "Negative": ((K,), None)}, None,
        _t_triplet),
    "gll (mean and variance heads)": _InGraph(
        _lv("gll"), {"Input": ((K,), None), "Variance": ((K,), "SoftPlus")},
        lambda X: _targets("real", X, K), _t_gll),
    "mmd (a set of 4 samples per example)": _InGraph(
        _lv("mmd"), {"Input": ((4,), None)}, lambda X: np.stack([np.sin(X[:, 0] * j) for j in range(1, 7)], 1),
        lambda x, y: _t_mmd(x, None, y)),
    "ctc (5 steps of 4 classes, 2 labels)": _InGraph(
        _lv("ctc"), {"Input": ((5, 4), None)},
        lambda X: np.stack([(X[:, 0] > 0), (X[:, 1] > 0) + 1], 1).astype(np.int64), lambda x, t: _t_ctc(x, None, t)),
}

_MSE_HEAD = ("Reg", None, K, "real", _lv("mse"), 1.0, lambda z, t: _tf()[1].mse_loss(z, t))
_CE_HEAD = ("Class", "Softmax", K, "index", _lv("cross_entropy"), 0.5, _t_ce)
_BIN_HEAD = ("Flag", "LogisticSigmoid", 1, "unit", _lv("cross_entropy", form="Binary"), 0.2,
             lambda z, t: _tf()[1].binary_cross_entropy_with_logits(z, t))

#: every configuration measured against PyTorch: the issue's table first, then every registry loss
LOSS_CONFIGS = {
    "softmax + cross_entropy (Index)": SINGLE["cross_entropy"],
    "huber on a regression output": SINGLE["huber"],
    "cross_entropy, label_smoothing=0.1": SINGLE["cross_entropy, label_smoothing=0.1"],
    "NetGraph: MSE + Scaled(0.5) cross-entropy": _Graph([_MSE_HEAD, _CE_HEAD]),
    "NetGraph: three scaled terms": _Graph([_MSE_HEAD, _CE_HEAD, _BIN_HEAD]),
    "per-example weights (mse)": _Graph([("Output", None, K, "real", _lv("mse"), 1.0,
                                          _t_w(lambda z, t: (z - t) ** 2))], weights=True),
    "contrastive on a NetPairEmbeddingOperator": _Pairs(),
    **{k: v for k, v in SINGLE.items() if k not in ("cross_entropy", "huber", "cross_entropy, label_smoothing=0.1")},
    **IN_GRAPH,
}
ISSUE_TABLE = list(LOSS_CONFIGS)[:4]


def make_loss_config(name, side, sizes, batch, rounds_of=8):
    """One configuration of :data:`LOSS_CONFIGS`: lossviz NetTrain (``steps_per_second(seconds)``, Real32)
    or a PyTorch eager step (float32, Adam) doing the same."""
    config = LOSS_CONFIGS[name]
    X, _ = toy_data(rounds_of * batch)
    if side == "lossviz":
        from lossviz.train import NetTrain

        net, data, loss_function = config.lossviz(sizes, X)
        extra = {} if loss_function is None else {"loss_function": loss_function}

        def steps_per_second(seconds, cpu=False):
            r = NetTrain(net, data, "All", batch_size=batch, time_goal=seconds, random_seed=1, progress=None,
                         **extra)
            return r["TotalBatches"] / r["TotalTrainingTime"]

        steps_per_second.self_timed = True
        return steps_per_second
    import torch

    module, loss = config.torch(sizes, X)
    opt = torch.optim.Adam(module.parameters(), lr=LR, betas=(B1, B2), eps=EPS)
    perm = np.random.default_rng(2).permutation(len(X))
    idx = [torch.tensor(perm[i * batch:(i + 1) * batch]) for i in range(rounds_of)]
    count = [0]

    def step():
        opt.zero_grad(set_to_none=True)
        value = loss(idx[count[0] % rounds_of])
        count[0] += 1
        value.backward()
        opt.step()
        return value

    return step


# ====================================================================== user functions (issue 11's last clause)
# Nets and losses built from user Python functions train through the compiled step too, autograd confined to
# the user's layers and losses (float64: a user function may not be float32-safe). Measured against PyTorch
# eager doing the same ops.
def _x_tanh_x(x):
    import autograd.numpy as anp

    return x * anp.tanh(x)


def _pseudo_huber(input, target):
    """sqrt(1 + d^2) - 1: a loss written by a user."""
    import autograd.numpy as anp

    d = input - target
    return anp.sqrt(1.0 + d * d) - 1.0


class _User:
    """The 2-16-16 trunk (x tanh(x) activations when ``user_layer``, else Tanh), Linear(k), real targets; the
    user's pseudo-Huber loss when ``user_loss``, else MSE."""

    def __init__(self, user_layer, user_loss):
        self.user_layer, self.user_loss = user_layer, user_loss

    def lossviz(self, sizes, X):
        from lossviz import ElementwiseLayer, NetChain
        from lossviz.losses.custom import function_loss

        layers = []
        for n in sizes[1:-1]:
            layers += [n, ElementwiseLayer(_x_tanh_x) if self.user_layer else "Tanh"]
        loss = function_loss(_pseudo_huber, "pseudo_huber")() if self.user_loss else _lv("mse")()
        return NetChain(layers + [K], input=sizes[0]), {"Input": X, "Output": _targets("real", X, K)}, loss

    def torch(self, sizes, X):
        import torch

        class XTanhX(torch.nn.Module):
            def forward(self, x):
                return x * torch.tanh(x)

        layers = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers += [torch.nn.Linear(a, b), XTanhX() if self.user_layer else torch.nn.Tanh()]
        net = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-2], K))
        Xt, T = torch.tensor(X, dtype=torch.float32), torch.tensor(_targets("real", X, K), dtype=torch.float32)

        def loss(idx):
            d = net(Xt[idx]) - T[idx]
            return (torch.sqrt(1.0 + d * d) - 1.0).mean() if self.user_loss else (d * d).mean()

        return net, loss


LOSS_CONFIGS.update({
    "user function: x*tanh(x) trunk + user loss": _User(True, True),
    "user function: x*tanh(x) trunk, mse": _User(True, False),
    "user function: user loss (pseudo-Huber) on the tanh trunk": _User(False, True),
})
