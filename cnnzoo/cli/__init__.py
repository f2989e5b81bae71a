"""The ``cnnzoo`` command: a thin layer over the library (``cnnzoo --help``)."""

from __future__ import annotations

import argparse
import difflib
import itertools
import os
import re
import sys

EXAMPLES = {
    "list": "cnnzoo list\n  cnnzoo list 'resnet*'",
    "info": "cnnzoo info lenet5\n  cnnzoo info vgg16 --input-shape 32,32,3 --set dropout=0.3",
    "weights": (
        "cnnzoo weights list 'resnet*'\n"
        "  cnnzoo weights info resnet50.tv2_in1k\n"
        "  cnnzoo weights download resnet18.tv_in1k vgg16.keras_in1k  # for offline machines\n"
        "  cnnzoo weights download resnet18.tv_in1k --mirror http://mirror.example/weights"
    ),
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
        "  cnnzoo finetune resnet20 --weights runs/r20/model.keras --layer-decay 0.7\n"
        "  cnnzoo finetune lenet5 --weights runs/l5/model.keras --phases epochs=3 \\\n"
        "      epochs=5,learning_rate=1e-4,trainable_stages=all --out runs/ft --resume"
    ),
    "lr-find": (
        "cnnzoo lr-find lenet5 --plot lenet5_lr.png\n"
        "  cnnzoo lr-find resnet20 --data path/to/images --batch-size 64 --optimizer sgd\n"
        "  cnnzoo train resnet20 --data path/to/images --lr auto   # the same sweep, then training"
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
    "evaluate": (
        "cnnzoo evaluate runs/r20        # also fits the temperature: RUN/calibration.json\n"
        "  cnnzoo evaluate runs/r20 --tta flip crops --top-k 3\n"
        "  cnnzoo evaluate runs/r20 --data path/to/other/images"
    ),
    "predict": (
        "cnnzoo predict runs/r20 cat.png dog.jpg --top-k 3\n"
        "  cnnzoo predict runs/r20 cat.png --calibrated   # after 'cnnzoo evaluate runs/r20'\n"
        "  cnnzoo predict resnet50.tv2_in1k cat.png   # ImageNet classes, pretrained weights"
    ),
    "export": (
        "cnnzoo export runs/r20 --format saved_model\n  cnnzoo export runs/r20 --format tflite"
    ),
    "explain": (
        "cnnzoo explain runs/r20 cat.png dog.jpg              # Grad-CAM, into runs/r20/explain/\n"
        "  cnnzoo explain runs/r20 cat.png --method occlusion --out pictures/\n"
        "  cnnzoo explain runs/r20 cat.png --layer stage2_out --class dog"
    ),
}


class UsageError(ValueError):
    """A bad argument: one line on stderr, exit status 2."""


def add_data_argument(parser) -> None:
    parser.add_argument(
        "--data", default="mnist-sample",
        help="'mnist-sample' (bundled, the default), a folder of class subfolders, or tfds:NAME",
    )  # fmt: skip


# Commands that answer from the shipped catalogue; the others import TensorFlow first.
WITHOUT_TENSORFLOW = ("list", "info")


