"""TrainingPanel: pick a loss for each port, scale it, train live, and watch the net learn.

The panel is a thin view over a :class:`lossviz.train.TrainingSession`, the public mechanism
scripts use too: it subscribes to the session's events, calls ``set_loss_function`` /
``set_learning_rate`` / ``set_batch_size`` when a control changes, ``run`` in a background thread
for Train, ``stop`` for Pause and Stop, and reads ``results()``. It never trains itself.

Threads: training runs in one background thread (``session.run``), so the kernel's main thread
stays free to answer the buttons. The panel's event callback records the numbers and, when a frame
is due, draws it right there in the training thread (:meth:`~.views.Redrawer.maybe_draw`: at most
``max_fps`` frames a second and at most 30% of the thread's time); frames while nothing trains come
from the redrawer's own thread. Closing the panel stops both threads.
"""
from __future__ import annotations

import html
import threading
import time

import numpy as np

from ..errors import LossvizError, NetTypeError, ParameterError
from .code import PortSetting, loss_function, nettrain_code

__all__ = ["TrainingPanel", "Source"]

#: the panel's session keeps at most about this many batch losses and this many rounds (TrainingSession's
#: history_limit: a min-max envelope of a long run, so that a panel left training keeps bounded memory)
HISTORY_LIMIT = 10_000

#: NetTrain options the panel passes through to the session unchanged (and into "Show code")
PASSED_THROUGH = ("learning_rate_schedule", "l2_regularization", "gradient_clipping", "training_stopping_criterion",
                  "working_precision")


class _Listener:
    """The panel's subscriber to its session: calls ``on_event(event)``.

    It asks for "batch" events only while rounds take longer than ``min_round_seconds``: with
    quick rounds (a teaching-sized data set: hundreds a second) the "round" events are frequent
    enough to draw from, and the training loop skips calling the panel after every batch.
    """

    def __init__(self, on_event, min_round_seconds):
        self.on_event, self.min_round_seconds = on_event, min_round_seconds
        self.wants_batches = True
        self._last = None

    def __call__(self, event):
        return self.on_event(event)

    def round_done(self, elapsed, drawing=0.0):
        """A round ended at ``elapsed`` seconds of training, ``drawing`` of which (so far) went to frames."""
        if self._last is not None and elapsed >= self._last[0]:
            self.wants_batches = (elapsed - self._last[0]) - (drawing - self._last[1]) > self.min_round_seconds
        self._last = (elapsed, drawing)


class Source(str):
    """A piece of Python source shown as it is in generated code (``repr`` is the text itself)."""

    def __repr__(self):
        return str(self)


def _initial_settings(net, loss_function_value, rows):
    """PortSettings from a ``loss_function=`` value (Automatic, a layer, (layer, Scaled), {port: ...})."""
    from ..net.layer import Layer
    from ..train.spec import Automatic, Scaled

    ports = [p for p, _ in rows]
    loss_ports = {p for p, is_loss in rows if is_loss}
    if loss_function_value is Automatic or loss_function_value is None:
        # as NetTrain's Automatic: a net with loss ports trains on them, and its other outputs are off
        return {p: PortSetting(p, "off") for p in ports if loss_ports and p not in loss_ports}
    value = loss_function_value
    if isinstance(value, (Layer, Scaled)) or (isinstance(value, tuple) and len(value) == 2
                                              and isinstance(value[1], Scaled)):
        if len(ports) != 1:
            raise ParameterError("TrainingPanel: loss_function without port names needs a net with one output; "
                                 f"this net has {', '.join(map(repr, ports))}: pass {{port: loss}}")
        value = {ports[0]: value}
    if not isinstance(value, dict):
        raise ParameterError("TrainingPanel: loss_function must be Automatic, a loss layer, (loss, Scaled(r)) or "
                             f"a dict {{port: loss}}; got {value!r}")
    settings = {}
    for port, lspec in value.items():
        if port not in ports:
            raise ParameterError(f"TrainingPanel: loss_function names the port {port!r}; the net's outputs are "
                                 f"{', '.join(map(repr, ports))}")
        scale = 1.0
        if isinstance(lspec, Scaled):
            lspec, scale = Automatic, lspec.r
        elif isinstance(lspec, tuple) and len(lspec) == 2 and isinstance(lspec[1], Scaled):
            lspec, scale = lspec[0], lspec[1].r
        choice = "Automatic" if lspec is Automatic else _choice_of(lspec)
        settings[port] = PortSetting(port, choice, _options_of(lspec), scale, port in loss_ports)
    return settings


