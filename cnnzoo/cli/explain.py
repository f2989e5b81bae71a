"""``cnnzoo explain``: a run's model, image files, and where the model looked (Grad-CAM,
saliency or occlusion), drawn over each image into a PNG."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np

from cnnzoo.cli import UsageError

METHODS = ("gradcam", "saliency", "occlusion")


def explain_arguments(parser) -> None:
    parser.add_argument("run", help="a run folder written by 'cnnzoo train' or 'cnnzoo finetune'")
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    parser.add_argument(
        "--method", choices=METHODS, default="gradcam",
        help="Grad-CAM (default), saliency (input gradients) or occlusion",
    )  # fmt: skip
    parser.add_argument("--out", help="folder of the pictures (default: RUN/explain/)")
    parser.add_argument("--layer", help="Grad-CAM's layer (default: the last stage{i}_out)")
    parser.add_argument(
        "--class", dest="class_name", metavar="NAME",
        help="the class to explain (default: each image's predicted class)",
    )  # fmt: skip
    # explain_run's parameters with other names than the flags, for its errors
    parser.set_defaults(flag_for={"class_index": "--class", "class_name": "--class"})


def explain_command(args) -> int:
    for image, name, probability, path in explain_run(
        args.run, args.images, method=args.method, out=args.out, layer=args.layer,
        class_name=args.class_name,
    ):  # fmt: skip
        print(f"{image}: {name} {probability:.3f} -> {path}")
    return 0


def explain_run(
    run,
    images: list[str],
    *,
    method: str = "gradcam",
    out: str | None = None,
    layer: str | None = None,
    class_name: str | None = None,
) -> list[tuple[str, str, float, Path]]:
    """Explains a run's best model on image files: one PNG per image, the heat map over
    the image, titled with the predicted class and its probability.

    Every argument and file is checked before anything is written.

    Returns:
        ``(image, predicted class, its probability, picture)`` per image.
    """
    from cnnzoo.cli.runs import check_images, load_run_image, open_run
    from cnnzoo.explain import METHODS as FUNCTIONS
    from cnnzoo.explain.checks import predict
    from cnnzoo.explain.graph import find_layer, scoring_model
    from cnnzoo.viz import heatmap_overlay

    if method not in METHODS:
        raise UsageError(f"--method must be one of {', '.join(METHODS)}; received {method!r}.")
    if layer is not None and method != "gradcam":
        raise UsageError(f"--layer chooses Grad-CAM's layer; --method {method} takes none.")
    run, config, model, class_names = open_run(run)
    class_index = None if class_name is None else _class_index(class_name, class_names)
    check_images(images)
    kwargs = {"class_index": class_index}
    if method == "gradcam":
        kwargs["layer"] = find_layer(model, layer).name
    loaded = [load_run_image(image, model, config) for image in images]
    pictures = np.stack([picture for picture, _ in loaded])
    inputs = np.concatenate([batch for _, batch in loaded])
    probabilities = predict(scoring_model(model), inputs)
    maps = FUNCTIONS[method](model, inputs, **kwargs)
    folder = Path(out) if out else run / "explain"
    names = _file_names(images, method)
    done = []
    for image, picture, heat, scores, name in zip(
        images, pictures, maps, probabilities, names, strict=True
    ):
        best = int(scores.argmax())
        title = f"{method}: {class_names[best]} ({scores[best]:.1%})"
        if class_index is not None and class_index != best:
            title += f", explaining {class_name} ({scores[class_index]:.1%})"
        heatmap_overlay(picture, heat, folder / name, title=title)
        done.append((image, class_names[best], float(scores[best]), folder / name))
    return done


def _class_index(name: str, class_names: tuple[str, ...]) -> int:
    if name in class_names:
        return class_names.index(name)
    close = difflib.get_close_matches(name, class_names, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UsageError(
        f"--class must be one of the run's classes ({', '.join(class_names)}); received "
        f"{name!r}{hint}"
    )


def _file_names(images: list[str], method: str) -> list[str]:
    """``{stem}-{method}.png`` per image; a stem seen before gets a number."""
    names, seen = [], {}
    for image in images:
        stem = Path(image).stem
        seen[stem] = seen.get(stem, 0) + 1
        suffix = "" if seen[stem] == 1 else f"-{seen[stem]}"
        names.append(f"{stem}{suffix}-{method}.png")
    return names
