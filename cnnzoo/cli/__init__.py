"""The ``cnnzoo`` command: a thin layer over the library (``cnnzoo --help``)."""

from __future__ import annotations

import argparse
import os
import sys

EXAMPLES = {
    "list": "cnnzoo list\n  cnnzoo list 'resnet*'",
    "info": "cnnzoo info lenet5\n  cnnzoo info vgg16 --input-shape 32,32,3 --set dropout=0.3",
    "train": (
        "cnnzoo train lenet5 --epochs 5\n"
        "  cnnzoo train resnet20 --data path/to/images --set width=0.5 --out runs/r20\n"
        "  cnnzoo train resnet20 --data path/to/images --out runs/r20 --resume\n"
        "  # two machines, JAX: the same command on each, with its --process-id\n"
        "  KERAS_BACKEND=jax cnnzoo train resnet20 --data images/ --out runs/r20 --distribute \\\n"
        "      --coordinator 10.0.0.1:1234 --num-processes 2 --process-id 0"
    ),
    "finetune": (
        "cnnzoo finetune resnet20 --weights runs/r20/model.keras --data path/to/images\n"
        "  cnnzoo finetune vgg16 --weights imagenet --data path/to/images "
        "--input-shape 128,128,3\n"
        "  cnnzoo finetune resnet20 --weights runs/r20/model.keras --unfreeze-stages all\n"
        "  cnnzoo finetune resnet20 --weights runs/r20/model.keras --freeze stage1_out\n"
        "  cnnzoo finetune lenet5 --weights runs/l5/model.keras --phases epochs=3 \\\n"
        "      epochs=5,learning_rate=1e-4,trainable_stages=all --out runs/ft --resume"
    ),
    "tune": (
        "cnnzoo tune lenet5_modern --max-epochs 9 --fix activation=relu\n"
        "  cnnzoo tune resnet20 --data path/to/images --tuner random --max-trials 20 \\\n"
        "      --set 'learning_rate=(1e-4, 1e-2)' --set 'batch_size=[32, 64]'\n"
        "  cnnzoo tune resnet20 --data path/to/images --finetune-from runs/r20/model.keras\n"
        "  cnnzoo tune lenet5 --space             # the hyperparameters, their values, defaults\n"
        "  # distributed: one chief, any number of workers sharing --directory\n"
        "  cnnzoo tune lenet5 --max-trials 20 --tuner-id chief --oracle 10.0.0.1:8000\n"
        "  cnnzoo tune lenet5 --max-trials 20 --tuner-id tuner0 --oracle 10.0.0.1:8000"
    ),
    "evaluate": "cnnzoo evaluate runs/r20\n  cnnzoo evaluate runs/r20 --data path/to/other/images",
    "predict": "cnnzoo predict runs/r20 cat.png dog.jpg --top-k 3",
    "export": (
        "cnnzoo export runs/r20 --format saved_model\n  cnnzoo export runs/r20 --format tflite"
    ),
}


class UsageError(ValueError):
    """A bad argument: one line on stderr, exit status 2."""


def add_data_argument(parser) -> None:
    parser.add_argument(
        "--data", default="mnist-sample",
        help="'mnist-sample' (bundled, the default), a folder of class subfolders, or tfds:NAME",
    )  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    from cnnzoo.cli import commands  # deferred: keras loads only when a command runs

    parser = argparse.ArgumentParser(
        prog="cnnzoo",
        description=(
            "Classic CNNs for Keras 3: list, inspect, train, fine-tune, tune, evaluate, "
            "predict, export."
        ),
        epilog="Run 'cnnzoo COMMAND --help' for a command's options and examples.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add_arguments, handler, summary) in commands.COMMANDS.items():
        sub = subparsers.add_parser(
            name, help=summary, description=summary,
            epilog=f"examples:\n  {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        add_arguments(sub)
        sub.set_defaults(handler=handler, parser=sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 done, 1 failed, 2 bad usage)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = _parser().parse_args(argv)
    from cnnzoo.training import TrainingDivergedError

    try:
        return args.handler(args) or 0
    except (UsageError, ValueError, FileNotFoundError) as error:
        args.parser.exit(2, f"cnnzoo {args.command}: error: {error}\n")
    except TrainingDivergedError as error:
        args.parser.exit(1, f"cnnzoo {args.command}: {error}\n")
    except KeyboardInterrupt:
        args.parser.exit(130, f"\ncnnzoo {args.command}: interrupted.\n")


if __name__ == "__main__":
    sys.exit(main())
