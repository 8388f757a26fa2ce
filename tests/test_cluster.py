"""zoolib.cluster: the Dask engine of generation and experiments; its local workers start TensorFlow quietly."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
from zoolib.cluster import dask_client

def first_op():
    import tensorflow as tf
    return float(tf.reduce_sum(tf.ones(3)))

if __name__ == "__main__":
    with dask_client(workers=1) as client:
        print(client.submit(first_op).result())
"""


def test_local_workers_print_no_tensorflow_start_up_lines(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}  # as a user's shell has it
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                            env={**env, "PYTHONPATH": str(REPO)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "3.0"
    for notice in ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard"):
        assert notice not in result.stderr, result.stderr[-2000:]
