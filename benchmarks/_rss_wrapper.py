"""Run one command and report its wall time and peak RSS as one JSON line on stdout.

Usage: python benchmarks/_rss_wrapper.py [--log FILE] -- CMD [ARGS...]

This process starts fresh, so `getrusage(RUSAGE_CHILDREN).ru_maxrss` after the wait is the largest
resident set of the command or any descendant it waited for (DVC -> shell -> stage script), and of
nothing else. With --log, the record (plus the command) is also appended to FILE as a JSON line; the
benchmark installs this wrapper as `python` in front of PATH to time each DVC stage.
"""

import json
import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    log_file = None
    if argv[:1] == ["--log"]:
        log_file, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    start = time.perf_counter()
    # without --log, stdout carries this wrapper's JSON line: the command's stdout goes to stderr
    rc = subprocess.call(argv, stdout=None if log_file else sys.stderr)
    wall = time.perf_counter() - start
    kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    rec = {"wall_s": round(wall, 4), "peak_rss_mb": round(kb * 1024 / 1e6, 1), "rc": rc}
    if log_file:
        with open(log_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**rec, "argv": argv[1:], "end": time.time()}) + "\n")
    else:
        print(json.dumps(rec), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
