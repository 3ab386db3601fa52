"""The ``commitrules`` logger: silent unless the application (or ``commitrules -v``) asks.

Every module logs through ``logging.getLogger(__name__)``, a child of ``commitrules``. The
package adds a :class:`logging.NullHandler` to that logger, as a library should: where the
application configures no logging, nothing is printed (Python's last-resort handler would
otherwise print warnings to stderr). What is logged:

- WARNING: state dropped, for example rules that start fresh when a snapshot is restored
  into a pack whose rules changed (``Engine.restore``); a pack entry point that does not
  point at a pack.
- INFO: a pack loaded (id, version, profile, content hash, where from).
- DEBUG: nothing yet that a user needs.

>>> import logging
>>> logging.getLogger("commitrules").handlers
[<NullHandler (NOTSET)>]
"""

from __future__ import annotations

import logging
import sys

__all__ = ["LOGGER_NAME", "log_to_stderr", "stop_logging_to_stderr"]

LOGGER_NAME = "commitrules"
_logger = logging.getLogger(LOGGER_NAME)
_logger.addHandler(logging.NullHandler())


class _StderrHandler(logging.Handler):
    """Writes records to whatever stderr is when they are emitted (click's, not a stale one)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - a logging handler must not raise (logging's rule)
            self.handleError(record)


def log_to_stderr(verbosity: int) -> None:
    """Show the ``commitrules`` logger's records on stderr: 1 INFO and up, 2 or more DEBUG.

    Used by ``commitrules -v``; an application configures :mod:`logging` itself instead.
    """
    stop_logging_to_stderr()
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("commitrules: %(levelname)s: %(message)s"))
    _logger.addHandler(handler)
    _logger.setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)


def stop_logging_to_stderr() -> None:
    """Undo :func:`log_to_stderr` (the command line calls it when a command ends)."""
    for handler in list(_logger.handlers):
        if isinstance(handler, _StderrHandler):
            _logger.removeHandler(handler)
    _logger.setLevel(logging.NOTSET)
