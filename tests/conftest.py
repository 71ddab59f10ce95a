"""Top-level test configuration: headless matplotlib, Hypothesis profiles, the shared helpers, and the
start of the Binder build (see tests/test_binder.py).

Subfolders add their own conftest.py; keep this one to these four things.

The helpers next to this file (``tolerance.py``: "equal up to rounding") are plain modules. This
folder is put on ``sys.path`` here so that every test folder can ``from tolerance import ...``,
whatever pytest's ``--import-mode``.
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")

from hypothesis import settings  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

settings.register_profile("ci", deadline=None, derandomize=True, max_examples=50, print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=50)
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev")


def pytest_collection_finish(session):
    """Start building the fresh Binder environment (minutes of pip) only when its test will run,
    as soon as collection ends, so that the build overlaps with the rest of the suite."""
    for item in session.items:
        start = getattr(getattr(item, "module", None), "start_binder_build", None)
        if start is not None and "fresh_binder_environment" in item.name:
            start()
            return
