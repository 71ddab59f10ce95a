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
