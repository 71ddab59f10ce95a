"""Port types: the per-example shape and kind of the data a port carries.

A port type is written by users in the Wolfram way and parsed by
:func:`port_type`:

=====================  ==========================================
written                meaning
=====================  ==========================================
``None``               not known yet (inferred from connections)
``"Real"``             one real number, shape ``()``
``"Integer"``          one integer (a class index), shape ``()``
``"Boolean"``          True/False, stored as 0/1, shape ``()``
``n`` (an int)         a vector of length n, shape ``(n,)``
``(n1, n2, ...)``      a tensor; an entry ``None`` is a size not known yet
``("Varying", n)``     a sequence of any length of vectors of length n
``NetEncoder(...)``    what the encoder produces (on an input port)
``NetDecoder(...)``    what the decoder reads (on an output port)
``(n, coder)``         the encoder or decoder mapped over a sequence of
                       n items (Wolfram's ``{n, NetEncoder[...]}``)
=====================  ==========================================

Shapes never include the batch dimension: a batch is the port's shape with one
more leading dimension.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import NetTypeError, ShapeError, describe_shape

__all__ = ["VARYING", "PortType", "port_type", "unify", "UNKNOWN"]

VARYING = "Varying"
_KINDS = ("Real", "Integer", "Boolean")


@dataclass(frozen=True)
class PortType:
    """Per-example type of a port.

    dims : tuple or None
        Per-example shape; ``None`` if even the rank is unknown. Entries are
        ints, ``None`` (size not known yet) or ``"Varying"`` (sequence length).
    kind : {"Real", "Integer", "Boolean"}
    coder : NetEncoder or NetDecoder or None
    """

    dims: tuple | None = None
    kind: str = "Real"
    coder: object = None

    @property
    def rank(self):
        return None if self.dims is None else len(self.dims)

    @property
    def known(self) -> bool:
        """True when every dimension is an int or ``"Varying"``."""
        return self.dims is not None and all(d is not None for d in self.dims)

    @property
    def size(self):
        """Number of elements per example (None unless fully fixed)."""
        if self.dims is None or any(not isinstance(d, int) for d in self.dims):
            return None
        return int(np.prod(self.dims, dtype=int))

    def describe(self) -> str:
        if self.coder is not None:
            return repr(self.coder)
        if self.dims == () and self.kind != "Real":
            kind = self.kind.lower()
            return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
        text = describe_shape(self.dims)
        return text + (f" of {self.kind.lower()}s" if self.kind != "Real" and self.dims else "")

    def spec(self):
        """The compact user-facing form (inverse of :func:`port_type`)."""
        if self.coder is not None:
            return self.coder
        if self.dims is None:
            return None
        if self.dims == ():
            return self.kind
        if len(self.dims) == 1 and isinstance(self.dims[0], int) and self.kind == "Real":
            return self.dims[0]
        return tuple(self.dims)


UNKNOWN = PortType()


def port_type(spec, *, port: str = "port") -> PortType:
    """Parse a user's port specification into a :class:`PortType` (see module doc)."""
    from .coders import NetDecoder, NetEncoder

    if spec is None:
        return UNKNOWN
    if isinstance(spec, PortType):
        return spec
    if isinstance(spec, (NetEncoder, NetDecoder)):
        return PortType(spec.dims, spec.kind, spec)
    if isinstance(spec, str):
        if spec in _KINDS:
            return PortType((), spec)
        if spec == "Scalar":
            return PortType((), "Real")
        if spec == VARYING:
            return PortType((VARYING,))
        raise NetTypeError(
            f"port {port!r}: unknown shape {spec!r}; expected 'Real', 'Integer', 'Boolean', "
            f"an int n, a tuple of dimensions, ('Varying', n), a NetEncoder or a NetDecoder"
        )
    if isinstance(spec, (bool, np.bool_)):
        raise NetTypeError(f"port {port!r}: a shape cannot be {spec!r}")
    if isinstance(spec, (int, np.integer)):
        if spec < 1:
            raise NetTypeError(f"port {port!r}: a vector length must be a positive int, got {spec}")
        return PortType((int(spec),))
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[1], (NetEncoder, NetDecoder)):
        n = spec[0]
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise NetTypeError(f"port {port!r}: in ({n!r}, {spec[1]!r}) the sequence length must be a positive "
                               f"int")
        coder = spec[1].mapped(int(n))
        return PortType(coder.dims, coder.kind, coder)
    if isinstance(spec, (tuple, list)):
        dims = []
        for d in spec:
            if d is None or d == VARYING:
                dims.append(d)
            elif isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1:
                dims.append(int(d))
            else:
                raise NetTypeError(
                    f"port {port!r}: bad dimension {d!r} in {tuple(spec)!r}; expected positive ints, "
                    f"None or 'Varying'"
                )
        return PortType(tuple(dims))
    raise NetTypeError(
        f"port {port!r}: cannot read a shape from {spec!r} of type {type(spec).__name__}"
    )


def _unify_dim(a, b):
    if a is None:
        return b
    if b is None or a == b:
        return a
    if VARYING in (a, b):  # a fixed length fits a varying one
        return a if b == VARYING else b
    raise ValueError


def unify(a: PortType, b: PortType, *, where: str) -> PortType:
    """The most specific type compatible with both, or a ShapeError naming ``where``."""
    if a.dims is None:
        dims = b.dims
    elif b.dims is None:
        dims = a.dims
    else:
        if len(a.dims) != len(b.dims):
            raise ShapeError(f"{where}: got {describe_shape(b.dims)}, expected {describe_shape(a.dims)}")
        try:
            dims = tuple(_unify_dim(x, y) for x, y in zip(a.dims, b.dims))
        except ValueError:
            raise ShapeError(
                f"{where}: got {describe_shape(b.dims)}, expected {describe_shape(a.dims)}"
            ) from None
    kind = a.kind if b.kind == "Real" else b.kind
    coder = a.coder if a.coder is not None else b.coder
    return PortType(dims, kind, coder)


def with_dims(t: PortType, dims) -> PortType:
    return replace(t, dims=None if dims is None else tuple(dims))
