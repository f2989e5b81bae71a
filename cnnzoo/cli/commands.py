"""The subcommands of ``cnnzoo``: argument definitions and handlers, each a few calls
into the library."""

from __future__ import annotations

import ast

from cnnzoo.cli import UsageError, add_data_argument

# ----- shared arguments ---------------------------------------------------------------


def parse_sets(pairs: list[str] | None) -> dict:
    """``["dropout=0.3", "norm=batch", "widths=(8,16)"]`` as factory keyword arguments:
    Python literals where the value is one, strings otherwise."""
    kwargs = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes key=value; received {pair!r}.")
        try:
            kwargs[key.strip()] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            kwargs[key.strip()] = text
    return kwargs


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        shape = tuple(int(size) for size in text.split(","))
    except ValueError:
        raise UsageError(f"--input-shape takes sizes like 32,32,3; received {text!r}.") from None
    return shape


def add_model_arguments(parser) -> None:
    parser.add_argument("--input-shape", help="input shape, e.g. 32,32,3 (default: the model's)")
    parser.add_argument(
        "--set", action="append", metavar="KEY=VALUE", default=[],
        help="any factory argument, e.g. --set dropout=0.3 (repeatable)",
    )  # fmt: skip


def model_kwargs(args, **extra) -> dict:
    kwargs = parse_sets(args.set)
    shape = parse_shape(getattr(args, "input_shape", None))
    if shape is not None:
        kwargs["input_shape"] = shape
    return {**kwargs, **{key: value for key, value in extra.items() if value is not None}}


def human(count: int) -> str:
    """``61706`` as ``61.7K``, ``15470264320`` as ``15.47G``.

    Example:
        >>> human(61706), human(138357544), human(15470264320)
        ('61.7K', '138.36M', '15.47G')
    """
    for unit, scale, digits in (("G", 1e9, 2), ("M", 1e6, 2), ("K", 1e3, 1)):
        if count >= scale:
            return f"{count / scale:.{digits}f}{unit}"
    return str(count)


# ----- list and info --------------------------------------------------------------------


def _list_arguments(parser) -> None:
    parser.add_argument("pattern", nargs="?", default="*", help="name pattern, e.g. 'resnet*'")


def list_command(args) -> int:
    from cnnzoo.cli.catalog import catalog
    from cnnzoo.cli.tables import format_rows

    rows = catalog(args.pattern)
    if not rows:
        raise UsageError(f"no registered model matches {args.pattern!r}; try 'cnnzoo list'.")
    header = ("model", "family", "params", "MACs", "default input", "min input")
    table = [
        (row.name, row.family, human(row.params), human(row.macs),
         "x".join(map(str, row.default_input)), str(row.min_input_size))
        for row in rows
    ]  # fmt: skip
    print(format_rows(header, table))
    return 0


def _info_arguments(parser) -> None:
    parser.add_argument("model", help="a registered model name (see 'cnnzoo list')")
    parser.add_argument("--num-classes", type=int)
    add_model_arguments(parser)


def info_text(sheet) -> str:
    """What ``cnnzoo info`` prints for a :class:`~cnnzoo.cli.catalog.ModelSheet`."""
    from cnnzoo.compute.rows import format_layer_table

    year = "" if str(sheet.year) in sheet.paper else f", {sheet.year}"
    lines = [f"{sheet.name} ({sheet.family}): {sheet.paper}{year}"]
    if sheet.notes:
        lines.append(f"Deviations and choices: {sheet.notes}")
    if sheet.pretrained:
        lines.append(
            f"Pretrained weights: {', '.join(sheet.pretrained)} (weights='imagenet' is the "
            "first whose layout the arguments give; 'cnnzoo weights info TAG' describes one)"
        )
    lines += [
        f"Input {sheet.input_shape}, output {sheet.output_shape}; parameters "
        f"{sheet.params:,} (trainable {sheet.trainable_params:,}, non-trainable "
        f"{sheet.params - sheet.trainable_params:,}); forward MACs {sheet.macs:,}\n",
        format_layer_table(sheet.layers),
    ]
    return "\n".join(lines)


def info_command(args) -> int:
    from cnnzoo.cli.catalog import describe, shipped_sheet

    sheet = shipped_sheet(args.model)  # an unknown name fails here, without TensorFlow
    kwargs = model_kwargs(args, num_classes=args.num_classes)
    if kwargs:  # the shipped sheet is the model at its defaults; others are built
        from cnnzoo.cli.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
        sheet = describe(args.model, **kwargs)
    print(info_text(sheet))
    return 0


