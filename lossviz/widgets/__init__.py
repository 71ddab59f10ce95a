"""Live panels (ipywidgets) for choosing, scaling and watching the losses of a net while it trains.

* :class:`TrainingPanel`: a loss row per output port (a menu of the losses that fit, a scale, the
  loss's own options), training controls, and live loss curves and decision surface;
* :class:`Playground` (also ``TrainingPanel.playground()``): the panel with TensorFlow
  Playground's data and net controls, for a class that starts from zero code;
* :class:`LossExplorer`: a loss's value and gradient against the prediction, with sliders;
* :func:`compare`: the same net trained under several loss specifications, side by side.

The panel steers a :class:`lossviz.train.TrainingSession` (the same object scripts use) and never
trains by itself. ipywidgets and matplotlib are imported when a panel is made, not by ``import lossviz``.
"""
from .code import PortSetting, loss_function, nettrain_code
from .fit import LossChoice, automatic_loss, fitting_losses
from .compare import Comparison, compare
from .explorer import LossExplorer
from .panel import TrainingPanel
from .playground import Playground

__all__ = ["TrainingPanel", "Playground", "LossExplorer", "compare", "Comparison", "PortSetting", "LossChoice",
           "fitting_losses", "automatic_loss", "loss_function",
           "nettrain_code"]
