"""Exceptions the library raises on purpose. Everything a user can cause is a ``ValueError``
subclass, so API callers can catch one type; the CLI maps them to exit codes."""
from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence


class InputError(ValueError):
    """Bad user input (a file, an argument, a stream). The message names the problem.

    parameter: the library parameter the message starts with (``stride must be >= 1, got 0``
    has ``parameter="stride"``), or None; mentions: other parameters the message names. The
    library speaks in parameter names; the command line shows its own flags (``for_flags``)."""

    def __init__(self, message: str, parameter: Optional[str] = None, mentions: Sequence[str] = ()):
        super().__init__(message)
        self.parameter = parameter
        self.mentions = tuple(mentions)

    def for_flags(self, flags: Mapping[str, str]) -> str:
        """The message with its leading parameter name replaced by the flag that sets it
        (``flags``: parameter -> flag, e.g. ``{"stride": "--stride"}``); unchanged when the
        parameter has no flag."""
        message = str(self)
        flag = flags.get(self.parameter) if self.parameter else None
        if flag and message.startswith(self.parameter):
            message = flag + message[len(self.parameter):]
        for name in self.mentions:
            if name in flags:
                message = re.sub(rf"(?<![\w-]){re.escape(name)}\b", flags[name], message, count=1)
        return message


def parameter_error(parameter: str, problem: str) -> InputError:
    """``InputError("<parameter> <problem>", parameter)``: the one way the library reports a
    bad argument (``parameter_error("stride", "must be >= 1, got 0")``)."""
    return InputError(f"{parameter} {problem}", parameter)


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
