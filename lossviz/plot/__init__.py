"""Matplotlib plots. Each takes ``ax=`` (made if None) and returns its artists.

matplotlib is imported when a plot is drawn, not when this package is imported.
"""
from .losscurves import loss_plot
from .surface import Surface, decision_surface, plot_decision_surface, surface_colors, update_decision_surface

__all__ = ["loss_plot", "Surface", "decision_surface", "surface_colors", "plot_decision_surface",
           "update_decision_surface"]
