"""The loss layer: ports, shape inference, validation, weights and reduction, written once.

Every loss in lossviz is a :class:`LossLayer`: a parameter-free
:class:`~lossviz.net.layer.Layer` with ``is_loss = True`` whose output port
"Loss" carries one real number per example.

Ports
-----
``"Input"``
    the prediction (the output of the net being trained).
``"Target"``
    what the prediction should have been; losses without one (the triplet
    loss, a custom "step" loss) leave it out and ``has_target`` is False.
other inputs
    a few losses read more (``"Variance"``, ``"Input2"``, ``"Positive"``...).
``"Weight"`` (optional)
    one weight per example, shape ``(batch,)``, or weights shaped like the
    elementwise loss (see below). Declared as one real number per example
    unless given as ``weight=shape``.
``"Loss"``
    the output: one real number per example.

Port shapes are keyword arguments (``input=3``, ``target=NetEncoder(...)``),
parsed by :func:`lossviz.net.ports.port_type`; each loss infers the shapes it
can from the others (the Target of an elementwise loss is shaped like its
Input, an index Target is the Input without its class axis, ...).

Reduction
---------
A loss first computes an *elementwise loss* ``l`` of shape ``(batch, *e)``,
where ``e`` is the loss's elementwise shape: the Input's shape for elementwise
losses (MSE, BCE...), the Input's shape without the class axis for losses over
class vectors, ``()`` for losses defined per example (triplet, CTC, MMD). The
loss of example ``b`` is the mean of ``l_b`` over ``e``: the layer "threads
over any extra tensor dimensions and returns the mean" (Wolfram's
CrossEntropyLossLayer page; Gluon's losses average over the non-batch axes too).

Weights
-------
Weights multiply, as Gluon's ``sample_weight`` does:

* per-example weights ``w`` of shape ``(batch,)``: ``loss_b = w_b * mean(l_b)``;
* elementwise weights of shape ``(batch, *e)`` (or of that rank and
  broadcastable to it, like Gluon's ``(batch, 1)``): ``loss_b = mean(w_b * l_b)``.

So weights of 1 are no weights, and a per-example weight gives the same loss as
that weight repeated over the elements. theanets' weighted loss
``sum(w l) / sum(w)`` (its "weighted targets") is the batch mean of this loss
divided by the mean weight. Weights must be non-negative.

Options
-------
Each class declares its constructor's options once, as ``option_specs``
(:class:`~lossviz.losses.options.OptionSpec`: kind, default, range, doc); the
constructor validates its arguments with them (:meth:`LossLayer._set_options`),
:func:`lossviz.losses.info` ``(name).option_specs`` returns them, and
:meth:`LossLayer.config` (so the repr) lists only the options that differ from
their defaults.

Reading data: lossviz's way and Gluon's
---------------------------------------
Called on user data, ``layer({"Input": x, "Target": t})`` reads one example or
a batch by the declared port shapes (:mod:`lossviz.net.evaluate`): a port of
undeclared shape takes its data as one example. Every loss also takes
``batch_axis`` (default None): with ``batch_axis=0`` the layer is called as
Gluon calls its losses, ``loss(pred, label[, sample_weight])``, axis 0 of every
array being the batch, and returns one loss per example whatever the declared
shapes (see :meth:`LossLayer.__call__`). Gluon's and theanets' library-qualified
names (``get("gluon.L2Loss")``, ``get("theanets.mse")``) set it. Training
(``apply``) always takes batches and ignores it.
"""
from __future__ import annotations

import difflib
import inspect
import math

import autograd.numpy as anp
import numpy as np
from autograd.tracer import Box, getval

from ..errors import DataError, NetTypeError, ParameterError, PortError, ShapeError, describe_shape
from ..net.layer import Layer
from ..net.ports import PortType, unify, with_dims
from .options import OptionSpec

