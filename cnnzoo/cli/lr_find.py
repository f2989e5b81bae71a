"""``cnnzoo lr-find``: :func:`cnnzoo.training.find_learning_rate` from the command line,
and the ``--lr`` type that takes ``auto`` in ``train`` and ``finetune``."""

from __future__ import annotations

import argparse

from cnnzoo.cli import add_data_argument


def rate_or_auto(text: str) -> float | str:
    """A ``--lr`` value: a number, or ``auto`` (the learning-rate finder's suggestion).

    Example:
        >>> rate_or_auto("3e-4"), rate_or_auto("auto")
        (0.0003, 'auto')
    """
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"takes a number or 'auto' (the learning-rate finder's suggestion); received {text!r}"
        ) from None


def lr_find_arguments(parser) -> None:
    from cnnzoo.augment import PRESETS
    from cnnzoo.cli.commands import add_model_arguments
    from cnnzoo.training.lr_sweep import MAX_LR, MIN_LR, NUM_STEPS, RULES

    parser.add_argument("model", help="a registered model name (see 'cnnzoo list')")
    add_data_argument(parser)
    parser.add_argument("--min-lr", type=float, default=MIN_LR, help="first rate of the sweep")
    parser.add_argument("--max-lr", type=float, default=MAX_LR, help="last rate of the sweep")
    parser.add_argument("--steps", type=int, default=NUM_STEPS, help="batches of the sweep")
    parser.add_argument("--rule", choices=RULES,
                        help="how the rate is read off the curve (default: minimum/4 with "
                             "sgd, minimum/10 with the other optimizers)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--augment", choices=sorted(PRESETS), help="augmentation preset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default="lr_find.png", help="where to draw the curve")
    add_model_arguments(parser)
    parser.set_defaults(flag_for={"num_steps": "--steps", "model_kwargs": "--set"})


def lr_find_command(args) -> int:
    from cnnzoo.cli.commands import model_kwargs
    from cnnzoo.training import find_learning_rate

    found = find_learning_rate(
        args.model, args.data, batch_size=args.batch_size, optimizer=args.optimizer,
        label_smoothing=args.label_smoothing, augment=args.augment, seed=args.seed,
        model_kwargs=model_kwargs(args), min_lr=args.min_lr, max_lr=args.max_lr,
        num_steps=args.steps, rule=args.rule,
    )  # fmt: skip
    found.plot(args.plot, title=f"{args.model}: learning-rate sweep ({found.stop_reason})")
    print(f"{found.describe()}.")
    print(f"Plot: {args.plot}")
    print(f"Train with it: cnnzoo train {args.model} --lr {found.suggestion:.3g} (or --lr auto)")
    return 0