class _GivenLoss:
    """A menu entry for a loss layer the caller passed in (kept as it is)."""

    def __init__(self, layer, name):
        self._layer, self.name, self.preset = layer, name, {}
        self.label = name
        self.option_specs = ()

    def layer(self, **options):
        return self._layer


def _choice_of(layer):
    from .. import losses
    from .fit import LossChoice

    for entry in losses.catalogue():
        if entry.layer is type(layer):
            return LossChoice(entry.name, entry.name, {})
    return _GivenLoss(layer, type(layer).__name__)


def _options_of(layer):
    from ..train.spec import Automatic

    if layer is Automatic:
        return {}
    specs = getattr(type(layer), "option_specs", ()) or ()
    config = layer.config()
    return {s.name: config[s.name] for s in specs if s.name in config and config[s.name] != s.default}


class TrainingPanel:
    """A live training panel (ipywidgets): loss rows, training controls, loss curves, decision surface.

    Parameters
    ----------
    net : the net to train (not changed; an uninitialized net is initialized from the seed).
    data : training data in any NetTrain form, or a :class:`lossviz.datasets.DataSet` (its ``train``
        part is trained on, its ``test`` part is the validation set).
    loss_function : the initial loss: Automatic, a loss layer, ``(loss, Scaled(r))`` or
        ``{port: loss or (loss, Scaled(r))}``.
    validation_set : validation data, or None (then the validation split slider holds out data).
    resolution : grid points per axis of the decision surface (nets with a 2-number input).
    max_fps : the most frames a second the views are redrawn.
    history_limit : the session's ``history_limit`` (default :data:`HISTORY_LIMIT`): the loss history
        a panel keeps is bounded, however long it trains (the results then hold a min-max envelope of
        the batch and round losses, at the batches and rounds of "BatchNumbers" and "RoundNumbers");
        None keeps every batch loss, as NetTrain does.
    **nettrain_options : NetTrain's ``batch_size``, ``method``, ``learning_rate``, ``random_seed``,
        ``max_training_rounds`` (the round limit), and ``learning_rate_schedule``,
        ``l2_regularization``, ``gradient_clipping``, ``training_stopping_criterion``,
        ``working_precision`` (passed to the session as they are).

    After (or during) training: :attr:`results` (a NetTrainResults), :attr:`trained_net`,
    :attr:`session`, :attr:`code` (the NetTrain call of the current configuration).
    Display the panel by leaving it as the last expression of a cell (or ``display(panel)``).
    """

    def __init__(self, net, data, loss_function=None, validation_set=None, *, resolution=200, max_fps=25.0,
                 surface_size=330, curve_size=(500, 330), data_name="data", net_name="net", setup_code="",
                 history_limit=HISTORY_LIMIT, **nettrain_options):
        import ipywidgets as widgets

        from ..train.spec import Automatic
        from .controls import TrainingControls
        from .fit import automatic_loss, fitting_losses, output_rows, port_data
        from .rows import LossRow
        from .views import CurveHistory, CurveRenderer, Redrawer, SurfaceRenderer, data_limits

        from ..net.layer import Layer

        if not isinstance(net, Layer):
            raise NetTypeError(f"TrainingPanel: net must be a lossviz net (NetChain, NetGraph or a layer), got "
                               f"{type(net).__name__}")
        unknown = set(nettrain_options) - set(PASSED_THROUGH) - {
            "batch_size", "method", "learning_rate", "random_seed", "max_training_rounds"}
        if unknown:
            raise ParameterError(f"TrainingPanel: unknown option {sorted(unknown)[0]!r}; the panel takes NetTrain's "
                                 f"batch_size, method, learning_rate, random_seed, max_training_rounds, "
                                 f"{', '.join(PASSED_THROUGH)}")
        self.net, self.data = net, data
        self.history_limit = history_limit
        self._names = {"net": net_name, "data": data_name}
        self._setup_code = setup_code
        self._passed = {k: nettrain_options[k] for k in PASSED_THROUGH if k in nettrain_options}
        self._train_data = getattr(data, "train", data)
        if validation_set is None and hasattr(data, "test") and hasattr(data, "train"):
            validation_set = data.test
            self._validation_source = Source(f"{data_name}.test")
            self._names["data"] = f"{data_name}.train"
        else:
            self._validation_source = Source("validation_set") if validation_set is not None else None
        self._validation_given = validation_set
        self._raw = port_data(net, self._train_data)

        # ---- loss rows (which losses fit each port is decided by trying them)
        rows_info = output_rows(net)
        initial = _initial_settings(net, loss_function if loss_function is not None else Automatic, rows_info)
        self.rows = []
        for port, is_loss in rows_info:
            if is_loss:
                choices, auto = [], "Automatic: the port itself"
            else:
                choices, auto = fitting_losses(net, self._train_data, port), automatic_loss(net, self._train_data, port)
            self.rows.append(LossRow(port, choices, auto, is_loss_port=is_loss, setting=initial.get(port),
                                     on_change=self._row_changed))

        # ---- training controls
        self.controls = TrainingControls(
            method=nettrain_options.get("method", "ADAM"),
            learning_rate=nettrain_options.get("learning_rate") or 0.01,
            batch_size=nettrain_options.get("batch_size", 32),
            max_training_rounds=nettrain_options.get("max_training_rounds"),
            random_seed=nettrain_options.get("random_seed", 0),
            validation_fraction=None if validation_set is not None else 0.0,
            validation_label="the data set's test part" if self._validation_source == f"{data_name}.test"
            else "the given validation set")
        c = self.controls
        c.train.on_click(lambda b: self.train())
        c.pause.on_click(lambda b: self.pause())
        c.stop.on_click(lambda b: self.stop())
        c.step.on_click(lambda b: self.step())
        c.reset.on_click(lambda b: self.reset())
        c.show_code.on_click(lambda b: self.show_code())
        c.learning_rate.observe(self._learning_rate_changed, names="value")
        c.batch_size.observe(self._batch_size_changed, names="value")
        for w in (c.method, c.seed, c.validation):
            w.observe(self._structure_changed, names="value")
        c.landscape.observe(lambda change: self._request_frame(), names="value")

        # ---- state; the session checks the net, the data and the options (lossviz errors)
        self.history = CurveHistory()
        self.session = None
        self._thread = None
        # ready, running, stepping (one round), pausing, paused, stopping, stopped, done (a limit reached)
        self._state = "ready"
        self._stale = False
        self._last_reason = None
        self._point_cache = (None, None)
        self._closed = False
        self._last_event = None
        self._frames_sent = 0
        self.redrawer_max_fps = float(max_fps)
        self._new_session()

        # ---- views
        self.curves = CurveRenderer(*curve_size)
        in_ports = [p for p in net.inputs if p not in net.optional_inputs]
        self._in_port = in_ports[0] if len(in_ports) == 1 else None
        self.surface = None
        if self._in_port is not None and tuple(net.inputs[self._in_port].dims or ()) == (2,):
            X = np.asarray(self._raw[self._in_port], dtype=float)
            y = self._class_labels()
            xlim, ylim = data_limits(X)
            out = next((r.port for r in self.rows if not r.is_loss_port), None)
            self.surface = SurfaceRenderer(X, y, xlim=xlim, ylim=ylim, resolution=resolution,
                                           repeat=max(1, -(-400 // resolution)),
                                           output=out if len(net.outputs) > 1 else None)
        self.curve_image = widgets.Image(format="jpeg", layout=widgets.Layout(width=f"{curve_size[0]}px"))
        self.surface_image = widgets.Image(format="jpeg", layout=widgets.Layout(
            width=f"{surface_size}px", display="" if self.surface else "none"))
        self.landscape_image = widgets.Image(format="png", layout=widgets.Layout(width="330px", display="none"))
        self.status = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.message = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.code_view = widgets.HTML(layout=widgets.Layout(width="100%"))

        self.redrawer = Redrawer(self._draw, max_fps=max_fps, on_error=self._show_error)

        title = widgets.HTML("<b style='font-size:1.15em'>lossviz training panel</b>")
        losses_box = widgets.VBox([widgets.HTML("<b>Losses</b> (per output port)")] + [r.box for r in self.rows])
        training_box = widgets.VBox([widgets.HTML("<b>Training</b>"), c.box])
        left = widgets.VBox([losses_box, training_box], layout=widgets.Layout(width="360px", min_width="360px"))
        pictures = widgets.HBox([self.curve_image, self.surface_image, self.landscape_image],
                                layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start"))
        right = widgets.VBox([self.status, pictures, self.message, self.code_view],
                             layout=widgets.Layout(flex="1 1 auto", padding="0 0 0 10px"))
        self.widget = widgets.VBox([title, widgets.HBox([left, right])])
        self.widget.add_class("lossviz-panel")
        self.curve_image.add_class("lossviz-curves")
        self.surface_image.add_class("lossviz-surface")
        self.status.add_class("lossviz-status")
        self.redrawer.flush()

    @staticmethod
    def playground(dataset="circle", **options):
        """A :class:`~lossviz.widgets.Playground`: this panel with TensorFlow Playground's data and net controls."""
        from .playground import Playground

        return Playground(dataset, **options)

    # ================================================================== display
    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def _class_labels(self):
        out = next((r.port for r in self.rows if not r.is_loss_port), None)
        if out is None or out not in self._raw:
            return None
        y = self._raw[out]
        coder = self.net.outputs[out].coder
        if coder is not None and hasattr(coder, "encode_target") and coder.looks_like_labels(y):
            y, _ = coder.encode_target(y, out)
        y = np.asarray(y)
        return y if y.ndim == 1 and y.dtype.kind in "iub" else None

    # ================================================================== configuration
    def settings(self):
        """The :class:`~lossviz.widgets.code.PortSetting` of every loss row."""
        return [r.setting() for r in self.rows]

    def loss_function(self):
        """The ``loss_function=`` the rows describe."""
        return loss_function(self.settings())

    def nettrain_options(self) -> dict:
        """The NetTrain keyword arguments of the current controls (and the passed-through options)."""
        options = self.controls.nettrain_options()
        if self._validation_given is not None:
            options["validation_set"] = self._validation_given
        return {**options, **self._passed}

    @property
    def code(self) -> str:
        """The NetTrain call that reproduces the current configuration (see :func:`.code.nettrain_code`)."""
        options = self.nettrain_options()
        if self._validation_given is not None:
            options["validation_set"] = self._validation_source
        options["max_training_rounds"] = options.get("max_training_rounds") or (
            self.session.round if self.session is not None and self.session.round else None)
        options = {k: options[k] for k in ("validation_set", "batch_size", "method", "learning_rate", "random_seed",
                                           "max_training_rounds", *self._passed) if k in options}
        options["progress"] = Source("None")  # no progress bar: the call runs as quietly as the panel
        notes = []
        if self.session is not None and self.session.changes:
            notes = ["Changed during the run (one NetTrain call cannot replay these; it uses the final settings):"]
            notes += [f"  round {c['round']:.2f}: {c['description']}" for c in self.session.changes]
        if self.session is not None and self.session.batch:
            notes.append(f"The panel stopped {self.session.batch} batches into round {self.session.round + 1}.")
        return nettrain_code(self.settings(), options, net=self._names["net"], data=self._names["data"],
                             setup=self._setup_code, notes=notes)

    def show_code(self):
        """Show :attr:`code` under the views (and return it)."""
        text = self.code
        self.code_view.value = ("<div style='font-weight:bold;margin-top:6px'>NetTrain call for this configuration"
                                "</div><pre style='background:#f6f6f6;padding:6px;white-space:pre-wrap'>"
                                f"{html.escape(text)}</pre>")
        return text

    # ================================================================== the session
    def _new_session(self):
        from ..train.session import TrainingSession

        options = self.nettrain_options()
        options.pop("max_training_rounds", None)
        session = TrainingSession(self.net, self._train_data, self.loss_function(), history_limit=self.history_limit,
                                  **options)
        if self.session is not None:
            self.session.unsubscribe(self._listener)
        self.session = session
        self._listener = _Listener(self._on_event, min_round_seconds=0.5 / self.redrawer_max_fps)
        session.subscribe(self._listener)
        self.history.clear()
        self._stale = False
        self._last_event = None
        self._last_reason = None
        self._point_cache = (None, None)

    def _on_event(self, event):
        """Training-thread side: record the numbers; draw a frame here when one is due (see Redrawer)."""
        kind = event.kind
        s = self.session
        if kind == "round":
            self._listener.round_done(event.elapsed, self.redrawer.draw_seconds)
            scales = {n: t.scale for t in s.spec.terms for n in t.names}
            self.history.add_round(event.round, event.round_loss, event.sub_losses or {}, scales,
                                   event.validation_loss)
        elif kind == "change":
            position = s.changes[-1]["round"] if s.changes else event.round
            self.history.add_mark(position, event.reason)
        if kind != "start":
            self._last_event = event
        if kind == "end":
            self._last_reason = event.reason  # the worker draws the final frame once run() returns
        elif event.net is not None and not self._closed:
            self.redrawer.maybe_draw(event.net)

    # ================================================================== buttons
    def train(self):
        """Train in the background until Stop, Pause or the round limit. A second call while training does
        nothing (one run at a time)."""
        if self._closed or self._busy():
            return False
        limit = self.controls.rounds.value or None
        if self._stale and self.session.total_batches == 0:
            self._rebuild()
        if limit is not None and self.session.round >= limit:
            self._note(f"the round limit ({limit}) is reached: raise it, or Reset")
            return False
        return self._start(lambda: self.session.run(max_rounds=limit), "running")

    def pause(self):
        """Pause a run (Resume continues it); Resume when paused."""
        if self._state == "paused" and not self._busy():
            return self.train()
        if self._busy():
            self._state = "pausing"
            self._end_run()
            self._state = "paused"
            self.controls.pause.description, self.controls.pause.icon = "Resume", "play"
            self._frame_now()
        return True

    def stop(self):
        """Stop training; the results so far are kept (:attr:`results`)."""
        if self._busy():
            self._state = "stopping"
            self._end_run()
        self._state = "stopped"
        self.controls.pause.description, self.controls.pause.icon = "Pause", "pause"
        self._frame_now()

    def step(self):
        """Train one round (the rest of the current round) in the background."""
        if self._closed or self._busy():
            return False
        if self._stale and self.session.total_batches == 0:
            self._rebuild()
        return self._start(self.session.run_round, "stepping")

    def reset(self):
        """Stop, and start again from new initial weights (the seed), with the current controls and losses."""
        self.stop()
        self._rebuild()
        self._state = "ready"
        self._frame_now()

    def _rebuild(self):
        try:
            self._new_session()
            self.message.value = ""
        except (LossvizError, ValueError, TypeError) as e:
            self._show_error(e)

    def _busy(self):
        return self._thread is not None and self._thread.is_alive()

    def _start(self, run, state):
        self._state = state
        self.message.value = ""
        self.controls.pause.description, self.controls.pause.icon = "Pause", "pause"
        self._thread = threading.Thread(target=self._worker, args=(run,), name="lossviz-train", daemon=True)
        self._thread.start()
        return True

    def _worker(self, run):
        try:
            run()
        except Exception as e:  # noqa: BLE001 - shown in the panel, which stays usable
            self._show_error(e)
        finally:
            if self._state in ("running", "stepping"):
                self._state = "done"
            if not self._closed:
                try:
                    self.redrawer.flush()  # the final frame, before the thread ends
                except Exception as e:  # noqa: BLE001
                    self._show_error(e)

    def _end_run(self, timeout=10.0):
        """Stop the background run and wait for its thread to end.

        ``session.stop()`` is repeated until the thread ends: a stop that arrives before the thread
        has entered ``session.run`` would otherwise be cleared by it.
        """
        thread = self._thread
        deadline = time.monotonic() + timeout
        while thread is not None and thread.is_alive() and time.monotonic() < deadline:
            self.session.stop()
            thread.join(0.05)

    def _join(self, timeout=10.0):
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wait(self, timeout=30.0):
        """Block until the background run ends (scripts and tests); True if it has ended."""
        self._join(timeout)
        return not self._busy()

    # ================================================================== control changes
    def _row_changed(self, row):
        try:
            self.session.set_loss_function(self.loss_function())
            self.message.value = ""
        except (LossvizError, ValueError, TypeError) as e:
            self._show_error(e)
        self._request_frame()

    def _learning_rate_changed(self, change):
        lr = self.controls.nettrain_options()["learning_rate"]
        self.session.set_learning_rate(lr)

    def _batch_size_changed(self, change):
        self.session.set_batch_size(int(change["new"]))

    def _structure_changed(self, change):
        if self.session.total_batches == 0 and not self._busy():
            self._rebuild()
        else:
            self._stale = True
            self._note("method, seed and validation split apply at Reset")
        self._request_frame()

    # ================================================================== results
    @property
    def results(self):
        """The :class:`~lossviz.train.NetTrainResults` so far (also during training, and after Stop)."""
        return self.session.results()

    @property
    def trained_net(self):
        """The trained net so far (``results["TrainedNet"]``)."""
        return self.results["TrainedNet"]

    # ================================================================== drawing
    def _request_frame(self):
        if not self._closed:
            self.redrawer.request()

    def _frame_now(self):
        """Draw a frame in the caller's thread (after a button: the page shows the new state at once)."""
        if not self._closed:
            try:
                self.redrawer.flush()
            except Exception as e:  # noqa: BLE001 - shown, the panel stays usable
                self._show_error(e)

    def _point_losses(self, net):
        from ..train.data import read_data
        from .views import point_losses

        spec = self.session.spec
        cached_spec, arrays = self._point_cache
        if cached_spec is not spec:
            arrays = read_data(net, spec, self._raw)
            self._point_cache = (spec, arrays)
        return point_losses(net, spec, arrays)

    def _draw(self, net=None):
        """One frame: curves, surface (points sized by their loss), landscape, status.

        ``net``: a function returning the current net (the training thread passes its event's), else
        the session's net is used.
        """
        if self._closed:
            return
        net = net() if net is not None else self.session.net
        self.curve_image.value = self.curves.render(self.history)
        if self.surface is not None:
            self.surface_image.value = self.surface.render(net, self._point_losses(net))
        if self.controls.landscape.value:
            self._draw_landscape(net)
        elif self.landscape_image.layout.display != "none":
            self.landscape_image.layout.display = "none"
        self._frames_sent += 1
        self.status.value = self.status_text()

    def _draw_landscape(self, net):
        """The loss along two random directions around the current weights (at most every 2 s)."""
        now = time.monotonic()
        if now - getattr(self, "_landscape_at", 0.0) < 2.0 and self.session.running:
            return
        self._landscape_at = now
        from ..plot import loss_landscape

        result = loss_landscape(net, self._train_data, loss_function=self.loss_function())
        figure = getattr(result, "figure", result)
        import io

        buf = io.BytesIO()
        figure.savefig(buf, format="png", dpi=72)
        self.landscape_image.value = buf.getvalue()
        self.landscape_image.layout.display = ""

    def status_text(self) -> str:
        """The status line (HTML): state, round, batch, examples/s, elapsed, current loss, stop reason."""
        s = self.session
        state = {"running": "training", "stepping": "one round", "pausing": "pausing", "stopping": "stopping",
                 "paused": "paused", "stopped": "stopped", "done": "finished", "ready": "ready"}[self._state]
        parts = [f"<b>{state}</b>", f"round {s.round}" + (f" + {s.batch} batches" if s.batch else "")]
        parts.append(f"{s.total_batches:,} batches")
        if s.elapsed > 0:
            parts.append(f"{s.examples_seen / s.elapsed:,.0f} examples/s")
            parts.append(f"{s.elapsed:.1f} s")
        loss = self.history.last("total")
        if loss is None and self._last_event is not None:
            loss = self._last_event.batch_loss
        if loss is not None:
            parts.append(f"loss <span class='lossviz-loss'>{loss:.4g}</span>")
        valid = self.history.last("validation")
        if valid is not None:
            parts.append(f"validation {valid:.4g}")
        if self._last_reason and not s.running and self._state in ("stopped", "done", "paused"):
            parts.append(f"stopped: {self._last_reason}")
        return ("<div style='font-family:monospace;font-size:13px;padding:3px 6px;background:#f3f6fa;"
                "border-radius:3px'>" + " \u00b7 ".join(parts)
                + f"<span class='lossviz-frame' style='display:none'>{self._frames_sent}</span></div>")

    def _note(self, text):
        self.message.value = f"<div style='color:#555'>{html.escape(text)}</div>"

    def _show_error(self, error):
        name = type(error).__name__
        self.message.value = (f"<div class='lossviz-error' style='color:#b00020;white-space:pre-wrap'><b>{name}</b>: "
                              f"{html.escape(str(error))}</div>")

    # ================================================================== closing
    def close(self):
        """Stop training and drawing (the threads end) and close the widgets."""
        if self._closed:
            return
        if self._busy():
            self._end_run()
        self._closed = True
        self.redrawer.close()
        self.widget.close()

    @property
    def threads_alive(self) -> bool:
        """True while the training or the drawing thread is alive."""
        return self._busy() or self.redrawer.alive
