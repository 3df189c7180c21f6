"""Shared helpers of the benchmark: fresh-process measurement, statistics, records, progress.

Every measured item runs in a fresh process so that one item's memory cannot inflate another's peak
RSS: in-process items through `in_fresh_process` (multiprocessing spawn; the child reads its own
VmHWM from /proc/self/status at the end), commands through `run_measured` (a fresh wrapper process
runs the command and reads `getrusage(RUSAGE_CHILDREN).ru_maxrss`, the largest RSS of any descendant
it waited for).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# A stage run as DVC would run it, without DVC (dvc.yaml's cmd, ${...} filled from a params file).
from stylecluster.catalog import stage_command as stage_argv  # noqa: F401  (re-exported)

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
WRAPPER = Path(__file__).resolve().parent / "_rss_wrapper.py"
_T0 = time.perf_counter()


def log(msg: str) -> None:
    """Progress line on stderr: elapsed minutes and the load average."""
    elapsed = time.perf_counter() - _T0
    load = os.getloadavg()[0]
    print(f"[bench {elapsed / 60:5.1f} min, load {load:4.2f}] {msg}", file=sys.stderr, flush=True)


def vm_hwm_mb() -> float:
    """Peak resident set size of this process so far (VmHWM), in MB (1e6 bytes)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def _child(func: Callable[..., dict], args: tuple, kwargs: dict) -> dict:
    out = func(*args, **kwargs)
    out["peak_rss_mb"] = round(vm_hwm_mb(), 1)
    return out


def in_fresh_process(func: Callable[..., dict], *args: Any, **kwargs: Any) -> dict:
    """Run `func(*args, **kwargs)` (a module-level function returning a dict) in a spawned process.

    Returns:
        The function's dict plus `peak_rss_mb`, the child's VmHWM at its end.
    """
    pool = mp.get_context("spawn").Pool(1)
    try:
        return pool.apply(_child, (func, args, kwargs))
    finally:  # let the child exit on its own (terminate() would leak its semaphores)
        pool.close()
        pool.join()


def run_measured(cmd: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
                 log_to: Path | None = None, check: bool = True) -> dict:
    """Run `cmd` under the RSS wrapper (a fresh process); return wall_s, peak_rss_mb and rc.

    Args:
        cmd: The command.
        cwd: Its working directory.
        env: Its environment (default: this process's).
        log_to: File that receives the command's stdout and stderr (appended).
        check: Raise RuntimeError (with the log's tail) when the command fails.
    """
    env = dict(os.environ if env is None else env)
    with open(log_to or os.devnull, "ab") as fh:
        proc = subprocess.run([sys.executable, str(WRAPPER), "--", *map(str, cmd)], cwd=cwd,
                              env=env, stdout=subprocess.PIPE, stderr=fh)
    lines = proc.stdout.decode().strip().splitlines()
    result = json.loads(lines[-1]) if lines else {"rc": proc.returncode}
    if check and result.get("rc"):
        tail = Path(log_to).read_text(errors="replace")[-3000:] if log_to else ""
        raise RuntimeError(f"command failed (rc {result.get('rc')}): {' '.join(map(str, cmd))}"
                           f"\n{tail}")
    return result


def stats(times: Sequence[float]) -> dict[str, float]:
    """median_s, min_s, max_s of the runs' wall times."""
    return {"median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
            "max_s": round(max(times), 4)}


def record(name: str, n: int | None, times: Sequence[float] | None, peak_rss_mb: float | None,
           **extra: Any) -> dict:
    """One bench.json record: the common fields, then the item's own."""
    rec: dict[str, Any] = {"name": name, "n": n}
    rec.update(stats(times) if times else {"median_s": None, "min_s": None, "max_s": None})
    rec["peak_rss_mb"] = None if peak_rss_mb is None else round(peak_rss_mb, 1)
    rec["repeats"] = len(times) if times else 0
    rec.update(extra)
    return rec


def compare(rec: dict, baseline: str, baseline_median_s: float, target_ratio: float | None,
            **extra: Any) -> dict:
    """Add the baseline fields: ratio = baseline_median_s / median_s, and met against the target."""
    ratio = baseline_median_s / rec["median_s"] if rec["median_s"] else None
    rec.update(baseline=baseline, baseline_median_s=round(baseline_median_s, 4),
               ratio=None if ratio is None else round(ratio, 2), target_ratio=target_ratio,
               met=None if target_ratio is None or ratio is None else bool(ratio >= target_ratio))
    rec.update(extra)
    return rec


def evenly_spaced(values: Sequence[int], m: int) -> list[int]:
    """`m` values spread evenly over `values`, first and last included."""
    if m >= len(values):
        return list(values)
    if m == 1:
        return [values[len(values) // 2]]
    idx = [round(i * (len(values) - 1) / (m - 1)) for i in range(m)]
    return [values[i] for i in sorted(set(idx))]
