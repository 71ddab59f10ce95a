"""What one student costs: a kernel's memory and CPU with lossviz, with a panel, and with a panel training.

    .venv/bin/python benchmarks/classroom.py                 # 10 minutes of live training (the sizing run)
    .venv/bin/python benchmarks/classroom.py --minutes 0.5   # a quick look

Starts a real IPython kernel (jupyter_client, as JupyterLab and Voila do), and measures its resident
memory (RSS, psutil) at four moments: the bare kernel, after ``import lossviz``, with a TrainingPanel
made (the teaching problem: 2-16-16-2 tanh net, the Playground's circle, 500 examples, 200x200 surface),
and while that panel trains live (sampled every second, peak and last reported, and the RSS and rounds at
the end of every whole minute: a panel's history is bounded, so its memory stops growing), plus the
kernel's CPU use (cores busy) while it trains and redraws. The widget frames are sent to no browser here; the
browser's own cost is on the student's machine, not the server's.

Prints a markdown table; docs/classroom.md holds the recorded run and the sizing derived from it.
:func:`measure` is what ``tests/test_classroom.py`` calls with a short duration.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

#: the memory one student's kernel may use (MiB): docs/classroom.md sizes nodes with it, and
#: tests/test_classroom.py fails when a kernel with a training panel goes past it
BUDGET_MIB = 400

SETUP = """
import lossviz
"""

PANEL = """
from lossviz import NetChain, datasets
from lossviz.widgets import TrainingPanel
data = datasets.circle(n=1000, noise=0.1, random_seed=0, test_fraction=0.5)
panel = TrainingPanel(NetChain([16, "Tanh", 16, "Tanh", 2, "Softmax"], input=2), data, random_seed=0)
panel
"""

TRAIN = "panel.train()"
STATUS = "print(panel.session.round, panel.session.total_batches, panel.threads_alive)"
STOP = "panel.stop(); panel.close()"


def _execute(client, code, timeout=120):
    """Run ``code`` in the kernel; return its stdout; raise on an error."""
    out = []

    def hook(msg):
        kind, content = msg["header"]["msg_type"], msg["content"]
        if kind == "stream" and content.get("name") == "stdout":
            out.append(content["text"])
        elif kind == "error":
            out.append("\n".join(content.get("traceback", [])))
            raise RuntimeError(f"kernel error in {code!r}: {content.get('ename')}: {content.get('evalue')}")

    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel error in {code!r}: {reply['content'].get('evalue')}")
    return "".join(out)


def _drain(client):
    """Read every message the kernel has sent on IOPub so far (the widget frames)."""
    import queue

    while True:
        try:
            client.get_iopub_msg(timeout=0)
        except queue.Empty:
            return


def measure(seconds=30.0, sample=1.0):
    """Measure a kernel: returns a dict of MiB figures, CPU (cores busy) and rounds trained."""
    import psutil
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "MPLBACKEND": "Agg"}
    km, client = start_new_kernel(kernel_name="python3", env=env, cwd=os.getcwd())
    try:
        proc = psutil.Process(km.provisioner.process.pid)

        def rss():
            return proc.memory_info().rss / 2**20

        figures = {"bare kernel": rss()}
        _execute(client, SETUP)
        figures["after import lossviz"] = rss()
        _execute(client, PANEL)
        figures["panel made"] = rss()
        _execute(client, TRAIN)
        proc.cpu_percent(None)
        start, peak, samples, minutes = time.monotonic(), 0.0, [], []
        while time.monotonic() - start < seconds:
            tick = time.monotonic() + sample
            while time.monotonic() < tick:  # read the frames as a browser would (a backlog slows the client)
                _drain(client)
                time.sleep(0.05)
            samples.append(proc.cpu_percent(None) / 100.0)
            peak = max(peak, rss())
            if time.monotonic() - start >= 60 * (len(minutes) + 1):  # a whole minute: RSS and rounds so far
                memory = rss()
                rounds = int(_execute(client, STATUS, timeout=600).split()[0])
                minutes.append({"minute": len(minutes) + 1, "rss_mib": memory, "rounds": rounds})
        figures["training, peak"] = peak
        figures["training, last"] = rss()
        asked = time.monotonic()
        status = _execute(client, STATUS, timeout=600).split()
        answer = time.monotonic() - asked
        _execute(client, STOP, timeout=600)
        return {"memory_mib": figures, "cpu_cores": sum(samples) / max(1, len(samples)),
                "rounds": int(status[0]), "batches": int(status[1]), "seconds": seconds, "answer_seconds": answer,
                "minutes": minutes}
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the panel trains (default 10)")
    args = parser.parse_args(argv)
    r = measure(seconds=60 * args.minutes)
    print(f"# one student's kernel, {args.minutes:g} min of live training ({r['rounds']} rounds, "
          f"{r['batches']} batches)\n")
    print("| moment | kernel RSS (MiB) |\n|---|---:|")
    for k, v in r["memory_mib"].items():
        print(f"| {k} | {v:.0f} |")
    if r["minutes"]:
        print("\n| minute of training | rounds so far | kernel RSS (MiB) | since the minute before |")
        print("|---:|---:|---:|---:|")
        before = None
        for m in r["minutes"]:
            change = "" if before is None else (
                f"{m['rss_mib'] - before['rss_mib']:+.1f} MiB in {m['rounds'] - before['rounds']:,} rounds "
                f"({1024 * (m['rss_mib'] - before['rss_mib']) / max(1, m['rounds'] - before['rounds']):+.3f} "
                f"KiB a round)")
            print(f"| {m['minute']} | {m['rounds']:,} | {m['rss_mib']:.1f} | {change} |")
            before = m
    print(f"\nCPU while training and redrawing: {r['cpu_cores']:.2f} cores busy (mean of 1 s samples)")
    print(f"The kernel answered a cell while training in {r['answer_seconds']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
