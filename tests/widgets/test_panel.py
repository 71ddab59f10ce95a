"""TrainingPanel driven as a person drives it: set control values, click buttons, assert the state.

Runs are short (small data, small nets); runs "until Stop" are stopped by the test.
"""
import threading
import time

import numpy as np
import pytest

from lossviz import NetTrain, losses
from lossviz.widgets import TrainingPanel

pytest.importorskip("ipywidgets")


@pytest.fixture
def panel(classifier, disc):
    p = TrainingPanel(classifier, disc, batch_size=32, learning_rate=0.02, random_seed=0, resolution=40)
    yield p
    p.close()


def wait_until(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.005)
    return False


def row_choice(row, name):
    return next(value for label, value in row.menu.options if getattr(value, "name", None) == name)


def outputs(net, X):
    return np.asarray(net.apply(net.params, {"Input": X})["Output"])


# ---------------------------------------------------------------------------- layout and initial state
def test_rows_controls_and_first_frame(panel):
    (row,) = panel.rows
    labels = [label for label, _ in row.menu.options]
    assert labels[0] == "Automatic: CrossEntropyLossLayer('Index')" and labels[-1] == "off"
    assert "multiclass_hinge" in labels
    assert panel.session.spec.terms[0].loss.__class__.__name__ == "CrossEntropyLossLayer"
    assert panel.curve_image.value[:2] == b"\xff\xd8" and panel.surface_image.value[:2] == b"\xff\xd8"  # JPEG
    assert "ready" in panel.status.value


def test_bad_option_is_a_lossviz_error(classifier, disc):
    with pytest.raises(TypeError, match="net must be a lossviz net.*got dict"):
        TrainingPanel({"a": 1}, disc)
    with pytest.raises(ValueError, match="Input"):  # data the net cannot read: the session's own error
        TrainingPanel(classifier, {"In": disc[0], "Output": disc[1]})
    with pytest.raises(ValueError, match="unknown option 'rounds'"):
        TrainingPanel(classifier, disc, rounds=3)
    with pytest.raises(ValueError, match="names the port 'Out'"):
        TrainingPanel(classifier, disc, loss_function={"Out": losses.get("cross_entropy")})


# ---------------------------------------------------------------------------- buttons
def test_train_to_the_round_limit_and_double_click_is_one_run(panel):
    starts = []
    panel.session.subscribe(lambda e: starts.append(e) if e.kind == "start" else None)
    panel.controls.rounds.value = 4
    panel.controls.train.click()
    panel.controls.train.click()  # while the first run trains: ignored
    assert panel.wait()
    assert len(starts) == 1
    results = panel.results
    assert results["TotalRounds"] == 4 and results["ReasonTrainingStopped"] == "MaxTrainingRounds"
    assert "finished" in panel.status.value and "stopped: MaxTrainingRounds" in panel.status_text()
    assert len(panel.history.series["total"][0]) == 4


def test_stop_during_training_ends_the_thread_and_keeps_results(panel):
    panel.controls.train.click()
    assert wait_until(lambda: panel.session.total_batches > 20)
    panel.controls.stop.click()
    assert not panel.session.running and not panel._busy()
    results = panel.results
    assert results["ReasonTrainingStopped"] == "UserStop"
    assert results["TotalBatches"] == panel.session.total_batches > 20
    assert "stopped: UserStop" in panel.status_text()
    before = panel.session.total_batches
    time.sleep(0.05)
    assert panel.session.total_batches == before  # really stopped


def test_pause_and_resume(panel):
    panel.controls.train.click()
    assert wait_until(lambda: panel.session.total_batches > 10)
    panel.controls.pause.click()
    assert panel.controls.pause.description == "Resume" and not panel.session.running
    paused_at = panel.session.total_batches
    time.sleep(0.05)
    assert panel.session.total_batches == paused_at
    assert "paused" in panel.status_text()
    panel.controls.pause.click()  # Resume
    assert wait_until(lambda: panel.session.total_batches > paused_at + 10)
    assert panel.controls.pause.description == "Pause"
    panel.controls.stop.click()
    assert panel.results["TotalBatches"] > paused_at


def test_step_trains_one_round(panel):
    panel.controls.step.click()
    assert panel.wait()
    assert panel.session.round == 1 and panel.session.batch == 0
    panel.controls.step.click()
    assert panel.wait() and panel.session.round == 2


