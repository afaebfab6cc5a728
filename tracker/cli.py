"""``track`` command line: ``track SOURCE [options]`` or ``track SUBCOMMAND [options]``.

Dispatch rule: the first argument is a subcommand only when it is exactly one of the names
in ``SUBCOMMANDS``; anything else is a SOURCE (``track ./eval`` tracks a file named eval).
Each subcommand lives in its own module under ``tracker.commands`` exposing
``configure(parser)`` and ``run(args) -> int`` and is imported only when used.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from typing import List, Optional

from tracker import exit_codes
from tracker.errors import InputError
from tracker.commands.option_types import check_option_types
from tracker.commands.startup_signals import DeferredInterrupts

SUBCOMMANDS = {
    "mot": ("tracker.commands.mot", "track MOTChallenge sequences from their detection files"),
    "eval": ("tracker.commands.evaluate", "evaluate results against ground truth (HOTA, CLEAR, Identity)"),
    "link": ("tracker.commands.link", "one id per person over several videos or result folders"),
    "report": ("tracker.commands.report", "an HTML report of a results folder: identities, crops, timelines"),
    "bench": ("tracker.commands.bench", "benchmark ours against established trackers side by side"),
    "train": ("tracker.commands.train", "train the contrastive appearance embedder on unlabeled video"),
    "embed-eval": ("tracker.commands.embed_eval", "evaluate an embedder: re-ID retrieval and linear probe"),
    "train-associator": ("tracker.commands.train_associator", "train the Transformer associator"),
    "batch": ("tracker.commands.batch", "track many sources in parallel (process pool or Ray)"),
}
SOURCE_COMMAND = "tracker.commands.video"

TOP_HELP = """usage: track SOURCE [options]          track a video, frame folder, webcam index or URL
       track SUBCOMMAND [options]      see below; 'track SUBCOMMAND --help' for details

identitrack: multi-object tracking that keeps identities.

subcommands:
{commands}

exit codes: 0 success, 2 bad input or unusable output (not writable, disk full),
            3 stopped early (partial results kept), 130 interrupted (Ctrl-C),
            143 terminated (SIGTERM), 1 internal error (a bug: the traceback is shown).
Run 'track SOURCE --help' for the options of the main command.
"""


def _top_help() -> str:
    width = max(len(n) for n in SUBCOMMANDS)
    lines = [f"  {name.ljust(width)}  {desc}" for name, (_, desc) in SUBCOMMANDS.items()]
    return TOP_HELP.format(commands="\n".join(lines))


#: library parameter names whose command-line option has another name
PARAMETER_DESTS = {"timeout_s": "timeout", "retry_backoff_s": "retry_backoff", "overrides": "set", "gt_path": "gt",
                   "results_path": "results"}


def flags_of(parser: argparse.ArgumentParser) -> dict:
    """Library parameter -> the flag that sets it in ``parser`` (``{"stride": "--stride"}``):
    the library names parameters in its errors, the command line shows its flags."""
    by_dest = {action.dest: max(action.option_strings, key=len)
               for action in parser._actions if action.option_strings}  # noqa: SLF001 - argparse has no public list
    flags = dict(by_dest)
    for parameter, dest in PARAMETER_DESTS.items():
        if dest in by_dest:
            flags[parameter] = by_dest[dest]
    for action in parser._actions:  # noqa: SLF001 - switches: --no-video sets video=False, --wait wait=True
        if action.option_strings and isinstance(action, argparse._StoreTrueAction):  # noqa: SLF001
            flag = max(action.option_strings, key=len)
            flags[f"{action.dest[3:]}=False" if action.dest.startswith("no_") else f"{action.dest}=True"] = flag
    return flags


def _load(module_name: str):
    return importlib.import_module(module_name)


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``track`` with ``argv`` (default: the process arguments) and return the exit code."""
    as_program = argv is None
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    finally:
        if as_program:
            _ignore_late_signals()


def _ignore_late_signals() -> None:
    """The command is over and its files are final: a Ctrl-C or SIGTERM arriving now, while
    the interpreter exits, must not print a traceback (only when ``track`` is the program)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                signal.signal(sig, signal.SIG_IGN)
            except (OSError, ValueError):  # pragma: no cover - exotic platforms
                pass


def _main(argv: List[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(_top_help())
        return exit_codes.OK if argv else exit_codes.BAD_INPUT
    if argv[0] in SUBCOMMANDS:
        module_name, desc = SUBCOMMANDS[argv[0]]
        prog, rest = f"track {argv[0]}", argv[1:]
    else:
        module_name, desc, prog, rest = SOURCE_COMMAND, "track a video source", "track", argv
    with DeferredInterrupts() as startup:  # Ctrl-C while modules load: a clean exit 130 below
        try:
            module = _load(module_name)
        except ImportError as exc:
            print(f"track: the '{prog}' command is not available: {exc}", file=sys.stderr)
            return exit_codes.INTERNAL_ERROR
        parser = argparse.ArgumentParser(prog=prog, description=getattr(module, "DESCRIPTION", desc),
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        module.configure(parser)
        check_option_types(parser)
        try:
            args = parser.parse_args(rest)
        except SystemExit as exc:  # argparse already printed usage
            return exit_codes.OK if exc.code == 0 else exit_codes.BAD_INPUT
        preload = getattr(module, "preload", None)  # the heavy modules run() needs, loaded here
        if preload is not None and startup.exit_code is None:
            try:
                preload(args)
            except ImportError as exc:
                print(f"track: the '{prog}' command is not available: {exc}", file=sys.stderr)
                return exit_codes.INTERNAL_ERROR
    if startup.exit_code is not None:
        print(f"{prog}: interrupted while starting; nothing was done", file=sys.stderr)
        return startup.exit_code
    try:
        return int(module.run(args) or 0)
    except InputError as exc:
        print(f"{prog}: error: {exc.for_flags(flags_of(parser))}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return exit_codes.INTERRUPTED_SIGINT
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early: not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return exit_codes.OK
    except OSError as exc:  # a path the OS refuses (name too long, no permission, read-only, full): not a bug
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"{prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return exit_codes.BAD_INPUT
    except Exception:  # noqa: BLE001 - an internal error: show the traceback, it is a bug report
        traceback.print_exc()
        print(f"{prog}: internal error (please report it with the traceback above)", file=sys.stderr)
        return exit_codes.INTERNAL_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
