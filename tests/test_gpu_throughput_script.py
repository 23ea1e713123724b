"""scripts/gpu_throughput.py (the prepared device check) runs end to end; here on the CPU with a
tiny model, so that a session lent a GPU can trust it to produce its figures in one call."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_throughput_script_on_cpu(tmp_path):
    out = tmp_path / "figures" / "gpu.json"
    cmd = [sys.executable, str(ROOT / "scripts" / "gpu_throughput.py"), "--device", "cpu", "--batch", "4", "--steps", "2",
           "--warmup", "1", "--side", "16", "--blocks", "1", "--width", "4", "--gemm", "128", "--profile", "smoke", "--out", str(out)]
    env = {"PATH": "/usr/bin:/bin", "MEMGEN_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    fig = json.loads(out.read_text())
    assert fig["device"].startswith("cpu") and fig["runs"]
    for run in fig["runs"].values():
        assert run["images_per_s"] > 0 and run["tflops"] > 0
    assert fig["zoo"]["profile"] == "smoke" and fig["zoo"]["models"] == 44  # 20 + the 24 replicates
    assert fig["zoo"]["device_hours_at_measured_rate"] > 0


def test_gpu_throughput_script_refuses_missing_cuda(tmp_path):
    import pytest
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: nothing to refuse")
    cmd = [sys.executable, str(ROOT / "scripts" / "gpu_throughput.py"), "--device", "cuda"]
    done = subprocess.run(cmd, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                                                                    "MEMGEN_CACHE": str(tmp_path)}, timeout=120)
    assert done.returncode == 2 and "no CUDA device is available" in done.stderr
