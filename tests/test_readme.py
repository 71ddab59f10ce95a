"""The README stays true: its code runs, its loss table is the registry, its course lists every notebook."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_readme_opens_with_the_two_setup_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).splitlines()
    assert [line.split()[:2] for line in first_block] == [["make", "lab"], ["make", "test"]]


@pytest.mark.parametrize("block", [b for b in re.findall(r"```python\n(.*?)```", README, re.S)],
                         ids=lambda b: b.splitlines()[0][:40])
def test_the_readme_python_examples_run(block):
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    for value in namespace.values():
        close = getattr(value, "close", None)
        if type(value).__name__ in ("TrainingPanel", "Playground", "LossExplorer") and close:
            close()


def test_the_loss_table_is_the_registry():
    from lossviz import losses

    rows = re.findall(r"^\| `([a-z0-9_]+)` \| `(\w+)` \|", README, re.M)
    assert rows == [(e.name, e.layer.__name__) for e in losses.catalogue() if e.builtin]


def test_the_course_lists_every_notebook():
    listed = set(re.findall(r"^\| `(\d\d_\w+)` \|", README, re.M))
    present = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert listed == present


def test_the_linked_documents_exist():
    for link in re.findall(r"\]\(((?:docs|notebooks|benchmarks)/[^)#]+)\)", README):
        assert (ROOT / link).exists(), link
