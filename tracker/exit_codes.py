"""Process exit codes of the ``track`` command (documented in the README and
``docs/reliability.md``)."""

OK = 0
INTERNAL_ERROR = 1
BAD_INPUT = 2  # a user mistake: bad argument, missing/unreadable/malformed file, bad source
INCOMPLETE = 3  # the run finished but stopped early (e.g. the video stopped decoding mid-way)
INTERRUPTED_SIGINT = 130
INTERRUPTED_SIGTERM = 143
