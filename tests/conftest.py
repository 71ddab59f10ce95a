"""Top-level test configuration: headless matplotlib, Hypothesis profiles, and the shared helpers.

Subfolders add their own conftest.py; keep this one to these three things.

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
