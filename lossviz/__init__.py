"""lossviz: see, choose and steer the loss functions of neural nets.

The public API, re-exported from small private modules:

* the engine (:mod:`lossviz.net`): layers, ``NetChain``, ``NetGraph``,
  ``NetPort``, encoders and decoders, ``NetInitialize``, ``NetExtract``,
  ``NetTake``, ``load``;
* errors (:mod:`lossviz.errors`).
"""
from . import errors
from .net import *  # noqa: F401,F403
from .net import __all__ as _net_all
from .net.serialize import load

__version__ = "0.1.0"
__all__ = list(_net_all) + ["load", "errors"]