__all__ = [
    "LossLayer",
    "class_count",
    "check_in_range",
    "check_in_set",
    "check_distributions",
    "class_indices",
    "number_option",
    "choice_option",
    "bool_option",
    "class_weights_option",
    "infer_spec",
    "BATCH_FIRST",
]

#: the options of the library-qualified names that read data as Gluon and theanets do: axis 0 is the batch
BATCH_FIRST = {"batch_axis": 0}

#: Gluon's reading of data: which axis of every array is the batch (None: lossviz's, see evaluate)
_BATCH_AXIS = OptionSpec("batch_axis", "int", None, low=0, optional=True,
                         doc="read positional arrays as Gluon does: this axis is the batch")

_SCALAR = PortType(())


class LossLayer(Layer):
    """Base class of the loss layers (see the module docstring for the shared conventions).

    Subclasses set ``input_names`` (when they have more or fewer ports than
    Input, Target, Weight), ``options`` (the attribute names :meth:`config`
    returns) and implement :meth:`elementwise`. They may override the
    shape hooks :meth:`port_dims`, :meth:`input_dims_from`,
    :meth:`elementwise_dims`, :meth:`port_kind`, and the value checks
    :meth:`check`.
    """

    input_names = ("Input", "Target", "Weight")
    output_names = ("Loss",)
    optional_inputs = ("Weight",)
    is_loss = True
    #: True when the loss has a "Target" port (set from ``input_names``)
    has_target = True
    #: the declarations of the constructor's options (see :mod:`lossviz.losses.options`)
    option_specs: tuple = ()
    #: attribute names of the layer's options (set from ``option_specs`` when a class declares them)
    options: tuple = ()
    #: options that :meth:`config` (and so the repr) shows even at their default (``form``)
    always_shown: tuple = ()
    #: the least rank of one example's Input (1 for losses over vectors); with ``batch_axis``, Input
    #: data of no higher rank is one example
    min_example_rank: int = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.has_target = "Target" in cls.input_names
        if "option_specs" in cls.__dict__:
            cls.options = tuple(spec.name for spec in cls.option_specs)
            _check_specs(cls)

    def __init__(self, batch_axis=None, **ports):
        known = {n.lower() for n in self.input_names + self.output_names}
        for key in ports:
            if key.lower() not in known:
                raise ParameterError(self._unknown_keyword(key))
        self.batch_axis = _BATCH_AXIS.validate(type(self).__name__, batch_axis)
        super().__init__(**ports)

    def _set_options(self, **values):
        """Validate ``values`` by the class's :class:`OptionSpec` declarations and set them as attributes."""
        specs = {spec.name: spec for spec in self.option_specs}
        owner = type(self).__name__
        for name, value in values.items():
            setattr(self, name, specs[name].validate(owner, value))

    def _unknown_keyword(self, key):
        options = self.option_names()
        ports = [n.lower() for n in self.input_names + self.output_names]
        close = difflib.get_close_matches(key, options + ports + ["batch_axis"], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        opts = ", ".join(options) if options else "none"
        return (
            f"{type(self).__name__}: unknown option or port {key!r}{hint}; its options are {opts} "
            f"(and batch_axis) and its ports are {', '.join(ports)}"
        )

    def __call__(self, *args, **kwargs):
        """Evaluate the loss on user data.

        Without ``batch_axis`` (the default): as every lossviz layer, on a dict
        ``{"Input": ..., "Target": ...}`` (or keywords ``input=..., target=...``)
        holding one example or a batch (see :func:`lossviz.net.evaluate.evaluate`).

        With ``batch_axis=k``: as Gluon calls its losses, ``loss(pred, label[,
        sample_weight])``: positional arrays in the order of the input ports
        (:attr:`input_names`; ``sample_weight=`` or a last array is the "Weight"),
        or a dict; axis ``k`` of every array runs over the examples, whatever the
        declared shapes; the result is one loss per example, shape ``(batch,)``.
        As in Gluon, a Target with as many entries as the Input but another
        shape (labels ``(batch,)`` for predictions ``(batch, 1)``) is reshaped
        like the Input when the loss compares them elementwise.
        """
        if self.batch_axis is None:
            return super().__call__(*args, **kwargs)
        return self._call_batched(*args, **kwargs)

    def _call_batched(self, *args, sample_weight=None, **port_data):
        """Gluon's reading of the data (see :meth:`__call__`): one loss per example, shape ``(batch,)``."""
        from ..net.evaluate import to_batch
        from ..net.layer import match_port_kwargs

        name = type(self).__name__
        if len(args) == 1 and isinstance(args[0], dict):
            data = dict(args[0])
        elif len(args) > len(self.input_names):
            raise NetTypeError(f"{name}: takes at most {len(self.input_names)} arrays "
                               f"({', '.join(self.input_names)}), got {len(args)}")
        else:
            data = dict(zip(self.input_names, args))
        for port, value in match_port_kwargs(self.input_names, port_data, owner=name).items():
            if port in data:
                raise NetTypeError(f"{name}: port {port!r} got data twice (positionally and by keyword)")
            data[port] = value
        if sample_weight is not None:
            if "Weight" in data:
                raise NetTypeError(f"{name}: give the weights either as sample_weight= or as 'Weight', not both")
            data["Weight"] = sample_weight
        arrays = {}
        for port, value in data.items():
            if port not in self.inputs:
                raise PortError(f"{name}: no input port {port!r}; its input ports are "
                                   f"{', '.join(map(repr, self.input_names))}")
            t = self.inputs[port]
            if t.coder is not None and hasattr(t.coder, "encode"):
                examples, _ = to_batch(t, value, port)
                arrays[port] = examples if isinstance(examples, np.ndarray) else np.stack(examples)
                continue
            arrays[port] = value if isinstance(value, (np.ndarray, Box)) else _numeric(name, port, value)
        # one example without a batch axis (a single vector for a loss over vectors, a scalar label):
        # Gluon's NDArrays are never 0-d and its reductions keep an axis, so it reads them as a batch of one
        x = arrays.get("Input")
        one = x is not None and anp.ndim(x) <= self.min_example_rank
        for port, arr in arrays.items():
            if self.inputs[port].coder is None:  # encoded ports are batches already
                if anp.ndim(arr) == 0 or (one and anp.shape(arr) == anp.shape(x)):
                    arr = arr[None]
                elif anp.ndim(arr) <= self.batch_axis:
                    raise ShapeError(f"{name}: port {port!r} got data of shape {anp.shape(arr)}, which has no "
                                     f"axis {self.batch_axis} to read as the batch (batch_axis={self.batch_axis})")
                elif self.batch_axis:
                    arr = anp.moveaxis(arr, self.batch_axis, 0)
                t = self.inputs[port]
                if port != "Weight" and t.dims is not None and anp.ndim(arr) != len(t.dims) + 1:
                    raise ShapeError(f"{name}: port {port!r} got a batch of shape {anp.shape(arr)} (batch axis "
                                     f"{self.batch_axis} first), whose examples do not have the declared shape: "
                                     f"{t.describe()}")
                arrays[port] = arr
        arrays = self._like_input(arrays)
        with np.errstate(all="ignore"):
            return np.array(self.apply(None, arrays)["Loss"])

    def _like_input(self, arrays):
        """Gluon's ``_reshape_like``: elementwise targets with the Input's size take the Input's shape."""
        x = arrays.get("Input")
        if x is None:
            return arrays
        x_shape = anp.shape(x)
        for port in self._tied_ports():
            value = arrays.get(port)
            if value is None or anp.shape(value) == x_shape or anp.size(value) != anp.size(x):
                continue
            try:
                elementwise = self.port_dims(port, x_shape[1:]) == x_shape[1:]
            except ShapeError:
                elementwise = False
            if elementwise:
                arrays[port] = anp.reshape(value, x_shape)
        return arrays

    @classmethod
    def option_names(cls) -> list:
        """The keyword options of the constructor (not the port shapes, nor ``batch_axis``)."""
        params = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in params if p.name not in ("self", "batch_axis")
                and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]

    @classmethod
    def specs(cls) -> tuple:
        """The :class:`OptionSpec` of every constructor option: the declared ``option_specs``, or, for a
        class that declares none, specs inferred from the constructor's defaults."""
        if cls.option_specs or not cls.option_names():
            return tuple(cls.option_specs)
        return tuple(infer_spec(name, default) for name, default in cls.option_defaults().items())

    @classmethod
    def option_defaults(cls) -> dict:
        """``{option: default}`` as the constructor declares them."""
        params = inspect.signature(cls.__init__).parameters
        return {name: params[name].default for name in cls.option_names()}

    def config(self) -> dict:
        """The options that differ from their defaults (and the ``always_shown`` ones, like ``form``),
        plus ``batch_axis`` when it is set: the keyword arguments that rebuild the layer."""
        defaults = {spec.name: spec.default for spec in self.specs()}
        out = {}
        for k in self.options:
            value = getattr(self, k)
            if k in self.always_shown or k not in defaults or not _same(value, defaults[k]):
                out[k] = _jsonable(value)
        if self.batch_axis is not None:
            out["batch_axis"] = self.batch_axis
        return out

    # ------------------------------------------------------------ shape hooks
    def port_dims(self, port: str, input_dims: tuple):
        """Per-example dims that ``port`` must have given the Input's dims (None: no constraint).

        Default: shaped like the Input.
        """
        return input_dims

    def input_dims_from(self, port: str, t: PortType):
        """The Input dims implied by ``port`` having type ``t`` (None: nothing implied).

        Default: the port's dims. ``t`` is known to have dims; its NetEncoder
        may tell more (the number of classes, see :func:`class_count`).
        """
        return t.dims

    def elementwise_dims(self, input_dims: tuple):
        """The elementwise loss's per-example dims given the Input's (default: the same; None: unknown)."""
        return input_dims

    def port_kind(self, port: str):
        """The kind ("Integer", "Boolean", "Real") ``port`` holds, or None to keep the declared one."""
        return None

    # ------------------------------------------------------------ shape inference
    def _tied_ports(self):
        return [n for n in self.input_names if n not in ("Input", "Weight")]

    def _narrow(self, port, t: PortType, dims, because):
        try:
            u = unify(PortType(t.dims), PortType(tuple(dims)), where=port)
        except ShapeError:
            raise ShapeError(
                f"{type(self).__name__}: port {port!r} is {t.describe()}, but {because} needs "
                f"{describe_shape(dims)}"
            ) from None
        return with_dims(t, u.dims)

    def _propagate(self, ins, outs):
        ins, outs = dict(ins), dict(outs)
        for port in self._tied_ports():
            kind = self.port_kind(port)
            if kind is not None and ins[port].coder is None and ins[port].kind != kind:
                ins[port] = PortType(ins[port].dims, kind)
            x = ins["Input"]
            if x.dims is not None and (want := self.port_dims(port, x.dims)) is not None:
                ins[port] = self._narrow(port, ins[port], want, f"port 'Input' ({x.describe()})")
            t = ins[port]
            if t.dims is not None and (want := self.input_dims_from(port, t)) is not None:
                ins["Input"] = self._narrow("Input", ins["Input"], want, f"port {port!r} ({t.describe()})")
        weight = ins["Weight"]
        if weight.dims is None:
            ins["Weight"] = _SCALAR
        elif weight.dims and ins["Input"].dims is not None:
            elem = self.elementwise_dims(ins["Input"].dims)
            if elem is not None:
                ins["Weight"] = self._narrow("Weight", weight, elem, "the elementwise loss")
        outs["Loss"] = unify(outs["Loss"], _SCALAR, where=f"{type(self).__name__}, port 'Loss'")
        return ins, outs

    # ------------------------------------------------------------ evaluation
    def apply(self, params, inputs):
        """``{"Loss": (batch,)}`` from batched inputs (see the module docstring)."""
        data = self._read(inputs)
        loss = self.elementwise(data)
        return {"Loss": self._reduce(loss, data.get("Weight"), self.mask(data))}

    def elementwise(self, data: dict):  # pragma: no cover - abstract
        """The elementwise loss, shape ``(batch, *e)``, from validated batched inputs."""
        raise NotImplementedError

    def mask(self, data: dict):
        """Which elements count in the mean (None: all); e.g. not those equal to ``ignore_index``."""
        return None

    def check(self, data: dict):
        """Check the values of the batched inputs (their shapes are checked already).

        Raises a lossviz error for unusable values; may replace entries of
        ``data`` by converted arrays (class indices as ints, say).
        """

    def _read(self, inputs):
        name = type(self).__name__
        for port in self.input_names:
            if port not in inputs and port not in self.optional_inputs:
                raise PortError(f"{name}: missing data for port {port!r}; its input ports are "
                                f"{', '.join(map(repr, self.input_names))}")
        data = {}
        for port, value in inputs.items():
            if port not in self.inputs:
                raise PortError(f"{name}: no input port {port!r}; its input ports are "
                                f"{', '.join(map(repr, self.input_names))}")
            value = value if isinstance(value, (np.ndarray, Box)) else _numeric(name, port, value)
            if getval(value).dtype.kind not in "iuf":
                value = _numeric(name, port, getval(value))
            if anp.ndim(value) == 0:
                raise ShapeError(f"{name}: port {port!r} got a scalar; apply() takes a batch "
                                 f"(a leading batch dimension)")
            data[port] = value
        sizes = {port: anp.shape(v)[0] for port, v in data.items()}
        if len(set(sizes.values())) > 1:
            detail = ", ".join(f"{p!r}: {k}" for p, k in sizes.items())
            raise ShapeError(f"{name}: ports got batches of different lengths ({detail})")
        for port, value in data.items():
            if port != "Weight":  # per-example or elementwise: _reduce checks it against the loss
                _check_declared(name, port, self.inputs[port], anp.shape(value)[1:])
        x_dims = anp.shape(data["Input"])[1:]
        if 0 in x_dims:
            raise ShapeError(f"{name}: port 'Input' got examples of shape {x_dims}, which have no elements")
        for port in self._tied_ports():
            if port in data:
                want = self.port_dims(port, x_dims)
                got = anp.shape(data[port])[1:]
                if want is not None and not _fits(got, want):
                    raise ShapeError(
                        f"{name}: port {port!r} got data of shape {got} per example, but port 'Input' "
                        f"(shape {x_dims} per example) needs {describe_shape(want)}"
                    )
        self.check(data)
        return data

    def _reduce(self, loss, weight, mask):
        name = type(self).__name__
        if getval(loss).dtype == bool:
            loss = getval(loss).astype(float)
        shape = anp.shape(loss)
        axes = tuple(range(1, len(shape)))
        per_example = None
        if weight is not None:
            wshape = anp.shape(weight)
            if np.any(getval(weight) < 0):
                raise DataError(f"{name}: port 'Weight' must hold non-negative weights, got "
                                f"{float(np.min(getval(weight)))!r}")
            if len(wshape) == 1:
                per_example = weight
            elif len(wshape) == len(shape) and _broadcastable(wshape, shape):
                loss = loss * weight
            else:
                raise ShapeError(
                    f"{name}: port 'Weight' got weights of shape {wshape}; expected one weight per "
                    f"example, shape ({shape[0]},), or weights shaped like the elementwise loss, {shape}"
                )
        if mask is not None:
            out = anp.sum(loss, axis=axes) / np.maximum(np.sum(mask, axis=axes), 1)
        elif axes:
            out = anp.mean(loss, axis=axes)
        else:
            out = loss
        return out if per_example is None else out * per_example


