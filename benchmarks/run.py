"""lossviz benchmarks (``make bench``): training steps/s against PyTorch, numpy and JAX, and the other
speed targets of issue 5. Prints markdown tables; paste a run into benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/run.py                # everything (about 9 minutes on 2 quiet cores)
    .venv/bin/python benchmarks/run.py --seconds 0.5  # shorter measurements
    .venv/bin/python benchmarks/run.py --only train   # one section: train, every-loss, overhead, losses,
                                                      # surface, import

Training steps are measured in one worker process per family (lossviz, numpy, torch, jax), so
PyTorch's and OpenBLAS's thread pools never share a process; the driver interleaves them: three
rounds, each measuring every implementation on every size once, and reports medians of three.
JAX is installed with pip when it is missing and the registry has it (``--no-install`` skips that);
without it the JAX column is skipped with a message.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, ROOT]

CONFIGS = [((2, 16, 16, 2), 32), ((2, 16, 16, 2), 512), ((2, 256, 256, 2), 512)]
ORDER = ["nettrain64", "nettrain32", "engine64", "engine32", "autograd", "numpy64", "numpy32",
         "torch", "torch_1t", "torch_fused", "torch_fused_1t", "jax"]


def config_name(sizes, batch):
    return f"{'-'.join(map(str, sizes))}, batch {batch}"


# ====================================================================== the worker
def worker(group):
    """Serve measurement requests (JSON lines on stdin) for one family of implementations."""
    from steps import IMPLEMENTATIONS

    if group == "torch1":
        import torch

        torch.set_num_threads(1)
    cache = {}
    for line in sys.stdin:
        req = json.loads(line)
        try:
            key = (req["impl"], tuple(req["sizes"]), req["batch"])
            if key not in cache:
                if "config" in req["impl"]:  # "config:<name>": a loss configuration of steps.LOSS_CONFIGS
                    from steps import make_loss_config

                    fn = make_loss_config(req["impl"].split(":", 1)[1], "lossviz" if group == "lossviz" else "torch",
                                          tuple(req["sizes"]), req["batch"])
                else:
                    _, _, make = IMPLEMENTATIONS[req["impl"]]
                    fn = make(tuple(req["sizes"]), req["batch"])
                _measure(fn, 0.2)  # warm up (and JIT-compile)
                cache[key] = fn
            rate = _measure(cache[key], req["seconds"], req.get("cpu", False))
            out = {"rate": rate}
        except Exception as e:  # noqa: BLE001 - reported by the driver
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)


def _measure(fn, seconds, cpu=False):
    """Steps per second of wall-clock time, or (``cpu``) per second of this process's CPU time."""
    if getattr(fn, "self_timed", False):
        return fn(seconds, cpu) if cpu else fn(seconds)
    clock = time.process_time if cpu else time.perf_counter
    sync = getattr(fn, "sync", lambda: None)
    n, t0 = 0, clock()
    while True:
        for _ in range(5):
            fn()
        n += 5
        if clock() - t0 >= seconds:
            break
    sync()
    return n / (clock() - t0)


class Worker:
    def __init__(self, group):
        self.group = group
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", group], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)

    def measure(self, impl, sizes, batch, seconds, cpu=False):
        req = {"impl": impl, "sizes": sizes, "batch": batch, "seconds": seconds, "cpu": cpu}
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            return {"error": "worker died"}
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ====================================================================== sections
def machine():
    import numpy as np

    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("autograd", "torch", "jax", "jaxlib"):
        try:
            versions[mod] = importlib.metadata.version(mod)
        except importlib.metadata.PackageNotFoundError:
            versions[mod] = "not installed"
    flags = open("/proc/cpuinfo").read()
    simd = [f for f in ("avx2", "avx512f", "fma") if f" {f} " in flags]
    env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_", "MALLOC_"))}
    return (f"- CPU: {model}, nproc {os.cpu_count()}, SIMD {', '.join(simd)}; load average before the run "
            f"{os.getloadavg()[0]:.2f}\n- " + ", ".join(f"{k} {v}" for k, v in versions.items())
            + (f"\n- environment: {env}" if env else ""))


def ensure_jax(allow_install):
    try:
        import jax  # noqa: F401

        return True
    except ImportError:
        pass
    if allow_install:
        print("JAX is not installed: trying `pip install jax jaxlib` ...", flush=True)
        ok = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "jax", "jaxlib"]).returncode == 0
        if ok and subprocess.run([sys.executable, "-c", "import jax"]).returncode == 0:
            return True
    print("JAX is not available (not installed, and the registry had no wheel for this machine): "
          "its column is skipped.", flush=True)
    return False


