"""Exceptions the library raises on purpose. Everything a user can cause is a ``ValueError``
subclass, so API callers can catch one type; the CLI maps them to exit codes."""
from __future__ import annotations


class InputError(ValueError):
    """Bad user input (a file, an argument, a stream). The message names the problem."""


class FileFormatError(InputError):
    """A malformed line in a text file; the message starts with ``file:line``."""

    def __init__(self, path, line_no: int, text: str, problem: str):
        self.path = str(path)
        self.line_no = line_no
        self.text = text
        self.problem = problem
        shown = text if len(text) <= 120 else text[:117] + "..."
        super().__init__(f"{self.path}:{line_no}: {problem}: {shown!r}")


class InputTypeError(InputError, TypeError):
    """A user-supplied callable or value of the wrong type (e.g. a detector returning a string):
    an ``InputError`` for callers who catch ``ValueError``, and still a ``TypeError``."""
