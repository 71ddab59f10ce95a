"""Counting a notebook's figures as a person sees them in JupyterLab (shared by the browser tests).

A cell that draws a figure and ends with it shows exactly one image; every other cell none; no cell
shows a figure as the text ``<Figure size 1300x420 with 2 Axes>`` (what a pyplot-free ``Figure``
returned from a cell shows when the inline backend's formatter was never registered). Under
``make test`` the notebooks also run with Agg (nbval), which can see neither mistake.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"

#: a cell that calls one of these and ends with the figure (a name, or the plot call itself) shows one image
FIGURE_CALLS = ("Figure(", "plot_decision_surface(", "loss_shape(", "loss_landscape(", "loss_plot(", "subplots(",
                ".update(")
PLOT_FUNCTIONS = {"plot_decision_surface", "loss_shape", "loss_landscape", "loss_plot"}
#: a figure's text repr, shown when the figure itself is not
FIGURE_AS_TEXT = re.compile(r"<(matplotlib\.figure\.)?Figure size [\d.]+x[\d.]+ with \d+ Axes>")
#: the code cells of the notebook JupyterLab shows
CODE_CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell"


def code_cells(name: str) -> list[str]:
    """The sources of the code cells of ``notebooks/<name>``."""
    return [c.source for c in nbformat.read(NOTEBOOKS_DIR / name, as_version=4).cells if c.cell_type == "code"]


def expected_images(source: str) -> int:
    """1 if the cell draws a figure and ends with an expression that is it (a name or a plot call), else 0."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return 0
    if not body or not isinstance(body[-1], ast.Expr) or not any(call in source for call in FIGURE_CALLS):
        return 0
    last = body[-1].value
    if isinstance(last, ast.Name):
        return 1
    if isinstance(last, ast.Call):
        name = last.func.id if isinstance(last.func, ast.Name) else getattr(last.func, "attr", "")
        return int(name in PLOT_FUNCTIONS)
    return 0


def static_images(cell) -> int:
    """The images a cell's outputs show, not counting those inside widget views (a panel's live frames)."""
    return cell.evaluate("""(cell) => [...cell.querySelectorAll('.jp-OutputArea-output img')]
        .filter((img) => !img.closest('.jupyter-widgets, .widget-output'))
        .length""")


def figure_problems(lab, page, name: str, shots: str, *, at_least_one: bool = False) -> list[str]:
    """Run ``notebooks/<name>`` in JupyterLab; the list of its cells that show a figure wrongly (empty: none).

    A cell the rule (:func:`expected_images`) says ends with a figure must show exactly one image of a
    readable size; with ``at_least_one``, other cells may show at most one (a helper function that
    returns a figure), else none; no cell may show a figure as text. Screenshots: the notebook as
    ``<shots>-<stem>``, each cell with an image as ``<shots>-<stem>-cell<i>``.
    """
    sources = code_cells(name)
    expected = [expected_images(s) for s in sources]
    stem = Path(name).stem
    lab.open_notebook(page, name)
    ok = lab.run_all_cells(page, timeout=240_000)
    shot = lab.screenshot(page, f"{shots}-{stem}")
    errors = lab.error_outputs(page)
    assert not errors, f"error output in {name} (see {shot}):\n" + "\n---\n".join(errors)
    assert ok, f"JupyterLab reports that running all cells of {name} failed (see {shot})"

    cells = page.locator(CODE_CELLS)
    assert cells.count() == len(sources), f"{cells.count()} code cells on the page, {len(sources)} in {name}"
    wrong = []
    for i, (source, want) in enumerate(zip(sources, expected)):
        cell = cells.nth(i)
        got = static_images(cell)
        text = " ".join(cell.locator(".jp-OutputArea-output").all_inner_texts())
        if want or got:
            lab.screenshot_element(cell, f"{shots}-{stem}-cell{i:02d}")
        if got != want and not (at_least_one and not want and got == 1):
            wrong.append(f"code cell {i} shows {got} images, expected {want}:\n{source}")
        if FIGURE_AS_TEXT.search(text):
            wrong.append(f"code cell {i} shows a figure as text ({FIGURE_AS_TEXT.search(text).group(0)}):\n{source}")
        if want and got:
            size = cell.locator(".jp-OutputArea-output img").first.bounding_box()
            if not (size and size["width"] > 300 and size["height"] > 200):
                wrong.append(f"code cell {i}: image too small: {size}")
    return [f"{name} (see {shot}):"] + wrong if wrong else []
