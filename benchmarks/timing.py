"""Wall time of benchmarked calls that works with and without ``--benchmark-disable``.

pytest-benchmark leaves ``benchmark.stats`` empty when disabled (it then runs the function once),
so benchmarks that check a time budget measure the rounds themselves."""

from __future__ import annotations

import time
from typing import Any, Callable


def timed(benchmark: Any, fn: Callable[..., Any], *, args: tuple = (), kwargs: dict | None = None, rounds: int = 1,
          **pedantic: Any) -> tuple[Any, list[float]]:
    """Run ``fn`` through ``benchmark.pedantic`` and return (its last result, seconds per round)."""
    seconds: list[float] = []

    def run(*a, **k):
        t = time.perf_counter()
        out = fn(*a, **k)
        seconds.append(time.perf_counter() - t)
        return out

    result = benchmark.pedantic(run, args=args, kwargs=kwargs or {}, rounds=rounds, iterations=1, **pedantic)
    return result, seconds
