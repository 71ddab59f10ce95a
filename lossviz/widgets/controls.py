"""The training controls of a panel: optimizer settings and the Train / Pause / Stop / Step / Reset buttons.

:class:`TrainingControls` only builds and reads widgets; the panel decides what a click does.
:meth:`TrainingControls.nettrain_options` reads them as NetTrain keyword arguments.
"""
from __future__ import annotations

from ..errors import ParameterError

__all__ = ["METHODS", "BATCH_SIZES", "TrainingControls"]

#: the optimizers the method menu offers (NetTrain's names)
METHODS = ("ADAM", "SGD", "RMSProp", "SignSGD")
#: the batch sizes the menu offers
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class TrainingControls:
    """Method, learning rate (log slider), batch size, round limit, random seed, validation split; buttons.

    Parameters (the initial values; NetTrain's keyword names)
    ----------
    method : one of :data:`METHODS` (another optimizer object disables the menu).
    learning_rate : from 1e-4 to 1 on a log slider.
    batch_size : examples per gradient step.
    max_training_rounds : the round limit; None or 0: train until Stop.
    random_seed : initialization and shuffling.
    validation_fraction : the part of the data held out for validation (0: none); None hides the
        slider (the panel was given a validation set, described by ``validation_label``).
    """

    def __init__(self, *, method="ADAM", learning_rate=0.01, batch_size=32, max_training_rounds=None,
                 random_seed=0, validation_fraction=0.0, validation_label="the given validation set"):
        import ipywidgets as widgets

        style = {"description_width": "110px"}

        def wide():  # one Layout per widget: hiding one must not hide the others
            return widgets.Layout(width="340px")

        fixed_method = not (isinstance(method, str) and method in METHODS)
        self.method_value = method
        self.method = widgets.Dropdown(options=list(METHODS) if not fixed_method else [repr(method)],
                                       value=method if not fixed_method else repr(method),
                                       description="method", disabled=fixed_method, style=style, layout=wide())
        self.method.tooltip = "the optimizer; a change applies at Reset"
        self.learning_rate = widgets.FloatLogSlider(value=learning_rate, base=10, min=-4, max=0, step=0.05,
                                                    description="learning rate", readout_format=".2g",
                                                    continuous_update=False, style=style, layout=wide())
        self.learning_rate.tooltip = "step size of the optimizer (log scale); applies from the next batch"
        sizes = sorted(set(BATCH_SIZES) | {int(batch_size)})
        self.batch_size = widgets.Dropdown(options=sizes, value=int(batch_size), description="batch size",
                                           style=style, layout=wide())
        self.batch_size.tooltip = "examples per gradient step; applies from the next batch"
        self.rounds = widgets.BoundedIntText(value=int(max_training_rounds or 0), min=0, max=10**7,
                                             description="round limit", style=style, layout=wide())
        self.rounds.tooltip = "stop after this many rounds (passes over the data); 0 trains until Stop"
        self.seed = widgets.BoundedIntText(value=int(random_seed or 0), min=0, max=2**31 - 1,
                                           description="random seed", style=style, layout=wide())
        self.seed.tooltip = "initial weights and batch order; a change applies at Reset"
        self.validation = widgets.FloatSlider(value=float(validation_fraction or 0.0), min=0.0, max=0.5, step=0.05,
                                              description="validation split", readout_format=".0%",
                                              continuous_update=False, disabled=validation_fraction is None,
                                              style=style, layout=wide())
        self.validation.tooltip = "part of the data held out to measure the validation loss; applies at Reset"
        if validation_fraction is None:  # a validation set was given: say so instead of showing a slider
            self.validation.layout.display = "none"
        self.validation_note = widgets.HTML(
            f"<span style='color:#555;padding-left:40px'>validation: {validation_label}</span>",
            layout=widgets.Layout(display="none" if validation_fraction is not None else ""))

        def button(text, icon, tip, style_="", width="108px"):
            return widgets.Button(description=text, icon=icon, tooltip=tip, button_style=style_,
                                  layout=widgets.Layout(width=width))

        self.train = button("Train", "play", "train until Stop (or the round limit)", "success")
        self.pause = button("Pause", "pause", "pause training; Resume continues")
        self.stop = button("Stop", "stop", "stop training (the results are kept)", "danger")
        self.step = button("Step", "step-forward", "train one round")
        self.reset = button("Reset", "refresh", "new initial weights from the seed; history cleared")
        self.show_code = button("Show code", "", "the NetTrain call that reproduces this configuration",
                                width="116px")
        self.landscape = widgets.Checkbox(value=False, description="loss landscape slice", indent=False,
                                          layout=widgets.Layout(width="200px"))
        self.landscape.tooltip = "also draw the loss along two random directions around the current weights"
        self.buttons = widgets.GridBox(
            [self.train, self.pause, self.stop, self.step, self.reset, self.show_code],
            layout=widgets.Layout(grid_template_columns="112px 112px 120px", grid_gap="4px", margin="6px 0"))
        self.box = widgets.VBox([self.method, self.learning_rate, self.batch_size, self.rounds, self.seed,
                                 self.validation, self.validation_note, self.buttons, self.landscape])

    def nettrain_options(self) -> dict:
        """The controls as NetTrain keyword arguments (the round limit as ``max_training_rounds``)."""
        from ..train.spec import Scaled

        fraction = self.validation.value
        if self.validation.disabled:
            validation = None
        else:
            validation = Scaled(round(fraction, 4)) if fraction > 0 else None
        if not 0 < self.learning_rate.value:
            raise ParameterError(f"learning rate must be positive, got {self.learning_rate.value!r}")
        return {
            "validation_set": validation,
            "batch_size": int(self.batch_size.value),
            "method": self.method_value if self.method.disabled else self.method.value,
            "learning_rate": float(f"{self.learning_rate.value:.3g}"),
            "random_seed": int(self.seed.value),
            "max_training_rounds": int(self.rounds.value) or None,
        }