# ----- train ----------------------------------------------------------------------------


def _train_arguments(parser) -> None:
    from cnnzoo.augment import PRESETS
    from cnnzoo.training import SCHEDULES

    parser.add_argument("model", help="a registered model name (see 'cnnzoo list')")
    add_data_argument(parser)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=rate_or_auto, default=1e-3,
                        help="learning rate, or 'auto': the finder's suggestion")  # fmt: skip
    parser.add_argument("--schedule", choices=SCHEDULES, default="constant")
    parser.add_argument("--augment", choices=sorted(PRESETS), help="augmentation preset")
    parser.add_argument("--dropout", type=float, help="dropout rate of the model's head")
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--patience", type=int, default=5,
                        help="early-stopping patience in epochs (-1: off)")  # fmt: skip
    parser.add_argument("--out", help="run folder (default runs/MODEL-TIME)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mixed-precision", action="store_true", help="mixed_float16")
    parser.add_argument("--jit", action="store_true", help="compile with XLA")
    parser.add_argument("--steps-per-execution", type=int,
                        help="batches per compiled call (default 8; 1 on PyTorch)")  # fmt: skip
    cluster = parser.add_argument_group(
        "data-parallel training",
        "every local accelerator (TensorFlow or JAX), or several processes (JAX: run the same "
        "command in each, with its --process-id). The flags default to Keras' variables "
        "KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_NUM_PROCESSES and "
        "KERAS_DISTRIBUTION_PROCESS_ID. --batch-size is the global batch.",
    )
    cluster.add_argument("--distribute", action="store_true", help="train data-parallel")
    cluster.add_argument("--coordinator", help="host:port of process 0")
    cluster.add_argument("--num-processes", type=int, help="processes training together")
    cluster.add_argument("--process-id", type=int, help="this process, 0 to N-1")
    add_model_arguments(parser)
    # train()'s parameters with other names than the flags, for its errors (see speak_flags)
    parser.set_defaults(
        flag_for={"learning_rate": "--lr", "jit_compile": "--jit", "model_kwargs": "--set"}
    )


def _distribution(args):
    settings = {
        "coordinator": args.coordinator,
        "num_processes": args.num_processes,
        "process_id": args.process_id,
    }
    if not args.distribute:
        given = [
            f"--{key.replace('_', '-')}" for key, value in settings.items() if value is not None
        ]
        if given:
            raise UsageError(f"{', '.join(given)} needs --distribute.")
        return None
    return {key: value for key, value in settings.items() if value is not None}


def train_command(args) -> int:
    from cnnzoo.training import train

    if args.resume and not args.out:
        raise UsageError("--resume needs --out, the folder of the run to continue.")
    result = train(
        args.model, args.data, out=args.out, resume=args.resume, epochs=args.epochs,
        batch_size=args.batch_size, optimizer=args.optimizer, learning_rate=args.lr,
        schedule=args.schedule, label_smoothing=args.label_smoothing, augment=args.augment,
        patience=None if args.patience < 0 else args.patience, seed=args.seed,
        mixed_precision=args.mixed_precision, jit_compile=True if args.jit else "auto",
        steps_per_execution=args.steps_per_execution, distribution=_distribution(args),
        model_kwargs=model_kwargs(args, dropout=args.dropout), verbose=1,
    )  # fmt: skip
    if not result.metrics:  # another process than 0 of a multi-process run: it wrote nothing
        print(f"Trained {len(result.history.get('loss', []))} epoch(s); process 0 writes the run.")
        return 0
    print()
    for key, value in result.metrics.items():
        print(f"{key}: {value:.4f}")
    print(f"Run folder: {result.run_dir}")
    return 0


# ----- evaluate, predict, export ---------------------------------------------------------


def _run_argument(parser) -> None:
    parser.add_argument("run", help="a run folder written by 'cnnzoo train'")


def _evaluate_arguments(parser) -> None:
    from cnnzoo.evaluation import TTA_MODES

    _run_argument(parser)
    parser.add_argument("--data", help="another source with the same classes")
    parser.add_argument(
        "--out", help="where to write the pictures and evaluation.json (default: RUN)"
    )
    parser.add_argument(
        "--tta", nargs="+", choices=TTA_MODES, default=[], metavar="MODE",
        help="test-time augmentation, reported beside the plain accuracy: flip (the image "
        "and its mirror image), crops (the centre and four corner crops, 87.5%%, resized)",
    )  # fmt: skip
    parser.add_argument(
        "--top-k", type=int, default=None, metavar="K",
        help="top-K accuracy (default: 5 when there are more than 5 classes)",
    )  # fmt: skip
    parser.add_argument(
        "--gallery", type=int, default=8, metavar="N",
        help="images per row of gallery.png: the most confident mistakes, the least "
        "confident correct answers (default: 8)",
    )  # fmt: skip


