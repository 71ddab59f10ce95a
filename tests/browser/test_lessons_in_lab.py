"""The lessons (notebooks/2*.ipynb) and the reference notebooks as a student sees them in JupyterLab:
each figure exactly once, as an image.

``make test`` runs the notebooks under Agg (nbval), which cannot tell a figure shown as a PNG from one
shown as the text ``<Figure size 1300x420 with 2 Axes>`` (what a pyplot-free ``Figure`` returned from
a cell shows when the inline backend's formatter was never registered), nor a figure shown twice.
Here each lesson runs in a real JupyterLab (inline backend) and every code cell's images are counted:
one for a cell that draws a figure and ends with it, none for any other cell; no cell shows a figure
as text. In the reference notebooks (01-04, 10) a cell that calls a helper returning a figure may show
one image too. Screenshots of the figure cells go to test-artifacts/browser/ (look at them).
"""
from __future__ import annotations

import nbformat
import pytest
from browser_figures import CODE_CELLS, FIGURE_AS_TEXT, NOTEBOOKS_DIR, code_cells, expected_images, figure_problems, \
    static_images

LESSONS = sorted(p.name for p in NOTEBOOKS_DIR.glob("2*.ipynb"))

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


def test_the_rule_counts_figure_cells():
    assert expected_images("figure = Figure()\nax = figure.add_subplot()\nfigure") == 1
    assert expected_images("loss_shape('mse')") == 1
    assert expected_images("shape = loss_shape('mse')\nassert shape.x.size") == 0
    assert expected_images("x = 1\nx") == 0
    assert expected_images("figure = Figure()\nfigure.savefig('a.png')") == 0


@pytest.mark.parametrize("name", LESSONS)
def test_a_lesson_shows_each_figure_once_as_an_image(lab, page, name):
    figures = sum(expected_images(s) for s in code_cells(name))
    assert figures >= 3, f"{name}: only {figures} figure cells found; the rule (browser_figures.py) needs updating"
    wrong = figure_problems(lab, page, name, "lesson")
    assert not wrong, "\n\n".join(wrong)


#: the reference notebooks (00 and 06 are counted exactly in test_lab_figures.py; 05 is the panel's)
REFERENCE = ["01_loss_function.ipynb", "02_cross_entropy.ipynb", "03_theanets.ipynb", "04_gluon.ipynb",
             "10_losses.ipynb"]


@pytest.mark.parametrize("name", REFERENCE)
def test_a_reference_notebook_shows_no_figure_twice_or_as_text(lab, page, name):
    wrong = figure_problems(lab, page, name, "lesson", at_least_one=True)
    assert not wrong, "\n\n".join(wrong)


def test_a_pyplot_free_figure_shows_as_one_image_without_matplotlib_inline(lab_factory, page, tmp_path):
    """The lessons' pattern (``figure = Figure(...)``, ..., ``figure``) in a student's own notebook that never
    ran ``%matplotlib inline``: after ``import lossviz`` the figure is an image, not "<Figure size ...>" text,
    and still exactly one image once pyplot's inline backend is set up."""
    cells = [
        "import lossviz\nfrom matplotlib.figure import Figure",
        "figure = Figure(figsize=(5, 3.5))\nax = figure.add_subplot()\nax.plot([0, 1, 4], label='a line')\n"
        "ax.set(xlabel='x', ylabel='y')\nfigure",
        "shape = lossviz.loss_shape('mse')\nshape",
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nsecond = Figure(figsize=(5, 3.5))\n"
        "second.add_subplot().plot([4, 1, 0])\nsecond",
        "fig, ax = plt.subplots(figsize=(5, 3.5))\nax.plot([1, 2, 3]);",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, tmp_path / "plain_figure.ipynb")

    lab = lab_factory(tmp_path)
    lab.open_notebook(page, "plain_figure.ipynb")
    ok = lab.run_all_cells(page)
    shot = lab.screenshot(page, "plain-figure")
    assert ok and not lab.error_outputs(page), f"see {shot}"
    shown = page.locator(CODE_CELLS)
    counts = [static_images(shown.nth(i)) for i in range(len(cells))]
    texts = [" ".join(shown.nth(i).locator(".jp-OutputArea-output").all_inner_texts()) for i in range(len(cells))]
    assert counts == [0, 1, 1, 1, 1], f"images per cell {counts} (see {shot}); outputs: {texts}"
    assert not any(FIGURE_AS_TEXT.search(t) for t in texts), texts
