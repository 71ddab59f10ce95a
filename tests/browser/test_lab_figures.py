"""Figures as a person sees them in JupyterLab: every figure-making cell shows exactly one image.

Under ``make test`` the notebooks run with the Agg backend (nbval), which cannot see a figure shown
twice (once by its repr, once more by the inline backend flushing pyplot's figures) or not at all.
Here the notebooks run in a real JupyterLab (inline backend) and each code cell's images are
counted: one for a cell that ends with a plot or figure, none for every other cell.
Screenshots of each figure cell go to test-artifacts/browser/ (look at them).
"""
from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"

#: a cell that calls one of these and ends with a bare name shows that plot (or figure) as one image
FIGURE_CALLS = ("plot_decision_surface(", "loss_shape(", "loss_landscape(", "loss_plot(", "subplots(", ".update(")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def expected_images(source: str) -> int:
    """1 if the cell draws a figure and ends with an expression that names it, else 0."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return 0
    ends_with_name = bool(body) and isinstance(body[-1], ast.Expr) and isinstance(body[-1].value, ast.Name)
    return int(ends_with_name and any(call in source for call in FIGURE_CALLS))


def _code_cells(name):
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("name, figures", [("00_tour.ipynb", 2), ("06_pictures.ipynb", 14)])
def test_each_figure_cell_shows_exactly_one_image(lab, page, name, figures):
    sources = _code_cells(name)
    expected = [expected_images(s) for s in sources]
    assert sum(expected) == figures, f"{name}: {sum(expected)} figure cells, expected {figures} (update the test)"

    lab.open_notebook(page, name)
    ok = lab.run_all_cells(page, timeout=200_000)
    shot = lab.screenshot(page, f"figures-{Path(name).stem}")
    errors = lab.error_outputs(page)
    assert not errors, f"error output in {name} (see {shot}):\n" + "\n---\n".join(errors)
    assert ok, f"JupyterLab reports that running all cells of {name} failed (see {shot})"

    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell")
    assert cells.count() == len(sources), f"{cells.count()} code cells on the page, {len(sources)} in {name}"
    wrong = []
    for i, (source, want) in enumerate(zip(sources, expected)):
        cell = cells.nth(i)
        got = cell.locator(".jp-OutputArea-output img").count()
        if want:
            lab.screenshot_element(cell, f"figure-{Path(name).stem}-cell{i:02d}")
        if got != want:
            wrong.append(f"code cell {i} shows {got} images, expected {want}:\n{source}")
        if want:
            size = cell.locator(".jp-OutputArea-output img").first.bounding_box()
            assert size and size["width"] > 300 and size["height"] > 200, f"cell {i}: image too small: {size}"
    assert not wrong, f"{name} (see {shot}):\n\n" + "\n\n".join(wrong)


@pytest.mark.parametrize("name, figures", [("00_tour.ipynb", 2), ("06_pictures.ipynb", 14)])
def test_voila_shows_each_figure_once(voila_factory, page, name, figures):
    """The classroom app (Voila) shows outputs only: as many images as figure cells, no more."""
    assert sum(expected_images(s) for s in _code_cells(name)) == figures
    app = voila_factory(NOTEBOOKS_DIR / name)
    app.open(page, timeout=200_000)
    shot = app.screenshot(page, f"voila-figures-{Path(name).stem}")
    errors = app.error_texts(page)
    assert not errors, f"Voila shows an error for {name} (see {shot}):\n" + "\n".join(errors)
    images = page.locator("#rendered_cells .jp-OutputArea-output img").count()
    assert images == figures, f"Voila shows {images} images for {name}, expected {figures} (see {shot})"
