"""Every plot as a picture: its own pyplot-free figure shown once, labelled, rendered to a non-trivial PNG.

The PNGs land in test-artifacts/plots/ (look at them).
"""
import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

from lossviz import ElementwiseLayer, LinearLayer, NetChain, NetDecoder, NetGraph, NetInitialize, NetPort
from lossviz.plot import loss_landscape, loss_plot, loss_shape, plot_decision_surface


def _check_png(data, artifacts, name, size):
    (artifacts / f"{name}.png").write_bytes(data)
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=float)
    assert image.shape[:2] == (size[1], size[0]), f"{name}: {image.shape[:2]} pixels, expected {size[::-1]}"
    colours = len(np.unique(image.reshape(-1, 3), axis=0))
    ink = np.mean(image.sum(axis=-1) < 3 * 250)
    assert image.std() > 20 and colours > 50 and 0.02 < ink < 0.95, f"{name} looks blank ({colours} colours, {ink:.0%} ink)"


@pytest.fixture(scope="module")
def plots(trained_run, xor_data):
    train, test = xor_data
    net = trained_run["TrainedNet"]
    return {
        "loss_shape_prediction": (loss_shape(["mse", "mae", "huber", "log_cosh"], target=1.0), (750, 400)),
        "loss_shape_margin": (loss_shape(["zero_one", "hinge", "squared_hinge", "logistic",
                                          ("binary_focal", {"gamma": 2.0, "alpha": None}), "exponential"],
                                         against="margin"), (750, 400)),
        "surface_classes_loss": (plot_decision_surface(net, data=train, test_data=test, show_loss=True), (620, 440)),
        "landscape_2d_path": (loss_landscape(net, train, results=trained_run), (600, 460)),
        "landscape_1d": (loss_landscape(net, train, dims=1), (600, 360)),
        "loss_plot": (loss_plot(trained_run), (700, 360)),
    }


def test_each_plot_renders_to_a_non_trivial_png(plots, artifacts):
    for name, (plot, size) in plots.items():
        bundle = plot._repr_mimebundle_()
        assert set(bundle) == {"text/plain", "image/png"}
        _check_png(bundle["image/png"], artifacts, name, size)
        assert plot.ax.get_xlabel() and plot.ax.get_ylabel() and plot.ax.get_title() or name == "loss_plot"


def test_figures_stay_out_of_pyplot(plots):
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # none of the plots registered a pyplot figure
    assert all(type(p.figure) is matplotlib.figure.Figure for p, _ in plots.values())


def test_a_plot_on_a_pyplot_axes_leaves_the_image_to_pyplot():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        plot = loss_shape("mse", ax=ax)
        assert plot.ax is ax and plot.figure is fig
        assert set(plot._repr_mimebundle_()) == {"text/plain"}  # pyplot shows the figure; not a second time
    finally:
        plt.close(fig)


def test_a_plain_figure_gets_a_png_formatter_that_yields_to_the_inline_backend(artifacts):
    """A pyplot-free Figure returned from a notebook cell shows as a PNG even before ``%matplotlib inline``
    (IPython alone would show "<Figure size ...>"); pyplot's figures and the inline backend's formatter
    are left to pyplot."""
    import matplotlib.pyplot as plt
    from IPython.core.formatters import PNGFormatter
    from matplotlib.figure import Figure

    from lossviz.plot.base import register_figure_png

    formatter = PNGFormatter()
    figure = Figure(figsize=(4, 3))
    assert formatter(figure) is None  # what a kernel without lossviz (and without the inline backend) shows
    assert register_figure_png(formatter) and not register_figure_png(formatter)  # once
    figure.add_subplot().plot([0, 1, 4], label="a line")
    _check_png(formatter(figure), artifacts, "plain_figure", Image.open(io.BytesIO(formatter(figure))).size)
    assert formatter(figure).startswith(b"\x89PNG")
    fig, _ = plt.subplots()
    try:
        assert formatter(fig) is None  # pyplot's backend shows its own figures
    finally:
        plt.close(fig)

    inline = PNGFormatter()
    inline.for_type(Figure, lambda f: b"inline")
    assert not register_figure_png(inline) and inline(figure) == b"inline"
    later = PNGFormatter()
    register_figure_png(later)
    later.for_type(Figure, lambda f: b"inline")  # %matplotlib inline after import lossviz
    assert later(figure) == b"inline"


def test_surface_classes_come_from_the_decoder_and_limits_from_the_data(trained_run, xor_data):
    (X, labels), _ = xor_data
    plot = plot_decision_surface(trained_run["TrainedNet"], data=(X, labels), resolution=30)
    legend = [t.get_text() for t in plot.artists["legend"].get_texts()]
    assert legend[:2] == ["same", "opposite"] and "train data" in legend and "boundary" in legend
    pad = 0.1 * (X[:, 0].max() - X[:, 0].min())
    np.testing.assert_allclose(plot.ax.get_xlim(), (X[:, 0].min() - pad, X[:, 0].max() + pad))
    faces = plot.artists["train"].get_facecolors()[:, :3]
    from lossviz.plot.surface import CLASS_COLORS

    np.testing.assert_allclose(faces[np.array(labels) == "opposite"], np.tile(CLASS_COLORS[1], (sum(np.array(labels) == "opposite"), 1)))
    assert plot.ax.get_xlabel() == "Input[0]  (x₁)"