def test_reset_starts_again_from_the_seed(panel, disc):
    X = disc[0][:10]
    initial = outputs(panel.session.net, X)
    panel.controls.rounds.value = 3
    panel.controls.train.click()
    assert panel.wait()
    assert not np.allclose(outputs(panel.session.net, X), initial)
    panel.controls.reset.click()
    assert panel.session.round == 0 and panel.session.total_batches == 0
    assert panel.history.series == {}
    np.testing.assert_allclose(outputs(panel.session.net, X), initial, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------------------- changes mid-run
def test_loss_change_mid_run_takes_effect_next_batch_and_is_recorded(panel):
    events = []
    panel.session.subscribe(events.append)
    panel.controls.train.click()
    assert wait_until(lambda: panel.session.total_batches > 10)
    row = panel.rows[0]
    row.menu.value = row_choice(row, "multiclass_hinge")
    assert wait_until(lambda: panel.session.changes)
    assert wait_until(lambda: panel.session.total_batches > panel.session.changes[0]["batch"] + 5)
    panel.controls.stop.click()
    assert type(panel.session.spec.terms[0].loss).__name__ == "MulticlassHingeLossLayer"
    change = panel.session.changes[0]
    assert "MulticlassHinge" in change["description"]
    assert panel.results["SpecificationChanges"][0]["description"] == change["description"]
    kinds = [e.kind for e in events]
    i = kinds.index("change")
    assert kinds[i + 1] == "batch"  # the next batch already trains the new loss
    assert [m[1] for m in panel.history.marks] == [change["description"]]
    assert panel.history.marks[0][0] == pytest.approx(change["round"])


def test_scale_change_mid_run_scales_the_next_batch(panel):
    events = []
    panel.session.subscribe(events.append)
    panel.controls.train.click()
    assert wait_until(lambda: panel.session.total_batches > 10)
    panel.rows[0].scale.value = 0.5
    assert wait_until(lambda: panel.session.changes and panel.session.round > panel.session.changes[0]["round"] + 1)
    panel.controls.stop.click()
    assert panel.session.spec.terms[0].scale == 0.5
    i = next(k for k, e in enumerate(events) if e.kind == "change")
    after = next(e for e in events[i:] if e.kind == "batch")
    (unscaled,) = after.sub_losses.values()
    assert after.batch_loss == pytest.approx(0.5 * unscaled, rel=1e-6)
    assert any("\u00d70.5" in name for name in panel.history.series)  # the scaled curve
    assert "Output" in panel.history.series  # and the unscaled one


def test_learning_rate_and_batch_size_mid_run(panel):
    panel.controls.train.click()
    assert wait_until(lambda: panel.session.total_batches > 5)
    panel.controls.learning_rate.value = 0.001
    panel.controls.batch_size.value = 8
    assert wait_until(lambda: len(panel.session.changes) == 2)
    panel.controls.stop.click()
    assert panel.session.learning_rate == pytest.approx(0.001) and panel.session.batch_size == 8
    assert [c["description"].split()[0] for c in panel.session.changes] == ["learning", "batch"]


def test_options_change_rebuilds_the_loss(regressor, regression_data):
    p = TrainingPanel(regressor, regression_data, random_seed=0, resolution=30)
    try:
        row = p.rows[0]
        row.menu.value = row_choice(row, "huber")
        row.options.controls["rho"].value = 0.25
        p.controls.step.click()
        assert p.wait()
        loss = p.session.spec.terms[0].loss
        assert isinstance(loss, losses.HuberLossLayer) and loss.rho == pytest.approx(0.25)
        assert "rho=0.25" in p.session.changes[-1]["description"]
    finally:
        p.close()


def test_all_rows_off_is_shown_and_training_goes_on(panel):
    spec = panel.session.spec
    panel.rows[0].menu.value = "off"
    assert "every loss row is off" in panel.message.value and "lossviz-error" in panel.message.value
    panel.controls.step.click()
    assert panel.wait() and panel.session.spec is spec and panel.session.round == 1


def test_structural_controls_apply_at_reset(panel):
    panel.controls.seed.value = 5  # nothing trained yet: a new session at once
    assert panel.session.random_seed == 5
    panel.controls.step.click()
    assert panel.wait()
    panel.controls.method.value = "SGD"
    assert "apply at Reset" in panel.message.value
    assert type(panel.session.optimizer).__name__ != "SGD"
    panel.controls.reset.click()
    assert type(panel.session.optimizer).__name__ == "SGD" and panel.session.round == 0


def test_validation_split(panel):
    panel.controls.validation.value = 0.25
    panel.controls.rounds.value = 2
    panel.controls.train.click()
    assert panel.wait()
    assert len(panel.results["ValidationLossList"]) == 2
    assert len(panel.history.series["validation"][0]) == 2


# ---------------------------------------------------------------------------- show code, results
def test_show_code_reproduces_the_trained_net(panel, classifier, disc):
    panel.controls.rounds.value = 3
    panel.controls.train.click()
    assert panel.wait()
    code = panel.show_code()
    assert "NetTrain(" in panel.code_view.value and "max_training_rounds=3" in code
    namespace = {"net": classifier, "data": disc}
    exec(code, namespace)
    X = disc[0]
    np.testing.assert_allclose(outputs(namespace["trained"], X), outputs(panel.trained_net, X), rtol=1e-5, atol=1e-7)


def test_show_code_with_a_scaled_loss_and_a_mid_run_change(panel, classifier, disc):
    row = panel.rows[0]
    row.menu.value = row_choice(row, "multiclass_hinge")
    row.scale.value = 2.0
    panel.controls.step.click()
    assert panel.wait()
    panel.controls.learning_rate.value = 0.005
    panel.controls.step.click()
    assert panel.wait()
    panel.controls.show_code.click()
    code = panel.code
    assert "losses.get('multiclass_hinge')" in code and "Scaled(2.0)" in code
    assert code.startswith("# Changed during the run") and "learning rate" in code
    exec(code, {"net": classifier, "data": disc})  # runs as shown


def test_exception_during_training_is_shown_and_panel_stays_usable(panel):
    def broken(event):
        if event.kind == "batch" and event.batch == 3:
            raise RuntimeError("a broken callback")

    panel.session.subscribe(broken)
    panel.controls.train.click()
    assert panel.wait()
    assert "RuntimeError" in panel.message.value and "a broken callback" in panel.message.value
    panel.session.unsubscribe(broken)
    panel.controls.step.click()
    assert panel.wait() and panel.session.round >= 1
    assert panel.message.value == ""


def test_frames_follow_training(panel):
    first_surface, first_curves = panel.surface_image.value, panel.curve_image.value
    panel.controls.train.click()
    assert wait_until(lambda: panel.session.round > 5)
    assert wait_until(lambda: panel.redrawer.frames > 2)
    panel.controls.stop.click()
    panel.redrawer.flush()
    assert panel.surface_image.value != first_surface and panel.curve_image.value != first_curves
    assert "examples/s" in panel.status.value and "round" in panel.status.value


def test_closing_the_panel_while_training_ends_the_threads(classifier, disc):
    p = TrainingPanel(classifier, disc, random_seed=0, resolution=30)
    p.controls.train.click()
    assert wait_until(lambda: p.session.total_batches > 5)
    thread = p._thread
    p.close()
    assert not thread.is_alive() and not p.threads_alive and not p.session.running
    assert not any(t.name == "lossviz-train" and t is thread for t in threading.enumerate())
    p.controls.train.click()  # a closed panel does not train again
    assert not p.session.running


def test_panel_results_match_nettrain_for_the_same_seed(classifier, disc):
    p = TrainingPanel(classifier, disc, batch_size=16, learning_rate=0.01, random_seed=2, max_training_rounds=2,
                      resolution=30)
    try:
        p.controls.train.click()
        assert p.wait()
        direct = NetTrain(classifier, disc, "All", batch_size=16, learning_rate=0.01, random_seed=2,
                          max_training_rounds=2, progress=None)
        np.testing.assert_allclose(p.results["RoundLossList"], direct["RoundLossList"], rtol=1e-5)
    finally:
        p.close()


def test_net_with_loss_ports_gets_a_row_per_port(regression_data):
    from lossviz import LinearLayer, NetGraph, NetPort

    net = NetGraph({"lin": LinearLayer(), "loss1": losses.MeanSquaredLossLayer(),
                    "loss2": losses.MeanAbsoluteLossLayer()},
                   [(NetPort("Input"), "lin", NetPort("Output")), ("lin", "loss1", NetPort("Loss1")),
                    ("lin", "loss2", NetPort("Loss2"))], input=2, output=1)
    X, y = regression_data
    data = {"Input": X, "Target": y[:, None]}
    p = TrainingPanel(net, data, random_seed=0)
    try:
        rows = {r.port: r for r in p.rows}
        assert set(rows) == {"Output", "Loss1", "Loss2"} and p.surface is None  # two inputs: no surface
        assert rows["Output"].menu.value == "off"  # as Automatic: a net with loss ports trains on them
        assert rows["Loss1"].menu.options[0][0] == "Automatic: the port itself"
        rows["Loss2"].scale.value = 0.5
        p.controls.rounds.value = 2
        p.controls.train.click()
        assert p.wait()
        assert [(t.port, t.scale) for t in p.session.spec.terms] == [("Loss1", 1.0), ("Loss2", 0.5)]
        assert set(p.results["RoundSubLossLists"]) >= {"Loss1", "Loss2"}
        assert "loss_function={'Loss1': Automatic, 'Loss2': Scaled(0.5)}" in p.code
        namespace = {"net": net, "data": data}
        exec(p.code, namespace)
        assert namespace["results"]["TotalRounds"] == 2
    finally:
        p.close()


def test_landscape_view(panel):
    panel.controls.landscape.value = True
    panel.controls.step.click()
    assert panel.wait()
    panel._frame_now()
    assert panel.landscape_image.value[:4] == b"\x89PNG" and panel.landscape_image.layout.display == ""
    panel.controls.landscape.value = False
    panel._frame_now()
    assert panel.landscape_image.layout.display == "none"


def test_given_validation_set_hides_only_the_split_slider(classifier, disc):
    X, y = disc
    p = TrainingPanel(classifier, (X[:160], y[:160]), validation_set=(X[160:], y[160:]), random_seed=0,
                      resolution=30)
    try:
        c = p.controls
        assert c.validation.layout.display == "none" and c.validation_note.layout.display == ""
        assert all(w.layout.display != "none" for w in (c.method, c.learning_rate, c.batch_size, c.rounds, c.seed))
        assert "validation_set=validation_set" in p.code
        c.step.click()
        assert p.wait() and len(p.results["ValidationLossList"]) == 1
    finally:
        p.close()


def test_stop_right_after_train_ends_the_run(classifier, disc):
    """A Stop that arrives before the background thread has started training still stops it."""
    p = TrainingPanel(classifier, disc, random_seed=0, resolution=20)
    try:
        for _ in range(5):
            p.controls.train.click()
            p.controls.stop.click()
            assert not p._busy() and not p.session.running
    finally:
        p.close()


def test_scale_zero_keeps_the_term_measured_but_inactive(panel, disc):
    X = disc[0][:20]
    panel.rows[0].scale.value = 0.0
    before = outputs(panel.session.net, X)
    panel.controls.step.click()
    assert panel.wait()
    assert panel.session.spec.terms[0].scale == 0.0
    np.testing.assert_allclose(outputs(panel.session.net, X), before, atol=1e-6)  # no gradient: the net stays
    assert panel.results["RoundLossList"][-1] == 0.0
    assert panel.results["RoundSubLossLists"]["Output"][-1] > 0.1  # still measured
    assert "Output" in panel.history.series and not any("\u00d70" in n for n in panel.history.series)


def test_batch_events_only_while_rounds_are_slow():
    from lossviz.widgets.panel import _Listener

    seen = []
    listener = _Listener(seen.append, min_round_seconds=0.02)
    assert listener.wants_batches  # until the speed is known
    listener.round_done(1.000)
    listener.round_done(1.005)  # 5 ms rounds: round events are enough to draw from
    assert not listener.wants_batches
    listener.round_done(1.105)  # 100 ms rounds: frames come from batch events
    assert listener.wants_batches
    listener.round_done(1.205, drawing=0.09)  # 100 ms, 90 of them drawing: a quick round
    assert not listener.wants_batches
    listener("event")
    assert seen == ["event"]


def test_quick_rounds_still_draw_frames(panel):
    kinds, deliver = [], panel._listener.on_event
    panel._listener.on_event = lambda event: (kinds.append(event.kind), deliver(event))[1]
    frames = panel.redrawer.frames
    panel.controls.train.click()
    assert wait_until(lambda: panel.session.round > 40)
    assert wait_until(lambda: panel.redrawer.frames > frames + 3)
    panel.controls.stop.click()
    # a 240-example round is far quicker than a frame: the panel mostly hears of rounds, not batches
    assert kinds.count("batch") < 0.5 * panel.session.total_batches, (kinds.count("batch"), panel.session.total_batches)