# ------------------------------------------------------------------ shapes
def _fits(shape, dims) -> bool:
    return len(shape) == len(dims) and all(not isinstance(d, int) or d == s for s, d in zip(shape, dims))


def _check_declared(name, port, t: PortType, shape):
    if t.dims is not None and not _fits(shape, t.dims):
        raise ShapeError(
            f"{name}: port {port!r} got data of shape {shape} per example, expected {t.describe()}"
        )


def _broadcastable(small, big) -> bool:
    return all(s in (1, b) for s, b in zip(small, big))


def _numeric(name, port, value):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{name}: port {port!r} cannot read numbers from {_short(value)}") from None
    return arr


def _short(value):
    text = repr(value)
    return text if len(text) < 60 else text[:57] + "..."


def _jsonable(value):
    if callable(value):  # the engine's convention: save() refuses a layer holding a function
        return f"<function {getattr(value, '__name__', repr(value))}>"
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _same(value, default) -> bool:
    """True when an option's value equals its default (tuples and lists alike, 1 == 1.0, no array truth)."""
    if isinstance(value, (tuple, list)) or isinstance(default, (tuple, list)):
        return isinstance(value, (tuple, list)) and isinstance(default, (tuple, list)) and \
            list(value) == list(default)
    if callable(value) or callable(default):
        return value is default
    flags = (bool, np.bool_)
    if isinstance(value, flags) or isinstance(default, flags):  # True is not the number 1 here
        return isinstance(value, flags) and isinstance(default, flags) and bool(value) == bool(default)
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False