def test_ten_classes_and_a_sigmoid_output(artifacts):
    rng = np.random.default_rng(0)
    net = NetInitialize(NetChain([32, "Tanh", 10, "Softmax"], input=2), random_seed=3)
    X = rng.uniform(-3, 3, (200, 2))
    plot = plot_decision_surface(net, data=(X, rng.integers(0, 10, 200)), resolution=80)
    assert len(plot.classes) == 10 and plot.artists["boundary"] is not None
    _check_png(plot.png(), artifacts, "surface_ten_classes", (620, 440))
    sig = NetInitialize(NetChain([8, "Tanh", LinearLayer("Real"), ElementwiseLayer("LogisticSigmoid")], input=2,
                                 output=NetDecoder("Boolean")), random_seed=2)
    plot = plot_decision_surface(sig, data=(X, X[:, 0] > 0), resolution=40)
    assert plot.output_kind == "binary" and plot.classes == ["False", "True"]
    grid = np.stack(np.meshgrid(plot.surface.xs, plot.surface.ys), -1).reshape(-1, 2)
    p = sig.apply(sig.params, {"Input": grid})["Output"]
    np.testing.assert_allclose(plot.surface.values[..., 0], p.reshape(40, 40), atol=1e-6)


def test_regression_is_a_diverging_map_centred_on_zero_with_a_colour_bar(artifacts):
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (150, 2))
    y = (X[:, 0] ** 2 - X[:, 1])[:, None]
    net = NetInitialize(NetChain([16, "Tanh", 1], input=2), random_seed=1)
    plot = plot_decision_surface(net, data=(X[:100], y[:100]), test_data=(X[100:], y[100:]), show_loss=True)
    image = plot.artists["image"]
    assert plot.output_kind == "regression" and image.get_cmap().name == "RdBu_r"
    assert image.norm.vcenter == 0.0 and image.norm.vmin == -image.norm.vmax
    assert plot.artists["colorbar"].ax.get_ylabel() == "net output 'Output'"
    np.testing.assert_allclose(plot.artists["train"].get_array(), y[:100, 0])
    _check_png(plot.png(), artifacts, "surface_regression", (620, 440))
    plot.update(NetInitialize(NetChain([16, "Tanh", 1], input=2), random_seed=9))
    assert plot.artists["image"] is image


def test_several_outputs_choose_the_port():
    graph = NetInitialize(NetGraph({"a": LinearLayer(1), "b": NetChain([3, "Softmax"])},
                                   [(NetPort("Input"), "a"), (NetPort("Input"), "b"),
                                    ("a", NetPort("Value")), ("b", NetPort("Class"))], Input=2), random_seed=0)
    plot = plot_decision_surface(graph, output="Class", resolution=20)
    assert plot.output_kind == "classes" and plot.surface.values.shape == (20, 20, 3)
    assert plot_decision_surface(graph, output="Value", resolution=20).output_kind == "regression"
    from lossviz.errors import PortError

    with pytest.raises(PortError, match="choose one with output="):
        plot_decision_surface(graph)


def test_score_outputs_are_read_through_their_loss():
    """A net that outputs logits trained by a logit loss: the surface shows softmax / sigmoid of the scores."""
    from lossviz import losses

    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (60, 2))
    logits = NetInitialize(NetChain([8, "Tanh", 3], input=2), random_seed=0)
    plot = plot_decision_surface(logits, data=(X, rng.integers(0, 3, 60)), loss_function=losses.get("softmax_ce"),
                                 resolution=20)
    assert plot.output_kind == "class scores" and len(plot.classes) == 3
    scores = plot.surface.values
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(plot._probabilities(scores), e / e.sum(axis=-1, keepdims=True))
    score = NetInitialize(NetChain([8, "Tanh", LinearLayer("Real")], input=2), random_seed=0)
    signed = np.where(X[:, 0] > 0, 1.0, -1.0)
    plot = plot_decision_surface(score, data=(X, signed), loss_function=losses.get("hinge"), resolution=20,
                                 show_loss=True)
    assert plot.output_kind == "binary scores" and plot.classes == ["class 0", "class 1"]
    np.testing.assert_array_equal(plot.train.targets, (signed > 0).astype(int))
    np.testing.assert_allclose(plot.losses["train"], np.maximum(0, 1 - signed * score(X)), atol=1e-12)
    assert plot_decision_surface(score, resolution=5).output_kind == "regression"  # Automatic attaches MSE


def test_a_long_run_is_readable(artifacts):
    """6,339 rounds (the issue's time_goal run): log axes, batch losses averaged, no markers crowding the curve."""
    rng = np.random.default_rng(0)
    rounds = 6339
    batches = np.exp(-np.linspace(0, 8, rounds * 2)) * (1 + 0.3 * rng.random(rounds * 2)) + 1e-3
    results = {"BatchLossList": list(batches), "RoundLossList": list(0.5 * (batches[::2] + batches[1::2])),
               "ValidationLossList": list(1.1 * batches[1::2]), "BatchesPerRound": 2}
    plot = loss_plot(results)
    assert plot.ax.get_xscale() == "log" and plot.ax.get_yscale() == "log"
    assert plot.artists["validation"].get_marker() in ("", "None")
    _check_png(plot.png(), artifacts, "loss_plot_long_run", (700, 360))
