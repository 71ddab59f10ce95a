"""The live views: loss curves and a decision surface rendered to JPEG bytes, and the throttle.

Drawing path (measured in headless Chromium, see ``benchmarks/PANEL_RESULTS.md``): each view is
rendered to JPEG bytes in Python and set as the value of an ``ipywidgets.Image``; ipympl's canvas
tops out at 6-7 frames/s on these machines, and a whole frame here costs about 10 ms of CPU.

* :class:`SurfaceRenderer` colours the net's outputs on a grid straight into packed pixels, no
  matplotlib: the fused float32 forward on the 200 x 200 grid (about 3 ms), a 256-entry table of
  :func:`lossviz.plot.surface_colors`, each grid point enlarged to 2 x 2 pixels, the data points
  stamped as discs whose radius grows with each example's current loss, one JPEG encode.
* :class:`CurveRenderer` draws the loss curves with matplotlib's Agg canvas, blitting: the axes,
  ticks, legend and change marks are rendered only when they change (a new curve or mark, data
  beyond the limits, or loose limits); a frame restores that background and draws only the lines.
* :class:`Redrawer` throttles: :meth:`Redrawer.maybe_draw` draws in the caller's (training) thread
  when a frame is due, at most ``max_fps`` a second and within a share ``budget`` of the thread's
  time; :meth:`Redrawer.request` asks its own thread for a frame when nothing trains. Drawing in
  the training thread avoids two threads trading the GIL (measured: 0.5 s frames that way).

Nothing here imports ipywidgets; matplotlib and Pillow are imported when a renderer is made.
"""
from __future__ import annotations

import io
import math
import threading
import time
from array import array

import numpy as np

__all__ = ["pack_rgb", "unpack_rgb", "packed_colors", "fast_colors", "mark_label",
           "CurveHistory", "CurveRenderer", "SurfaceRenderer", "Redrawer", "encode_jpeg", "data_limits",
           "point_losses"]

#: colours of the loss terms (matplotlib's tab10 without blue, kept for the surface's first class)
TERM_COLORS = ["#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff7f0e"]


def encode_jpeg(rgb, quality=90) -> bytes:
    """JPEG bytes of an RGB (rows, cols, 3) uint8 array (or a Pillow image)."""
    from PIL import Image

    image = rgb if hasattr(rgb, "save") else Image.fromarray(np.ascontiguousarray(rgb))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def data_limits(X, pad=0.1):
    """Square plot limits ((x0, x1), (y0, y1)) around the points X (n, 2), padded by ``pad`` of the range."""
    X = np.asarray(X, dtype=float)
    lo, hi = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    centre, half = (lo + hi) / 2, max(float(np.max(hi - lo)) / 2, 1e-3) * (1 + 2 * pad)
    return (centre[0] - half, centre[0] + half), (centre[1] - half, centre[1] + half)


def point_losses(net, spec, arrays):
    """The total loss of every example, shape (n,): ``sum over terms of scale * loss_term(example)``.

    ``arrays`` are the port arrays :func:`lossviz.train.data.read_data` returns for ``spec``. The net is
    evaluated once (float64, no gradient); a term on a loss port reads the port, summed over its
    elements. Non-finite values are returned as they are.
    """
    inputs = {p: arrays[p] for p in net.inputs if p in arrays}
    with np.errstate(all="ignore"):
        outputs = net.apply(net.params, inputs)
        n = len(next(iter(arrays.values())))
        total = np.zeros(n)
        for term in spec.terms:
            value = np.asarray(outputs[term.port], dtype=float)
            if term.loss is not None:
                feed = {"Input": value}
                if term.target is not None:
                    feed["Target"] = arrays[term.target]
                if term.weight and "Weight" in arrays:
                    feed["Weight"] = arrays["Weight"]
                value = np.asarray(term.loss.apply(getattr(term.loss, "params", None) or {}, feed)[
                    next(iter(term.loss.outputs))], dtype=float)
            total += term.scale * value.reshape(n, -1).sum(axis=1)
    return total


# ---------------------------------------------------------------------------- surface


def _lookup_tables():
    """256-entry colour tables of :func:`lossviz.plot.surface_colors` for one and two output values."""
    from ..plot.surface import surface_colors

    p = np.linspace(0.0, 1.0, 256)
    two = surface_colors(np.stack([1 - p, p], axis=-1)[None])[0]
    one = surface_colors(p[None, :, None])[0]
    return (np.round(one * 255).astype(np.uint8), np.round(two * 255).astype(np.uint8))


