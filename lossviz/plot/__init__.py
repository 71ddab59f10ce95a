"""Matplotlib plots. Each takes ``ax=`` (made if None) and returns its artists."""
from .losscurves import loss_plot

__all__ = ["loss_plot"]