def infer_spec(name: str, default) -> OptionSpec:
    """An :class:`OptionSpec` read off a default value (for losses that declare none: registered functions)."""
    if isinstance(default, (bool, np.bool_)):
        return OptionSpec(name, "bool", bool(default))
    if isinstance(default, (int, np.integer)):
        return OptionSpec(name, "int", int(default))
    if isinstance(default, (float, np.floating)):
        return OptionSpec(name, "float", float(default))
    if isinstance(default, str):
        return OptionSpec(name, "choice", default, choices=(default,))
    if default is None:
        return OptionSpec(name, "float", None, optional=True, callable_ok=True)
    if isinstance(default, (tuple, list)):
        return OptionSpec(name, "array", tuple(default))
    return OptionSpec(name, "float", default, callable_ok=True)


def _check_specs(cls):
    """TypeError unless ``cls.option_specs`` declares exactly the constructor's options, with its defaults."""
    declared = [spec.name for spec in cls.option_specs]
    if sorted(declared) != sorted(cls.option_names()):
        raise NetTypeError(f"{cls.__name__}: option_specs declare {declared}, but the constructor's options are "
                           f"{cls.option_names()}")
    defaults = cls.option_defaults()
    for spec in cls.option_specs:
        if not _same(spec.default, defaults[spec.name]):
            raise NetTypeError(f"{cls.__name__}: option {spec.name!r} defaults to {defaults[spec.name]!r} "
                               f"in the constructor but to {spec.default!r} in its OptionSpec")


