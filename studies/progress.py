"""What a long run shows while it works, and what it records about where its time went.

``Progress`` counts finished items of a known total (models trained, pairs evaluated): on a
terminal one line rewritten in place (done / total, the current item, elapsed, ETA); elsewhere (CI
logs) one line per finished item. The ETA scales the remaining items' cost estimates by what the
finished ones actually took, so a machine slower than the estimate corrects it as it goes.

``PhaseTimer`` adds wall and CPU time (this process and its finished children, e.g. a training
pool) per named phase: setup, data, training, evaluation, claims, report. ``verdict.json`` carries
the totals; ``benchmarks/first_report.py`` turns them into a RESULTS.md entry."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import sys
import threading
import time
from typing import Callable, Iterator, Optional, TextIO

PHASES = ("setup", "data", "training", "evaluation", "claims", "report")
PHASES_ENV = "MEMGEN_PHASES"  # JSON of phases measured before pytest started (setup, by scripts/verdict.sh and memgen verdict)


def fmt_duration(seconds: Optional[float]) -> str:
    if seconds is None or seconds != seconds:
        return "?"
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


class Progress:
    """Done / total of one kind of work, written to ``stream`` (default stderr).

    ``estimates`` (seconds per item, in any consistent unit) weight the ETA; without them every
    item counts the same. ``live`` (default: ``stream`` is a terminal) rewrites one line; otherwise
    one line is printed per finished item."""

    def __init__(self, what: str, total: int, *, stream: Optional[TextIO] = None, live: Optional[bool] = None,
                 estimates: Optional[dict] = None, write: Optional[Callable[[str], None]] = None, clock=time.monotonic,
                 parallel: int = 1):
        self.what, self.total = what, int(total)
        self.stream = stream if stream is not None else sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)()) if live is None else live
        self._write = write
        self.estimates = dict(estimates or {})
        self.parallel = max(1, int(parallel))  # items run at once: before the first finishes, the ETA is the plan's
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.current: list[str] = []
        self.spent_estimate = 0.0  # estimated cost of the finished items
        self._last_len = 0
        self._lock = threading.Lock()

    # -- what the caller reports --------------------------------------------------------------

    def start(self, label: str) -> None:
        with self._lock:
            self.current.append(label)
            if self.live:
                self._show()

    def finish(self, label: str, seconds: Optional[float] = None) -> None:
        with self._lock:
            if label in self.current:
                self.current.remove(label)
            self.done += 1
            self.spent_estimate += self.estimates.get(label, 1.0)
            if self.live:
                self._show(end="\n" if self.done >= self.total else "")
            else:
                took = f" in {fmt_duration(seconds)}" if seconds is not None else ""
                self._emit(f"memgen: {self.what} {self.done}/{self.total} done: {label}{took}; elapsed {fmt_duration(self.elapsed)}, "
                           f"ETA {fmt_duration(self.eta())}\n")

    @contextlib.contextmanager
    def ticking(self, every: float = 1.0) -> Iterator["Progress"]:
        """On a terminal, redraw the line every ``every`` seconds while the block runs, so elapsed
        time and the ETA move during a long item; elsewhere nothing (a log gets lines per item)."""
        if not self.live:
            yield self
            return
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(every):
                with self._lock:
                    if self.current and self.done < self.total:
                        self._show()

        thread = threading.Thread(target=tick, name="memgen-progress", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()

    # -- numbers --------------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def eta(self) -> Optional[float]:
        """Seconds left: the remaining estimated cost at the rate the finished items ran."""
        if self.done >= self.total:
            return 0.0
        if self.done == 0 or self.spent_estimate <= 0:
            if len(self.estimates) >= self.total and self.estimates:  # the plan's estimate, until a measured rate exists
                return max(0.0, sum(self.estimates.values()) / self.parallel - self.elapsed)
            return None
        total_estimate = sum(self.estimates.values()) if len(self.estimates) >= self.total else None
        remaining = (total_estimate - self.spent_estimate) if total_estimate is not None else (self.total - self.done) * (self.spent_estimate / self.done)
        return max(0.0, remaining) * self.elapsed / self.spent_estimate

    def line(self) -> str:
        current = ", ".join(self.current[:2]) + (f" (+{len(self.current) - 2})" if len(self.current) > 2 else "")
        eta = self.eta()
        return (f"memgen: {self.what} {self.done}/{self.total}" + (f" | now: {current}" if current else "")
                + f" | elapsed {fmt_duration(self.elapsed)} | ETA {fmt_duration(eta) if eta is not None else 'after the first'}")

    # -- output ---------------------------------------------------------------------------------

    def _show(self, end: str = "") -> None:
        text = self.line()
        pad = max(0, self._last_len - len(text))
        self._last_len = len(text)
        self._emit("\r" + text + " " * pad + end)

    def _emit(self, text: str) -> None:
        if self._write is not None:
            self._write(text)
        else:
            self.stream.write(text)
            self.stream.flush()


def _cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class PhaseTimer:
    """Wall and CPU seconds per phase; a phase entered twice adds up."""

    def __init__(self):
        self.phases: dict[str, dict] = {}

    @contextlib.contextmanager
    def measure(self, name: str, note: str = "") -> Iterator[None]:
        wall, cpu = time.perf_counter(), _cpu_seconds()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - wall, _cpu_seconds() - cpu, note)

    def add(self, name: str, wall_s: float, cpu_s: float, note: str = "") -> None:
        p = self.phases.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0})
        p["wall_s"] = round(p["wall_s"] + float(wall_s), 3)
        p["cpu_s"] = round(p["cpu_s"] + float(cpu_s), 3)
        if note:
            p["note"] = (p.get("note", "") + "; " if p.get("note") else "") + note

    def wall(self, name: str) -> float:
        return self.phases.get(name, {}).get("wall_s", 0.0)

    def cpu(self, name: str) -> float:
        return self.phases.get(name, {}).get("cpu_s", 0.0)


# the phases of this process (pytest's): the fixtures that train and evaluate add to it, the claims
# plugin reads it when it writes verdict.json
TIMER = PhaseTimer()


def phases_from_env() -> dict:
    """Phases measured before this process started (``$MEMGEN_PHASES``, JSON); {} if unset or bad."""
    text = os.environ.get(PHASES_ENV)
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict) and "wall_s" in v} if isinstance(data, dict) else {}


def ordered(phases: dict) -> dict:
    """Phases in PHASES order, others after."""
    out = {k: phases[k] for k in PHASES if k in phases}
    out.update({k: v for k, v in phases.items() if k not in out})
    return out


def terminal_writer(config) -> Callable[[str], None]:
    """A writer to the real terminal from inside pytest: capture is suspended while it writes, so
    progress shows even while a test's setup is captured."""
    capman = config.pluginmanager.getplugin("capturemanager") if config is not None else None

    def write(text: str) -> None:
        ctx = capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
        with ctx:
            sys.stderr.write(text)
            sys.stderr.flush()

    return write


def terminal_is_live(config) -> bool:
    """Whether pytest's real stderr is a terminal (checked with capture suspended)."""
    capman = config.pluginmanager.getplugin("capturemanager") if config is not None else None
    ctx = capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext()
    with ctx:
        return bool(sys.stderr.isatty())
