"""The trainer benchmarks run as `make bench` runs them, in their quick modes, and print their figures."""

import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
NUMBER = r"(-?\d+\.\d+)"


def _run(script: str, *args: str) -> list[str]:
    out = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()


def test_the_generation_breakdown_prints_its_shares_and_seconds_per_net():
    lines = _run("bench_generation.py", "--quick")
    parts = ("train", "dropout", "eval", "data", "write")
    match = re.fullmatch("generation_breakdown " + " ".join(f"{p}_pct={NUMBER}" for p in parts)
                         + rf" s_per_net={NUMBER}", lines[-1])
    assert match, lines[-1]
    shares, seconds = [float(v) for v in match.groups()[:-1]], float(match.group(len(parts) + 1))
    assert abs(sum(shares) - 100) < 0.5 and seconds > 0  # the shares split one net's seconds
    assert shares[0] > 0 and shares[2] > 0 and shares[4] > 0  # training, evaluation, writing each take time
    assert any(line.startswith("cnn (") and "s per net per worker" in line for line in lines)


def test_the_stacked_engine_benchmark_prints_rates_and_the_projected_zoo_time_per_stack():
    lines = _run("bench_train.py", "--stacks", "2,32", "--epochs", "1", "--train-images", "1024")
    for k in (2, 32):
        line = next(line for line in lines if line.startswith(f"K={k}:"))
        assert re.fullmatch(rf"K={k}: [\d,]+ image-nets/s; a 30,000-net, 86-epoch zoo of 60k-image data in "
                            r"~[\d,]+\.\d h \(mean train fraction 0\.\d+\)", line), line
    assert re.search(r"stacked engine on .*\(TensorFlow [\d.]+, built with CUDA: (True|False)\)", lines[0]), lines[0]
