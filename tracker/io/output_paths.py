"""The one output-path rule of every command that writes (``docs/reliability.md``, "Output
paths and locks").

* An output path is resolved (symbolic links followed, ``..`` folded) and refused when it is,
  or would replace, an input of the run: a source, a detection file, gt, a results file,
  weights, a list of sources -- or a file of the installed ``tracker`` package itself.
  "Is" means the same resolved path or the same file (a hard link).
* Names taken from input files (``seqinfo.ini`` ``name=``, video stems) become one path
  component with ``safe_component`` before they name an output.
* With a ``root`` (the output folder), nothing may be written outside it.

A refusal is an ``OutputPathError`` (an ``InputError``: the command line prints one line and
exits 2) naming both paths. Callers check every file they will write -- final names,
``.partial`` names, metadata written beside a weights file -- before writing anything.

Usage::

    guard = OutputGuard(inputs=[gt, *results], root=None)
    guard.check(args.json, "--json")            # raises OutputPathError, or returns the path
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, List, Optional, Union

from tracker.errors import InputError
from tracker.special_paths import describe_special

PathLike = Union[str, os.PathLike]

#: the installed package's own folder: its files are never an output
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: longest name ``safe_component`` returns (file systems allow 255 bytes; suffixes are added)
MAX_COMPONENT_CHARS = 200
_UNSAFE = re.compile(r"[^\w.-]+")
#: the suffix of files being written (the partial-output scheme of ``tracker.io.writers``)
PARTIAL_SUFFIX = ".partial"


class OutputPathError(InputError):
    """An output path that would overwrite an input, a package file, or leave the output folder."""


def safe_component(text: object, fallback: str = "output") -> str:
    """``text`` as one safe path component: runs of characters other than letters, digits,
    ``.``, ``_`` and ``-`` become ``_`` (no ``/``, ``\\`` or control characters survive), leading
    and trailing ``.``/``_``/``-`` are stripped (no ``..``, no hidden names), at most
    ``MAX_COMPONENT_CHARS`` characters; ``fallback`` when nothing is left."""
    name = _UNSAFE.sub("_", str(text)).strip("._-")[:MAX_COMPONENT_CHARS].rstrip("._-")
    return name or fallback


def resolved(path: PathLike) -> Path:
    """``path`` made absolute with symbolic links followed and ``..`` folded (it need not exist)."""
    return Path(os.path.abspath(os.fspath(path))).resolve()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class OutputGuard:
    """Checks output paths against the inputs of one run (see the module doc).

    inputs: every file or folder the run reads (``None`` entries are skipped); root: the
    output folder (outputs must lie inside it), or ``None`` for a free-standing output such as
    ``--json FILE``; protect_package: refuse files of the installed package (default)."""

    def __init__(self, inputs: Iterable[Optional[PathLike]] = (), root: Optional[PathLike] = None,
                 protect_package: bool = True):
        self.inputs: List[Path] = []
        self.add_inputs(inputs)
        self.root = None if root is None else resolved(root)
        self.protect_package = protect_package

    def add_inputs(self, inputs: Iterable[Optional[PathLike]]) -> None:
        """Add more input paths (``None`` entries are skipped)."""
        self.inputs.extend(Path(os.fspath(p)) for p in inputs if p is not None and os.fspath(p) != "")

    def check(self, output: PathLike, what: str = "output") -> Path:
        """Return ``output`` (unchanged) when it may be written; ``OutputPathError`` naming
        ``what`` (an option such as ``--json``, or "output") and both paths otherwise."""
        out = Path(os.fspath(output))
        real = resolved(out)
        if self.root is not None and not _inside(real, self.root):
            raise OutputPathError(f"{what} {out}: is outside the output folder {self.root}; refusing to write it",
                                  what)
        for inp in self.inputs:
            if real == resolved(inp) or _same_file(out, inp):
                raise OutputPathError(f"{what} {out}: would overwrite the input {inp} "
                                      "(refusing to overwrite an input; choose another path)", what)
        if self.protect_package and _inside(real, PACKAGE_DIR):
            raise OutputPathError(f"{what} {out}: is a file of the installed tracker package ({PACKAGE_DIR}); "
                                  "choose another path", what)
        special = describe_special(out)
        if special is not None and os.path.lexists(out):  # a rename would replace the FIFO or device itself
            raise OutputPathError(f"{what} {special}; refusing to replace it with an output file", what)
        return out

    def check_all(self, outputs: Iterable[PathLike], what: str = "output") -> None:
        """``check`` every path of ``outputs``."""
        for out in outputs:
            self.check(out, what)


def check_outputs(outputs: Iterable[Optional[PathLike]], inputs: Iterable[Optional[PathLike]],
                  what: str = "output", root: Optional[PathLike] = None) -> None:
    """One-call form: refuse any of ``outputs`` (``None`` skipped) that breaks the rule."""
    OutputGuard(inputs, root).check_all([o for o in outputs if o is not None], what)


def partial_names(final: PathLike) -> List[Path]:
    """``final`` and the temporary names written before it (``NAME.partial``,
    ``STEM.partial.SUFFIX``), as ``tracker.io.writers`` names them."""
    final = Path(final)
    return [final, final.with_name(final.name + PARTIAL_SUFFIX),
            final.with_name(final.stem + PARTIAL_SUFFIX + final.suffix)]
