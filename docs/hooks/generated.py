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
- ``<!-- cnnzoo:recipes -->``: every script in ``recipes/``, with the title, description
  and command line of its header.

The pictures (``images/generated/*.png``) are drawn by :mod:`cnnzoo.viz` while the site
builds. An unknown marker, or one with bad arguments, fails the build.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
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
# Added to every factory by @keyword_checked, so not in CommonArgs: a shared argument too.
WEIGHTS_ARGUMENT = "weights"
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
    from cnnzoo.models.common_args import CommonArgs

    return [field.name for field in dataclasses.fields(CommonArgs)] + [WEIGHTS_ARGUMENT]


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
    WEIGHTS_ARGUMENT: (
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
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal
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
    return pictures


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
