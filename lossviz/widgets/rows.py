"""Loss rows: per output port, a loss menu, a scale and the chosen loss's own options.

The option controls are generated from the loss registry's option metadata
(``lossviz.losses.info(name).option_specs``, one :class:`~lossviz.losses.options.OptionSpec` per
constructor option), never written per loss:

==========  ===========================================================================
kind        control
==========  ===========================================================================
float       a slider over ``typical`` (else ``low``..``high``), logarithmic when ``log``;
            a number box when the option has no range
int         an integer slider, or a number box
bool        a checkbox
choice      a menu of ``choices``
array       a text box of comma-separated numbers (empty: the default)
==========  ===========================================================================

The scale runs over 0, 0.01, 0.02, 0.05 ... 50, 100 (a log scale with 0 at its left end): 0 keeps
the term measured, and shown on the curves, but it no longer moves the net.
"""
from __future__ import annotations

import math

from .code import PortSetting

__all__ = ["SCALES", "option_specs", "OptionControls", "LossRow"]

#: the scale control's stops: 0 (off), then 1-2-5 steps from 0.01 to 100
SCALES = (0.0,) + tuple(m * 10.0**e for e in range(-2, 2) for m in (1, 2, 5)) + (100.0,)


def option_specs(name):
    """The OptionSpecs of registry loss ``name`` (from the registry, else from its layer class)."""
    from .. import losses

    entry = losses.info(name)
    specs = getattr(entry, "option_specs", None)
    if specs is None:
        specs = getattr(entry.layer, "option_specs", ())
    return tuple(specs)


def _scale_label(r):
    return "0 (off)" if r == 0 else f"{r:g}"


def _float_control(spec, value, widgets, style, layout):
    lo, hi = spec.typical or (spec.low, spec.high)
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return widgets.FloatText(value=value, description=spec.name, style=style, layout=layout)
    if spec.log and lo > 0:
        lo_e, hi_e = math.log10(lo), math.log10(hi)
        if value > 0:
            lo_e, hi_e = min(lo_e, math.log10(value)), max(hi_e, math.log10(value))
        return widgets.FloatLogSlider(value=value, base=10, min=lo_e, max=hi_e, step=(hi_e - lo_e) / 100,
                                      description=spec.name, continuous_update=False, readout_format=".3g",
                                      style=style, layout=layout)
    lo, hi = min(lo, value), max(hi, value)
    return widgets.FloatSlider(value=value, min=lo, max=hi, step=(hi - lo) / 100, description=spec.name,
                               continuous_update=False, readout_format=".3g", style=style, layout=layout)


class OptionControls:
    """Controls for the options of one loss, generated from its OptionSpecs.

    ``box`` is the widget; :meth:`values` returns ``{name: value}`` for the options that differ
    from their defaults (what the loss is built with); ``observe(f)`` calls ``f()`` after any change.
    Options that take only a function (``callable_ok`` without a default value) get no control.
    """

    def __init__(self, specs, values=None):
        import ipywidgets as widgets

        values = dict(values or {})
        style = {"description_width": "110px"}

        def layout():  # one Layout per widget (a shared one would show or hide them together)
            return widgets.Layout(width="330px")

        self.specs, self.controls, self._text = {}, {}, set()
        for spec in specs:
            value = values.get(spec.name, spec.default)
            if spec.kind == "bool":
                w = widgets.Checkbox(value=bool(value), description=spec.name, indent=False,
                                     layout=widgets.Layout(width="330px"))
            elif spec.kind == "choice":
                w = widgets.Dropdown(options=list(spec.choices),
                                     value=value if value in spec.choices else spec.choices[0],
                                     description=spec.name, style=style, layout=layout())
            elif spec.kind == "int" and value is not None:
                lo, hi = spec.typical or (spec.low, spec.high)
                if lo is not None and hi is not None and hi - lo <= 1000:
                    w = widgets.IntSlider(value=int(value), min=int(min(lo, value)), max=int(max(hi, value)),
                                          description=spec.name, continuous_update=False, style=style, layout=layout())
                else:
                    w = widgets.IntText(value=int(value), description=spec.name, style=style, layout=layout())
            elif spec.kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
                w = _float_control(spec, float(value), widgets, style, layout())
            elif spec.kind in ("array", "float", "int"):  # lists, or an optional number that may be None
                text = "" if value is None else (", ".join(f"{v:g}" for v in value)
                                                 if isinstance(value, (list, tuple)) else f"{value:g}")
                w = widgets.Text(value=text, description=spec.name, placeholder="default" if value is None else "",
                                 continuous_update=False, style=style, layout=layout())
                self._text.add(spec.name)
            else:
                continue
            w.tooltip = spec.doc or spec.name
            self.specs[spec.name], self.controls[spec.name] = spec, w
        self.box = widgets.VBox(list(self.controls.values()), layout=widgets.Layout(margin="0 0 0 12px"))

    def _read(self, name):
        spec, w = self.specs[name], self.controls[name]
        if name not in self._text:
            return w.value
        text = w.value.strip()
        if not text:
            return spec.default
        from ..errors import ParameterError

        try:
            numbers = [float(t) for t in text.replace(";", ",").split(",") if t.strip()]
        except ValueError:
            raise ParameterError(f"option {name!r}: expected numbers separated by commas, got {text!r}") from None
        if len(numbers) == 1 and (spec.kind in ("float", "int") or getattr(spec, "number_ok", False)):
            return int(numbers[0]) if spec.kind == "int" else numbers[0]
        return numbers

    def values(self) -> dict:
        """``{option: value}`` for every option whose control differs from the default."""
        out = {}
        for name, spec in self.specs.items():
            value = self._read(name)
            default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
            same = value == default
            if not same:
                out[name] = value
        return out

    def observe(self, callback):
        for w in self.controls.values():
            w.observe(lambda change: callback(), names="value")


