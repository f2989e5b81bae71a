"""``cnnzoo finetune``: :func:`cnnzoo.training.finetune` from the command line."""

from __future__ import annotations

from cnnzoo.cli import UsageError, add_data_argument


def _stages(text: str) -> int | None:
    if text == "all":
        return None
    if not text.isdigit():
        raise UsageError(f"--unfreeze-stages takes a number or 'all'; received {text!r}.")
    return int(text)


def finetune_arguments(parser) -> None:
    from cnnzoo.augment import PRESETS
    from cnnzoo.cli.commands import add_model_arguments
    from cnnzoo.cli.lr_find import rate_or_auto

    parser.add_argument("model", help="a registered model name (see 'cnnzoo list')")
    parser.add_argument(
        "--weights", required=True, metavar="FILE|TAG|imagenet",
        help="a .keras model (e.g. RUN/model.keras), a .weights.h5, .pth or .safetensors "
        "file, a pretrained tag ('cnnzoo weights list'; downloaded when not cached) or "
        "'imagenet' (the model's first tag)",
    )  # fmt: skip
    add_data_argument(parser)
    parser.add_argument("--epochs", type=int, default=5, help="most epochs of each phase")
    parser.add_argument("--lr", type=rate_or_auto, default=1e-3,
                        help="learning rate of phase 1, or 'auto' (the finder's)")  # fmt: skip
    parser.add_argument("--finetune-lr", type=rate_or_auto, default=1e-4,
                        help="learning rate of phase 2, or 'auto'")  # fmt: skip
    parser.add_argument(
        "--unfreeze-stages", default="2", metavar="N|all",
        help="last stages trained in phase 2 besides the head (default 2)",
    )  # fmt: skip
    parser.add_argument("--freeze", metavar="LAYER",
                        help="phase 2 keeps LAYER and everything before it frozen")  # fmt: skip
    parser.add_argument("--phases", nargs="+", metavar="KEY=VALUE,...",
                        help="the phases in full, one argument each, e.g. "
                             "'epochs=3' 'epochs=3,learning_rate=1e-4,trainable_stages=all' "
                             "(keys: the fields of cnnzoo.transfer.Phase)")  # fmt: skip
    parser.add_argument(
        "--layer-decay", type=float, default=1.0, metavar="FACTOR",
        help="layer-wise learning rates: each stage learns FACTOR times slower than the one "
        "above it, the head at the phase's rate (e.g. 0.7; default 1: one rate)",
    )  # fmt: skip
    parser.add_argument("--patience", type=int, default=3,
                        help="early-stopping patience of each phase (-1: off)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--augment", choices=sorted(PRESETS), help="augmentation preset")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout of the new head")
    parser.add_argument("--pooling", choices=("avg", "max", "flatten"), default="avg")
    parser.add_argument("--out", help="run folder (default runs/MODEL-TIME)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jit", action="store_true", help="compile with XLA")
    parser.add_argument("--steps-per-execution", type=int,
                        help="batches per compiled call (default 8; 1 on PyTorch)")  # fmt: skip
    add_model_arguments(parser)
    parser.set_defaults(flag_for={"jit_compile": "--jit", "model_kwargs": "--set"})


def _phases(args) -> list[dict]:
    from cnnzoo.cli.commands import parse_sets

    patience = None if args.patience < 0 else args.patience
    if args.phases:
        if args.freeze:
            raise UsageError("--freeze sets phase 2; with --phases give until=LAYER there.")
        phases = []
        for text in args.phases:
            phase = parse_sets(text.split(","))
            if phase.get("trainable_stages") == "all":
                phase["trainable_stages"] = None
            phases.append({"patience": patience, **phase})
        return phases
    head = {"epochs": args.epochs, "learning_rate": args.lr, "patience": patience}
    top = {**head, "learning_rate": args.finetune_lr, "until": args.freeze,
           "trainable_stages": _stages(args.unfreeze_stages)}  # fmt: skip
    return [head, top]


def finetune_command(args) -> int:
    from cnnzoo.cli.commands import model_kwargs
    from cnnzoo.training import finetune

    if args.resume and not args.out:
        raise UsageError("--resume needs --out, the folder of the run to continue.")
    result = finetune(
        args.model, args.data, weights=args.weights, out=args.out, resume=args.resume,
        phases=_phases(args), batch_size=args.batch_size, augment=args.augment,
        dropout=args.dropout, pooling=args.pooling, seed=args.seed,
        model_kwargs=model_kwargs(args), layer_decay=args.layer_decay,
        steps_per_execution=args.steps_per_execution, jit_compile=True if args.jit else "auto",
        verbose=1,
    )  # fmt: skip
    print()
    print((result.run_dir / "weights_report.txt").read_text().strip())
    for key, value in result.metrics.items():
        print(f"{key}: {value:.4f}")
    print(f"Run folder: {result.run_dir}")
    return 0
