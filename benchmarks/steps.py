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
    "autograd": ("lossviz", "lossviz AutogradStep + ADAM (no fusion), float64", make_autograd),
    "torch": ("torch", "PyTorch eager, float32, Adam (default threads)", make_torch),
    "torch_fused": ("torch", "PyTorch eager, float32, fused Adam (default threads)", make_torch_fused),
    "torch_1t": ("torch1", "PyTorch eager, float32, Adam, 1 thread", make_torch),
    "torch_fused_1t": ("torch1", "PyTorch eager, float32, fused Adam, 1 thread", make_torch_fused),
    "numpy64": ("numpy", "hand-written numpy + Adam, float64", make_numpy),
    "numpy32": ("numpy", "hand-written numpy + Adam, float32", make_numpy32),
    "jax": ("jax", "JAX, whole step under jit, float32", make_jax),
}
