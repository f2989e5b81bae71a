"""How long the ``cnnzoo`` command takes to answer, against Python's and TensorFlow's own
start-up measured in the same run.

Each command runs as a fresh process, as a user runs it, ``--repeats`` times; the script
prints the fastest wall time of each (the least disturbed by other work on the machine),
its ratio to ``python -c pass`` and to ``python -c "import tensorflow"``, and whether the
command wrote anything to stderr.

    .venv/bin/python benchmarks/bench_cli_startup.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

CNNZOO = str(Path(sys.executable).with_name("cnnzoo"))

BASELINES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import tensorflow'": [sys.executable, "-c", "import tensorflow"],
}
COMMANDS = {
    "cnnzoo --help": [CNNZOO, "--help"],
    "cnnzoo list": [CNNZOO, "list"],
    "cnnzoo info lenet5": [CNNZOO, "info", "lenet5"],
    "cnnzoo info vgg16": [CNNZOO, "info", "vgg16"],
    # builds the model: imports TensorFlow
    "cnnzoo info lenet5 --num-classes 7": [CNNZOO, "info", "lenet5", "--num-classes", "7"],
}


def fastest(command: list[str], repeats: int) -> tuple[float, str]:
    """The fastest of ``repeats`` runs in seconds, and the stderr of the last."""
    # As a user's shell runs it: without the TF_CPP_MIN_LOG_LEVEL the Makefile exports.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
        times.append(time.perf_counter() - start)
    return min(times), done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; fastest of {args.repeats} runs each\n")
    python, _ = fastest(BASELINES["python -c pass"], args.repeats)
    tensorflow, noise = fastest(BASELINES["python -c 'import tensorflow'"], args.repeats)
    header = f"{'command':38}  {'seconds':>7}  {'x python':>8}  {'x import tf':>11}  stderr"
    print(header)
    print("-" * len(header))
    rows = [("python -c pass", python, ""), ("python -c 'import tensorflow'", tensorflow, noise)]
    for name, command in COMMANDS.items():
        rows.append((name, *fastest(command, args.repeats)))
    for name, seconds, stderr in rows:
        lines = len(stderr.splitlines())
        print(
            f"{name:38}  {seconds:7.2f}  {seconds / python:8.1f}  {seconds / tensorflow:11.2f}  "
            f"{f'{lines} lines' if lines else 'empty'}"
        )


if __name__ == "__main__":
    main()
