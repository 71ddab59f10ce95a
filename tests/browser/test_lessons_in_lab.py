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

import ast
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = sorted(p.name for p in NOTEBOOKS_DIR.glob("2*.ipynb"))

#: a cell that calls one of these and ends with the figure (a name, or the plot call itself) shows one image
FIGURE_CALLS = ("Figure(", "plot_decision_surface(", "loss_shape(", "loss_landscape(", "loss_plot(", "subplots(")
PLOT_FUNCTIONS = {"plot_decision_surface", "loss_shape", "loss_landscape", "loss_plot"}
#: a figure's text repr, shown when the figure itself is not
FIGURE_AS_TEXT = re.compile(r"<(matplotlib\.figure\.)?Figure size [\d.]+x[\d.]+ with \d+ Axes>")

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


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


def test_the_rule_counts_figure_cells():
    assert expected_images("figure = Figure()\nax = figure.add_subplot()\nfigure") == 1
    assert expected_images("loss_shape('mse')") == 1
    assert expected_images("shape = loss_shape('mse')\nassert shape.x.size") == 0
    assert expected_images("x = 1\nx") == 0
    assert expected_images("figure = Figure()\nfigure.savefig('a.png')") == 0


def _figure_problems(lab, page, name, *, at_least_one=False):
    """Run notebook ``name`` in JupyterLab; the list of its cells that show a figure wrongly.

    A cell the rule (:func:`expected_images`) says ends with a figure must show exactly one image;
    with ``at_least_one``, other cells may show at most one (a helper function that returns a figure),
    else none; no cell may show a figure as text.
    """
    sources = [c.source for c in nbformat.read(NOTEBOOKS_DIR / name, as_version=4).cells if c.cell_type == "code"]
    expected = [expected_images(s) for s in sources]
    lab.open_notebook(page, name)
    ok = lab.run_all_cells(page, timeout=240_000)
    shot = lab.screenshot(page, f"lesson-{Path(name).stem}")
    errors = lab.error_outputs(page)
    assert not errors, f"error output in {name} (see {shot}):\n" + "\n---\n".join(errors)
    assert ok, f"JupyterLab reports that running all cells of {name} failed (see {shot})"

    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell")
    assert cells.count() == len(sources), f"{cells.count()} code cells on the page, {len(sources)} in {name}"
    wrong = []
    for i, (source, want) in enumerate(zip(sources, expected)):
        cell = cells.nth(i)
        got = static_images(cell)
        text = " ".join(cell.locator(".jp-OutputArea-output").all_inner_texts())
        if want or got:
            lab.screenshot_element(cell, f"lesson-{Path(name).stem}-cell{i:02d}")
        if got != want and not (at_least_one and not want and got == 1):
            wrong.append(f"code cell {i} shows {got} images, expected {want}:\n{source}")
        if FIGURE_AS_TEXT.search(text):
            wrong.append(f"code cell {i} shows a figure as text ({FIGURE_AS_TEXT.search(text).group(0)}):\n{source}")
        if want and got:
            size = cell.locator(".jp-OutputArea-output img").first.bounding_box()
            if not (size and size["width"] > 300 and size["height"] > 200):
                wrong.append(f"code cell {i}: image too small: {size}")
    return [f"{name} (see {shot}):"] + wrong if wrong else []


@pytest.mark.parametrize("name", LESSONS)
def test_a_lesson_shows_each_figure_once_as_an_image(lab, page, name):
    figures = sum(expected_images(c.source) for c in nbformat.read(NOTEBOOKS_DIR / name, as_version=4).cells
                  if c.cell_type == "code")
    assert figures >= 3, f"{name}: only {figures} figure cells found; the rule above needs updating"
    wrong = _figure_problems(lab, page, name)
    assert not wrong, "\n\n".join(wrong)


#: the reference notebooks (00 and 06 are counted exactly in test_lab_figures.py; 05 is the panel's)
REFERENCE = ["01_loss_function.ipynb", "02_cross_entropy.ipynb", "03_theanets.ipynb", "04_gluon.ipynb",
             "10_losses.ipynb"]


@pytest.mark.parametrize("name", REFERENCE)
def test_a_reference_notebook_shows_no_figure_twice_or_as_text(lab, page, name):
    wrong = _figure_problems(lab, page, name, at_least_one=True)
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
    shown = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-CodeCell")
    counts = [static_images(shown.nth(i)) for i in range(len(cells))]
    texts = [" ".join(shown.nth(i).locator(".jp-OutputArea-output").all_inner_texts()) for i in range(len(cells))]
    assert counts == [0, 1, 1, 1, 1], f"images per cell {counts} (see {shot}); outputs: {texts}"
    assert not any(FIGURE_AS_TEXT.search(t) for t in texts), texts
