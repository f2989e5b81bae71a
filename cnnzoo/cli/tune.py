"""``cnnzoo tune``: :func:`cnnzoo.tuning.search` from the command line, distributed
search included."""

from __future__ import annotations

from cnnzoo.cli import UsageError, add_data_argument


def _parse_oracle(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UsageError(f"--oracle takes HOST:PORT, e.g. 127.0.0.1:8000; received {text!r}.")
    return host, int(port)


def tune_arguments(parser) -> None:
    from cnnzoo.tuning.search import TUNERS

    parser.add_argument("model", help="a registered model name (see 'cnnzoo list')")
    add_data_argument(parser)
    parser.add_argument("--tuner", choices=tuple(TUNERS), default="hyperband")
    parser.add_argument(
        "--max-trials",
        type=int,
        help="most trials (default: Hyperband's schedule, 10 for the others)",
    )
    parser.add_argument("--max-epochs", type=int, default=10, help="most epochs of a trial")
    parser.add_argument("--objective", default="val_accuracy")
    parser.add_argument("--patience", type=int, default=3,
                        help="early-stopping patience of each trial (-1: off)")  # fmt: skip
    parser.add_argument("--directory", default="tuning", help="folder of the projects")
    parser.add_argument("--project", help="project name (default: the model's)")
    parser.add_argument("--overwrite", action="store_true", help="start the project afresh")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--input-shape", help="input shape, e.g. 32,32,3 (default: the model's)")
    parser.add_argument(
        "--fix",
        action="append",
        metavar="NAME=VALUE",
        default=[],
        help="fix a hyperparameter, e.g. --fix activation=relu (repeatable)",
    )
    parser.add_argument("--set", action="append", metavar="NAME=VALUES", default=[],
                        help="restrict one: a list of choices '[32, 64]' or a range "
                             "'(1e-4, 1e-2)' (repeatable)")  # fmt: skip
    parser.add_argument(
        "--finetune-from",
        metavar="FILE|imagenet",
        help="fine-tune-aware trials from a saved model or ImageNet weights",
    )
    parser.add_argument("--max-params", type=int, help="larger configurations fail")
    parser.add_argument("--space", action="store_true",
                        help="print the model's hyperparameters and exit")  # fmt: skip
    parser.add_argument("--tuner-id", help="distributed: 'chief', or a unique worker name")
    parser.add_argument("--oracle", metavar="HOST:PORT", help="distributed: the chief's address")
    parser.add_argument("--worker-timeout", type=float, default=60.0,
                        help="distributed: seconds without a heartbeat before a worker's "
                             "trial goes to another")  # fmt: skip
    # search()'s parameters with other names than the flags, for its errors
    parser.set_defaults(flag_for={"project_name": "--project", "pretrained": "--finetune-from",
                                  "fixed": "--fix", "space": "--set"})  # fmt: skip


def _print_space(model: str) -> None:
    from cnnzoo.cli.tables import format_rows
    from cnnzoo.tuning import describe_space

    rows = describe_space(model)
    print(format_rows(
        ("name", "group", "values", "default", "what it changes"),
        [(r["name"], r["group"], r["values"], r["default"], r["help"]) for r in rows],
    ))  # fmt: skip


def tune_command(args) -> int:
    from cnnzoo.cli.commands import parse_sets, parse_shape
    from cnnzoo.tuning import SearchCluster, search

    if args.space:
        _print_space(args.model)
        return 0
    oracle = _parse_oracle(args.oracle)
    cluster = None
    if (args.tuner_id is None) != (oracle is None):
        raise UsageError("--tuner-id and --oracle go together (or set the KERASTUNER_* variables).")
    if oracle is not None:
        cluster = SearchCluster(tuner_id=args.tuner_id, ip=oracle[0], port=oracle[1])
    result = search(
        args.model, args.data, tuner=args.tuner, objective=args.objective,
        max_trials=args.max_trials, max_epochs=args.max_epochs, directory=args.directory,
        project_name=args.project, overwrite=args.overwrite, seed=args.seed,
        patience=None if args.patience < 0 else args.patience,
        space=parse_sets(args.set), fixed=parse_sets(args.fix),
        pretrained=args.finetune_from, input_shape=parse_shape(args.input_shape),
        max_params=args.max_params, cluster=cluster,
        worker_timeout=args.worker_timeout, verbose=1,
    )  # fmt: skip
    if cluster is not None and cluster.tuner_id != "chief":
        print(f"Worker {cluster.tuner_id} is done; the chief writes the results.")
    elif result.best_hyperparameters is None:
        print(f"No trial of {len(result.trials)} has a score: see why in trials.csv.")
    print(f"Project folder: {result.project_dir} (every trial in trials.csv, scores.png)")
    return 0
