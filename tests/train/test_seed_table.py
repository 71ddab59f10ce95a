"""The README's table of the five pages (cell by cell) is true: every row's cell exists, stands under the page's sentence, and its unit test exists.

The table maps each example of the five seed pages to a code cell of a notebook (``In [n]``, 1-based over
code cells). A row's cell must be preceded (in the markdown since the code cell before it) by the page's
text: the sentence itself for the Wolfram pages, most of its words for the theanets and Gluon pages, whose
rows quote code as well as prose.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "README.md"  # its section "The five pages, cell by cell"


def _sections():
    """``[(notebook path, [(sentence, first cell number, unit tests)])]`` from the table's sections."""
    sections = []
    for block in re.split(r"^#{2,3} ", TABLE.read_text(encoding="utf-8"), flags=re.M)[1:]:
        match = re.search(r"`(notebooks/[\w.]+\.ipynb)`", block.splitlines()[0])
        if not match:
            continue
        rows = []
        for line in block.splitlines():
            cells = [c.strip() for c in re.split(r"\s\|\s", line.strip().strip("|"))]  # not `<|...|>`
            if len(cells) == 4 and re.match(r"\d+\b", cells[2]):
                rows.append((cells[1], int(re.match(r"\d+", cells[2]).group()), cells[3]))
        sections.append((ROOT / match.group(1), rows))
    return sections


SECTIONS = _sections()


def _code_cells_with_text_above(path):
    """For each code cell (1-based), the markdown between it and the code cell before it."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    out, above = [], []
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            above.append(text)
        elif cell["cell_type"] == "code":
            out.append(" ".join(above))
            above = []
    return out


#: words too common on these pages to tell one example from another
COMMON = {"loss", "losses", "function", "functions", "with", "that", "this", "from", "into", "each", "their"}


def _words(text, least=4):
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) >= least} - COMMON


def test_the_table_covers_the_five_pages():
    names = [path.name for path, _ in SECTIONS]
    assert names == ["01_loss_function.ipynb", "02_cross_entropy.ipynb", "03_theanets.ipynb", "04_gluon.ipynb"]
    # 25 Basic Example sentences; 6 Basic Example sentences and 8 Details; 16 theanets and 23 Gluon examples
    assert all(len(rows) >= least for (_, rows), least in zip(SECTIONS, [25, 14, 16, 23]))


def _share(sentence, text):
    """The share of the sentence's words (code in backticks included) found in ``text``."""
    quoted = sentence.split(" (")[0].strip("` ")
    wanted = _words(quoted) or _words(quoted, least=2) or {quoted.lower()}  # "L1 Loss": {"l1"}; "`Loss`"
    found = _words(text, least=2) | {w.lower() for w in re.findall(r"`(\w+)`", text)}
    return len(wanted & found) / len(wanted)


@pytest.mark.parametrize("path, rows", SECTIONS, ids=[p.stem for p, _ in SECTIONS])
def test_each_row_names_a_cell_under_its_sentence(path, rows):
    above = _code_cells_with_text_above(path)
    for sentence, cell, _ in rows:
        assert 1 <= cell <= len(above), f"{path.name}: cell {cell} of a row '{sentence}' does not exist"
        share = _share(sentence, above[cell - 1])
        assert share >= 0.5, f"{path.name} cell {cell}: the text above it does not quote '{sentence}'"
        neighbours = [_share(sentence, above[c - 1]) for c in (cell - 1, cell + 1) if 1 <= c <= len(above)]
        assert share >= max(neighbours, default=0), f"{path.name}: '{sentence}' is quoted nearer another cell"


@pytest.mark.parametrize("path, rows", SECTIONS, ids=[p.stem for p, _ in SECTIONS])
def test_each_rows_unit_test_exists(path, rows):
    for _, _, tests in rows:
        for file, name in re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", tests):
            source = (ROOT / file).read_text(encoding="utf-8")
            assert name is None or re.search(rf"def {name}\b", source), f"no test {file}::{name}"
