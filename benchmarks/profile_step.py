"""Where one compiled training step spends its time, op by op (one thread; medians over many steps).

    .venv/bin/python benchmarks/profile_step.py                       # the default configurations
    .venv/bin/python benchmarks/profile_step.py "huber on a regression output" 32

Wraps every op of :class:`lossviz.train.plan.CompiledStep` (each layer's forward
and backward, each loss head) with a timer, runs whole steps and the ADAM update,
and reports the time of each; "the step's own loop" is what is left (slot
bookkeeping, seeds, casting the batch). Not part of ``make bench``'s ratios: it
explains them (see benchmarks/RESULTS.md).
"""
from __future__ import annotations

import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]


def _label(node):
    op = node.op
    name = getattr(op, "name", None) or (type(op.layer).__name__ if hasattr(op, "layer") else "")
    return f"{'/'.join(node.path)} {type(op).__name__.strip('_')} {name}".strip()


def profile(config, sizes, batch, working_precision):
    """``({label: seconds per step}, steps)`` for one configuration of steps.LOSS_CONFIGS."""
    from steps import LOSS_CONFIGS, toy_data

    from lossviz import NetInitialize
    from lossviz.train.data import read_data as _read_data
    from lossviz.train.optimizers import ADAM
    from lossviz.train.spec import resolve_loss
    from lossviz.train.steps import select_step

    X, _ = toy_data(batch)
    net, raw, loss_function = LOSS_CONFIGS[config].lossviz(sizes, X)
    net = NetInitialize(net, random_seed=1)
    spec = resolve_loss(net, loss_function, raw)
    engine = select_step(net, spec, working_precision)
    engine.threads = 1
    batch_data = _read_data(net, spec, raw, "data")
    opt = ADAM()
    opt.start(engine.leaves)
    times = {}

    def timer(label, fn):
        def timed(*args):
            t0 = time.perf_counter()
            out = fn(*args)
            times.setdefault(label, []).append(time.perf_counter() - t0)
            return out
        return timed

    for node in engine.heads.forward:
        label = _label(node)
        for method in ("fwd1", "forward", "evaluate", "bwd1", "backward"):
            fn = getattr(node.op, method, None)
            if fn is not None:
                kind = "backward" if method.startswith("b") else "forward"
                setattr(node.op, method, timer(f"{kind}: {label}", fn))
    step = timer("whole step", engine.step)
    update = timer("ADAM update", lambda grads: opt.step(engine.leaves, grads, 1e-3))
    steps = 300 if max(sizes) <= 64 else 30
    for _ in range(steps):
        update(step(batch_data)[1])
    for node in engine.heads.forward:  # unwrap
        node.op.__dict__.pop("fwd1", None), node.op.__dict__.pop("bwd1", None)
        for method in ("forward", "evaluate", "backward"):
            node.op.__dict__.pop(method, None)
    # medians (a busy machine preempts some calls), times the calls per step
    per_step = {k: statistics.median(v) * len(v) / steps for k, v in times.items()}
    whole = per_step.pop("whole step")
    per_step["the step's own loop"] = whole - sum(v for k, v in per_step.items() if k != "ADAM update")
    return per_step, steps


def main():
    from steps import ISSUE_TABLE

    if len(sys.argv) > 1:
        runs = [(sys.argv[1], (2, 16, 16, 3), int(sys.argv[2]) if len(sys.argv) > 2 else 32, "Real32")]
    else:
        runs = [(c, (2, 16, 16, 3), b, "Real32") for c in ISSUE_TABLE for b in (32, 512)]
        runs.append((ISSUE_TABLE[0], (2, 256, 256, 3), 512, "Real32"))
    for config, sizes, batch, precision in runs:
        per_op, steps = profile(config, sizes, batch, precision)
        total = sum(per_op.values())
        print(f"\n### {config}: {'-'.join(map(str, sizes))}, batch {batch}, {precision}, one thread: "
              f"{1e6 * total:,.0f} us per step with ADAM (medians of {steps})\n")
        print("| op | us | share |")
        print("|---|---:|---:|")
        for label, secs in per_op.items():
            print(f"| {label} | {1e6 * secs:,.1f} | {100 * secs / total:.1f}% |")


if __name__ == "__main__":
    main()
