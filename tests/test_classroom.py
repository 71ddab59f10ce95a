"""A class of 300: one student's kernel stays within the memory budget docs/classroom.md sizes nodes with."""
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import classroom  # noqa: E402


def test_the_documented_budget_is_the_tested_one():
    doc = (ROOT / "docs" / "classroom.md").read_text()
    assert re.search(rf"\b{classroom.BUDGET_MIB} MiB\b", doc), "docs/classroom.md must state the budget the test uses"


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_kernel_with_a_training_panel_stays_within_the_memory_budget():
    pytest.importorskip("ipywidgets")
    r = classroom.measure(seconds=20)
    memory = r["memory_mib"]
    assert r["rounds"] > 10, f"the panel did not train: {r}"
    assert memory["training, peak"] < classroom.BUDGET_MIB, f"a student's kernel used {memory} MiB"
    # no leak while training: the last sample is not far above the panel's start
    assert memory["training, last"] < memory["panel made"] + 100, memory


def test_the_documented_history_bound_is_the_panels():
    # docs/classroom.md sizes a kernel whose panel trains without end by the panel's history limits
    pytest.importorskip("ipywidgets")
    from lossviz.widgets.panel import HISTORY_LIMIT, TrainingPanel
    from lossviz.widgets.views import CURVE_POINTS

    doc = (ROOT / "docs" / "classroom.md").read_text()
    assert f"history_limit={HISTORY_LIMIT:_}" in doc and f"at most {CURVE_POINTS:,} points" in doc
    assert TrainingPanel.__init__.__kwdefaults__["history_limit"] == HISTORY_LIMIT
    assert "TrainingPanel(" in classroom.PANEL and "history_limit" not in classroom.PANEL  # the default is measured
