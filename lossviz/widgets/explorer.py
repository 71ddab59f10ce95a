"""LossExplorer: choose losses from the registry, set their options and the target, watch their shapes.

The picture is :func:`lossviz.plot.loss_shape` (each loss's value, solid, and its gradient, dashed,
against the prediction for a fixed target, or against the margin ``m = y f(x)``), redrawn in place
with ``.update`` when a control changes, at most ``max_fps`` times a second, and sent to the page as
a PNG. Each chosen loss gets its option controls from the registry's option metadata (the same
controls as the panel's loss rows).
"""
from __future__ import annotations

import html
import io

__all__ = ["LossExplorer"]


class LossExplorer:
    """An ipywidgets explorer of loss shapes.

    Parameters
    ----------
    losses : registry names shown first (chosen from every registry name; against the margin also
        the reference curves "zero_one" and "exponential").
    target : the fixed target of the prediction plot (a slider from -3 to 3).
    against : "prediction" or "margin".
    gradient : also draw the gradients.

    :meth:`specs` returns what is drawn: ``[(name, {options})]``; :attr:`plot` is the
    :class:`~lossviz.plot.LossShapePlot` (its ``curves`` hold the numbers).
    """

    def __init__(self, losses=("mse", "mae", "huber"), *, target=1.0, against="prediction", gradient=True,
                 max_fps=8.0):
        import ipywidgets as widgets

        from .. import losses as registry
        from ..errors import ParameterError
        from ..plot.shapes import MARGIN_REFERENCES
        from .views import Redrawer

        names = registry.names() + list(MARGIN_REFERENCES)
        losses = list(losses)
        unknown = [n for n in losses if n not in names]
        if unknown:
            raise ParameterError(f"LossExplorer: unknown loss {unknown[0]!r}; the losses are lossviz.losses.names() "
                                 f"and {', '.join(map(repr, MARGIN_REFERENCES))}")
        if against not in ("prediction", "margin"):
            raise ParameterError(f"LossExplorer: against must be 'prediction' or 'margin', got {against!r}")
        style = {"description_width": "70px"}
        self.choose = widgets.SelectMultiple(options=names, value=losses, rows=10, description="losses",
                                             style=style, layout=widgets.Layout(width="260px"))
        self.against = widgets.ToggleButtons(options=["prediction", "margin"], value=against, description="against",
                                             style={"description_width": "70px", "button_width": "90px"})
        self.target = widgets.FloatSlider(value=float(target), min=-3.0, max=3.0, step=0.1, description="target",
                                          style=style, layout=widgets.Layout(width="300px"))
        self.gradient = widgets.Checkbox(value=gradient, description="gradients (dashed)", indent=False)
        self.options_box = widgets.VBox(layout=widgets.Layout(width="360px"))
        self.image = widgets.Image(format="png", layout=widgets.Layout(width="640px"))
        self.image.add_class("lossviz-shape")
        self.message = widgets.HTML()
        self._controls = {}  # loss name -> OptionControls
        self.plot = None
        self.frames = 0
        self._build_options()
        self.choose.observe(self._losses_changed, names="value")
        for w in (self.against, self.target, self.gradient):
            w.observe(lambda change: self.redrawer.request(), names="value")
        left = widgets.VBox([self.choose, self.against, self.target, self.gradient, self.options_box])
        self.widget = widgets.VBox([widgets.HTML("<b style='font-size:1.15em'>lossviz loss explorer</b>"),
                                    widgets.HBox([left, widgets.VBox([self.image, self.message])])])
        self.widget.add_class("lossviz-explorer")
        self.redrawer = Redrawer(self._draw, max_fps=max_fps, on_error=self._show_error, name="lossviz-explorer")
        self.redrawer.flush()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ controls
    def _build_options(self):
        import ipywidgets as widgets

        from .rows import OptionControls, option_specs

        boxes = []
        for name in self.choose.value:
            if name not in self._controls:
                try:
                    specs = option_specs(name)
                except ValueError:  # a reference curve: no options
                    specs = ()
                controls = OptionControls(specs)
                controls.observe(lambda: self.redrawer.request())
                self._controls[name] = controls
            controls = self._controls[name]
            if controls.controls:
                boxes.append(widgets.VBox([widgets.HTML(f"<b>{html.escape(name)}</b>"), controls.box]))
        self.options_box.children = boxes

    def _losses_changed(self, change):
        self._build_options()
        self.redrawer.request()

    def specs(self):
        """``[(name, {options that differ from the defaults})]`` for the chosen losses, in menu order."""
        out = []
        for name in self.choose.value:
            controls = self._controls.get(name)
            out.append((name, controls.values() if controls is not None else {}))
        return out

    # ------------------------------------------------------------------ drawing
    def _draw(self):
        from ..plot import loss_shape

        specs = self.specs()
        if not specs:
            self.message.value = "<i>choose one or more losses</i>"
            return
        against, gradient = self.against.value, self.gradient.value
        if self.plot is None or self.plot.against != against:
            self.plot = loss_shape(specs, self.target.value, against=against, gradient=gradient)
        else:
            self.plot.gradient = gradient
            self.plot.update(losses=specs, target=self.target.value)
        buf = io.BytesIO()
        self.plot.figure.savefig(buf, format="png", dpi=80, bbox_inches="tight")
        self.image.value = buf.getvalue()
        self.message.value = ""
        self.frames += 1

    def _show_error(self, error):
        self.message.value = (f"<div class='lossviz-error' style='color:#b00020'><b>{type(error).__name__}</b>: "
                              f"{html.escape(str(error))}</div>")

    def redraw(self):
        """Redraw now (in the caller's thread)."""
        try:
            self.redrawer.flush()
        except Exception as e:  # noqa: BLE001 - shown in the explorer, which stays usable
            self._show_error(e)

    def close(self):
        """End the drawing thread and close the widgets."""
        self.redrawer.close()
        self.widget.close()