def class_count(t: PortType):
    """Number of classes a port's NetEncoder implies ("Class"/"Characters" with index output), else None."""
    coder = t.coder
    if coder is not None and getattr(coder, "output", None) == "Index" and coder.type in ("Class", "Characters"):
        return len(coder.labels)
    return None


# ------------------------------------------------------------------ value checks
def _first_bad(values, bad):
    return np.asarray(values)[bad].flat[0].item()


_min, _max = np.minimum, np.maximum
_SIGNED_MAX = {np.dtype(t): int(np.iinfo(t).max) for t in (np.int8, np.int16, np.int32, np.int64)}


def _all_within(v, low, high) -> bool:
    """True when every entry of ``v`` lies in ``[low, high]``; False when one does not or one is NaN.

    Reductions without temporaries, so valid data (the usual case) costs two reads of ``v``, or one
    with ``low = 0`` for native float32, float64 or signed integer data: read as unsigned integers of
    the same width, non-negative numbers keep their order and every negative one (and, for floats, -0.0
    and NaN) lands above the largest non-negative one, so ``max(bits) <= bits(top)`` is the whole test,
    with ``top`` the largest number of the dtype that is at most ``high`` (for integers: ``high``
    itself, when the dtype holds it). (A False for -0.0 only sends the caller to its exact check.) The
    ufuncs' own reductions skip ``ndarray.min``'s dispatch: a batch of class indices is checked in
    about a microsecond.
    """
    if v.size == 0:
        return True
    if low == 0 and high >= 0 and v.dtype.isnative:
        if v.dtype in _FLOAT_BITS:
            bits = _FLOAT_BITS[v.dtype]
            return bool(_max.reduce(v.view(bits), None) <= _top_bits(v.dtype, high))
        if v.dtype.kind == "i" and high <= _SIGNED_MAX.get(v.dtype, -1):
            # .item() and floor: Python ints, compared exactly (numpy would round both sides to a float)
            return _max.reduce(v.view(f"u{v.dtype.itemsize}"), None).item() <= math.floor(high)
    # .item(): Python compares its numbers exactly, where numpy would round a bound to v's dtype
    return _min.reduce(v, None).item() >= low and _max.reduce(v, None).item() <= high


