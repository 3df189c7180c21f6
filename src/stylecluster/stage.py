"""The one piece of stage boilerplate: argument parsing, params loading, logging and exit codes.

Each `stages/<name>.py` declares its path flags, the params sections it reads and a
`main(ctx) -> str` body, then calls `run_stage`. The body reads with `storage`, calls the pure core
and writes with `storage`; the string it returns is logged as the stage's one-line summary.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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


class UndeclaredSectionError(LookupError):
    """A stage read a params section it does not declare (a bug: DVC would not track the values)."""


@dataclass(frozen=True)
class StageContext:
    """What a stage body receives: its path flags, its declared params sections and `runtime`.

    Sections are read through `section(name)` (or the `params` and `base` shortcuts), which records
    every read and refuses a section the stage did not declare in `run_stage(sections=...)`: the
    declared list is exactly the stage's `params:` in dvc.yaml (tests/unit/test_stage.py checks
    it), so a stage cannot depend on a value DVC does not track. `runtime` (speed, never results)
    is always there and never declared.

    Attributes:
        name: The stage name.
        paths: The parsed `--<path>` flags (argparse Namespace).
        runtime: The runtime section.
        declared: The declared sections, typed.
        read: Names of the sections read so far, in first-read order.
    """

    name: str
    paths: argparse.Namespace
    runtime: config.RuntimeParams
    declared: Mapping[str, Any]
    read: list[str] = field(default_factory=list)

    def section(self, name: str) -> Any:
        """The typed params section `name`.

        Raises:
            UndeclaredSectionError: If the stage did not declare `name`.
        """
        if name not in self.declared:
            raise UndeclaredSectionError(
                f"stage {self.name!r} read params section {name!r}, which it does not declare "
                f"(declared: {list(self.declared)}). Add it to run_stage(sections=...) in "
                f"stages/{self.name}.py and to the stage's params: in dvc.yaml.")
        if name not in self.read:
            self.read.append(name)
        return self.declared[name]

    @property
    def params(self) -> Any:
        """The stage's own section (`section(name)`)."""
        return self.section(self.name)

    @property
    def base(self) -> config.BaseParams:
        """The base section (`section("base")`)."""
        return self.section("base")


def load_context(name: str, args: argparse.Namespace, sections: Sequence[str],
                 params_file: Path) -> StageContext:
    """Read `params_file` and build the StageContext of stage `name`.

    Raises:
        ConfigError: An unknown section in the file, or an invalid value in a declared section or
            in `runtime`.
        ValueError: `sections` names `runtime` or a section that does not exist (a bug).
    """
    bad = [s for s in sections if s in config.UNTRACKED or s not in config.SECTIONS]
    if bad:
        raise ValueError(f"stage {name!r} declares {bad}: declare tracked params sections only "
                         f"({[s for s in config.SECTIONS if s not in config.UNTRACKED]})")
    where = str(params_file)
    raw = storage.read_params(params_file)
    config.check_sections(raw, where)
    declared = {s: config.load_section(raw, s, where) for s in sections}
    return StageContext(name, args, config.load_section(raw, "runtime", where), declared)


def run_stage(
    name: str,
    body: Callable[[StageContext], str],
    *,
    paths: Sequence[str],
    sections: Sequence[str],
    doc: str | None = None,
    argv: Sequence[str] | None = None,
) -> StageContext:
    """Parse `--<path>` flags, load params, run `body` and log its summary.

    Args:
        name: The stage name (= params section = dvc.yaml stage).
        body: The stage's main function; returns a one-line summary.
        paths: Names of the required path flags, e.g. ("raw", "out").
        sections: The params sections the stage reads, exactly its `params:` in dvc.yaml (never
            `runtime`); reading any other raises UndeclaredSectionError.
        doc: Help text (the stage script's docstring).
        argv: Arguments (defaults to sys.argv[1:]).

    Returns:
        The context, whose `read` lists the sections the body read (in-process callers: tests).

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
        ctx = load_context(name, args, sections, args.params)
        summary = body(ctx)
    except StyleclusterError as exc:
        log.error("%s failed: %s", name, exc)
        if _is_stage_process(name):
            leave(1)
        sys.exit(1)
    unread = [s for s in sections if s not in ctx.read]
    if unread:  # declared in dvc.yaml, so changing them re-runs a stage they do not affect
        log.warning("%s declares params section(s) %s but did not read them", name, unread)
    log.debug("%s read params sections %s", name, ctx.read)
    log.info("%s: %s", name, summary)
    if _is_stage_process(name):
        leave(0)
    return ctx


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
