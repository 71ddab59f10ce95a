"""Playground: TensorFlow Playground's data and net controls around a TrainingPanel, for zero-code classes.

Controls: the data set (every 2-D set of :mod:`lossviz.datasets`), its noise, the train/test
ratio, the number of hidden layers and neurons per layer, the activation. Changing one of them
builds a new data set and net (:func:`playground_net`) and a new panel; the loss rows, training
controls and live views are the panel's. "Show code" includes the lines that make the data and
the net, so the code runs as shown in a fresh kernel.
"""
from __future__ import annotations

from ..errors import ParameterError

__all__ = ["Playground", "ACTIVATIONS", "playground_net", "playground_sets"]

#: activation menu: label -> ElementwiseLayer function name
ACTIVATIONS = {"tanh": "Tanh", "ReLU": "Ramp", "sigmoid": "LogisticSigmoid", "linear": None}


def playground_sets():
    """The data sets with a 2-number input and class or real targets (the ones a plane can show)."""
    from .. import datasets

    found = []
    for name in datasets.names():
        ds = datasets.load(name, n=40, random_seed=0)
        if ds.kind in ("classification", "regression") and ds.X.ndim == 2 and ds.X.shape[1] == 2:
            found.append(name)
    return found


def _layers_source(hidden, activation, classes):
    parts = []
    for width in hidden:
        parts.append(str(int(width)))
        if ACTIVATIONS[activation] is not None:
            parts.append(repr(ACTIVATIONS[activation]))
    parts += [str(classes), "'Softmax'"] if classes else ["LinearLayer([])"]
    return "[" + ", ".join(parts) + "]"


def playground_net(hidden=(16, 16), activation="tanh", classes=2):
    """A chain 2 -> hidden... -> ``classes`` softmax outputs (or one real output when ``classes`` is None).

    ``hidden``: neurons per hidden layer (may be empty); ``activation``: a key of :data:`ACTIVATIONS`.
    """
    from ..net import LinearLayer, NetChain

    if activation not in ACTIVATIONS:
        raise ParameterError(f"Playground: activation must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                             f"got {activation!r}")
    if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in hidden):
        raise ParameterError(f"Playground: hidden must be neuron counts >= 1, got {hidden!r}")
    layers = []
    for width in hidden:
        layers.append(int(width))
        if ACTIVATIONS[activation] is not None:
            layers.append(ACTIVATIONS[activation])
    layers += [int(classes), "Softmax"] if classes else [LinearLayer([])]
    return NetChain(layers, input=2)


class Playground:
    """TensorFlow Playground's controls (data set, noise, train/test ratio, layers, neurons, activation)
    plus a :class:`~lossviz.widgets.TrainingPanel` (loss rows, training controls, live views).

    Parameters: the initial ``dataset`` name, ``noise``, ``test_fraction``, ``n`` (examples, train and
    test together), ``hidden`` (neurons per hidden layer), ``activation`` (a key of
    :data:`ACTIVATIONS`), ``data_seed``; other keywords go to the panel (``loss_function``,
    ``learning_rate``, ``batch_size``, ``random_seed``...). :attr:`panel` is the current panel.
    """

    def __init__(self, dataset="circle", *, noise=0.1, test_fraction=0.5, n=500, hidden=(16, 16), activation="tanh",
                 data_seed=0, **panel_options):
        import ipywidgets as widgets

        sets = playground_sets()
        if dataset not in sets:
            raise ParameterError(f"Playground: dataset must be one of {', '.join(map(repr, sets))}, got {dataset!r}")
        if activation not in ACTIVATIONS:
            raise ParameterError(f"Playground: activation must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                                 f"got {activation!r}")
        self.n, self.data_seed, self.panel_options = int(n), data_seed, dict(panel_options)
        style = {"description_width": "95px"}

        def narrow():  # one Layout per control
            return widgets.Layout(width="270px")

        self.dataset = widgets.Dropdown(options=sets, value=dataset, description="data set", style=style,
                                        layout=narrow())
        self.noise = widgets.FloatSlider(value=noise, min=0.0, max=0.5, step=0.05, description="noise",
                                         continuous_update=False, style=style, layout=narrow())
        self.test_fraction = widgets.FloatSlider(value=test_fraction, min=0.1, max=0.9, step=0.1,
                                                 description="test part", readout_format=".0%",
                                                 continuous_update=False, style=style, layout=narrow())
        self.layers = widgets.IntSlider(value=len(hidden), min=0, max=4, description="hidden layers",
                                        continuous_update=False, style=style, layout=narrow())
        self.neurons = widgets.IntSlider(value=int(hidden[0]) if hidden else 8, min=1, max=32, description="neurons",
                                         continuous_update=False, style=style, layout=narrow())
        self.activation = widgets.Dropdown(options=list(ACTIVATIONS), value=activation, description="activation",
                                           style=style, layout=narrow())
        for w in (self.dataset, self.noise, self.test_fraction, self.layers, self.neurons, self.activation):
            w.observe(lambda change: self.rebuild(), names="value")
        controls = [self.dataset, self.noise, self.test_fraction, self.layers, self.neurons, self.activation]
        bar = widgets.GridBox(controls,
                              layout=widgets.Layout(grid_template_columns="repeat(3, 280px)", grid_gap="2px 8px"))
        self.error = widgets.HTML()
        self._slot = widgets.VBox()
        self.widget = widgets.VBox([widgets.HTML("<b style='font-size:1.15em'>lossviz playground</b>"), bar,
                                    self.error, self._slot])
        self.widget.add_class("lossviz-playground")
        self.panel = None
        self.rebuild()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    @property
    def hidden(self):
        return (self.neurons.value,) * self.layers.value

    def data_and_net(self):
        """The current data set and (untrained) net, and the source code that makes them."""
        from .. import datasets

        options = dict(n=self.n, noise=round(self.noise.value, 4), random_seed=self.data_seed,
                       test_fraction=round(self.test_fraction.value, 4))
        data = datasets.load(self.dataset.value, **options)
        classes = len(data.classes) if data.kind == "classification" else None
        net = playground_net(self.hidden, self.activation.value, classes)
        args = ", ".join(f"{k}={v!r}" for k, v in options.items())
        setup = (f"from lossviz import NetChain, LinearLayer, datasets\n\n"
                 f"data = datasets.load({self.dataset.value!r}, {args})\n"
                 f"net = NetChain({_layers_source(self.hidden, self.activation.value, classes)}, input=2)")
        return data, net, setup

    def rebuild(self):
        """A new data set, net and panel from the controls (the old panel is closed)."""
        from .panel import TrainingPanel

        if self.panel is not None:
            self.panel.close()
            self.panel = None
        try:
            data, net, setup = self.data_and_net()
            self.panel = TrainingPanel(net, data, setup_code=setup, **self.panel_options)
        except (ValueError, TypeError) as e:
            self.error.value = f"<div class='lossviz-error' style='color:#b00020'>{type(e).__name__}: {e}</div>"
            self._slot.children = ()
            return
        self.error.value = ""
        self._slot.children = (self.panel.widget,)

    def close(self):
        """Close the panel (its threads end) and the controls."""
        if self.panel is not None:
            self.panel.close()
        self.widget.close()
