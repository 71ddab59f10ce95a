"""The live training panel in a real JupyterLab and in Voila (headless Chromium), and its frame rate.

Each test writes a small notebook into a temporary folder (the teaching-sized problem: a 2-16-16-2
tanh net, 500 examples, a 200 x 200 surface), runs it, and drives the panel with real clicks.
Screenshots land in test-artifacts/browser/ (gitignored): look at them.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.timeout(150)]

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
ARTIFACTS_DIR = Path(os.environ.get("LOSSVIZ_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) \
    / "browser"  # where conftest.py puts screenshots

SETUP = """\
import numpy as np
from lossviz import NetChain, LinearLayer, ElementwiseLayer, SoftmaxLayer, NetTrain
from lossviz.widgets import TrainingPanel

rng = np.random.default_rng(1)
X = rng.uniform(-1, 1, (500, 2))
y = (np.hypot(X[:, 0], X[:, 1]) < 0.6).astype(int)      # a disc inside a square: 2 classes
data = (X, y)
net = NetChain([LinearLayer(16), ElementwiseLayer("Tanh"), LinearLayer(16), ElementwiseLayer("Tanh"),
                LinearLayer(2), SoftmaxLayer()], input=2)
"""
HEADLESS = """\
headless = NetTrain(net, data, "All", batch_size=32, learning_rate=0.01, random_seed=0, time_goal=3,
                    progress=None)["MeanExamplesPerSecond"]
print(f"headless examples/s: {headless:.0f}")
"""
PANEL = """\
panel = TrainingPanel(net, data, batch_size=32, learning_rate=0.01, random_seed=0)
panel
"""


def write_notebook(folder: Path, name: str, cells) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / name
    nbformat.write(nb, str(path))
    return path


def loss_readout(page) -> float | None:
    text = page.locator(".lossviz-status .lossviz-loss").first
    if not text.count():
        return None
    return float(text.inner_text())


def frames_per_second(page, selector: str, seconds: float = 3.0) -> float:
    """Updates of an image's ``src`` that reach the page, per second (a MutationObserver counts them)."""
    return page.evaluate(
        """([sel, ms]) => new Promise(resolve => {
            const img = document.querySelector(sel);
            let n = 0;
            new MutationObserver(() => n++).observe(img, {attributes: true, attributeFilter: ['src']});
            setTimeout(() => resolve(n / (ms / 1000)), ms);
        })""",
        [selector, int(seconds * 1000)],
    )


def image_difference(a: bytes, b: bytes) -> float:
    """Mean absolute pixel difference (0-255) of two screenshots of the same element."""
    import numpy as np
    from PIL import Image

    x = np.asarray(Image.open(io.BytesIO(a)).convert("RGB"), dtype=float)
    y = np.asarray(Image.open(io.BytesIO(b)).convert("RGB"), dtype=float)
    if x.shape != y.shape:
        return 255.0
    return float(np.abs(x - y).mean())


def status_text(page) -> str:
    return page.locator(".lossviz-status").first.inner_text()


def frame_number(page) -> int:
    """The panel's count of frames sent (a hidden field of the status line)."""
    return int(page.locator(".lossviz-status .lossviz-frame").first.text_content())


#: the machine is too busy for frame-rate targets when its load average per core is above this
BUSY_LOAD_PER_CORE = 1.25