_FLOAT_BITS = {np.dtype(np.float32): np.dtype(np.uint32), np.dtype(np.float64): np.dtype(np.uint64)}
_TOP_BITS = {}


def _top_bits(dtype, high):
    """The bits, as an unsigned integer, of the largest number of the float ``dtype`` that is <= ``high``."""
    key = (dtype, high)
    if key not in _TOP_BITS:
        if len(_TOP_BITS) > 256:  # the bounds are a loss's constants: a few, unless a caller varies them
            _TOP_BITS.clear()
        try:
            with np.errstate(over="ignore"):  # a bound past the dtype's range: inf, then its largest number
                top = dtype.type(high)
        except OverflowError:  # an int past float64's range
            top = dtype.type(np.inf)
        if float(top) > high:  # rounded up (or overflowed to inf): the next one down (Python compares exactly)
            top = np.nextafter(top, dtype.type(-np.inf))
        _TOP_BITS[key] = int(top.view(_FLOAT_BITS[dtype]))
    return _TOP_BITS[key]


def _all_in(v, allowed) -> bool:
    """True when every entry of ``v`` equals one of ``allowed`` (a NaN never does).

    One comparison per allowed value, counted: no mask over all of them.
    """
    return sum(np.count_nonzero(v == a) for a in set(allowed)) == v.size


