"""lossviz: see, choose and steer the loss functions of neural nets.

The public API, re-exported from small private modules:

* the engine (:mod:`lossviz.net`): layers, ``NetChain``, ``NetGraph``,
  ``NetPort``, encoders and decoders, ``NetInitialize``, ``NetExtract``,
  ``NetTake``, ``load``;
* the loss catalogue (:mod:`lossviz.losses`): every loss layer, and the
  registry ``lossviz.losses.get/register/names``;
* training (:mod:`lossviz.train`): ``NetTrain``, ``TrainingSession``, ``Scaled``, ``Automatic``,
  ``loss_and_gradient``;
* plots (:mod:`lossviz.plot`): ``loss_plot``, ``decision_surface``,
  ``plot_decision_surface``, ``loss_shape``, ``loss_landscape``;
* errors (:mod:`lossviz.errors`).

matplotlib and ipywidgets are imported only when a plot or panel is used.
"""
from . import errors, losses
from . import datasets  # noqa: F401  (lossviz.datasets: toy data sets)
from . import widgets  # noqa: F401  (lossviz.widgets: live panels; ipywidgets loads when a panel is made)
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _losses_all
from .net import *  # noqa: F401,F403
from .net import __all__ as _net_all
from .net.serialize import load
from .plot import decision_surface, loss_landscape, loss_plot, loss_shape, plot_decision_surface
from .train import Automatic, NetTrain, NetTrainResults, Scaled, TrainingSession, loss_and_gradient

__version__ = "0.1.0"

_LOSS_CLASSES = [n for n in _losses_all if n.endswith("Layer")]
__all__ = (list(_net_all) + _LOSS_CLASSES
           + ["NetTrain", "NetTrainResults", "TrainingSession", "Scaled", "Automatic", "loss_and_gradient", "load", "losses", "errors",
              "loss_plot", "decision_surface", "plot_decision_surface", "loss_shape", "loss_landscape"])
