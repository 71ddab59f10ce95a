"""compare: the same net, from the same seed, trained under several loss specifications, side by side.

Every specification gets its own :class:`lossviz.train.TrainingSession` (same net, data, seed and
options, so the same initial weights and batch order); one background thread trains them
interleaved, one round each in turn, so the columns grow together. Each column shows the run's
loss curves, its decision surface (nets with a 2-number input) and, after every round, its test
loss and accuracy.
"""
from __future__ import annotations

import html
import threading

import numpy as np

from ..errors import ParameterError

__all__ = ["compare", "Comparison"]


def _describe(spec):
    """A short label of a resolved LossSpecification: ``Output: Huber(rho=0.5) x2``."""
    parts = []
    for t in spec.terms:
        if t.loss is None:
            what = "the port"
        else:
            options = {k: v for k, v in t.loss.config().items()
                       if k in {s.name for s in getattr(type(t.loss), "option_specs", ())}}
            what = type(t.loss).__name__.removesuffix("Layer")
            shown = {k: v for k, v in options.items()
                     if v != next(s.default for s in type(t.loss).option_specs if s.name == k)}
            if shown:
                what += "(" + ", ".join(f"{k}={v}" for k, v in shown.items()) + ")"
        parts.append(f"{t.port}: {what}" + (f" \u00d7{t.scale:g}" if t.scale != 1.0 else ""))
    return "; ".join(parts)


def accuracy(net, X, labels):
    """The fraction of examples whose largest output is their class (the output's sign for one output)."""
    in_port, out_port = next(iter(net.inputs)), next(iter(net.outputs))
    out = np.asarray(net.apply(net.params, {in_port: np.asarray(X, dtype=float)})[out_port])
    labels = np.asarray(labels)
    if out.ndim == 1 or out.shape[-1] == 1:
        guess = (out.reshape(len(out)) > (0.5 if np.all((out >= 0) & (out <= 1)) else 0.0)).astype(int)
    else:
        guess = out.argmax(axis=-1)
    return float(np.mean(guess == labels))


