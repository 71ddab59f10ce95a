"""The Layer base class: named ports, port types, parameters, evaluation.

Every element of a net is a :class:`Layer`: plain layers, loss layers and the
nets themselves (NetChain, NetGraph). A layer is an immutable value. Its
computation is the pure function :meth:`Layer.apply` of ``(params, inputs)``
on *batched* arrays (one leading batch dimension), which ``autograd``
differentiates with respect to ``params`` (a dict of arrays, nested for nets).
"""
from __future__ import annotations

import copy

import numpy as np

from ..errors import NetTypeError, PortError
from .ports import UNKNOWN, PortType, port_type, unify

__all__ = ["Layer", "match_port_kwargs"]


def match_port_kwargs(names, kwargs, *, owner: str) -> dict:
    """Map keyword arguments to port names, case-insensitively (``input=`` -> "Input")."""
    lower = {n.lower(): n for n in names}
    out = {}
    for key, spec in kwargs.items():
        name = lower.get(key.lower())
        if name is None:
            raise PortError(
                f"{owner}: no port named {key!r}; its ports are {', '.join(map(repr, names))}"
            )
        out[name] = spec
    return out


class Layer:
    """Base class of everything with ports.

    Subclasses set ``input_names``/``output_names`` and override:

    ``_propagate(ins, outs) -> (ins, outs)``
        refine port types from each other (shape inference);
    ``param_shapes() -> {name: shape}``
        parameter shapes once the ports are known;
    ``apply(params, inputs) -> outputs``
        the computation on batched arrays: ``inputs[name]`` has shape
        ``(batch, *port_dims)``;
    ``config() -> dict``
        the JSON-able keyword arguments that rebuild the layer.
    """

    input_names: tuple = ("Input",)
    output_names: tuple = ("Output",)
    #: inputs that may be left out (e.g. a loss layer's "Weight"); apply() then
    #: receives no entry for them
    optional_inputs: tuple = ()
    #: True for layers whose outputs are losses (loss layers and loss nets)
    is_loss: bool = False

    def __init__(self, **port_specs):
        names = tuple(self.input_names) + tuple(self.output_names)
        specs = match_port_kwargs(names, port_specs, owner=type(self).__name__)
        self.inputs = {n: port_type(specs.get(n), port=n) for n in self.input_names}
        self.outputs = {n: port_type(specs.get(n), port=n) for n in self.output_names}
        self.params = None
        self._settle()

    # ----------------------------------------------------------- subclass hooks
    def _propagate(self, ins: dict, outs: dict):
        """Refine port types; return ``(ins, outs)``. Default: nothing to infer."""
        return ins, outs

    def param_shapes(self) -> dict:
        """``{name: shape}`` of the parameters (empty for parameter-free layers)."""
        return {}

    def apply(self, params, inputs: dict) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def config(self) -> dict:
        """Keyword arguments that rebuild this layer (JSON-able)."""
        return {}

    def _init_param(self, name, shape, rng):
        """Initial value of one parameter: Glorot-uniform weights, zero biases."""
        if name == "Biases" or len(shape) < 2:
            return np.zeros(shape)
        fan_out, fan_in = shape[0], int(np.prod(shape[1:]))
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=shape)

    # ----------------------------------------------------------- port types
    def _settle(self):
        ins, outs = dict(self.inputs), dict(self.outputs)
        for _ in range(8):
            new_ins, new_outs = self._propagate(dict(ins), dict(outs))
            if new_ins == ins and new_outs == outs:
                break
            ins, outs = new_ins, new_outs
        self.inputs, self.outputs = ins, outs

    def refine(self, ins: dict | None = None, outs: dict | None = None, *, name: str | None = None):
        """A copy whose port types are unified with ``ins``/``outs`` (ShapeError on conflict)."""
        label = f"layer {name!r}" if name else type(self).__name__
        new_ins = {
            n: unify(t, (ins or {}).get(n, UNKNOWN), where=f"{label}, port {n!r}")
            for n, t in self.inputs.items()
        }
        new_outs = {
            n: unify(t, (outs or {}).get(n, UNKNOWN), where=f"{label}, port {n!r}")
            for n, t in self.outputs.items()
        }
        if new_ins == self.inputs and new_outs == self.outputs:
            return self
        new = self._replace(inputs=new_ins, outputs=new_outs)
        try:
            new._settle()
        except ValueError as e:
            if name and f"{name!r}" not in str(e):
                raise type(e)(f"layer {name!r}: {e}") from None
            raise
        if new.params is not None and not new._params_fit(new.params):
            new.params = None
        return new

    # ----------------------------------------------------------- parameters
    @property
    def initialized(self) -> bool:
        """True when every parameter has a value."""
        shapes = self.param_shapes()
        return not shapes or (self.params is not None and set(self.params) >= set(shapes))

    def _params_fit(self, params) -> bool:
        shapes = self.param_shapes()
        return all(s is not None and k in params and np.shape(params[k]) == tuple(s) for k, s in shapes.items())

    def initialize(self, rng, *, force: bool = False, name: str | None = None):
        """A copy with parameters drawn from ``rng`` (kept if present, unless ``force``)."""
        shapes = self.param_shapes()
        if not shapes or (self.initialized and not force):
            return self
        if any(s is None for s in shapes.values()):
            from ..errors import ShapeError

            where = f"layer {name!r}" if name else type(self).__name__
            ports = ", ".join(f"{n!r}: {t.describe()}" for n, t in {**self.inputs, **self.outputs}.items())
            raise ShapeError(
                f"cannot initialize {where}: the sizes of its ports are not all known ({ports}); "
                f"declare them, e.g. NetChain([...], input=2)"
            )
        new = self._replace()
        new.params = {k: _read_only(self._init_param(k, tuple(s), rng)) for k, s in shapes.items()}
        return new

    def with_params(self, params):
        """A copy carrying ``params`` (a dict as returned by :attr:`params`).

        The arrays are copied and made read-only: changing the arrays given
        here, or writing into ``net.params``, cannot change the net.
        """
        shapes = self.param_shapes()
        params = dict(params or {})
        for k, s in shapes.items():
            if s is None:
                raise PortError(f"{type(self).__name__}: port sizes unknown, cannot take parameter {k!r}")
            if k not in params:
                raise PortError(f"{type(self).__name__}: missing parameter {k!r}")
            arr = _read_only(np.asarray(params[k], dtype=float))
            if arr.shape != tuple(s):
                from ..errors import ShapeError

                raise ShapeError(
                    f"{type(self).__name__}: parameter {k!r} has shape {arr.shape}, expected {tuple(s)}"
                )
            params[k] = arr
        new = self._replace()
        new.params = params
        return new

    @property
    def parameter_count(self):
        """Number of scalar parameters (None while some sizes are unknown)."""
        shapes = self.param_shapes().values()
        if any(s is None for s in shapes):
            return None
        return int(sum(np.prod(s, dtype=int) for s in shapes))

    # ----------------------------------------------------------- values
    def _replace(self, **attrs):
        new = copy.copy(self)
        for k, v in attrs.items():
            setattr(new, k, v)
        return new

    @property
    def input_port(self) -> str:
        """The name of the only input port (error if there are several)."""
        if len(self.inputs) != 1:
            raise PortError(
                f"{type(self).__name__} has input ports {', '.join(map(repr, self.inputs))}; "
                f"give its data as a dict keyed by port name"
            )
        return next(iter(self.inputs))

    def __call__(self, data=None, prop=None, **port_data):
        """Evaluate on one example or a batch (see :func:`lossviz.net.evaluate.evaluate`)."""
        from .evaluate import evaluate

        if port_data:
            if data is not None:
                raise NetTypeError("give the data either as a dict/positional value or as keywords, not both")
            data = match_port_kwargs(tuple(self.inputs), port_data, owner=type(self).__name__)
        return evaluate(self, data, prop)

    def __getitem__(self, key):
        """Part syntax: ``net["name"]``, ``net["a", "b"]``, ``layer["Weights"]`` (see NetExtract)."""
        from .ops import NetExtract

        return NetExtract(self, key)

    def save(self, path):
        """Write this net to ``path`` (``.npz``: arrays, plus its structure as JSON)."""
        from .serialize import save

        save(self, path)

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        if self.config() != other.config() or self.inputs != other.inputs or self.outputs != other.outputs:
            return False
        if getattr(self, "function", None) != getattr(other, "function", None):
            return False  # config() shows Python functions by name only: compare the functions themselves
        if (self.params is None) != (other.params is None):
            return False
        if self.params is None:
            return True
        return _params_equal(self.params, other.params)

    def __hash__(self):
        # consistent with __eq__ (equal values hash equal), from what is cheap and immutable
        return hash((type(self), tuple(self.inputs), tuple(self.outputs)))

    def __repr__(self):
        from .summary import layer_repr

        return layer_repr(self)

    def _repr_html_(self):
        from .summary import layer_html

        return layer_html(self)


def _params_equal(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_params_equal(a[k], b[k]) for k in a)
    return np.array_equal(np.asarray(a), np.asarray(b))


def spec_of(t: PortType):
    return t.spec()


def _read_only(arr):
    """``arr`` itself if it is a read-only array owning its data, else a read-only copy.

    A net is a value: its parameters must not change through an array the caller
    still holds, nor through a read-only view of a writeable one.
    """
    if arr.flags.writeable or not arr.flags.owndata:
        arr = arr.copy()
        arr.flags.writeable = False
    return arr
