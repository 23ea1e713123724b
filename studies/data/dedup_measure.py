"""Time and peak memory of one call, for the dedup CLI, benchmarks and the dedup-memory claim.

Peak memory is the process's resident set sampled every ``interval`` seconds by a thread, minus the
resident set just before the call: what the call added on top of its inputs (torch's CPU allocations
are invisible to tracemalloc, so RSS is the honest measure). Allocations that live shorter than the
interval can be missed; 2 ms is far below the life of any N x N or block x block matrix here. On CUDA
the device's peak allocation is reported too."""

from __future__ import annotations

import ctypes
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import psutil
import torch


@dataclass(frozen=True)
class Measured:
    value: Any
    seconds: float
    peak_bytes: int  # resident set above the baseline at the call's start
    cuda_peak_bytes: int | None = None


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def _fix_malloc_thresholds() -> None:
    """Serve every allocation of 64 KiB or more by its own mmap, returned to the OS when freed. By
    default glibc raises its mmap threshold after the first large free, so later arrays come from the
    heap and freed memory stays resident: the baseline and the peak then depend on what ran before,
    and the dedup-memory fit swung between 0.44 and 2.8 GB from run to run (2026-12-02). Fixing the
    thresholds makes the resident set follow the live arrays; it changes no result, only where
    memory comes from, but every large allocation then costs a system call: so it is done only in
    the child process of ``blockwise_peaks``, never in a test session or a CLI run."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 64 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 64 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: RSS is still measured, with the allocator's own habits


def _trim() -> None:
    """Hand freed heap memory back to the OS (glibc), so memory freed by an earlier call and kept by
    the allocator neither hides this call's growth nor inflates its baseline."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure(fn: Callable[[], Any], *, interval: float = 0.002) -> Measured:
    _trim()
    proc = psutil.Process()
    base = proc.memory_info().rss
    peak = [base]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(interval)

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    try:
        value = fn()
    finally:
        seconds = time.perf_counter() - t0
        stop.set()
        thread.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    return Measured(value, seconds, max(0, peak[0] - base), torch.cuda.max_memory_allocated() if cuda else None)


def blockwise_peaks(grid: list[tuple[int, int]], *, res: int = 40, seed: int = 0, repeats: int = 3) -> list[tuple[int, int, int, int]]:
    """(N, b, peak bytes of blockwise_published, peak bytes of exact) at each (N, b) of ``grid`` on the
    face-like arrays (``dedup_facelike``), measured in a fresh spawned process with fixed malloc
    thresholds; blockwise_published's peak is the largest of ``repeats`` runs (a sampled peak can be
    missed, never invented). The dedup-memory claim's measurement."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_blockwise_peaks, [tuple(g) for g in grid], res, seed, repeats).result()


def _blockwise_peaks(grid, res, seed, repeats):
    import numpy as np

    from .dedup import remove_duplicates
    from .dedup_facelike import facelike

    _fix_malloc_thresholds()
    x, _ = facelike(max(n for n, _ in grid), res=res, seed=seed)
    out = []
    for n, b in grid:
        sub = np.ascontiguousarray(x[:n])
        peak = max(measure(lambda: remove_duplicates(sub, method="blockwise_published", block=b)).peak_bytes for _ in range(repeats))
        exact = measure(lambda: remove_duplicates(sub, method="exact", block=b)).peak_bytes
        out.append((n, b, int(peak), int(exact)))
    return out
