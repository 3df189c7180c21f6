"""The one piece of stage boilerplate: argument parsing, params loading, logging and exit codes.

Each `stages/<name>.py` declares its path flags and a `main(ctx) -> str` body, then calls `run_stage`.
The body reads with `io`, calls the pure core and writes with `io`; the string it returns is logged
as the stage's one-line summary.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stylecluster import config
from stylecluster import storage
from stylecluster.errors import StyleclusterError

log = logging.getLogger("stylecluster.stage")


def configure_logging(verbose: bool = False) -> None:
    """Log to stderr; only entry points call this."""
    logging.basicConfig(
        level=logging.WARNING,  # third-party libraries (great-expectations, dvc) stay quiet
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    logging.getLogger("stylecluster").setLevel(logging.DEBUG if verbose else logging.INFO)


@dataclass(frozen=True)
class StageContext:
    """What a stage body receives: its paths, its typed params section and the base section."""

    name: str
    paths: argparse.Namespace
    params: Any
    base: config.BaseParams
    raw_params: dict[str, Any]


def run_stage(
    name: str,
    body: Callable[[StageContext], str],
    *,
    paths: Sequence[str],
    doc: str | None = None,
    argv: Sequence[str] | None = None,
) -> None:
    """Parse `--<path>` flags, load params, run `body` and log its summary.

    Args:
        name: The stage name (= params section = dvc.yaml stage).
        body: The stage's main function; returns a one-line summary.
        paths: Names of the required path flags, e.g. ("raw", "out").
        doc: Help text (the stage script's docstring).
        argv: Arguments (defaults to sys.argv[1:]).

    A StyleclusterError (bad input or params) is logged with its message and exits with status 1;
    any other exception propagates with its traceback, since it is a bug. When this process was
    started to run the stage script (`python stages/<name>.py`), it then ends through `leave`,
    without interpreter teardown; called in-process (tests, runpy), it returns or raises SystemExit.
    """
    parser = argparse.ArgumentParser(prog=f"stages/{name}.py", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in paths:
        parser.add_argument(f"--{flag}", required=True, type=Path, metavar="PATH")
    parser.add_argument("--params", default="params.yaml", type=Path,
                        help="params file (default: params.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        raw_params = storage.read_params(args.params)
        config.check_sections(raw_params, str(args.params))
        section = config.load_section(raw_params, name) if name in config.SECTIONS else None
        ctx = StageContext(name, args, section, config.load_section(raw_params, "base"), raw_params)
        summary = body(ctx)
    except StyleclusterError as exc:
        log.error("%s failed: %s", name, exc)
        if _is_stage_process(name):
            leave(1)
        sys.exit(1)
    log.info("%s: %s", name, summary)
    if _is_stage_process(name):
        leave(0)


def _is_stage_process(name: str) -> bool:
    """Whether the interpreter was started on stages/<name>.py (sys.orig_argv, which runpy keeps).

    STYLECLUSTER_SOFT_EXIT=1 turns the hard exit off, for tools that write at interpreter exit
    (`python -m cProfile stages/...`, coverage).
    """
    if os.environ.get("STYLECLUSTER_SOFT_EXIT") == "1":
        return False
    return any(Path(arg).name == f"{name}.py" and Path(arg).parent.name == "stages"
               for arg in sys.orig_argv[1:])


def leave(code: int) -> None:
    """End the stage process now: flush the logs and streams, then `os._exit(code)`.

    pyarrow's C++ thread pools can abort a process while Python tears itself down (SIGABRT,
    "terminate called without an active exception", apache/arrow#34314): seen here once in about
    400 stage runs, on a stage that had finished. A stage that did its work must not fail DVC for
    that, and by now every output is written and closed (io renames complete files into place).
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