def machine_load() -> float:
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def drive_panel(page, server, prefix: str, element_shot: str | None = None) -> dict:
    """Train, watch the loss fall and the surface change, change the loss mid-run, measure fps, Stop.

    ``server`` (a JupyterLab or a Voila of conftest.py) takes the screenshots, named ``<prefix>-<step>``."""
    def shoot(step):
        server.screenshot(page, f"{prefix}-{step}")

    from playwright.sync_api import expect

    panel = page.locator(".lossviz-panel").first
    panel.wait_for(timeout=30_000)
    surface = page.locator(".lossviz-surface").first
    expect(page.locator(".lossviz-status").first).to_contain_text("ready")
    before = surface.screenshot()
    shoot("1-ready")

    panel.get_by_role("button", name="Train").click()
    panel.get_by_role("button", name="Train").click()  # a double click starts one run only
    expect(page.locator(".lossviz-status").first).to_contain_text("training", timeout=10_000)
    page.wait_for_timeout(700)
    first_loss = loss_readout(page)
    early = surface.screenshot()
    page.wait_for_timeout(2000)
    later_loss = loss_readout(page)
    later = surface.screenshot()
    shoot("2-training")

    # change the loss mid-run: the first loss menu of the panel
    menu = panel.locator("select").first
    labels = menu.locator("option").all_inner_texts()
    hinge = next(label for label in labels if label.startswith("multiclass_hinge"))
    menu.select_option(label=hinge)
    page.wait_for_timeout(1500)
    shoot("3-changed-loss")
    if element_shot:
        server.screenshot_element(panel, element_shot)
    errors = page.locator(".lossviz-error").count()

    panel.get_by_role("button", name="Stop").click()
    expect(page.locator(".lossviz-status").first).to_contain_text("stopped: UserStop", timeout=10_000)
    page.wait_for_timeout(400)
    shoot("4-stopped")
    return {
        "first_loss": first_loss, "later_loss": later_loss,
        "surface_change_early": image_difference(before, early), "surface_change_later": image_difference(early, later),
        "errors": errors, "status": status_text(page),
    }


#: an untrained two-class softmax net starts near the chance-level cross-entropy ln 2 = 0.69
CHANCE_LOSS = math.log(2)


def loss_fell(seen) -> bool:
    """The loss readout fell: from its first reading, or (the teaching net learns within the first
    second, and the readout is one batch's loss, which is noisy) far below chance level by then."""
    first, later = seen["first_loss"], seen["later_loss"]
    return later is not None and (later < first or later < CHANCE_LOSS / 4)


@pytest.fixture(scope="module")
def panel_lab(lab_factory, tmp_path_factory):
    """A JupyterLab on a folder with the two panel notebooks of this module."""
    folder = tmp_path_factory.mktemp("panel-notebooks")
    write_notebook(folder, "panel.ipynb", [SETUP, PANEL])
    write_notebook(folder, "frame_rate.ipynb", [SETUP + HEADLESS, PANEL])
    return lab_factory(folder)


def test_panel_trains_live_in_jupyterlab(panel_lab, page):
    lab = panel_lab
    lab.open_notebook(page, "panel.ipynb")
    ok = lab.run_all_cells(page)
    shot = lab.screenshot(page, "lab-panel-0-opened")
    assert ok and not lab.error_outputs(page), f"the panel notebook failed (see {shot})"

    seen = drive_panel(page, lab, "lab-panel", element_shot="lab-panel-element")
    print(json.dumps(seen, indent=2))
    assert seen["first_loss"] is not None and loss_fell(seen), seen
    assert seen["surface_change_early"] > 1.0 and seen["surface_change_later"] > 0.2, seen
    assert seen["errors"] == 0, seen


