"""The tour notebook, as a person sees it: in a real JupyterLab and in the Voila classroom app.

Screenshots land in test-artifacts/browser/ (gitignored): look at them.
"""
from pathlib import Path

import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"

TOUR = "00_tour.ipynb"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_tour_runs_in_jupyterlab(lab, page):
    lab.open_notebook(page, TOUR)
    ok = lab.run_all_cells(page)
    shot = lab.screenshot(page, "lab-00_tour")

    errors = lab.error_outputs(page)
    assert not errors, f"error output in {TOUR} (see {shot}):\n" + "\n---\n".join(errors)
    assert ok, f"JupyterLab reports that running all cells of {TOUR} failed (see {shot})"
    assert lab.output_count(page) >= 1, f"no cell output rendered (see {shot})"


def test_tour_renders_in_voila(voila_factory, page):
    app = voila_factory(NOTEBOOKS_DIR / TOUR)
    app.open(page)
    shot = app.screenshot(page, "voila-00_tour")

    errors = app.error_texts(page)
    assert not errors, f"Voila shows an error for {TOUR} (see {shot}):\n" + "\n".join(errors)
    assert page.locator("#rendered_cells .jp-OutputArea-output").count() >= 1, (
        f"Voila rendered no output for {TOUR} (see {shot})"
    )
