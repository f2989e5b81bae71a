"""MkDocs hooks: the parts of the site that are computed from cnnzoo at build time, so that
they cannot go stale.

A page asks for generated content with a marker, an HTML comment on a line of its own:

- ``<!-- cnnzoo:models FAMILY ... -->``: the registered variants of those families (every
  model without one), with parameters, MACs, default and minimum input, from
  :func:`cnnzoo.cli.catalog.catalog`, the table ``cnnzoo list`` prints.
- ``<!-- cnnzoo:deviations FAMILY ... -->``: each variant's paper, reference parameter count
  and documented deviations (:func:`cnnzoo.model_info`).
- ``<!-- cnnzoo:knobs MODULE.FACTORY -->``: the factory's own arguments with their defaults
  (from its signature) and descriptions (from its docstring), then the family's defaults
  of the shared arguments.
- ``<!-- cnnzoo:shared-args -->``: the arguments every factory takes.
- ``<!-- cnnzoo:layer-table MODEL -->``: the per-layer table of ``cnnzoo info MODEL``.
- ``<!-- cnnzoo:space -->``: the hyperparameters of :func:`cnnzoo.tuning.describe_space`.
- ``<!-- cnnzoo:cli COMMAND -->``: the output of ``cnnzoo COMMAND --help``.
- ``<!-- cnnzoo:augmentation-presets -->``: each augmentation preset, what it contains
  and a picture of it.
- ``<!-- cnnzoo:pretrained -->``: every catalogued set of pretrained weights, with its
  top-1, preprocessing, licence and source (:func:`cnnzoo.list_pretrained`).
- ``<!-- cnnzoo:parity -->``: every port against its reference (torchvision,
  keras.applications) on the same weights, the table that ``make parity`` writes from the
  equivalence tests into ``docs/snippets/parity.md`` (checked in: the tests take minutes
  and PyTorch; ``tests/test_parity_table.py`` checks that it has every pair).
- ``<!-- cnnzoo:recipes -->``: every script in ``recipes/``, with the title, description
  and command line of its header.
- ``<!-- cnnzoo:api MODULE [FUNCTION ...] -->``: the API reference of a module, public
  functions first (those named, in that order, then the others), then classes and
  exceptions; read from ``__all__``, so that a new public name cannot be missed.

The pictures (``images/generated/*.png``) are drawn by :mod:`cnnzoo.viz` while the site
builds, those of training, fine-tuning and search from real (tiny) runs made once per
build. An unknown marker, or one with bad arguments, fails the build.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import os
import posixpath
import re
import tempfile
import textwrap
from pathlib import Path

from mkdocs.exceptions import PluginError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MARKER = re.compile(r"^<!--\s*cnnzoo:(?P<kind>[\w-]+)(?P<args>[^>]*?)\s*-->[ \t]*$", re.MULTILINE)
IMAGES = "images/generated"
ROLE = re.compile(r":(?:func|class|meth|mod|attr|exc|data|obj):`~?([^`]+)`")
MODELS_PAGE = "models/index.md"
_TEMP = tempfile.TemporaryDirectory(prefix="cnnzoo-docs-")


class MarkerError(PluginError):
    """A marker the hook does not know, or one with bad arguments."""


# ----- models -----------------------------------------------------------------------------


def _families(args: list[str]) -> list[str]:
    from cnnzoo import list_models, model_info

    known = sorted({model_info(name).family for name in list_models()})
    unknown = [family for family in args if family not in known]
    if unknown:
        raise MarkerError(f"unknown families {unknown}; registered families: {known}")
    return args or known


def models_table(args: list[str], page_uri: str) -> str:
    """The catalog rows (``cnnzoo list``) of the given families as a Markdown table."""
    from cnnzoo.cli.catalog import catalog
    from cnnzoo.cli.commands import human

    families = _families(args)
    rows = [row for row in catalog() if row.family in families]
    lines = [
        "| model | parameters | forward MACs | default input | min input |",
        "|---|--:|--:|---|--:|",
    ]
    for row in rows:
        shape = "x".join(map(str, row.default_input))
        cells = (f"`{row.name}`", f"{row.params:,}", human(row.macs), shape, row.min_input_size)
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def deviations(args: list[str], page_uri: str) -> str:
    """The papers, then each variant's documented deviations and reference count."""
    from cnnzoo import list_models, model_info

    families = _families(args)
    infos = [model_info(name) for name in list_models() if model_info(name).family in families]
    papers = []
    for info in infos:
        paper = info.paper if str(info.year) in info.paper else f"{info.paper} ({info.year})"
        if paper not in papers:
            papers.append(paper)
    lines = [f"Paper{'s' if len(papers) > 1 else ''}: " + "; ".join(papers) + ".", ""]
    for info in infos:
        if info.reference_params is not None:
            reference = f"{info.reference_params:,} parameters; source: {info.reference_source}"
        else:
            reference = info.reference_source or "none"
        lines.append(f"- **`{info.name}`**: {info.notes} *Reference: {reference}.*")
    return "\n".join(lines)