def test_frames_per_second_that_reach_the_page(panel_lab, page):
    """Frames of the surface and curves that reach the page while training, and training's speed then."""
    from playwright.sync_api import expect

    lab = panel_lab
    lab.open_notebook(page, "frame_rate.ipynb")
    assert lab.run_all_cells(page) and not lab.error_outputs(page)
    headless = float(re.search(r"headless examples/s: (\d+)", page.locator(".jp-OutputArea-output").first
                               .inner_text()).group(1))
    panel = page.locator(".lossviz-panel").first

    def measure():
        panel.get_by_role("button", name="Train").click()
        expect(page.locator(".lossviz-status").first).to_contain_text("training", timeout=10_000)
        page.wait_for_timeout(1000)
        load_before = machine_load()
        sent_before = frame_number(page)
        fps = frames_per_second(page, ".lossviz-surface img, img.lossviz-surface", 4.0)
        sent_fps = (frame_number(page) - sent_before) / 4.0
        curve_fps = frames_per_second(page, ".lossviz-curves img, img.lossviz-curves", 2.0)
        load = max(load_before, machine_load())
        panel.get_by_role("button", name="Stop").click()
        expect(page.locator(".lossviz-status").first).to_contain_text("stopped: UserStop", timeout=10_000)
        status = status_text(page)
        speed = float(re.search(r"([\d,]+) examples/s", status).group(1).replace(",", ""))
        return {"surface_fps_on_page": fps, "surface_fps_sent": sent_fps, "curve_fps_on_page": curve_fps,
                "panel_examples_per_second": speed, "headless_examples_per_second": headless,
                "speed_ratio": speed / headless, "load_per_core": load, "status": status}

    def met(seen):
        return seen["surface_fps_on_page"] >= 20 and seen["speed_ratio"] >= 0.5

    # a 2-core machine shared with a browser and a server is noisy: up to three runs (Reset between
    # them), the targets count as met when one run meets both
    attempts = []
    for _ in range(3):
        attempts.append(measure())
        seen = attempts[-1]
        # every frame the kernel sends reaches the page (none queued or dropped on the way)
        assert seen["surface_fps_on_page"] >= 0.8 * seen["surface_fps_sent"] - 0.5, seen
        assert seen["surface_fps_on_page"] > 0 and seen["curve_fps_on_page"] > 0, seen
        if met(seen) or seen["load_per_core"] > BUSY_LOAD_PER_CORE:
            break
        panel.get_by_role("button", name="Reset").click()
        page.wait_for_timeout(500)
    (ARTIFACTS_DIR / "panel-measurements.json").write_text(json.dumps(attempts, indent=2))
    print(json.dumps(attempts, indent=2))
    fps, load = seen["surface_fps_on_page"], seen["load_per_core"]

    # the targets of issue 10, on a machine that is not overloaded by other work
    if load > BUSY_LOAD_PER_CORE:
        pytest.skip(f"machine too busy for the frame-rate targets (load {load:.1f} per core); measured "
                    f"{fps:.1f} frames/s on the page at {seen['speed_ratio']:.0%} of headless training")
    assert any(met(a) for a in attempts), (
        f"no run reached 20 surface frames/s on the page with training at 50% of headless: {attempts}")


def open_app(voila_factory, page, notebook: str, shots: str):
    """Serve ``notebooks/<notebook>`` with Voila and open it until its panel shows, with no error.
    Returns the Voila and the screenshot ``<shots>-0-opened``."""
    app = voila_factory(NOTEBOOKS_DIR / notebook)
    app.open(page)
    page.locator(".lossviz-panel").first.wait_for(timeout=60_000)
    shot = app.screenshot(page, f"{shots}-0-opened")
    assert not app.error_texts(page), f"Voila shows an error (see {shot})"
    return app, shot


def test_playground_app_in_voila(voila_factory, page):
    from playwright.sync_api import expect

    app, _ = open_app(voila_factory, page, "05_playground.ipynb", "voila-playground")
    seen = drive_panel(page, app, "voila-playground", element_shot="voila-playground-element")
    print(json.dumps(seen, indent=2))
    app.screenshot_element(page.locator(".lossviz-playground").first, "voila-playground-app")
    # the explorer and the comparison further down the app rendered their pictures
    for selector, name in ((".lossviz-explorer", "voila-explorer"), (".lossviz-compare", "voila-compare")):
        widget = page.locator(selector).first
        images = widget.locator("img")
        assert images.count() >= 1 and all(images.nth(i).get_attribute("src") for i in range(images.count()))
        app.screenshot_element(widget, name)
    assert loss_fell(seen), seen
    assert seen["surface_change_early"] > 1.0, seen
    assert seen["errors"] == 0, seen
    expect(page.locator(".lossviz-status").first).to_contain_text("UserStop")


def test_the_classroom_app_in_voila(voila_factory, page):
    """``make app``: the playground alone, served by Voila with no code: train, change a loss, stop."""
    from playwright.sync_api import expect

    app, shot = open_app(voila_factory, page, "07_classroom_app.ipynb", "app")
    assert page.locator(".lossviz-panel").count() == 1, f"the app shows one panel (see {shot})"
    code = (page.locator(".jp-CodeCell .jp-InputArea >> visible=true").count()
            + page.locator(".jp-InputArea-editor >> visible=true").count())  # markdown cells are input areas too
    assert code == 0, f"no code is shown (see {shot})"
    seen = drive_panel(page, app, "app", element_shot="app-element")
    print(json.dumps(seen, indent=2))
    assert loss_fell(seen) and seen["surface_change_early"] > 1.0, seen
    assert seen["errors"] == 0, seen
    expect(page.locator(".lossviz-status").first).to_contain_text("UserStop")
