"""Graceful stop: SIGTERM (the app's cancel) and, with ``--watch-stdin``, the end of stdin (the app died).

The signal handler raises ``Stopped`` at once in the main thread (a long U-Net call ends first: Python runs handlers
between bytecodes), so latent inversion, validation or the current optimiser step are abandoned. Code that must not
be cut in half runs inside ``critical()``: the optimiser step with its step counter, a protocol line, a checkpoint
write. A stop arriving there is raised when the section ends. The caller then writes the checkpoint of the last
completed step and exits with ``Stopped.code``: 143 (128 + SIGTERM) or 3 (stdin closed).

The stdin watcher is a daemon thread reading stdin to its end; at EOF it interrupts the main thread with the same
handler (``_thread.interrupt_main(SIGTERM)``), so both paths behave the same way.
"""
from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
from typing import Iterator, Optional

CODES = {"sigterm": 143, "stdin": 3}
MESSAGES = {"sigterm": "stopped by SIGTERM", "stdin": "stopped: stdin closed (the launching app is gone)"}


class Stopped(BaseException):
    """Raised in the main thread on a stop request. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` on the way swallows it."""

    def __init__(self, reason: str):
        super().__init__(MESSAGES[reason])
        self.reason = reason
        self.code = CODES[reason]


class StopGuard:
    def __init__(self) -> None:
        self.reason: Optional[str] = None
        self._depth = 0
        self._raised = False

    def install(self, watch_stdin: bool = False, stream=None) -> "StopGuard":
        """Handle SIGTERM (main thread only); with ``watch_stdin``, watch ``stream`` (default: stdin) for its end."""
        signal.signal(signal.SIGTERM, self._on_signal)
        if watch_stdin:
            threading.Thread(target=self._watch, args=(stream or sys.stdin,), name="stdin-watch", daemon=True).start()
        return self

    def _watch(self, stream) -> None:
        try:
            src = stream.buffer if hasattr(stream, "buffer") else stream
            while src.read(1 << 16):
                pass
        except (OSError, ValueError):
            pass  # a closed or unreadable stdin counts as the end
        if self.reason is None:
            self.reason = "stdin"
        _thread.interrupt_main(signal.SIGTERM)

    def _on_signal(self, signum, frame) -> None:
        if self.reason is None:
            self.reason = "sigterm"
        if self._depth == 0:
            self._raise()

    def _raise(self) -> None:
        if self._raised:  # a second signal while stopping changes nothing
            return
        self._raised = True
        raise Stopped(self.reason or "sigterm")

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        """No stop is raised inside; one that arrived meanwhile is raised when the outermost section ends."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if self._depth == 0 and self.reason is not None:
            self._raise()

    @property
    def requested(self) -> bool:
        return self.reason is not None


GUARD = StopGuard()  # the process's guard: main() installs it, the Tuner's critical sections use it
