"""The live panel's cost, without a browser: frame parts, frames/s and training speed with the panel drawing.

    .venv/bin/python benchmarks/panel.py [--seconds 4] [--repeats 3]

The teaching-sized problem of issue 10: a 2-16-16-2 tanh net, 500 examples, batch 32, Adam 0.01, a
200 x 200 decision surface. Prints

* the median cost of each part of a frame (surface evaluation, colours, point discs, JPEG, curves);
* headless NetTrain examples/s against the panel's (training while drawing, frames sent to
  ipywidgets models with no page attached), and the frames drawn per second.

The browser figures (frames that reach the page) come from tests/browser/test_lab_panel.py; both are
recorded in benchmarks/PANEL_RESULTS.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def problem():
    from lossviz import ElementwiseLayer, LinearLayer, NetChain, SoftmaxLayer

    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (500, 2))
    y = (np.hypot(X[:, 0], X[:, 1]) < 0.6).astype(int)
    net = NetChain([LinearLayer(16), ElementwiseLayer("Tanh"), LinearLayer(16), ElementwiseLayer("Tanh"),
                    LinearLayer(2), SoftmaxLayer()], input=2)
    return net, (X, y)


def median_ms(f, n=30):
    """(wall ms, CPU ms of this thread): medians over ``n`` calls. The CPU time hardly depends on
    what else the machine runs; the wall time does."""
    f()
    wall, cpu = [], []
    for _ in range(n):
        t, c = time.perf_counter(), time.thread_time()
        f()
        wall.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    return 1e3 * statistics.median(wall), 1e3 * statistics.median(cpu)


def frame_parts(panel):
    from lossviz.widgets.views import encode_jpeg, packed_colors

    net = panel.session.net
    surface = panel.surface
    values = surface.values(net)
    rgb = surface.rgb(net, panel._point_losses(net))
    losses = panel._point_losses(net)
    return {
        "surface: net on the 200x200 grid (float32)": median_ms(lambda: surface.values(net)),
        "surface: colour table, 2x2 pixels (packed)": median_ms(lambda: packed_colors(values, 2)),
        "surface: per-example losses (500)": median_ms(lambda: panel._point_losses(net)),
        "surface: whole frame (net, colours, discs)": median_ms(lambda: surface.packed(net, losses)),
        "surface: JPEG of 400x400": median_ms(lambda: encode_jpeg(rgb, 88)),
        "curves: blitted frame + JPEG": median_ms(lambda: panel.curves.render(panel.history)),
        "whole frame (panel._draw)": median_ms(lambda: panel._draw()),
    }


def panel_budget():
    """The share of the training thread's time a panel may spend drawing (Redrawer's default)."""
    import inspect

    from lossviz.widgets.views import Redrawer

    return inspect.signature(Redrawer).parameters["budget"].default


def headless_speed(seconds):
    from lossviz import NetTrain

    net, data = problem()
    return NetTrain(net, data, "MeanExamplesPerSecond", batch_size=32, learning_rate=0.01, random_seed=0,
                    time_goal=seconds, progress=None)


def panel_speed(seconds):
    from lossviz.widgets import TrainingPanel

    net, data = problem()
    panel = TrainingPanel(net, data, batch_size=32, learning_rate=0.01, random_seed=0)
    try:
        frames0 = panel.redrawer.frames
        panel.train()
        time.sleep(seconds)
        panel.stop()
        s = panel.session
        return s.examples_seen / s.elapsed, (panel.redrawer.frames - frames0) / s.elapsed, panel
    except BaseException:
        panel.close()
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    rows = []
    parts = None
    for _ in range(args.repeats):  # interleaved: headless, then the panel
        headless = headless_speed(args.seconds)
        speed, fps, panel = panel_speed(args.seconds)
        if parts is None:
            parts = frame_parts(panel)
        panel.close()
        rows.append((headless, speed, fps))
    print("\nframe parts (median ms)                              wall      CPU")
    for name, (wall, cpu) in parts.items():
        print(f"  {name:<48} {wall:7.2f}  {cpu:7.2f}")
    frame_cpu = parts["whole frame (panel._draw)"][1]
    budget = 100 * panel_budget()
    print(f"  -> at a drawing budget of {budget:.0f}% of the training thread: up to {10 * budget / frame_cpu:.0f} "
          f"frames/s "
          f"on an otherwise idle core")
    print("\n  headless ex/s   panel ex/s   ratio   frames/s")
    for headless, speed, fps in rows:
        print(f"  {headless:13,.0f}  {speed:11,.0f}  {speed / headless:6.0%}  {fps:9.1f}")
    ratios = [s / h for h, s, _ in rows]
    fps = statistics.median(r[2] for r in rows)
    print(f"\nmedian ratio {statistics.median(ratios):.0%}, median frames/s {fps:.1f}; "
          f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
