"""Where one fused training step spends its time, op by op (one thread; means over many steps).

    .venv/bin/python benchmarks/profile_step.py

Times each op of :class:`lossviz.train.fused.FusedStep` (forward, loss head, backward) and the ADAM
update on the bench's nets at batch 512, in Real64 and Real32. Not part of ``make bench``'s ratios:
it explains them (see benchmarks/RESULTS.md).
"""
from __future__ import annotations

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]


def profile(sizes, batch, working_precision):
    """``({op label: seconds per step}, steps)`` for one net, batch size and precision."""
    from steps import lossviz_net, toy_data

    from lossviz import NetInitialize
    from lossviz.train.data import read_data as _read_data
    from lossviz.train.steps import select_step
    from lossviz.train.optimizers import ADAM
    from lossviz.train.spec import resolve_loss

    X, y = toy_data(batch)
    net = NetInitialize(lossviz_net(sizes), random_seed=1)
    raw = {"Input": X, "Output": y}
    spec = resolve_loss(net, None, raw)
    engine = select_step(net, spec, working_precision)
    engine.threads = 1
    opt = ADAM()
    opt.start(engine.leaves)
    x, t = engine._inputs(_read_data(net, spec, raw, "data"))
    bufs = engine._buffers_for(batch, 0)
    ops, head = engine.plan.ops, engine.plan.head
    labels = [f"{type(op).__name__.strip('_').removesuffix('Op')} {getattr(op, 'name', '')}".strip() for op in ops]
    times = {}

    def timed(label, fn):
        t0 = time.perf_counter()
        out = fn()
        times[label] = times.get(label, 0.0) + time.perf_counter() - t0
        return out

    steps = 200 if max(sizes) <= 64 else 20
    for _ in range(steps):
        z = x
        if z.dtype != engine.dtype:
            z = timed("cast the input", lambda: (bufs[-1].__setitem__(slice(None), x), bufs[-1])[1])
        for i, (op, buf) in enumerate(zip(ops, bufs)):
            z = timed(f"forward {i + 1} {labels[i]}", lambda: op.forward(z, buf))
        _, g = timed("loss head (value and gradient)", lambda: head.loss_and_grad(z, t, bufs[len(ops)], 1 / batch))
        for i in reversed(range(len(ops))):
            g = timed(f"backward {i + 1} {labels[i]}", lambda: ops[i].backward(g, bufs[i]))
            if g is None:
                break
        timed("ADAM update", lambda: opt.step(engine.leaves, [engine._grads[0]], 1e-3))
    return {k: v / steps for k, v in times.items()}, steps


def main():
    for sizes in [(2, 16, 16, 2), (2, 256, 256, 2)]:
        for precision in ["Real64", "Real32"]:
            per_op, steps = profile(sizes, 512, precision)
            total = sum(per_op.values())
            print(f"\n### {'-'.join(map(str, sizes))}, batch 512, {precision}, one thread: "
                  f"{1e6 * total:,.0f} us per step (mean of {steps})\n")
            print("| op | us | share |")
            print("|---|---:|---:|")
            for label, secs in per_op.items():
                print(f"| {label} | {1e6 * secs:,.1f} | {100 * secs / total:.1f}% |")


if __name__ == "__main__":
    main()
