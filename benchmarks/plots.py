"""How long each plot's ``update`` takes on the teaching-sized problem: a markdown table.

    python benchmarks/plots.py [--repeats N]

The problem: a 2-16-16-2 tanh/softmax classifier on 500 examples of the
Playground's XOR set (``lossviz.datasets.xor``), trained for 30 rounds. Each
row times ``plot.update(...)`` (what a live panel calls after a round or a
slider move: recompute the numbers and move the artists), and then the same
plus an Agg render to PNG (what a panel pays to show the frame). The median
of ``--repeats`` runs is reported, after one warm-up call, as wall-clock time
and as the process's CPU time (which other jobs on a shared machine do not
inflate); the load average is printed with the table.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from lossviz import NetChain, NetTrain, datasets  # noqa: E402
from lossviz.plot import loss_landscape, loss_plot, loss_shape, plot_decision_surface  # noqa: E402


def _median_ms(call, repeats):
    """Median wall-clock and CPU milliseconds of ``call()`` (CPU time: what a busy machine cannot inflate)."""
    call()  # warm-up: caches, first-use imports
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return 1e3 * statistics.median(wall), 1e3 * statistics.median(cpu)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    ds = datasets.xor(1000, noise=0.1, random_seed=0, test_fraction=0.5)  # 500 training examples
    n_train = len(ds.train["Input"])
    net = NetChain([16, "Tanh", 16, "Tanh", 2, "Softmax"], input=2)
    results = NetTrain(net, ds.train, "All", validation_set=ds.test, max_training_rounds=30, learning_rate=0.02,
                       random_seed=0, progress=None)
    trained = results["TrainedNet"]
    start_net = net.with_params(results["ParameterTrajectory"][0][1]) if "ParameterTrajectory" in results else trained
    nets = [trained, start_net]

    def alternate(update):
        state = {"i": 0}

        def call():
            state["i"] += 1
            update(nets[state["i"] % 2])
        return call

    shape = loss_shape(["mse", "mae", "huber", "log_cosh"], target=1.0)
    margin = loss_shape(["zero_one", "hinge", "logistic", ("binary_focal", {"gamma": 2.0}), "exponential"],
                        against="margin")
    targets = iter(np.tile([0.5, 1.0], 10_000))
    gammas = iter(np.tile([1.0, 2.0], 10_000))
    surface = plot_decision_surface(trained, data=ds, resolution=200)
    surface_loss = plot_decision_surface(trained, data=ds, resolution=200, show_loss=True)
    landscape = loss_landscape(trained, ds.train, resolution=41)
    landscape_path = loss_landscape(trained, ds.train, results=results, resolution=41)
    line = loss_landscape(trained, ds.train, resolution=101, dims=1)
    curves = loss_plot(results)

    rows = [
        ("loss_shape: 4 losses, new target", shape, lambda: shape.update(target=next(targets))),
        ("loss_shape: 5 margin losses, new focal gamma", margin, lambda: margin.update(gamma=next(gammas))),
        ("plot_decision_surface: 200x200, 2 classes + 1000 points", surface, alternate(surface.update)),
        ("plot_decision_surface: same, show_loss (per-example losses)", surface_loss, alternate(surface_loss.update)),
        (f"loss_landscape: 41x41 slice, {n_train} examples", landscape, alternate(lambda n: landscape.update(n))),
        ("loss_landscape: 41x41, PCA of the trajectory + path", landscape_path,
         alternate(lambda n: landscape_path.update(n, results))),
        ("loss_landscape: 1-D, 101 points", line, alternate(lambda n: line.update(n))),
        (f"loss_plot: {len(results['BatchLossList'])} batches, 30 rounds", curves, lambda: curves.update(results)),
    ]
    print(f"Plot updates on the teaching-sized problem: 2-16-16-2 net, {n_train} training examples "
          f"(median of {args.repeats}, after a warm-up)\n")
    print("| plot update | update (ms) | update, CPU (ms) | update + PNG render (ms) |")
    print("|---|---:|---:|---:|")
    for name, plot, call in rows:
        update_ms, update_cpu = _median_ms(call, args.repeats)
        render_ms, _ = _median_ms(lambda: (call(), plot.png()), args.repeats)
        print(f"| {name} | {update_ms:.1f} | {update_cpu:.1f} | {render_ms:.1f} |")
    print(f"\n(load average when done: {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
