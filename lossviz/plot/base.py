"""What every lossviz plot shares: its own figure, its artists, and one image in a notebook.

A plot function takes ``ax=`` and returns a small object (a :class:`Plot`)
holding ``figure``, ``ax``, ``artists`` (a dict of the matplotlib artists it
drew) and ``update(...)``, which redraws those artists in place
(``set_data`` / ``set_offsets`` / ``set_array`` + ``draw_idle``) so that a
live panel never makes a new figure per frame.

When ``ax`` is None the figure is a plain :class:`matplotlib.figure.Figure`,
not a pyplot figure: pyplot never learns about it, so the inline backend
does not show it again at the end of later cells and pyplot's interactive
state is left alone. The object's ``_repr_mimebundle_`` gives the PNG, so a
notebook cell that returns it shows the figure exactly once. When the caller
passes an ``ax`` of a pyplot figure, pyplot shows that figure itself and the
object's repr is text only (otherwise the figure would show twice).

A plain pyplot-free ``Figure`` that a notebook cell returns (the pattern the
lessons teach: ``figure = Figure(); ax = figure.add_subplot(); ...; figure``)
has no image repr of its own: until pyplot's inline backend is set up (by
``%matplotlib inline`` or a first pyplot import) IPython shows it as the text
``<Figure size 640x480 with 1 Axes>``. So when lossviz is imported in an
IPython kernel it registers a PNG formatter for such figures
(:func:`register_figure_png`), by name, so that matplotlib is not imported;
the inline backend's own formatter, once registered, takes precedence.
"""
from __future__ import annotations

import io
import sys

__all__ = ["Plot", "Figures", "subplots", "new_axes", "png_bytes", "register_figure_png"]


def new_axes(ax=None, *, figsize=(5.0, 3.5), **subplot_options):
    """``ax`` and its figure; without ``ax``, a new pyplot-free Figure with one Axes.

    The new figure uses the constrained layout, so labels, legends and colour
    bars fit without ``tight_layout``.
    """
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    return figure, figure.add_subplot(**subplot_options)


class Figures:
    """A pyplot-free figure of several plots that a notebook cell shows once (as a PNG).

    ``figure``: the matplotlib Figure; ``axes``: its Axes (as ``Figure.subplots``
    returns them). Pass the axes to the plot functions with ``ax=``, then end
    the cell with this object.
    """

    def __init__(self, figure, axes):
        self.figure, self.axes = figure, axes

    def png(self, dpi=100) -> bytes:
        """The figure as PNG bytes (for an ``ipywidgets.Image`` or a file)."""
        return png_bytes(self.figure, dpi=dpi)

    def savefig(self, path, **options):
        """Save the figure (``Figure.savefig``)."""
        self.figure.savefig(path, **options)
        return path

    def __repr__(self):
        w, h = self.figure.get_size_inches()
        return f"<Figures: {len(self.figure.axes)} axes, {w:g} x {h:g} in>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": repr(self), "image/png": self.png()}


def subplots(nrows=1, ncols=1, *, figsize=None, **options):
    """``(Figures, axes)``: a grid of Axes on a new pyplot-free figure (constrained layout).

    ``figsize`` defaults to 5.5 x 4 inches per Axes; ``options`` go to
    ``Figure.subplots`` (``sharey=True``, ...).
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize or (5.5 * ncols, 4.0 * nrows), layout="constrained")
    axes = figure.subplots(nrows, ncols, **options)
    return Figures(figure, axes), axes


def png_bytes(figure, dpi=100) -> bytes:
    """The figure rendered by Agg as PNG bytes (works for figures pyplot does not manage)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _pyplot_owns(figure) -> bool:
    """True if pyplot manages ``figure`` (then the inline backend displays it by itself)."""
    if "matplotlib.pyplot" not in sys.modules:
        return False
    from matplotlib._pylab_helpers import Gcf

    return any(manager.canvas.figure is figure for manager in Gcf.get_all_fig_managers())


class Plot(Figures):
    """Base of the plot objects: ``figure``, ``ax``, ``artists`` and ``update``.

    Subclasses draw in ``__init__`` and redraw in ``update``; both end with
    :meth:`redraw`.
    """

    #: a short name used in the text repr
    kind = "plot"

    def __init__(self, figure, ax):
        super().__init__(figure, ax)
        self.ax = ax
        self.artists: dict = {}

    def redraw(self):
        """Ask the canvas to redraw when it next can (no-op without a live canvas)."""
        self.figure.canvas.draw_idle()

    def update(self, *args, **kwargs):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __repr__(self):
        title = self.ax.get_title() or self.ax.get_ylabel()
        return f"<{type(self).__name__}: {self.kind}{': ' + title if title else ''}>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": repr(self)}
        if not _pyplot_owns(self.figure):
            bundle["image/png"] = self.png()
        return bundle


# ---------------------------------------------------------------------- plain figures in a notebook
def _figure_png(figure):
    """A pyplot-free figure as PNG bytes (cropped to its contents, as the inline backend does);
    None for a figure pyplot manages (the backend in use shows that one)."""
    if _pyplot_owns(figure):
        return None
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def register_figure_png(formatter) -> bool:
    """Let IPython's ``image/png`` ``formatter`` show pyplot-free matplotlib Figures.

    Registered by module and class name (matplotlib is not imported). A
    formatter already known for ``Figure`` (the inline backend's) is kept.
    Returns True if it registered ours.
    """
    key = ("matplotlib.figure", "Figure")
    known = any(f"{cls.__module__}.{cls.__qualname__}" == "matplotlib.figure.Figure" for cls in formatter.type_printers)
    if known or key in formatter.deferred_printers:
        return False
    formatter.for_type_by_name(*key, _figure_png)
    return True


def _register_in_ipython() -> bool:
    """In a running IPython kernel, register :func:`register_figure_png` (IPython is not imported here)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters or "image/png" not in formatters:
        return False
    return register_figure_png(formatters["image/png"])


_register_in_ipython()