# ----- arguments --------------------------------------------------------------------------


def docstring_args(func) -> dict[str, str]:
    """``{argument: description}`` from the ``Args:`` section of a Google-style docstring."""
    lines = (inspect.getdoc(func) or "").splitlines()
    descriptions: dict[str, str] = {}
    inside, current = False, None
    for line in lines:
        if not inside:
            inside = line.strip() == "Args:"
            continue
        if line and not line.startswith(" "):  # the next section
            break
        entry = re.match(r"^ {4}(\*{0,2}\w+)(?: \([^)]*\))?: ?(.*)$", line)
        if entry:
            current = entry[1].lstrip("*")
            descriptions[current] = entry[2].strip()
        elif current and line.strip():
            descriptions[current] += " " + line.strip()
    return {name: ROLE.sub(r"`\1`", text) for name, text in descriptions.items()}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _shared_names() -> list[str]:
    from cnnzoo.models.common_args import SHARED_ARGUMENTS

    return list(SHARED_ARGUMENTS)


def _factory(path: str):
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as error:
        raise MarkerError(f"cannot import the factory {path!r}: {error}") from None


def knobs(args: list[str], page_uri: str) -> str:
    """A family factory's own arguments, then its defaults of the shared ones."""
    if len(args) != 1:
        raise MarkerError(f"knobs takes one factory path, e.g. cnnzoo.models.vgg.vgg; got {args}")
    func = _factory(args[0])
    parameters = inspect.signature(func).parameters
    descriptions = docstring_args(func)
    shared = _shared_names()
    lines = ["| argument | default | what it sets |", "|---|---|---|"]
    for name, parameter in parameters.items():
        if name in shared:
            continue
        if name not in descriptions:
            raise MarkerError(f"{args[0]} does not document its argument {name!r}")
        default = (
            "required" if parameter.default is inspect.Parameter.empty else repr(parameter.default)
        )
        lines.append(f"| `{name}` | `{_cell(default)}` | {_cell(descriptions[name])} |")
    link = posixpath.relpath(MODELS_PAGE, posixpath.dirname(page_uri) or ".")
    defaults = ", ".join(
        f"`{name}={parameters[name].default!r}`" for name in shared if name in parameters
    )
    lines += [
        "",
        f"The [shared arguments]({link}#shared-arguments) with this factory's defaults: "
        f"{defaults}.",
    ]
    return "\n".join(lines)


# What each shared argument sets, for every family at once (each factory's docstring
# describes it for that family). A shared argument missing here fails the build.
SHARED_ARGS = {
    "num_classes": "Number of classes: the units of the `predictions` layer.",
    "input_shape": (
        "Channels last: `(height, width, channels)`; `(length, channels)` builds a 1-D "
        "network and `(depth, height, width, channels)` a 3-D one. Any size the "
        "architecture survives (the *min input* of the tables), any number of channels."
    ),
    "include_top": (
        "Whether to add the classifier head; `False` returns the backbone, for features "
        "or a head of your own."
    ),
    "pooling": (
        'How the last feature map becomes a vector: `"flatten"`, `"avg"` or `"max"` '
        '(global pooling). `None`: the family\'s own with the top (`"flatten"` for LeNet-5, '
        'AlexNet and VGG, `"avg"` for the others), the feature map itself without it.'
    ),
    "classifier_activation": ('Activation of `predictions`: `"softmax"`, or `None` for logits.'),
    "dropout": "Dropout rate in the head.",
    "name": "Name of the model (by default the registered name).",
    "activation": (
        "Activation after every convolution and hidden dense layer: a Keras name "
        '(`"relu"`, `"gelu"`, ...) or a callable.'
    ),
    "norm": '`None` or `"batch"`: batch normalization after every convolution.',
    "kernel_regularizer": (
        'Penalty on every kernel: `"l1"`, `"l2"`, `"l1_l2"`, a `(name, factor)` pair such '
        'as `("l2", 5e-4)`, or a Keras regularizer.'
    ),
    "noise": "Standard deviation of Gaussian noise added to the input in training.",
    "augmentation": (
        'A preset name (`"standard"`, ...), a Keras layer or a list of layers, applied to '
        "the input in training only ([Augmentation]({guides}/augmentation.md))."
    ),
    "weights": (
        '`None` (fresh weights), `"imagenet"` (keras.applications\' weights, for the '
        "architectures that have them), or a saved cnnzoo model (`.keras`, `.weights.h5`, "
        "a `keras.Model`) loaded by layer name "
        "([Fine-tuning]({guides}/fine-tuning.md#weights-from-another-model))."
    ),
}


