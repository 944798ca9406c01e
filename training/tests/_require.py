"""Skip on a developer's machine, fail under CI: the one rule for tests that need something not always there.

A test that needs a fixture file (``test/fixtures/...``), the demo samples (``resources/demo``) or an optional
module (onnx, pydicom) is skipped when that is missing, with a reason naming it. When the environment variable
``CI`` is set (non-empty) the same test FAILS with that message instead: a CI run must never pass by skipping.
(Opt-in tests such as the ``SIGHTLINE_SLOW=1`` full-size export are not "missing" anything and stay plain skips.)

    from _require import needs, require, require_module

    @needs(GOLDEN, TINY, what="the golden fixture")   # a pytest mark (conftest.py: skip, or fail before fixtures)
    def test_x(golden): ...

    pytestmark = needs(path)                           # every test of a module

    def test_y():
        onnx = require_module("onnx")                  # inside a test: the module, or skip / fail
        require(path, what="...")                      # inside a test or a fixture

Under CI a missing requirement shows up as an error in the test's setup (``Failed: CI is set ...``) or as a
failure of its body; either way pytest exits non-zero and prints what is missing.
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import List, Sequence, Union

import pytest

PathLike = Union[str, "os.PathLike[str]"]

MARK = "needs"


def in_ci() -> bool:
    """True when the environment variable CI is set to anything non-empty (as CI services and `.ci/run` do)."""
    return bool(os.environ.get("CI", "").strip())


def missing_paths(paths: Sequence[PathLike]) -> List[str]:
    return [str(p) for p in paths if not Path(p).exists()]


def message(missing: Sequence[str], what: str = "") -> str:
    lead = f"{what}: " if what else ""
    return f"{lead}missing {', '.join(missing)}"


def report(missing: Sequence[str], what: str = "") -> None:
    """Skip (locally) or fail (under CI) naming what is missing; returns only when nothing is."""
    __tracebackhide__ = True  # pytest reports the skip/failure at the calling test, not here
    if not missing:
        return
    msg = message(missing, what)
    if in_ci():
        pytest.fail(f"CI is set, so a missing requirement fails instead of skipping: {msg}", pytrace=False)
    pytest.skip(msg)


def needs(*paths: PathLike, what: str = "") -> pytest.MarkDecorator:
    """A mark: the test needs these files/directories (checked now, reported by conftest.py at setup)."""
    return getattr(pytest.mark, MARK)(missing=tuple(missing_paths(paths)), what=what)


def require(*paths: PathLike, what: str = "") -> None:
    """Inside a test or fixture: skip (or fail under CI) unless every path exists."""
    __tracebackhide__ = True
    report(missing_paths(paths), what)


def require_module(name: str, what: str = "") -> ModuleType:
    """``pytest.importorskip`` that fails under CI: the imported module, or skip / fail naming it."""
    __tracebackhide__ = True
    try:
        return importlib.import_module(name)
    except ImportError as e:
        problem = f"Python module {name!r} ({e})"
    report([problem], what)  # skips or fails
    raise AssertionError("not reached")
