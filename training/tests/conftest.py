"""Test-wide hooks. Imports of the packages need no path tricks: training/pyproject.toml sets pytest's pythonpath."""
import pytest

import _require


def _needs_marks(item):
    for mark in item.iter_markers(name=_require.MARK):
        yield tuple(mark.kwargs.get("missing", ())), mark.kwargs.get("what", "")


def pytest_collection_modifyitems(items):
    """Locally, a ``_require.needs`` mark with something missing becomes a plain skip (reported at the test)."""
    if _require.in_ci():
        return
    for item in items:
        for missing, what in _needs_marks(item):
            if missing:
                item.add_marker(pytest.mark.skip(reason=_require.message(missing, what)))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Under CI, fail a test whose ``needs`` mark names something missing, before any fixture runs."""
    if not _require.in_ci():
        return  # skipped through the mark added at collection
    for missing, what in _needs_marks(item):
        _require.report(missing, what)