class Comparison:
    """Several training runs of one net, side by side (made by :func:`compare`).

    ``sessions``, ``labels``: one per specification; :meth:`results` their NetTrainResults;
    :meth:`scores` ``[{"label", "rounds", "test_loss", "accuracy"}]``; :meth:`wait`, :meth:`stop`,
    :meth:`close`.
    """

    def __init__(self, net, data, specs, *, validation_set=None, max_training_rounds=60, resolution=120,
                 interleaved=True, max_fps=12.0, **nettrain_options):
        import ipywidgets as widgets

        from ..train.session import TrainingSession
        from .fit import port_data
        from .panel import HISTORY_LIMIT
        from .views import CurveHistory, CurveRenderer, Redrawer, SurfaceRenderer, data_limits

        if isinstance(specs, dict):
            labels, specs = list(specs), list(specs.values())
        else:
            specs, labels = list(specs), None
        if not specs:
            raise ParameterError("compare: specs must hold at least one loss specification")
        self.rounds = int(max_training_rounds)
        self.interleaved = bool(interleaved)
        train = getattr(data, "train", data)
        if validation_set is None and hasattr(data, "test"):
            validation_set = data.test
        nettrain_options.setdefault("random_seed", 0)
        nettrain_options.setdefault("history_limit", HISTORY_LIMIT)  # bounded memory, as a panel's
        self.sessions = [TrainingSession(net, train, spec, validation_set=validation_set, **nettrain_options)
                         for spec in specs]
        self.labels = labels or [_describe(s.spec) for s in self.sessions]
        raw = port_data(net, train)
        in_port = next(iter(net.inputs))
        self._test = None
        if validation_set is not None:
            test = port_data(net, validation_set)
            self._test = (np.asarray(test[in_port], float), np.asarray(test.get(next(iter(net.outputs)))))
        X = np.asarray(raw[in_port], dtype=float)
        y = np.asarray(raw.get(next(iter(net.outputs))))
        self._labels_data = (X, y)
        self.histories = [CurveHistory() for _ in self.sessions]
        self.curves = [CurveRenderer(360, 230, ylabel="loss", xlabel="round") for _ in self.sessions]
        two_d = X.ndim == 2 and X.shape[1] == 2
        xlim, ylim = data_limits(X) if two_d else (None, None)
        labels_for_colors = y if y.ndim == 1 and y.dtype.kind in "iub" else None
        self.surfaces = [SurfaceRenderer(X, labels_for_colors, xlim=xlim, ylim=ylim, resolution=resolution, repeat=3)
                         if two_d else None for _ in self.sessions]
        self.curve_images = [widgets.Image(format="jpeg", layout=widgets.Layout(width="360px")) for _ in self.sessions]
        self.surface_images = [widgets.Image(format="jpeg", layout=widgets.Layout(width="300px"))
                               for _ in self.sessions]
        self.score_texts = [widgets.HTML() for _ in self.sessions]
        columns = []
        for i, label in enumerate(self.labels):
            title = widgets.HTML(f"<b>{html.escape(label)}</b>")
            columns.append(widgets.VBox([title, self.curve_images[i], self.surface_images[i], self.score_texts[i]],
                                        layout=widgets.Layout(border="1px solid #ddd", padding="4px", margin="2px")))
            self.sessions[i].subscribe(self._recorder(i))
        self.status = widgets.HTML()
        self.widget = widgets.VBox([widgets.HTML("<b style='font-size:1.15em'>lossviz: one net, several losses</b>"),
                                    self.status, widgets.HBox(columns, layout=widgets.Layout(flex_flow="row wrap"))])
        self.widget.add_class("lossviz-compare")
        self._scores = [{"label": label, "rounds": 0, "test_loss": None, "accuracy": None} for label in self.labels]
        self._stop = threading.Event()
        self._closed = False
        self._done = False
        self.error = None
        self.redrawer = Redrawer(self._draw, max_fps=max_fps, name="lossviz-compare")
        self.redrawer.flush()
        self._thread = threading.Thread(target=self._train, name="lossviz-compare-train", daemon=True)
        self._thread.start()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _recorder(self, i):
        def record(event):
            if event.kind == "round":
                session = self.sessions[i]
                scales = {n: t.scale for t in session.spec.terms for n in t.names}
                self.histories[i].add_round(event.round, event.round_loss, event.sub_losses or {}, scales,
                                            event.validation_loss)
        record.wants_batches = False
        return record

    def _order(self):
        """(run, round) in training order: round-robin when interleaved, else each run to the end in turn."""
        if self.interleaved:
            return [(i, r) for r in range(self.rounds) for i in range(len(self.sessions))]
        return [(i, r) for i in range(len(self.sessions)) for r in range(self.rounds)]

    def _train(self):
        """Train one round at a time in :meth:`_order`, drawing when a frame is due, until done or stop()."""
        try:
            for i, _ in self._order():
                if self._stop.is_set():
                    return
                self.sessions[i].run(rounds=1)
                self._score(i)
                self.redrawer.maybe_draw()
        except Exception as e:  # noqa: BLE001 - shown above the columns
            self.error = e
        finally:
            self._done = True
            if not self._closed:
                self.redrawer.flush()

    def _score(self, i):
        session, score = self.sessions[i], self._scores[i]
        results = session.results()
        score["rounds"] = session.round
        score["test_loss"] = results["ValidationLoss"]
        X, y = self._test if self._test is not None else self._labels_data
        if y is not None and y.ndim == 1 and y.dtype.kind in "iub":
            score["accuracy"] = accuracy(session.net, X, y)

    def _draw(self):
        for i, session in enumerate(self.sessions):
            self.curve_images[i].value = self.curves[i].render(self.histories[i])
            if self.surfaces[i] is not None:
                self.surface_images[i].value = self.surfaces[i].render(session.net)
            s = self._scores[i]
            parts = [f"round {s['rounds']}"]
            if s["test_loss"] is not None:
                parts.append(f"test loss {s['test_loss']:.4g}")
            if s["accuracy"] is not None:
                parts.append(f"{'test' if self._test is not None else 'train'} accuracy {s['accuracy']:.1%}")
            self.score_texts[i].value = ("<div class='lossviz-score' style='font-family:monospace'>"
                                         + " \u00b7 ".join(parts) + "</div>")
        text = "finished" if self._done else (
            "training, one round of each in turn" if self.interleaved else "training one run after the other")
        if self.error is not None:
            text = f"<span class='lossviz-error' style='color:#b00020'>{type(self.error).__name__}: " \
                   f"{html.escape(str(self.error))}</span>"
        self.status.value = f"<div style='font-family:monospace'>{text}</div>"

    # ------------------------------------------------------------------ control
    def wait(self, timeout=120.0):
        """Block until every run is done; True if they are."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self):
        """Stop all runs after their current batch."""
        self._stop.set()
        for s in self.sessions:
            s.stop()
        self._thread.join(10)

    def results(self):
        """Every run's NetTrainResults, in the order of the specifications."""
        return [s.results() for s in self.sessions]

    def scores(self):
        """``[{"label", "rounds", "test_loss", "accuracy"}]``, one per run (test loss: the run's own loss)."""
        return [dict(s) for s in self._scores]

    def close(self):
        """Stop the runs, end the threads and close the widgets."""
        self.stop()
        self._closed = True
        self.redrawer.close()
        self.widget.close()


def compare(net, data, specs, **nettrain_options):
    """Train ``net`` under each loss specification of ``specs`` (a list, or ``{label: spec}``) and show
    the runs side by side, live: loss curves, decision surfaces, test loss and accuracy.

    All runs start from the same initial weights and see the same batches (``random_seed``, default 0).
    ``data`` may be a :class:`lossviz.datasets.DataSet` (trained on ``train``, tested on ``test``).
    Keywords: NetTrain's (``max_training_rounds``, default 60; ``batch_size``, ``learning_rate``,
    ``validation_set``...), ``resolution`` of the surfaces, and ``interleaved`` (default True: one round
    of each run in turn; False: each run to the end, one after the other). Returns a :class:`Comparison`
    (display it; ``.wait()`` blocks until the runs are done).
    """
    return Comparison(net, data, specs, **nettrain_options)