def train_section(seconds, with_jax, repeats=3):
    """{impl: {config: median steps/s}} measured interleaved."""
    from steps import IMPLEMENTATIONS

    impls = [k for k in ORDER if k != "jax" or with_jax]
    groups = {}
    for k in impls:
        groups.setdefault(IMPLEMENTATIONS[k][0], None)
    workers = {g: Worker(g) for g in groups}
    rates = {k: {c: [] for c in range(len(CONFIGS))} for k in impls}
    errors = {}
    try:
        for r in range(repeats):
            for c, (sizes, batch) in enumerate(CONFIGS):
                order = impls[r % len(impls):] + impls[:r % len(impls)]  # rotate who goes first
                for k in order:
                    if k in errors:
                        continue
                    res = workers[IMPLEMENTATIONS[k][0]].measure(k, sizes, batch, seconds)
                    if "error" in res:
                        errors[k] = res["error"]
                        print(f"  {k}: {res['error']}", flush=True)
                        continue
                    rates[k][c].append(res["rate"])
                    time.sleep(0.05)  # let spinning thread pools go idle
            print(f"  round {r + 1} of {repeats} done", flush=True)
    finally:
        for w in workers.values():
            w.close()
    return {k: {c: statistics.median(v) for c, v in per.items() if v} for k, per in rates.items() if k not in errors}


