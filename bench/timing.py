"""Timing: warm repetitions in this process, cold samples in fresh processes, and the statistics reported.

Warm: the process has run each variant of the scenario at least once (imports done, pool connected, reference
data cached, store pages in memory), then every repetition is timed. Cold: a fresh Python process that has
imported the code and built the app but never touched the store, with the SQLite files evicted from the operating
system's page cache (posix_fadvise DONTNEED) so their pages come from disk; the first operation is timed. A
PostgreSQL server's own buffer cache cannot be emptied without restarting the server, so PostgreSQL "cold" means
a new process with new connections against a warm server.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from bench.stores import ROOT


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default), without needing numpy here."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    h = (len(xs) - 1) * q
    lo = int(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def summary(wall_ms: list[float], cpu_ms: list[float] | None = None) -> dict:
    out = {"n": len(wall_ms)}
    if wall_ms:
        out.update(p50_ms=round(percentile(wall_ms, 0.5), 2), p95_ms=round(percentile(wall_ms, 0.95), 2),
                   mean_ms=round(sum(wall_ms) / len(wall_ms), 2), min_ms=round(min(wall_ms), 2),
                   max_ms=round(max(wall_ms), 2))
    if cpu_ms:
        out["cpu_p50_ms"] = round(percentile(cpu_ms, 0.5), 2)
    return out


def warm(op: Callable[[int], None], reps: int, variants: int, log=None, warmup: int | None = None) -> dict:
    """Run every variant once untimed (or the first `warmup`), then `reps` timed calls cycling through them."""
    for i in range(variants if warmup is None else warmup):
        op(i)
    wall, cpu = [], []
    for i in range(reps):
        c0, t0 = time.process_time(), time.perf_counter()
        op(i)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    result = summary(wall, cpu)
    if log:
        log(f"    warm {result.get('p50_ms')} ms p50, {result.get('p95_ms')} ms p95 (n={reps})")
    return result


def evict(paths: list[Path]) -> bool:
    """Drop these files' pages from the page cache; False where the platform cannot."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return True


def cold(scenario: str, url: str, samples: int, variants: int, log=None) -> dict:
    """Each sample in a fresh process (python -m bench.cold), the first call of one variant timed."""
    wall, cpu, evicted = [], [], []
    for i in range(samples):
        proc = subprocess.run([sys.executable, "-m", "bench.cold", scenario, url, str(i % variants)], cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"cold {scenario} failed: {proc.stderr.strip()[-2000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        wall.append(result["ms"])
        cpu.append(result["cpu_ms"])
        evicted.append(result["evicted"])
    out = summary(wall, cpu)
    out["page_cache_evicted"] = all(evicted) if evicted else False
    if log and wall:
        log(f"    cold {out['p50_ms']} ms p50, {out['p95_ms']} ms p95 (n={samples})")
    return out
