"""Port descriptions read as English."""
import pytest

from lossviz.net.ports import PortType


@pytest.mark.parametrize("kind, text", [("Integer", "an integer"), ("Boolean", "a boolean")])
def test_scalar_kinds_take_the_right_article(kind, text):
    assert PortType((), kind).describe() == text
