"""One error type for bad input: it names the file and what is wrong with it."""
from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Raised for unusable input; the message always starts with the offending file (if any)."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(problem if path is None else f"{path}: {problem}")


class UsageError(ValueError):
    """Raised for a setting or argument a user gave that cannot work (a flag, a config field, a
    session's input); the command line prints it as one line, like a DataError."""