def shared_args(args: list[str], page_uri: str) -> str:
    """The arguments every factory takes (the fields of ``CommonArgs`` and ``weights``)."""
    names = _shared_names()
    undescribed = [name for name in names if name not in SHARED_ARGS]
    if undescribed:
        raise MarkerError(f"describe the shared arguments {undescribed} in SHARED_ARGS")
    guides = posixpath.relpath("guides", posixpath.dirname(page_uri) or ".")
    lines = ["| argument | what it sets |", "|---|---|"]
    for name in names:
        lines.append(f"| `{name}` | {_cell(SHARED_ARGS[name].format(guides=guides))} |")
    return "\n".join(lines)


def layer_table(args: list[str], page_uri: str) -> str:
    """``cnnzoo info``'s per-layer table of a registered model at its defaults."""
    from cnnzoo import create_model
    from cnnzoo.compute import format_layer_table
    from cnnzoo.compute import layer_table as table

    if len(args) != 1:
        raise MarkerError(f"layer-table takes one model name; got {args}")
    return "```text\n" + format_layer_table(table(create_model(args[0]))) + "\n```"


# ----- the API reference --------------------------------------------------------------------


# The module's docstring alone, without a heading: its members follow one by one.
MODULE_DOCSTRING = """::: {module}
    options:
      show_root_heading: false
      show_root_toc_entry: false
      members: false"""


def _public_names(module) -> list[str]:
    """``module.__all__``: a page lists what the module exports, so a new public name
    cannot be missed."""
    if not hasattr(module, "__all__"):
        raise MarkerError(f"{module.__name__} has no __all__ to lay out its API page from")
    return list(module.__all__)


def _api_path(module, name: str) -> str:
    """Where mkdocstrings finds ``module.name``: through the package, unless a submodule
    has the same name (``cnnzoo.tuning.search``), then where it is defined."""
    package = hasattr(module, "__path__")
    if not package or importlib.util.find_spec(f"{module.__name__}.{name}") is None:
        return f"{module.__name__}.{name}"
    obj = inspect.unwrap(getattr(module, name))
    return f"{obj.__module__}.{obj.__qualname__}"


def api(args: list[str], page_uri: str) -> str:
    """A module's reference, public functions first: the module's docstring, then the
    functions named in the marker in that order, the module's other public functions,
    its classes, and its exceptions last. Constants are left out, as mkdocstrings leaves
    out members without a docstring."""
    if not args:
        raise MarkerError("api takes a module and, optionally, the functions to put first")
    try:
        module = importlib.import_module(args[0])
    except ImportError as error:
        raise MarkerError(f"cannot import {args[0]!r}: {error}") from None
    public = _public_names(module)
    unknown = [name for name in args[1:] if name not in public]
    if unknown:
        raise MarkerError(f"{args[0]} has no public {unknown}; its public names: {public}")
    objects = {name: getattr(module, name) for name in public}
    functions = [name for name, obj in objects.items() if inspect.isroutine(inspect.unwrap(obj))]
    classes = [name for name, obj in objects.items() if inspect.isclass(obj)]
    errors = [name for name in classes if issubclass(objects[name], BaseException)]
    order = list(args[1:])
    for group in (functions, [name for name in classes if name not in errors], errors):
        order += [name for name in group if name not in order]
    blocks = [MODULE_DOCSTRING.format(module=args[0])]
    blocks += [f"::: {_api_path(module, name)}" for name in order]
    return "\n\n".join(blocks)


# ----- tuning and the command line ----------------------------------------------------------


