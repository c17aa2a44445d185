"""Per-module CPU time accounting for ``G3Pipeline.Run(profile=True)``.

Like spt3g, the CPU time (user and system) of the running thread is sampled
after each module call and the difference since the previous sample is
charged to that module; the report has spt3g's layout.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TextIO

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

__all__ = ["ModuleProfile", "CpuClock", "format_profile"]


@dataclass
class ModuleProfile:
    """Accumulated cost of one module."""

    name: str
    user: float = 0.0
    system: float = 0.0
    frames: int = 0
    maxrss_kb: int = 0


class CpuClock:
    """Samples (user seconds, system seconds, peak RSS in kB) of this thread, or process."""

    def __init__(self) -> None:
        who = None
        if resource is not None:
            who = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
        self._who = who

    def sample(self) -> tuple[float, float, int]:
        """The current counters."""
        if self._who is None:
            return time.process_time(), 0.0, 0
        ru = resource.getrusage(self._who)
        return ru.ru_utime, ru.ru_stime, ru.ru_maxrss


def _seconds(value: float) -> str:
    micro = round(value * 1e6)
    return f"{micro // 1000000}.{micro % 1000000:06d}"


def format_profile(profiles: list[ModuleProfile]) -> str:
    """The profiling report, in spt3g's layout."""
    lines = ["Pipeline profiling results:"]
    total_user = total_system = 0.0
    peak, peak_module = 0, ""
    for p in profiles:
        per_frame = (p.user + p.system) / p.frames if p.frames else float("nan")
        lines.append(
            f"{p.name}: {_seconds(p.user)} user, {_seconds(p.system)} system, "
            f"{p.frames} frames ({per_frame:.6f} s per input frame)"
        )
        total_user += p.user
        total_system += p.system
        if p.maxrss_kb > peak:
            peak, peak_module = p.maxrss_kb, p.name
    lines.append(f"Total: {_seconds(total_user)} user, {_seconds(total_system)} system")
    lines.append(f"Peak memory consumption ({peak / 1024:.1f} MB) in module {peak_module}")
    return "\n".join(lines) + "\n"


def print_profile(profiles: list[ModuleProfile], stream: TextIO | None = None) -> None:
    """Write the profiling report to ``stream`` (default: standard output)."""
    out = stream if stream is not None else sys.stdout
    out.write(format_profile(profiles))
    out.flush()