def evaluate_command(args) -> int:
    from cnnzoo.cli.runs import evaluate_run

    print(evaluate_run(args.run, data=args.data, out=args.out, tta=args.tta, top_k=args.top_k,
                       gallery=args.gallery))  # fmt: skip
    return 0


def _predict_arguments(parser) -> None:
    parser.add_argument(
        "run", metavar="RUN|TAG",
        help="a run folder written by 'cnnzoo train' or 'cnnzoo finetune', or a pretrained "
        "tag ('cnnzoo weights list'): its model names the ImageNet classes",
    )  # fmt: skip
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument(
        "--calibrated", action="store_true",
        help="apply the temperature that 'cnnzoo evaluate RUN' fitted (RUN/calibration.json)",
    )  # fmt: skip


def predict_command(args) -> int:
    from cnnzoo.cli.runs import predict_images

    found = predict_images(args.run, args.images, top_k=args.top_k, calibrated=args.calibrated)
    for image, top in found:
        print(f"{image}: " + ", ".join(f"{name} {probability:.3f}" for name, probability in top))
    return 0


def _export_arguments(parser) -> None:
    from cnnzoo.export import EXPORT_FORMATS, QUANTIZE_MODES

    _run_argument(parser)
    parser.add_argument("--format", choices=EXPORT_FORMATS, default="keras")
    parser.add_argument("--out", help="where to write it (default: RUN/export/)")
    parser.add_argument(
        "--quantize", choices=QUANTIZE_MODES,
        help="tflite only: int8 (calibrated on the run's training images) or float16 weights",
    )  # fmt: skip


def export_command(args) -> int:
    from pathlib import Path

    from cnnzoo.cli.runs import export_run
    from cnnzoo.cli.tables import format_rows
    from cnnzoo.export import EXPORT_TABLE_HEADER, ExportVerificationError, export_rows

    try:
        report = export_run(args.run, args.format, out=args.out, quantize=args.quantize)
    except ExportVerificationError as error:
        args.parser.exit(1, f"cnnzoo export: error: {error}\n")
    keras_size = (Path(args.run) / "model.keras").stat().st_size
    print(format_rows(EXPORT_TABLE_HEADER, export_rows([report], keras_size_bytes=keras_size)))
    checked = report.note or f"checked on {report.images} {report.split} images"
    print(f"\nExported to {report.path} ({checked}); class names and input in "
          f"{report.path.parent / 'metadata.json'}")  # fmt: skip
    return 0


# The subcommands with modules of their own come after the shared helpers they use.
from cnnzoo.cli.explain import explain_arguments, explain_command  # noqa: E402
from cnnzoo.cli.finetune import finetune_arguments, finetune_command  # noqa: E402
from cnnzoo.cli.lr_find import lr_find_arguments, lr_find_command, rate_or_auto  # noqa: E402
from cnnzoo.cli.tune import tune_arguments, tune_command  # noqa: E402
from cnnzoo.cli.weights import weights_arguments, weights_command  # noqa: E402

COMMANDS = {
    "list": (_list_arguments, list_command, "A table of the registered models."),
    "info": (_info_arguments, info_command, "A model's paper, counts and per-layer table."),
    "train": (_train_arguments, train_command, "Train a model into a run folder."),
    "finetune": (finetune_arguments, finetune_command, "Fine-tune a pretrained model."),
    "lr-find": (
        lr_find_arguments,
        lr_find_command,
        "Suggest a learning rate (a short exponential sweep).",
    ),
    "tune": (tune_arguments, tune_command, "Search hyperparameters with KerasTuner."),
    "evaluate": (
        _evaluate_arguments,
        evaluate_command,
        "Accuracy, top-k, per-class table, confusion, calibration, test-time augmentation.",
    ),
    "predict": (_predict_arguments, predict_command, "Top-k classes of images."),
    "explain": (
        explain_arguments,
        explain_command,
        "Where the model looks: heat maps over images (Grad-CAM, saliency, occlusion).",
    ),
    "export": (_export_arguments, export_command, "Export a run's model."),
    "weights": (
        weights_arguments,
        weights_command,
        "List, describe and download pretrained weights.",
    ),
}

__all__ = ["COMMANDS", "add_model_arguments", "model_kwargs", "parse_sets", "parse_shape"]