_TABLES = None


def colour_index(values):
    """Each point's entry (uint8) in the 256-entry colour table of its number of values (1 or 2).

    Two class probabilities: ``255 * p1 / (p0 + p1)``; one value: scaled to [0, 255] over the grid.
    """
    values = np.asarray(values)
    with np.errstate(all="ignore"):
        if values.shape[-1] == 2:
            total = values[..., 0] + values[..., 1]
            w = np.divide(values[..., 1], total, out=np.full(total.shape, 0.5), where=total > 0)
        else:
            v = values[..., 0]
            finite = v[np.isfinite(v)]
            lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
            w = (v - lo) / (hi - lo) if hi > lo else np.full(v.shape, 0.5)
        w = np.clip(w, 0.0, 1.0, out=w if w.dtype == np.float64 else None)
        w[np.isnan(w)] = 0.5
        return (w * 255 + 0.5).astype(np.uint8)


def colour_table(k):
    """The 256 x 3 uint8 colour table for 1 or 2 values per point (see :func:`colour_index`)."""
    global _TABLES
    if _TABLES is None:
        _TABLES = _lookup_tables()
    return _TABLES[k - 1]


def pack_rgb(rgb) -> np.ndarray:
    """RGB uint8 (..., 3) -> one little-endian uint32 per pixel holding the bytes R, G, B, 255."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    packed = np.empty(rgb.shape[:-1] + (4,), np.uint8)
    packed[..., :3], packed[..., 3] = rgb, 255
    return packed.view("<u4")[..., 0]


def unpack_rgb(packed) -> np.ndarray:
    """The RGB uint8 (rows, cols, 3) view of packed pixels (see :func:`pack_rgb`)."""
    packed = np.ascontiguousarray(packed, dtype="<u4")
    return packed.view(np.uint8).reshape(packed.shape + (4,))[..., :3]


def packed_colors(values, repeat=1) -> np.ndarray:
    """:func:`fast_colors` as packed pixels (rows * repeat, cols * repeat) uint32, C-contiguous.

    One uint32 per pixel makes enlarging (each grid point ``repeat`` x ``repeat`` pixels, one
    broadcast copy) and stamping points (one store per pixel) several times cheaper than on RGB triples.
    """
    values = np.asarray(values)
    if values.shape[-1] > 2:
        small = pack_rgb(fast_colors(values))
    else:
        small = _packed_table(values.shape[-1])[colour_index(values)]
    rows, cols = small.shape
    out = np.empty((rows, repeat, cols, repeat), "<u4")
    out[...] = small[:, None, :, None]
    return out.reshape(rows * repeat, cols * repeat)


_PACKED_TABLES: dict = {}


def _packed_table(k):
    if k not in _PACKED_TABLES:
        _PACKED_TABLES[k] = pack_rgb(colour_table(k))
    return _PACKED_TABLES[k]


def fast_colors(values, repeat=1) -> np.ndarray:
    """RGB uint8 (rows * repeat, cols * repeat, 3) of a surface's values, coloured as
    :func:`lossviz.plot.surface_colors` colours them, each grid point ``repeat`` x ``repeat`` pixels.

    One or two values per point (a scalar output, two class probabilities) go through a 256-entry
    colour table (the same colours to within 1/255 of the colour scale, several times faster);
    more classes use ``surface_colors`` itself.
    """
    from ..plot.surface import surface_colors

    values = np.asarray(values)
    k = values.shape[-1]
    if k > 2:
        rgb = (surface_colors(values) * 255).astype(np.uint8)
        return np.repeat(np.repeat(rgb, repeat, axis=0), repeat, axis=1) if repeat > 1 else rgb
    rgb = colour_table(k)[colour_index(values)]
    return np.repeat(np.repeat(rgb, repeat, axis=0), repeat, axis=1) if repeat > 1 else rgb


class SurfaceRenderer:
    """A net's decision surface with the training points on it, as JPEG bytes.

    Parameters
    ----------
    X : (n, 2) the points to draw; labels : (n,) integer classes (colours) or None (grey points).
    xlim, ylim : the plotted region (default: :func:`data_limits` of X).
    resolution : grid points per axis the net is evaluated on (200: 40,000 evaluations).
    repeat : pixels per grid point along each axis (the image is ``resolution * repeat`` pixels wide;
        the page scales it to the width it is shown at).
    output : the output port to show when the net has several.
    """

    def __init__(self, X, labels=None, *, xlim=None, ylim=None, resolution=200, repeat=2, output=None):
        self.X = np.asarray(X, dtype=float)
        if self.X.ndim != 2 or self.X.shape[1] != 2:
            from ..errors import ShapeError

            raise ShapeError(f"SurfaceRenderer: X must be points of shape (n, 2), got shape {self.X.shape}")
        if xlim is None or ylim is None:
            dx, dy = data_limits(self.X)
            xlim, ylim = xlim or dx, ylim or dy
        self.xlim, self.ylim = tuple(map(float, xlim)), tuple(map(float, ylim))
        self.resolution, self.repeat, self.output = int(resolution), int(repeat), output
        self.size = self.resolution * self.repeat
        self.labels = None if labels is None else np.asarray(labels)
        # pixel coordinates of the points (y grows upwards in the plot, downwards in the image)
        (x0, x1), (y0, y1) = self.xlim, self.ylim
        self._px = (self.X[:, 0] - x0) / (x1 - x0) * (self.size - 1)
        self._py = (1 - (self.X[:, 1] - y0) / (y1 - y0)) * (self.size - 1)
        self._colors = self._point_colors()
        self._packed_point_colors = pack_rgb(self._colors)
        self._grid = None
        self.last_packed = None

    def _point_colors(self):
        from ..plot.surface import CLASS_COLORS

        n = len(self.X)
        if self.labels is None or self.labels.dtype.kind not in "iub" or self.labels.ndim != 1:
            return np.tile([[110, 110, 110]], (n, 1)).astype(np.uint8)
        return (CLASS_COLORS[self.labels.astype(int) % len(CLASS_COLORS)] * 255).astype(np.uint8)

    @staticmethod
    def radii(losses, base=3.5, most=12.0):
        """Point radii in pixels: ``base + 3 * sqrt(loss)``, capped at ``most``; ``base`` where unknown."""
        if losses is None:
            return None
        r = base + 3.0 * np.sqrt(np.clip(np.nan_to_num(np.asarray(losses, float), nan=0.0, posinf=16.0), 0, None))
        return np.minimum(r, most)

    def values(self, net) -> np.ndarray:
        """The net's output on the grid, (resolution, resolution, k), rows running over y.

        A plain chain is evaluated by :class:`lossviz.train.fused.FusedForward` in float32 on one
        thread (the frame is drawn in the training thread, which must not wait for a helper
        thread); other nets by :func:`lossviz.plot.decision_surface`.
        """
        from ..plot.surface import decision_surface
        from ..train.blas import BlasThreads
        from ..train.fused import FusedForward

        if self.output is None and len(net.outputs) == 1:
            if self._grid is None:
                xs = np.linspace(*self.xlim, self.resolution)
                ys = np.linspace(*self.ylim, self.resolution)
                self._grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
            try:
                forward = FusedForward(net, "Real32", threads=1)
            except ValueError:  # not a plain chain of known layers
                pass
            else:
                with BlasThreads(1):
                    return forward(self._grid).reshape(self.resolution, self.resolution, -1)
        with BlasThreads(1):
            return decision_surface(net, self.xlim, self.ylim, self.resolution, output=self.output).values

    def rgb(self, net, losses=None) -> np.ndarray:
        """The frame as an RGB array (size, size, 3) uint8: surface, then points (radius by ``losses``).

        Each grid point is ``repeat`` x ``repeat`` pixels (the browser smooths the image when it
        scales it); the points are stamped as discs with a dark rim, the largest
        (worst-fitted) last so they stay visible.
        """
        return np.ascontiguousarray(unpack_rgb(self.packed(net, losses)))

    def packed(self, net, losses=None) -> np.ndarray:
        """The frame as packed pixels (size, size) uint32 (see :func:`pack_rgb`)."""
        image = packed_colors(self.values(net)[::-1], self.repeat)  # row 0 at the top
        radii = self.radii(losses)
        if radii is None:
            radii = np.full(len(self.X), 3.5)
        _stamp_discs(image, self._px, self._py, radii, self._packed_point_colors)
        self.last_packed = image
        return image

    def render(self, net, losses=None, quality=88) -> bytes:
        """JPEG bytes of the frame (encoded from the packed pixels, no RGB copy)."""
        from PIL import Image

        image = self.packed(net, losses)
        height, width = image.shape
        return encode_jpeg(Image.frombuffer("RGBX", (width, height), image, "raw", "RGBX", 0, 1), quality)


_DISCS: dict = {}


def _disc(radius):
    """Pixel offsets (k, 2) of a disc of ``radius`` (in half pixels), cached."""
    key = round(radius * 2) / 2
    if key not in _DISCS:
        r = int(np.ceil(key))
        dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
        inside = dx * dx + dy * dy <= key * key + 0.25
        _DISCS[key] = np.stack([dy[inside], dx[inside]], axis=1)
    return _DISCS[key]


#: the rim colour of the points, packed (see :func:`pack_rgb`)
RIM = int(pack_rgb(np.array([40, 40, 40])))


def _stamp_discs(image, px, py, radii, colors, rim=RIM):
    """Draw discs with a one-pixel ``rim`` into packed pixels ``image`` (rows, cols) in place, smallest first.

    ``colors``: the packed fill colour of each point. Discs of the same radius (to a pixel) are
    stamped together: one flat-indexed store for their rims, and one per fill colour.
    """
    if image.ndim != 2 or not image.flags.c_contiguous:
        raise ValueError("_stamp_discs draws in place on packed pixels: a C-contiguous (rows, cols) array")
    height, width = image.shape
    flat = image.reshape(-1)
    keys = np.maximum(np.round(np.asarray(radii)), 1.0)
    cy, cx = np.round(py).astype(np.intp), np.round(px).astype(np.intp)
    palette, which = np.unique(np.asarray(colors), return_inverse=True)
    which = which.reshape(-1)

    def pixels(members, offsets):
        y = cy[members, None] + offsets[None, :, 0]
        x = cx[members, None] + offsets[None, :, 1]
        ok = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        return (y * width + x)[ok]

    for key in np.unique(keys):  # ascending: big discs are drawn over small ones
        members = np.flatnonzero(keys == key)
        flat[pixels(members, _disc(key))] = rim
        inner = _disc(key - 1.0) if key > 1 else _disc(0.5)
        for c in np.unique(which[members]):
            flat[pixels(members[which[members] == c], inner)] = palette[c]


# ---------------------------------------------------------------------------- loss curves


#: the most points a panel's loss curve keeps (CurveHistory; a 500-pixel plot draws 1000 of them)
CURVE_POINTS = 4000


class CurveHistory:
    """What the loss curves show, filled from training events (thread-safe).

    ``series[name] = (xs, ys)`` (float64 ``array('d')``) with x in rounds (fractional within a round).
    Names: ``"total"``, ``"validation"``, each sub-loss ``"<name>"`` (unscaled) and ``"<name> x<scale>"``
    (scaled, only when the scale is not 1). ``marks`` lists ``(x, text)`` for specification changes.

    ``limit`` (default :data:`CURVE_POINTS`; None keeps every point) bounds the points a curve keeps,
    so that a panel left training keeps bounded memory: a curve with more is thinned to a min-max
    envelope (:func:`lossviz.train.history.envelope_rows`: the first and the newest point and the
    lowest and highest of every stretch of rounds, at their own x), which draws as the whole curve
    does (the renderer draws at most ``max_points`` of them, see :func:`thin_curve`).
    """

    def __init__(self, limit=CURVE_POINTS):
        self.lock = threading.Lock()
        self.limit = None if limit is None else max(4, int(limit))
        self.series: dict = {}
        self.marks: list = []
        self._widths: dict = {}  # bucket width (rounds) of each thinned curve
        self.version = 0  # bumped when a series or mark is added (the background must be redrawn)

    def clear(self):
        with self.lock:
            self.series, self.marks, self._widths = {}, [], {}
            self.version += 1

    def _add(self, name, x, y):
        if y is None or not math.isfinite(y):
            return
        s = self.series.get(name)
        if s is None:
            s = self.series[name] = (array("d"), array("d"))
            self.version += 1
        s[0].append(x)
        s[1].append(y)
        if self.limit is not None and len(s[0]) > self.limit:
            self._thin(name)

    def _thin(self, name):
        from ..train.history import thin_rows

        xs, ys = (np.frombuffer(a, dtype=float) for a in self.series[name])
        keep, self._widths[name] = thin_rows(xs, [ys], self.limit // 2, self._widths.get(name, 1))
        thinned = array("d", xs[keep].tobytes()), array("d", ys[keep].tobytes())
        del xs, ys  # the arrays' buffers are exported while numpy views them
        self.series[name] = thinned

    def add_round(self, x, total, sub_losses, scales, validation=None):
        """One point per curve at round ``x``; ``scales`` maps sub-loss name -> its scale."""
        with self.lock:
            self._add("total", x, total)
            if len(sub_losses) > 1 or any(scales.get(k, 1.0) != 1.0 for k in sub_losses):
                for k, v in sub_losses.items():
                    r = scales.get(k, 1.0)
                    self._add(k, x, v)
                    if r not in (0.0, 1.0):  # a term scaled by 0 is off: its unscaled curve is enough
                        self._add(f"{k} \u00d7{r:g}", x, v * r)
            self._add("validation", x, validation)

    def add_mark(self, x, text):
        with self.lock:
            self.marks.append((float(x), str(text)))
            self.version += 1

    def snapshot(self):
        """(series copy as arrays, marks copy, version)."""
        with self.lock:
            series = {k: (np.array(xs), np.array(ys)) for k, (xs, ys) in self.series.items()}
            return series, list(self.marks), self.version

    def last(self, name="total"):
        with self.lock:
            s = self.series.get(name)
            return s[1][-1] if s and s[1] else None


def mark_label(description, most=48):
    """The text of a change mark: what a change led to (``'Output': A -> B`` gives ``'Output' -> B``)."""
    parts = []
    for part in description.split("; "):
        if " -> " in part and ": " in part:
            port, rest = part.split(": ", 1)
            part = f"{port}: \u2192 {rest.rsplit(' -> ', 1)[1]}"
        parts.append(part)
    text = "; ".join(parts)
    return text if len(text) <= most else text[:most - 1] + "\u2026"


def thin_curve(x, y, max_points=1000):
    """At most about ``max_points`` points of a curve that look the same drawn (a min-max envelope):
    :func:`lossviz.train.history.envelope_points`. Drawing thousands of rounds costs Agg time in
    proportion to the points; a 500-pixel-wide plot cannot show more than this anyway."""
    from ..train.history import envelope_points

    return envelope_points(x, y, max_points)


class CurveRenderer:
    """Loss curves (rounds on x, loss on a log axis while every value is positive) as JPEG bytes.

    A full render (axes, ticks, legend, marks) happens only when the limits no longer hold the data,
    a curve or mark appears, or (at most every ``refit_seconds``) the data fill less than a third of
    the loss axis, as they do once the loss has fallen a few decades; other frames
    blit the lines onto the saved background.
    """

    def __init__(self, width=540, height=300, dpi=100, refit_seconds=3.0, *, ylabel="loss (mean per example)",
                 xlabel="round (passes over the training data)"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        # fixed margins: a layout engine would re-solve the layout on every full render
        self.figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
        self.figure.subplots_adjust(left=70 / width, right=1 - 12 / width, bottom=44 / height, top=1 - 10 / height)
        self.canvas = FigureCanvasAgg(self.figure)
        self.ax = self.figure.add_subplot()
        self.refit_seconds = refit_seconds
        self.max_points = 1000  # per curve drawn (see thin_curve)
        self.xlabel, self.ylabel = xlabel, ylabel
        self._subs = None  # the log axis's ticks per decade (_space_log_ticks)
        self._lines: dict = {}
        self._decorations: list = []
        self._background = None
        self._key = None
        self._fitted_at = 0.0
        self.full_renders = 0
        self.frames = 0

    # styles: total black, validation grey dotted, scaled terms solid, unscaled terms dashed
    def _style(self, name, index):
        if name == "total":
            return dict(color="black", lw=1.8, label="total")
        if name == "validation":
            return dict(color="0.45", lw=1.4, ls=":", label="validation")
        base = name.split(" \u00d7")[0]
        color = TERM_COLORS[hash(base) % len(TERM_COLORS)] if index is None else TERM_COLORS[index % len(TERM_COLORS)]
        scaled = " \u00d7" in name
        return dict(color=color, lw=1.2, ls="-" if scaled else "--", label=name if scaled else f"{name} (unscaled)")

    def _limits(self, series):
        xs = [x for x, _ in series.values() if len(x)]
        ys = [y for _, y in series.values() if len(y)]
        if not xs:
            return (0, 10), (0.1, 10), True
        xmax = max(float(x.max()) for x in xs)
        xmin = min(float(x.min()) for x in xs)
        ally = np.concatenate(ys)
        log = bool(np.all(ally > 0))
        lo, hi = float(ally.min()), float(ally.max())
        if log:  # a decade of room below: a falling loss re-fits the axes rarely
            ylim = (lo / 10, hi * 1.5)
        else:
            pad = 0.1 * (hi - lo) or 0.5
            ylim = (lo - pad, hi + pad)
        return (min(0.0, xmin), max(10.0, 2.0 * xmax)), ylim, log

    def _fits(self, series):
        (x0, x1), (y0, y1) = self.ax.get_xlim(), self.ax.get_ylim()
        for x, y in series.values():
            if len(x) and (x.max() > x1 or y.min() < y0 or y.max() > y1):
                return False
        return True

    def _loose(self, series):
        """True when the data span less than a third of the loss axis (or of the round axis)."""
        ys = [y for _, y in series.values() if len(y)]
        if not ys:
            return False
        ally = np.concatenate(ys)
        (x0, x1), (y0, y1) = self.ax.get_xlim(), self.ax.get_ylim()
        xmax = max(float(x.max()) for x, _ in series.values() if len(x))
        if self.ax.get_yscale() == "log" and np.all(ally > 0):
            span = np.log(ally.max() / ally.min()) / np.log(y1 / y0)
        else:
            span = (ally.max() - ally.min()) / (y1 - y0)
        return bool(span < 1 / 3 or xmax < x1 / 3)

    def _setup_axes(self, log):
        """Scale, labels and tick formatting; done once per scale (``set_yscale`` rebuilds the ticks)."""
        ax = self.ax
        ax.set_yscale("log" if log else "linear")
        self._subs = None  # set_yscale made new ticks: _space_log_ticks places them
        if log:  # plain tick labels: mathtext exponents cost tens of ms per full render
            from matplotlib.ticker import FuncFormatter

            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.minorticks_off()
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        ax.grid(True, which="major", color="0.9", lw=0.6)
        self._log = log

    def _full_render(self, series, marks):
        """Re-fit the limits, rebuild lines, marks and legend, render everything but the lines."""
        ax = self.ax
        for artist in [*self._lines.values(), *self._decorations]:
            artist.remove()
        self._lines, self._decorations = {}, []
        xlim, ylim, log = self._limits(series)
        if log != getattr(self, "_log", None):
            self._setup_axes(log)
        names = list(series)
        terms = sorted({n.split(" \u00d7")[0] for n in names if n not in ("total", "validation")})
        for name in names:
            base = name.split(" \u00d7")[0]
            index = terms.index(base) if base in terms else None
            (line,) = ax.plot([], [], animated=True, **self._style(name, index))
            self._lines[name] = line
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        if log:
            self._space_log_ticks(ylim)
        for x, text in marks[-8:]:
            self._decorations.append(ax.axvline(x, color="#7f7f7f", lw=0.8, ls="-."))
            self._decorations.append(ax.annotate(
                mark_label(text), (x, 0.98), xycoords=("data", "axes fraction"), xytext=(-2, 0),
                textcoords="offset points", fontsize=7, color="0.25", va="top", ha="right", rotation=90,
                annotation_clip=True))
        if self._lines:
            self._decorations.append(ax.legend(handles=list(self._lines.values()), loc="upper right", fontsize=7.5,
                                               frameon=False))
        else:
            self._decorations.append(ax.text(0.5, 0.5, "press Train", transform=ax.transAxes, ha="center",
                                             color="0.5"))
        self.canvas.draw()
        self._fit_left_margin()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self._fitted_at = time.monotonic()
        self.full_renders += 1

    def _space_log_ticks(self, ylim):
        """Ticks at 1, 2 and 5 times each power of ten while they are at least 16 pixels apart, else at the
        powers alone (a loss that fell four decades in a small plot would stack a dozen labels)."""
        from matplotlib.ticker import LogLocator

        decades = np.log10(ylim[1] / ylim[0])
        pixels = self.ax.bbox.height
        subs = (1.0, 2.0, 5.0) if 3 * decades * 16 <= pixels else (1.0,)
        if subs != self._subs:
            self.ax.yaxis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
            self._subs = subs

    def _fit_left_margin(self):
        """Widen the fixed left margin (and draw again) when the tick labels push the axis label out.

        Wide labels (0.0005, -0.0125) need more than the 70 pixels a plot starts with; the margin only
        grows, so it settles after a render or two instead of re-solving a layout every time.
        """
        outside = -self.ax.get_tightbbox(self.canvas.get_renderer()).x0  # pixels beyond the left edge
        left = self.figure.subplotpars.left
        if outside > 0 and left < 0.4:
            self.figure.subplots_adjust(left=min(0.4, left + (outside + 4) / self.figure.bbox.width))
            self.canvas.draw()

    def rgb(self, history: CurveHistory) -> np.ndarray:
        """The frame as an RGB array (height, width, 3) uint8."""
        return np.asarray(self.image(history))

    def _draw_frame(self, history):
        series, marks, version = history.snapshot()
        key = (version, tuple(series))
        stale = time.monotonic() - self._fitted_at > self.refit_seconds and self._loose(series)
        if self._background is None or key != self._key or not self._fits(series) or stale:
            self._full_render(series, marks)
            self._key = key
        else:
            self.canvas.restore_region(self._background)
        for name, line in self._lines.items():
            x, y = series.get(name, ((), ()))
            line.set_data(*thin_curve(x, y, self.max_points))
            self.ax.draw_artist(line)
        self.frames += 1

    def image(self, history: CurveHistory):
        """The frame as a Pillow RGB image."""
        from PIL import Image

        self._draw_frame(history)
        width, height = self.canvas.get_width_height(physical=True)
        return Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).convert("RGB")

    def render(self, history: CurveHistory, quality=92) -> bytes:
        """JPEG bytes of the frame."""
        return encode_jpeg(self.image(history), quality)


# ---------------------------------------------------------------------------- throttling


class Redrawer:
    """Throttled drawing: ``draw()`` at most ``max_fps`` times a second, and within a time budget.

    Two ways in: :meth:`maybe_draw` (from the training thread, after a batch: draws there if a
    frame is due) and :meth:`request` (from anywhere: the redrawer's own thread draws soon; for
    frames when nothing trains). Requests made while a frame is being drawn are merged into the
    next frame, never queued. ``draw`` exceptions go to ``on_error``. :meth:`close` ends the thread.
    """

    def __init__(self, draw, *, max_fps=25.0, budget=0.3, on_error=None, name="lossviz-redraw"):
        self.draw = draw
        self.min_interval = 1.0 / float(max_fps)
        self.budget = float(budget)
        self._next = 0.0
        self.on_error = on_error
        self._wanted = threading.Event()
        self._draw_lock = threading.Lock()  # one frame at a time, from the thread or from flush()
        self._closed = False
        self.frames = 0
        self.draw_seconds = 0.0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def request(self):
        """Ask the drawing thread for a frame (cheap: sets a flag)."""
        self._wanted.set()

    def maybe_draw(self, *args):
        """Draw ``draw(*args)`` now, in the caller's thread, if a frame is due; else return False at once.

        This is what a training thread calls after each batch: one thread doing both avoids the two
        threads trading the GIL (measured: frames took 0.5 s that way). A frame is due ``1/max_fps``
        after the last one, and later when frames are slow, so that drawing takes at most
        ``budget`` of the time (training keeps the rest).
        """
        now = time.monotonic()
        if now < self._next or not self._draw_lock.acquire(blocking=False):
            return False
        try:
            self._wanted.clear()
            try:
                self.draw(*args)
            except Exception as e:  # noqa: BLE001 - reported, training goes on
                if self.on_error is not None:
                    self.on_error(e)
        finally:
            self._draw_lock.release()
        end = time.monotonic()
        self.frames += 1
        self.draw_seconds += end - now
        self._next = now + max(self.min_interval, (end - now) / self.budget)
        return True

    def _loop(self):
        last = 0.0
        while not self._closed:
            self._wanted.wait()
            if self._closed:
                break
            wait = last + self.min_interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._wanted.clear()
            start = time.monotonic()
            with self._draw_lock:
                try:
                    self.draw()
                except Exception as e:  # noqa: BLE001 - reported, the view keeps running
                    if self.on_error is not None:
                        self.on_error(e)
            last = time.monotonic()
            self.frames += 1
            self.draw_seconds += last - start

    def flush(self):
        """Draw now in the caller's thread, after any frame in progress (final frames, tests)."""
        with self._draw_lock:
            self._wanted.clear()
            self.draw()
            self.frames += 1

    @property
    def alive(self):
        return self._thread.is_alive()

    def close(self, timeout=2.0):
        self._closed = True
        self._wanted.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
