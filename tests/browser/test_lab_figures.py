"""Figures as a person sees them in JupyterLab: every figure-making cell shows exactly one image.

Under ``make test`` the notebooks run with the Agg backend (nbval), which cannot see a figure shown
twice (once by its repr, once more by the inline backend flushing pyplot's figures) or not at all.
Here the notebooks run in a real JupyterLab (inline backend) and each code cell's images are
counted (:func:`browser_figures.figure_problems`): one for a cell that ends with a plot or figure,
none for every other cell. Screenshots of each figure cell go to test-artifacts/browser/ (look at them).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from browser_figures import NOTEBOOKS_DIR, code_cells, expected_images, figure_problems

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.mark.parametrize("name, figures", [("00_tour.ipynb", 2), ("06_pictures.ipynb", 14)])
def test_each_figure_cell_shows_exactly_one_image(lab, page, name, figures):
    counted = sum(expected_images(s) for s in code_cells(name))
    assert counted == figures, f"{name}: {counted} figure cells, expected {figures} (update the test)"
    wrong = figure_problems(lab, page, name, "figure")
    assert not wrong, "\n\n".join(wrong)


@pytest.mark.parametrize("name, figures", [("00_tour.ipynb", 2), ("06_pictures.ipynb", 14)])
def test_voila_shows_each_figure_once(voila_factory, page, name, figures):
    """The classroom app (Voila) shows outputs only: as many images as figure cells, no more."""
    assert sum(expected_images(s) for s in code_cells(name)) == figures
    app = voila_factory(NOTEBOOKS_DIR / name)
    app.open(page, timeout=200_000)
    shot = app.screenshot(page, f"voila-figures-{Path(name).stem}")
    errors = app.error_texts(page)
    assert not errors, f"Voila shows an error for {name} (see {shot}):\n" + "\n".join(errors)
    images = page.locator("#rendered_cells .jp-OutputArea-output img").count()
    assert images == figures, f"Voila shows {images} images for {name}, expected {figures} (see {shot})"
