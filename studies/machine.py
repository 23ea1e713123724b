"""Which CPU this is, as far as float results depend on it.

Trained weights are bit-identical for a seed on one machine, but two machines whose kernels round
differently (2026-12-02/03: an AMD EPYC and an Intel Xeon, both AVX512 to torch) end a chaotic
training run elsewhere, and a verdict near its threshold can land on the other side. oneDNN and the
BLAS choose kernels by the exact feature set, so the key is the CPU model and a hash of its SIMD
flags, not torch's capability level alone. Used by the sampler goldens (tests/sampler_golden.py) and
by machine-keyed snapshot expectations (studies/claims/expectations.py)."""

from __future__ import annotations

import hashlib
import platform
from functools import lru_cache
from pathlib import Path


def cpuinfo(key: str) -> str:
    """The first ``key : value`` of /proc/cpuinfo ("" when absent)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.split(":", 1)[0].strip() == key:
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def cpu_model() -> str:
    return cpuinfo("model name") or platform.processor() or "unknown"


def simd_flags() -> list[str]:
    flags = cpuinfo("flags").split()
    return sorted(f for f in flags if f.startswith(("sse", "ssse", "avx", "amx", "fma", "f16c", "vnni")) or "vnni" in f or "bf16" in f)


def simd_flags_sha256() -> str:
    return hashlib.sha256(" ".join(simd_flags()).encode()).hexdigest()[:16]


@lru_cache(maxsize=1)  # read once per process: every expectation file asks
def machine_key() -> str:
    """``<cpu model> / <SIMD flags hash>``: the key of a machine-keyed snapshot."""
    return f"{cpu_model()} / {simd_flags_sha256()}"