def _sums(v, axis):
    """``np.sum(v, axis)`` up to rounding, by ``einsum``: four times faster along a short axis.

    (Not a product with a vector of ones: a multi-threaded BLAS call on a busy machine can take 30x longer.)
    """
    return np.einsum("...i->...", v if axis in (-1, v.ndim - 1) else np.moveaxis(v, axis, -1))


def check_in_range(layer, port, value, low, high, what):
    """DataError unless every entry lies in ``[low, high]`` (NaN passes: it is a result, not an input error)."""
    v = np.asarray(getval(value))
    if _all_within(v, low, high):
        return
    bad = (v < low) | (v > high)
    if np.any(bad):
        raise DataError(f"{type(layer).__name__}: port {port!r} must hold {what}, got {_first_bad(v, bad)!r}")


def check_in_set(layer, port, value, allowed, what):
    """DataError unless every entry is one of ``allowed`` (NaN passes)."""
    v = np.asarray(getval(value))
    if _all_in(v, allowed):
        return
    bad = ~np.isin(v, allowed) & ~np.isnan(v)
    if np.any(bad):
        raise DataError(f"{type(layer).__name__}: port {port!r} must hold {what}, got {_first_bad(v, bad)!r}")


def check_distributions(layer, port, value, axis=-1, tol=1e-5):
    """DataError unless the vectors along ``axis`` are probability distributions (entries in [0, 1], sum 1).

    NaN passes, as in :func:`check_in_range`. Returns True when ``value`` is
    known to hold no NaN (the usual case: every sum was within ``tol`` of 1,
    which a NaN anywhere in a vector makes impossible), False when it may.
    """
    check_in_range(layer, port, value, 0.0, 1.0, "probabilities (between 0 and 1)")
    v = np.asarray(getval(value))
    if _all_within(_sums(v, axis), 1.0 - tol, 1.0 + tol):
        return True
    total = np.sum(v, axis=axis)
    bad = np.abs(total - 1.0) > tol
    if np.any(bad):
        raise DataError(
            f"{type(layer).__name__}: port {port!r} must hold probability vectors that sum to 1, "
            f"got one that sums to {_first_bad(total, bad)!r}"
        )
    return False


