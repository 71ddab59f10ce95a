"""Readable summaries of layers and nets: ``repr`` and ``_repr_html_``."""
from __future__ import annotations

import html

__all__ = ["layer_repr", "layer_html", "summary_rows"]


def _ports(layer):
    ins = ", ".join(f"{n}: {t.describe()}" for n, t in layer.inputs.items())
    outs = ", ".join(f"{n}: {t.describe()}" for n, t in layer.outputs.items())
    return ins, outs


def _args(layer):
    from .graph import NetGraph

    if isinstance(layer, NetGraph):
        return f"{len(layer.layers)} layer{'s' if len(layer.layers) != 1 else ''}"
    cfg = layer.config()
    parts = []
    for k, v in cfg.items():
        if k == "inputs" and isinstance(v, int):
            continue
        if isinstance(v, str) and v.startswith("<function"):
            parts.append(v)
        elif v is not None:
            parts.append(f"{k}={v!r}" if k not in ("f", "form") else repr(v))
    return ", ".join(parts)


def _status(layer):
    count = layer.parameter_count
    if count is None:
        return "sizes not yet inferred"
    if count == 0:
        return "no parameters"
    return f"{count} parameters" + ("" if layer.initialized else ", uninitialized")


def summary_rows(net):
    """``(name, type and args, output description, parameter count)`` for each layer of a net."""
    rows = []
    for name in net.order:
        layer = net.layers[name]
        outs = "; ".join(f"{p}: {t.describe()}" for p, t in layer.outputs.items())
        rows.append((name, f"{type(layer).__name__}({_args(layer)})", outs, layer.parameter_count))
    return rows


def layer_repr(layer) -> str:
    from .graph import NetGraph

    ins, outs = _ports(layer)
    if not isinstance(layer, NetGraph):
        return f"{type(layer).__name__}({_args(layer)}) <{ins} -> {outs}; {_status(layer)}>"
    lines = [f"{type(layer).__name__} <{_status(layer)}>", f"  inputs:  {ins}", f"  outputs: {outs}"]
    width = max(len(n) for n in layer.layers)
    for name, what, out, count in summary_rows(layer):
        extra = f"  [{count} params]" if count else ""
        lines.append(f"  {name:>{width}}  {what} -> {out}{extra}")
    return "\n".join(lines)


def layer_html(layer) -> str:
    from .graph import NetGraph

    esc = html.escape
    ins, outs = _ports(layer)
    head = (f"<b>{esc(type(layer).__name__)}</b> <small>({esc(_status(layer))})</small><br>"
            f"<small>inputs: {esc(ins)}<br>outputs: {esc(outs)}</small>")
    if not isinstance(layer, NetGraph):
        return f"<div class='lossviz-layer'>{head}</div>"
    rows = "".join(
        f"<tr><td>{esc(n)}</td><td><code>{esc(w)}</code></td><td>{esc(o)}</td><td>{'' if c is None else c}</td></tr>"
        for n, w, o, c in summary_rows(layer)
    )
    return (f"<div class='lossviz-net'>{head}<table><thead><tr><th>layer</th><th>type</th>"
            f"<th>output</th><th>params</th></tr></thead><tbody>{rows}</tbody></table></div>")