def _parser(command: str | None) -> argparse.ArgumentParser:
    """The parser, with the arguments of ``command`` only: the others' arguments import
    the library (and TensorFlow) and are not needed to run it, or for ``cnnzoo --help``."""
    from cnnzoo.cli import commands

    parser = argparse.ArgumentParser(
        prog="cnnzoo",
        description=(
            "Classic CNNs for Keras 3: list, inspect, train, fine-tune, find a learning rate, "
            "tune, evaluate, predict, explain, export."
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
        if name == command:
            add_arguments(sub)
        sub.set_defaults(handler=handler, parser=sub)
    return parser


def _command(argv: list[str]) -> str | None:
    """The subcommand in ``argv``: its first word (``cnnzoo`` itself takes only ``-h``)."""
    return next((word for word in argv if not word.startswith("-")), None)


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _long_flags(parser: argparse.ArgumentParser) -> dict[str, str]:
    """``{dest: '--flag'}`` of the options of ``parser`` (argparse lists them in
    ``_actions`` only)."""
    return {
        action.dest: next(flag for flag in action.option_strings if flag.startswith("--"))
        for action in parser._actions
        if any(flag.startswith("--") for flag in action.option_strings) and action.dest != "help"
    }


def _unrecognized(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """argparse's error for arguments it does not know, with the closest flag."""
    hints = [
        _did_you_mean(word.split("=", 1)[0], _long_flags(parser).values())
        for word in extras
        if word.startswith("-")
    ]
    hint = next((hint for hint in hints if hint), "")
    return f"unrecognized arguments: {' '.join(extras)}{hint}"


# keyword=value as a Python error message writes it; value: a repr, up to the punctuation
# that ends the clause.
_KEYWORD = re.compile(
    r"(?<![\w.-])(?P<name>[a-z][a-z0-9_]*)="
    r"""(?P<value>'[^']*'|"[^"]*"|\([^()]*\)|\[[^\[\]]*\]|[^\s,;]+?)(?=[.,;:)]?(?:\s|$))"""
)


def speak_flags(message: str, flags: dict[str, str]) -> str:
    """A library error in the command line's words: ``resume=True`` as ``--resume``,
    ``learning_rate=-1.0`` as ``--lr -1.0``, ``list_models()`` as ``'cnnzoo list'``.

    Args:
        message: The error.
        flags: ``{library parameter: flag}`` of the command that ran.

    Example:
        >>> flags = {"resume": "--resume", "learning_rate": "--lr", "project_name": "--project"}
        >>> speak_flags("runs/a holds a run; pass resume=True (--resume) to continue it.", flags)
        'runs/a holds a run; pass --resume to continue it.'
        >>> speak_flags("learning_rate must be > 0; received learning_rate=-1.0.", flags)
        '--lr must be > 0; received --lr -1.0.'
        >>> speak_flags("Pass overwrite=True, or a new project_name.", flags)
        'Pass overwrite=True, or a new --project.'
    """

    def keyword(match: re.Match) -> str:
        flag = flags.get(match["name"])
        if flag is None:
            return match[0]
        value = match["value"]
        return flag if value == "True" else f"no {flag}" if value == "False" else f"{flag} {value}"

    message = _KEYWORD.sub(keyword, message.replace("list_models()", "'cnnzoo list'"))
    for name, flag in flags.items():
        # A parameter's own name: learning_rate (words joined by "_" are Python's), or any
        # name as a key of a settings comparison ("epochs: 5 -> 10").
        pattern = rf"(?<![\w.'-]){name}(?=: )" if "_" not in name else rf"(?<![\w.'-]){name}\b"
        message = re.sub(pattern, flag, message)
    return re.sub(r"(--[\w-]+) \(\1\)", r"\1", message)  # "pass --resume (--resume)"


def one_line(message: str) -> str:
    """A library error of several lines (a list under a heading) as one line.

    Example:
        >>> lines = ["holds a different search:", "  --max-epochs: 3 -> 9", "  --seed: 0 -> 1"]
        >>> one_line(chr(10).join([*lines, "Pass --overwrite."]))
        'holds a different search: --max-epochs: 3 -> 9; --seed: 0 -> 1; Pass --overwrite.'
    """
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return message
    return lines[0] + "".join(
        (" " if before.endswith(":") else "; ") + line for before, line in itertools.pairwise(lines)
    )


def _flags(args: argparse.Namespace) -> dict[str, str]:
    """``{library parameter: flag}`` of the command that ran: a flag's dest, unless the
    command names the parameter (``set_defaults(flag_for={"learning_rate": "--lr"})``)."""
    return {**_long_flags(args.parser), **getattr(args, "flag_for", {})}


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 done, 1 failed, 2 bad usage)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command(argv)
    from cnnzoo.cli.commands import COMMANDS

    if command is not None and command not in COMMANDS:
        _parser(None).error(
            f"argument COMMAND: invalid choice: {command!r} (choose from "
            f"{', '.join(COMMANDS)}){_did_you_mean(command, COMMANDS)}"
        )
    if command in COMMANDS and command not in WITHOUT_TENSORFLOW:
        from cnnzoo.cli.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()  # before the arguments: their choices import the library
    args, extras = _parser(command).parse_known_args(argv)
    if extras:
        args.parser.error(_unrecognized(args.parser, extras))
    try:
        return args.handler(args) or 0
    except (UsageError, ValueError, FileNotFoundError) as error:
        message = one_line(speak_flags(str(error), _flags(args)))
        args.parser.exit(2, f"cnnzoo {args.command}: error: {message}\n")
    except RuntimeError as error:
        training = sys.modules.get("cnnzoo.training")  # loaded if a command trained
        if training is None or not isinstance(error, training.TrainingDivergedError):
            raise
        args.parser.exit(1, f"cnnzoo {args.command}: {speak_flags(str(error), _flags(args))}\n")
    except KeyboardInterrupt:
        args.parser.exit(130, f"\ncnnzoo {args.command}: interrupted.\n")
    except BrokenPipeError:  # `cnnzoo list | head`: the reader has gone, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (ImportError, OSError) as error:  # weights that cannot be had: offline, no torch
        download = sys.modules.get("cnnzoo.pretrained.download")
        offline = download is not None and isinstance(error, download.WeightsDownloadError)
        if not offline and not (isinstance(error, ImportError) and "pip install" in str(error)):
            raise
        args.parser.exit(1, f"cnnzoo {args.command}: {one_line(str(error))}\n")


if __name__ == "__main__":
    sys.exit(main())