def print_train_table(med):
    from steps import IMPLEMENTATIONS

    for best, pair in (("torch_best", ("torch", "torch_1t")), ("torch_fused_best", ("torch_fused", "torch_fused_1t"))):
        if all(k in med for k in pair):  # PyTorch at its better thread setting: the baseline to beat
            med[best] = {c: max(med[k][c] for k in pair) for c in med[pair[0]]}
    cols = [config_name(s, b) for s, b in CONFIGS]
    print("\n### Training steps per second (medians of 3 interleaved runs)\n")
    print("| implementation | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for k in ORDER:
        if k in med:
            print(f"| {IMPLEMENTATIONS[k][1]} | " + " | ".join(f"{med[k].get(c, float('nan')):,.0f}"
                                                               for c in range(len(CONFIGS))) + " |")
    ratios = [
        ("NetTrain Real64 / PyTorch eager (best threads)", "nettrain64", "torch_best", [3.0, 3.0, 1.0]),
        ("NetTrain Real32 (default) / PyTorch eager (best threads)", "nettrain32", "torch_best", [3.0, 3.0, 1.0]),
        ("NetTrain Real64 / hand-written numpy float64", "nettrain64", "numpy64", [0.8, 0.8, None]),
        ("NetTrain Real32 / hand-written numpy float32", "nettrain32", "numpy32", [0.8, 0.8, None]),
        ("NetTrain Real64 / PyTorch fused Adam (best threads)", "nettrain64", "torch_fused_best", [None] * 3),
        ("NetTrain Real32 / PyTorch fused Adam (best threads)", "nettrain32", "torch_fused_best", [None] * 3),
        ("NetTrain Real32 / JAX jit", "nettrain32", "jax", [None] * 3),
        ("compiled step / AutogradStep (bare, float64)", "engine64", "autograd", [None] * 3),
    ]
    print("\n### Ratios (target in brackets; a 2-256-256-2 target applies to either precision)\n")
    print("| ratio | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for label, a, b, targets in ratios:
        if a not in med or b not in med:
            continue
        cells = []
        for c, t in enumerate(targets):
            x = med[a][c] / med[b][c]
            cells.append(f"{x:.2f}" + ("" if t is None else f" ({'met' if x >= t else 'MISSED'}: >= {t:g})"))
        print(f"| {label} | " + " | ".join(cells) + " |")


LOSS_SIZES = [((2, 16, 16, 3), 32), ((2, 16, 16, 3), 512), ((2, 256, 256, 3), 512)]
LOSS_TARGETS = [3.0, 3.0, 1.0]
#: issue 11: nets and losses built from user functions (autograd on those, float64) aim at 1x PyTorch
USER_FUNCTION_TARGET = 1.0


def loss_target(config, i):
    """The ratio configuration ``config`` must reach at size ``LOSS_SIZES[i]``."""
    return USER_FUNCTION_TARGET if config.startswith("user function") else LOSS_TARGETS[i]


def loss_section(seconds, repeats=3, only=None):
    """Issue 11: NetTrain (Real32) against PyTorch eager doing the same loss, every configuration of
    steps.LOSS_CONFIGS, ``repeats`` interleaved runs (medians); the issue's table at three sizes, every
    other configuration at the teaching sizes. Returns {config: {size index: (lossviz, torch best, ratio)}}."""
    from steps import ISSUE_TABLE, LOSS_CONFIGS

    workers = {g: Worker(g) for g in ("lossviz", "torch", "torch1")}
    jobs = [(c, i) for c in ISSUE_TABLE for i in range(len(LOSS_SIZES))]
    jobs += [(c, i) for c in LOSS_CONFIGS if c not in ISSUE_TABLE for i in range(2)]
    if only:
        jobs = [(c, i) for c, i in jobs if any(o.lower() in c.lower() for o in only)]
    rates = {}
    try:
        for r in range(repeats):
            for c, i in jobs:
                sizes, batch = LOSS_SIZES[i]
                groups = ["lossviz", "torch", "torch1"]
                for g in groups[r % 3:] + groups[:r % 3]:
                    res = workers[g].measure(f"config:{c}", sizes, batch, seconds)
                    if "error" in res:
                        print(f"  {c} ({g}): {res['error']}", flush=True)
                        continue
                    rates.setdefault((c, i, g), []).append(res["rate"])
                    time.sleep(0.02)
            print(f"  loss configurations: round {r + 1} of {repeats} done", flush=True)
    finally:
        for w in workers.values():
            w.close()
    out = {}
    for c, i in jobs:
        got = [statistics.median(rates[(c, i, g)]) if (c, i, g) in rates else None for g in ("lossviz", "torch",
                                                                                            "torch1")]
        if None in got:
            continue
        ours, best = got[0], max(got[1:])
        out.setdefault(c, {})[i] = (ours, best, ours / best)
    return out


def print_loss_table(res):
    from steps import ISSUE_TABLE

    cells = [(r / loss_target(c, i), r, c, i) for c, per in res.items() for i, (_, _, r) in per.items()]
    if not cells:
        print("\n(no loss configuration measured)")
        return
    worst = min(cells)[1:]  # the furthest below (or least above) its target
    target = loss_target(worst[1], worst[2])
    missed = sum(1 for share, *_ in cells if share < 1.0)
    print("\n### Every loss against PyTorch eager doing the same (issue 11; NetTrain Real32 steps/s vs "
          "PyTorch float32 + Adam at its better thread setting, same run)\n")
    print(f"**Worst ratio against its target: {worst[0]:.2f}** ({worst[1]}, {config_name(*LOSS_SIZES[worst[2]])}; "
          f"target >= {target:g}: {'met' if worst[0] >= target else 'MISSED'}); {missed} of {len(cells)} "
          "measurements below target. Targets: >= 3 at 2-16-16-k, batch 32 and 512; >= 1 on 2-256-256-k, "
          "batch 512; >= 1 for nets and losses built from user functions (float64, autograd on those).\n")
    cols = [config_name(s, b) for s, b in LOSS_SIZES]
    print("| configuration | " + " | ".join(f"{c}: lossviz / PyTorch = ratio" for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for c, per in res.items():
        row = []
        for i in range(len(LOSS_SIZES)):
            if i in per:
                ours, best, r = per[i]
                flag = "" if r >= loss_target(c, i) else " (MISSED)"
                row.append(f"{ours:,.0f} / {best:,.0f} = **{r:.2f}**{flag}")
            else:
                row.append("")
        print(f"| {c}{' (issue table)' if c in ISSUE_TABLE else ''} | " + " | ".join(row) + " |")


def overhead_section(seconds, repeats=5):
    """NetTrain's loop (batching, events, progress) against the bare step + ADAM, interleaved.

    Measured in steps per CPU second (NetTrain's setup included), so that other processes
    taking the CPU away do not count as anyone's overhead.
    """
    w = Worker("lossviz")
    rows = [("float64", "nettrain64", "engine64", "engine64_shuffled"),
            ("Real32", "nettrain32", "engine32", "engine32_shuffled"),
            ('Real32, progress="auto"', "nettrain_progress", "engine32", "engine32_shuffled")]
    keys = sorted({k for row in rows for k in row[1:]})
    rates = {}
    try:
        for _ in range(repeats):
            for sizes, batch in CONFIGS[:2]:
                for k in keys:
                    res = w.measure(k, sizes, batch, seconds, cpu=True)
                    rates.setdefault((k, sizes, batch), []).append(res["rate"])
    finally:
        w.close()
    print("\n### NetTrain's own overhead (target < 10% of the engine step; steps per CPU second, "
          f"medians of {repeats} interleaved runs)\n")
    print("A: the bare step + ADAM cycling through 8 fixed batches; B: the same, but batches drawn "
          "like NetTrain's (a new permutation every round, rows gathered by NetTrain's own shuffled_batches); "
          "C: NetTrain.\n")
    print("| net | NetTrain | A | B | C | C vs A: batching, events, progress (the target) | C vs B: the loop "
          "without the batching |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for sizes, batch in CONFIGS[:2]:
        for label, c, a, b in rows:
            ra, rb, rc = (statistics.median(rates[(k, sizes, batch)]) for k in (a, b, c))
            over_a, over_b = ra / rc - 1.0, rb / rc - 1.0
            print(f"| {config_name(sizes, batch)} | {label} | {ra:,.0f} | {rb:,.0f} | {rc:,.0f} | "
                  f"{100 * over_a:.1f}% ({'met' if over_a < 0.10 else 'MISSED'}) | {100 * over_b:.1f}% |")


def losses_section():
    import losses

    rows = losses.run()
    print("\n### Loss evaluation on 1e6 input elements (target: within 2x of numpy)\n")
    print("| loss | lossviz ms | numpy ms | ratio | note |")
    print("|---|---:|---:|---:|---|")
    for name, ours, ref, note in rows:
        ratio = "" if ours is None or ref is None else f"{ours / ref:.2f} ({'met' if ours <= 2 * ref else 'MISSED'})"
        fmt = lambda v: "" if v is None else f"{v:.1f}"  # noqa: E731
        print(f"| {name} | {fmt(ours)} | {fmt(ref)} | {ratio} | {note} |")


def surface_section():
    import numpy as np

    from lossviz import NetInitialize
    from steps import lossviz_net

    net = NetInitialize(lossviz_net((2, 16, 16, 2)), random_seed=0)
    g = np.linspace(-3, 3, 200)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)

    def median_ms(fn, n=20):
        fn()
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return 1e3 * statistics.median(ts)

    from lossviz import decision_surface

    surface32 = median_ms(lambda: decision_surface(net, resolution=200))
    surface64 = median_ms(lambda: decision_surface(net, resolution=200, working_precision="Real64"))
    engine = median_ms(lambda: net.apply(net.params, {"Input": grid}))
    user = median_ms(lambda: net(grid))
    print("\n### Decision surface: 2-16-16-2 on a 200x200 grid (target < 10 ms engine time)\n")
    print("| call | ms (median of 20) |")
    print("|---|---:|")
    print(f"| `decision_surface(net)` (fused forward, Real32: the default) | {surface32:.2f} "
          f"({'met' if surface32 < 10 else 'MISSED'}) |")
    print(f"| `decision_surface(net, working_precision='Real64')` | {surface64:.2f} |")
    print(f"| engine, float64: `net.apply(params, {{'Input': grid}})` | {engine:.2f} |")
    print(f"| user-facing, float64: `net(grid)` (reads and checks the data) | {user:.2f} |")


def import_section():
    code = ("import time, sys; t = time.perf_counter(); import lossviz; t = time.perf_counter() - t; "
            "print(t, int('matplotlib' in sys.modules), int('ipywidgets' in sys.modules))")
    runs = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
        t, mpl, widgets = out.stdout.split()
        runs.append(float(t))
    t = statistics.median(runs)
    print("\n### `import lossviz` in a fresh interpreter (target < 0.5 s)\n")
    print(f"median of 5: {t:.3f} s ({'met' if t < 0.5 else 'MISSED'}); matplotlib imported: {bool(int(mpl))}, "
          f"ipywidgets imported: {bool(int(widgets))}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1.0, help="length of one measurement (default 1)")
    ap.add_argument("--only", choices=["train", "every-loss", "overhead", "losses", "surface", "import"],
                    action="append")
    ap.add_argument("--config", action="append", help="every-loss: only configurations whose name contains this")
    ap.add_argument("--no-install", action="store_true", help="do not pip-install JAX when it is missing")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker)
    sections = args.only or ["train", "every-loss", "overhead", "losses", "surface", "import"]
    print("## lossviz benchmarks\n")
    print(f"command: `{' '.join([os.path.relpath(sys.executable, ROOT)] + sys.argv)}`\n")
    t0 = time.time()
    if "train" in sections:
        with_jax = ensure_jax(not args.no_install)
        print(machine(), flush=True)
        print_train_table(train_section(args.seconds, with_jax))
    else:
        print(machine())
    if "every-loss" in sections:
        print_loss_table(loss_section(args.seconds * 0.4, only=args.config))
    if "overhead" in sections:
        overhead_section(args.seconds)
    if "losses" in sections:
        losses_section()
    if "surface" in sections:
        surface_section()
    if "import" in sections:
        import_section()
    print(f"\n(took {time.time() - t0:.0f} s; load average after the run {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