def space(args: list[str], page_uri: str) -> str:
    """Every hyperparameter of the search space, as ``cnnzoo tune --space`` lists them."""
    from cnnzoo.tuning import describe_space

    lines = [
        "| group | hyperparameter | values | default | families | what it changes |",
        "|---|---|---|---|---|---|",
    ]
    for row in describe_space(*args):
        values = row["values"] + (" (log scale)" if row["sampling"] == "log" else "")
        lines.append(
            f"| {row['group']} | `{row['name']}` | {_cell(values)} | `{row['default']}` | "
            f"{row['families']} | {_cell(row['help'])} |"
        )
    return "\n".join(lines)


def cli_help(args: list[str], page_uri: str) -> str:
    """The output of ``cnnzoo COMMAND --help`` (or ``cnnzoo --help``)."""
    from cnnzoo.cli import main

    buffer = io.StringIO()
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps to the terminal; 80 fits the column
    try:
        with contextlib.redirect_stdout(buffer), contextlib.suppress(SystemExit):
            main([*args, "--help"])
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    text = buffer.getvalue().strip()
    if not text.startswith("usage: cnnzoo"):
        raise MarkerError(f"cnnzoo {' '.join(args)} --help printed no usage: {text[:200]!r}")
    block = textwrap.indent(f"```text\n{text}\n```", "    ")
    return f'??? info "`cnnzoo {" ".join(args)} --help`"\n\n{block}'


# ----- pictures ---------------------------------------------------------------------------


def _photo(size: int = 128):
    """Two RGB crops (face, whole portrait) of the Grace Hopper portrait that matplotlib
    ships (public domain, U.S. Navy), as ``(2, size, size, 3)`` floats in [0, 255]."""
    import matplotlib
    import matplotlib.image
    import numpy as np
    import tensorflow as tf

    picture = matplotlib.image.imread(
        Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    )
    face, whole = picture[40:360, 100:420], picture[:512, :]
    crops = [
        tf.image.resize(part.astype("float32"), (size, size)).numpy() for part in (face, whole)
    ]
    return np.stack(crops)


def _digits():
    from cnnzoo.data import load_sample

    return load_sample("mnist").train.images[:3]  # (3, 28, 28, 1) in [0, 1]


def preset_picture(preset: str) -> str:
    return f"{IMAGES}/augmentation-{preset}.png"


def draw_pictures(folder: Path) -> dict[str, Path]:
    """Draws every generated picture into ``folder``: ``{site path: file}``."""
    from cnnzoo.augment import PRESETS
    from cnnzoo.viz import augmentation_grid, filter_responses

    pictures = {}
    photo = _photo()
    for preset in PRESETS:
        if preset == "none":
            continue
        path = folder / f"augmentation-{preset}.png"
        augmentation_grid(photo, preset, path, versions=4, seed=0, value_range=(0, 255))
        pictures[preset_picture(preset)] = path
    digits = _digits()
    path = folder / "augmentation-standard-digits.png"
    augmentation_grid(digits, "standard", path, versions=4, seed=0, value_range=(0, 1))
    pictures[f"{IMAGES}/augmentation-standard-digits.png"] = path
    path = folder / "filter-responses.png"
    filter_responses(digits[0], path)
    pictures[f"{IMAGES}/filter-responses.png"] = path
    runs = folder / "runs"
    draws = (training_run_pictures, fine_tuning_run_pictures, search_pictures, lr_find_pictures)
    for draw in draws:
        pictures.update({f"{IMAGES}/{name}": path for name, path in draw(runs).items()})
    return pictures


# ----- pictures of real runs ----------------------------------------------------------------
# Each run is as small as still shows something (LeNet-5, the bundled digits, a few epochs),
# made once per build and read by every picture that needs it. The guides' captions give
# the settings: change them together.

# LeNet-5 with batch norm, padded for 28x28 digits: the network of the fine-tuning guide.
FINE_TUNING_LENET = {
    "variant": "modern",
    "norm": "batch",
    "input_shape": (28, 28, 1),
    "padding": ("same", "valid", "valid"),
}