def class_indices(layer, port, value, n, ignore_index=None):
    """The 0-based class indices in ``value`` as an int array; DataError unless each is in 0 .. n-1.

    Entries equal to ``ignore_index`` are allowed and returned unchanged.
    """
    v = np.asarray(getval(value))
    name = type(layer).__name__
    if v.dtype.kind == "f":
        bad = ~np.isfinite(v) | (v != np.round(v))
        if np.any(bad):
            raise DataError(f"{name}: port {port!r} must hold integer class indices, got {_first_bad(v, bad)!r}")
    if _all_within(v, 0, n - 1):
        return v.astype(np.int64, copy=False)
    bad = (v < 0) | (v >= n)
    if ignore_index is not None:
        bad &= v != ignore_index
    if np.any(bad):
        raise DataError(
            f"{name}: port {port!r} must hold class indices 0 .. {n - 1} (0-based) for {n} classes, "
            f"got {_first_bad(v, bad)!r}{one_based_hint(v, n)}"
        )
    return v.astype(np.int64)


def one_based_hint(indices, n):
    """A hint when class indices look 1-based (Wolfram's 1 .. n): they fill 1 .. n and none is 0."""
    v = np.asarray(indices)
    if v.size and v.min() >= 1 and v.max() == n:
        return (f"; they look counted from 1 (as Wolfram counts, 1 .. {n}): lossviz counts classes from 0, so "
                f"subtract 1")
    return ""


# ------------------------------------------------------------------ option checks
def number_option(owner, name, value, *, low=None, high=None, open_low=False, allow_none=False):
    """``float(value)``, or a ParameterError naming the option when it is not a number in range."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    ok = ok and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if open_low else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if open_low else '>='} {low}")
        if high is not None:
            bounds.append(f"<= {high}")
        want = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
        raise ParameterError(f"{owner}: option {name!r} must be {want}{' or None' if allow_none else ''}, "
                             f"got {value!r}")
    return float(value)


def choice_option(owner, name, value, choices):
    """The entry of ``choices`` equal to ``value`` ignoring case, or a ParameterError listing them."""
    if isinstance(value, str):
        for choice in choices:
            if choice.lower() == value.lower():
                return choice
    raise ParameterError(f"{owner}: option {name!r} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def bool_option(owner, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{owner}: option {name!r} must be True or False, got {value!r}")
    return bool(value)


def class_weights_option(owner, name, value):
    """None, or a tuple of non-negative floats (one weight per class)."""
    if value is None:
        return None
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ParameterError(
            f"{owner}: option {name!r} must be a list of non-negative numbers, one per class, got {value!r}"
        )
    return tuple(float(w) for w in arr)