class LossRow:
    """The loss on one output port: a menu, a scale, and the chosen loss's options.

    Parameters
    ----------
    port : the output port.
    choices : the :class:`~lossviz.widgets.fit.LossChoice` s that fit the port.
    automatic_label : what the Automatic entry says it resolves to.
    is_loss_port : the port is itself a loss (its menu is Automatic, i.e. the port, or off).
    setting : the initial :class:`~lossviz.widgets.code.PortSetting` (default: Automatic, scale 1).
    on_change : ``f(row)``, called after any change of the menu, the scale or an option.
    """

    def __init__(self, port, choices, automatic_label, *, is_loss_port=False, setting=None, on_change=None):
        import ipywidgets as widgets

        self.port, self.is_loss_port, self.on_change = port, is_loss_port, on_change
        self.choices = list(choices)
        setting = setting or PortSetting(port, is_loss_port=is_loss_port)
        entries = [(automatic_label, "Automatic")] + [(c.label, c) for c in self.choices] + [("off", "off")]
        if not isinstance(setting.choice, str) and setting.choice not in self.choices:
            entries.insert(1, (setting.choice.label, setting.choice))  # a given loss the menu did not list
        self.menu = widgets.Dropdown(options=entries, value=setting.choice, description=f"{port}",
                                     style={"description_width": "60px"}, layout=widgets.Layout(width="340px"))
        self.menu.tooltip = f"the loss on output port {port!r}"
        self.scale = widgets.SelectionSlider(options=[(_scale_label(r), r) for r in SCALES],
                                             value=min(SCALES, key=lambda r: abs(r - setting.scale)),
                                             description="scale", continuous_update=False,
                                             style={"description_width": "60px"},
                                             layout=widgets.Layout(width="340px"))
        self.scale.tooltip = "Scaled(r): the term's weight in the total loss; 0 keeps it measured but inactive"
        self.options = None
        self.options_box = widgets.VBox()
        self._build_options(setting.options)
        self.box = widgets.VBox([self.menu, self.scale, self.options_box],
                                layout=widgets.Layout(border="1px solid #ddd", padding="4px", margin="2px 0"))
        self.menu.observe(self._menu_changed, names="value")
        self.scale.observe(lambda change: self._changed(), names="value")

    def _build_options(self, values=None):
        choice = self.menu.value
        if isinstance(choice, str):
            self.options = None
            self.options_box.children = ()
            return
        self.options = OptionControls(self._specs(choice), {**choice.preset, **(values or {})})
        # a preset option is fixed by the menu entry ("bce" is cross_entropy with form="Binary")
        for name in choice.preset:
            if name in self.options.controls:
                self.options.controls[name].disabled = True
        self.options.observe(self._changed)
        self.options_box.children = (self.options.box,)

    @staticmethod
    def _specs(choice):
        specs = getattr(choice, "option_specs", None)
        return specs if specs is not None else option_specs(choice.name)

    def _menu_changed(self, change):
        self._build_options()
        self._changed()

    def _changed(self):
        if self.on_change is not None:
            self.on_change(self)

    def setting(self) -> PortSetting:
        """What the row holds now (reads the option controls; a malformed entry raises ParameterError)."""
        choice = self.menu.value
        options = {}
        if self.options is not None:
            options = {k: v for k, v in self.options.values().items() if k not in choice.preset}
        return PortSetting(self.port, choice, options, float(self.scale.value), self.is_loss_port)