def training_run_pictures(folder: Path) -> dict[str, Path]:
    """A 3-epoch ``train`` of LeNet-5 on the bundled sample: the run's own ``curves.png``,
    the ``confusion.png`` that ``cnnzoo evaluate`` draws from it, and the trained
    network's feature maps and ``cnnzoo explain`` heat maps for a test digit."""
    import keras

    from cnnzoo.cli import main
    from cnnzoo.data import load_sample
    from cnnzoo.training import train
    from cnnzoo.viz import feature_maps

    run = folder / "3-epochs"  # the curves' title: "lenet5: 3-epochs"
    result = train(
        "lenet5",
        "mnist-sample",
        epochs=3,
        batch_size=64,
        patience=None,
        model_kwargs={"input_shape": (28, 28, 1), "padding": (2, "valid", "valid")},
        out=run,
        verbose=0,
    )
    evaluation = folder / "lenet5-evaluation"
    with contextlib.redirect_stdout(io.StringIO()):  # the report; the picture is the point
        status = main(["evaluate", str(run), "--out", str(evaluation)])
    if status:
        raise MarkerError(f"cnnzoo evaluate {run} exited with status {status}")
    digit = load_sample("mnist").test.images[0] * 255  # the model takes pixels in [0, 255]
    maps = folder / "feature-maps.png"
    feature_maps(result.model, digit, maps, layers=["c1_act", "c3_act"], max_maps=8)
    # What the trained network looks at in the same digit, as `cnnzoo explain` draws it.
    digit_file = folder / "digit.png"
    keras.utils.save_img(digit_file, digit.astype("uint8"), scale=False)
    explained = folder / "explain"
    for method in ("gradcam", "occlusion"):
        with contextlib.redirect_stdout(io.StringIO()):
            status = main(["explain", str(run), str(digit_file), "--method", method,
                           "--out", str(explained)])  # fmt: skip
        if status:
            raise MarkerError(f"cnnzoo explain {run} exited with status {status}")
    return {
        "training-curves.png": run / "curves.png",
        "confusion.png": evaluation / "confusion.png",
        "feature-maps.png": maps,
        "explain-gradcam.png": explained / "digit-gradcam.png",
        "explain-occlusion.png": explained / "digit-occlusion.png",
    }


def fine_tuning_run_pictures(folder: Path) -> dict[str, Path]:
    """The fine-tuning guide's experiment as a ``finetune`` run: LeNet-5 trained for 2
    epochs on the digits 0 to 4, then fine-tuned on a folder of 60 images of each of 5
    to 9, 4 epochs of the new head and 4 of the last two stages. Its ``curves.png``."""
    import keras
    import numpy as np

    from cnnzoo import lenet5
    from cnnzoo.data import load_sample
    from cnnzoo.training import finetune

    keras.utils.set_random_seed(0)
    sample = load_sample("mnist")
    images, labels = sample.train.images * 255, sample.train.labels
    old = labels < 5
    pretrained = lenet5(num_classes=5, **FINE_TUNING_LENET)
    pretrained.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    pretrained.fit(images[old], labels[old], epochs=2, verbose=0)
    weights = folder / "pretrained.keras"
    weights.parent.mkdir(parents=True, exist_ok=True)
    pretrained.save(weights)
    for index in np.concatenate([np.flatnonzero(labels == d)[:60] for d in range(5, 10)]):
        image_folder = folder / "new-digits" / str(labels[index])
        image_folder.mkdir(parents=True, exist_ok=True)
        keras.utils.save_img(image_folder / f"{index}.png", images[index] / 255)
    run = folder / "new-digits-run"
    finetune(
        "lenet5",
        folder / "new-digits",
        weights=weights,
        model_kwargs=FINE_TUNING_LENET,
        phases=[{"epochs": 4}, {"epochs": 4}],
        batch_size=16,
        out=run,
        verbose=0,
    )
    return {"fine-tuning-curves.png": run / "curves.png"}


def search_pictures(folder: Path) -> dict[str, Path]:
    """A random search of 5 trials over LeNet-5's learning rate (1,000 digits, 1 epoch
    each): the project's ``scores.png``."""
    from cnnzoo.data import load_sample
    from cnnzoo.tuning import search

    sample = load_sample("mnist")
    result = search(
        "lenet5_modern",
        (sample.train.images[:1000], sample.train.labels[:1000]),
        (sample.validation.images[:200], sample.validation.labels[:200]),
        tuner="random",
        max_trials=5,
        max_epochs=1,
        tune=["learning_rate"],
        input_range=(0, 1),
        directory=folder / "tuning",
        seed=0,
        verbose=0,
    )
    return {"tuning-scores.png": result.project_dir / "scores.png"}


def lr_find_pictures(folder: Path) -> dict[str, Path]:
    """The learning-rate guide's sweep: ``find_learning_rate("lenet5")`` at its defaults
    (what ``train(learning_rate="auto")`` runs), seed 0."""
    from cnnzoo.training import find_learning_rate

    found = find_learning_rate("lenet5", seed=0)
    path = folder / "lr-find-lenet5.png"
    found.plot(path, title=f"LeNet-5, Adam, the digits: learning-rate sweep ({found.stop_reason})")
    return {"lr-find-lenet5.png": path}


