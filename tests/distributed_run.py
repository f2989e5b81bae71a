"""One process of a multi-process training run, for tests/test_distributed.py.

    python tests/distributed_run.py PORT PROCESS_ID OUT DATA EPOCHS REPORT [--resume]

Trains LeNet-5 with ``distribution={coordinator, num_processes: 2, process_id}`` and
writes REPORT (an ``.npz``): the final weights, this process's ``fit`` history and
metrics, and its share of the training images (to show that the shares differ).
"""

import json
import sys

import numpy as np

from cnnzoo.training import load_run_data, train


def main() -> None:
    port, process_id, out, data, epochs, report = sys.argv[1:7]
    cluster = {
        "coordinator": f"127.0.0.1:{port}",
        "num_processes": 2,
        "process_id": int(process_id),
    }
    result = train(
        "lenet5", data, out=out, epochs=int(epochs), batch_size=8, patience=None, verbose=0,
        distribution=cluster, resume="--resume" in sys.argv,
    )  # fmt: skip
    share = load_run_data(data, seed=0, validation_split=0.2, shard=(int(process_id), 2)).train
    labels = [int(label) for _, label in share.as_numpy_iterator()]
    np.savez(
        report,
        *result.model.get_weights(),
        history=json.dumps(result.history),
        metrics=json.dumps(result.metrics),
        labels=np.array(labels),
    )


if __name__ == "__main__":  # not on import (pytest --doctest-modules imports it)
    main()
