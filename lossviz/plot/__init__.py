"""Matplotlib plots. Each takes ``ax=`` (a new pyplot-free figure if None) and returns a plot object
with ``.figure``, ``.ax``, ``.artists`` and ``.update(...)`` that redraws in place.

matplotlib is imported when a plot is drawn, not when this package is imported.

* :func:`loss_shape`: losses and their gradients against the prediction or the margin;
* :func:`plot_decision_surface`: a net's output over the plane with the data (sized by loss);
* :func:`loss_landscape`: the loss on a 1-D or 2-D slice of parameter space, with the trajectory;
* :func:`loss_plot`: batch, round, sub-loss and validation curves of a training run;
* :func:`subplots`: several plots side by side (``ax=``) in one pyplot-free figure.
"""
from .base import Figures, subplots
from .landscape import LandscapePlot, landscape_directions, landscape_values, loss_landscape
from .losscurves import LossPlot, loss_plot
from .shapes import LossShapePlot, loss_shape, shape_curves
from .surface import Surface, decision_surface, surface_colors
from .surfaceplot import SurfacePlot, plot_decision_surface, update_decision_surface

__all__ = ["subplots", "Figures", "loss_plot", "LossPlot", "loss_shape", "LossShapePlot", "shape_curves", "loss_landscape",
           "LandscapePlot", "landscape_directions", "landscape_values", "Surface", "decision_surface",
           "surface_colors", "plot_decision_surface", "SurfacePlot", "update_decision_surface"]