def augmentation_presets(args: list[str], page_uri: str) -> str:
    """Each preset's description and picture (drawn by :func:`draw_pictures`)."""
    from cnnzoo.augment import describe_presets

    sections = []
    for preset, description in describe_presets().items():
        if preset == "none":
            continue
        picture = posixpath.relpath(preset_picture(preset), posixpath.dirname(page_uri) or ".")
        sections.append(
            f'### `"{preset}"`\n\n{description[0].upper()}{description[1:]}.\n\n'
            f'![The "{preset}" preset on two photographs]({picture})'
        )
    return "\n\n".join(sections)


RECIPES = Path(__file__).resolve().parents[2] / "recipes"
HEADER = re.compile(r'^"""\nTitle: (?P<title>.+)\n(?:.*\n)*?Description: (?P<description>.+)\n')
RUN = re.compile(r"^Run: `(?P<command>[^`]+)`", re.MULTILINE)


def recipes(args: list[str], page_uri: str) -> str:
    """A section per recipe: its header's title, description and command line."""
    if args:
        raise MarkerError(f"takes no arguments; received {args}")
    sections = []
    for path in sorted(RECIPES.glob("*.py")):
        text = path.read_text()
        header, run = HEADER.match(text), RUN.search(text)
        if header is None or run is None:
            raise MarkerError(f"{path.name} has no keras-io header with Title, Description, Run")
        sections.append(
            f"## {header['title']}\n\n`recipes/{path.name}`: {header['description']}\n\n"
            f"```text\n{run['command']}\n```"
        )
    return "\n\n".join(sections)


def pretrained(args: list[str], page_uri: str) -> str:
    """Every catalogued set of pretrained weights: top-1, preprocessing, licence, source."""
    from cnnzoo.pretrained import list_pretrained, pretrained_weights

    if args:
        raise MarkerError(f"takes no arguments; received {args}")
    lines = [
        "| weights | top-1 | preprocessing | format | licence | source |",
        "|---|--:|---|---|---|---|",
    ]
    for name in list_pretrained():
        entry = pretrained_weights(name)
        build = ", ".join(f"{key}={value!r}" for key, value in entry.builder_args)
        label = f"`{name}`" + (f" (built with `{build}`)" if build else "")
        top1 = "" if entry.top1 is None else f"{entry.top1:.2f}"
        cells = (label, top1, entry.preprocessing.describe(), entry.format, entry.licence)
        lines.append("| " + " | ".join((*cells, f"[{entry.source}]({entry.url})")) + " |")
    return "\n".join(lines)


PARITY_TABLE = Path(__file__).resolve().parents[1] / "snippets" / "parity.md"


def parity(args: list[str], page_uri: str) -> str:
    """The parity table that ``make parity`` writes (``docs/snippets/parity.md``)."""
    if args:
        raise MarkerError(f"takes no arguments; received {args}")
    if not PARITY_TABLE.is_file():
        raise MarkerError(f"{PARITY_TABLE} is missing: `make parity` writes it")
    return PARITY_TABLE.read_text().strip()


# ----- MkDocs events ------------------------------------------------------------------------

GENERATORS = {
    "models": models_table,
    "deviations": deviations,
    "knobs": knobs,
    "shared-args": shared_args,
    "layer-table": layer_table,
    "space": space,
    "cli": cli_help,
    "augmentation-presets": augmentation_presets,
    "recipes": recipes,
    "pretrained": pretrained,
    "parity": parity,
    "api": api,
}


def on_files(files, config):
    from mkdocs.structure.files import File

    folder = Path(_TEMP.name)
    for uri, path in draw_pictures(folder).items():
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown, page, config, files):
    def replace(match: re.Match) -> str:
        kind, args = match["kind"], match["args"].split()
        if kind not in GENERATORS:
            raise MarkerError(
                f"{page.file.src_uri}: unknown marker cnnzoo:{kind}; known: {sorted(GENERATORS)}"
            )
        try:
            return GENERATORS[kind](args, page.file.src_uri)
        except MarkerError as error:
            raise MarkerError(f"{page.file.src_uri}: cnnzoo:{kind}: {error}") from None

    return MARKER.sub(replace, markdown)
