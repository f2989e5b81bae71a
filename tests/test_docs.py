"""The documentation site: every code block of every page runs, every block that does not
run says why, and the site builds with ``mkdocs build --strict`` with the generated model
tables and the API reference complete.

The convention for code blocks in ``docs/``:

- ``python`` blocks run, in page order, in one namespace per page, in a temporary working
  directory; ``pycon`` blocks run as doctests in the same namespace (their output is
  checked);
- ``bash`` blocks whose every command is ``cnnzoo ...`` run through ``cnnzoo.cli.main``
  (in this process, in the same directory) and must exit with status 0;
- ``text`` blocks are output or file layouts and never run;
- any other block, or one of the above that cannot run in a test, is preceded by the
  comment ``<!-- not run: REASON -->`` with a reason.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib.util
import inspect
import itertools
import re
import shlex
import subprocess
import sys
from pathlib import Path

import keras
import pytest
from conftest import quiet_env

from cnnzoo import list_models, model_info

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HOOKS = DOCS / "hooks"
PAGES = sorted(path for path in DOCS.rglob("*.md") if HOOKS not in path.parents)

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)")
NOT_RUN = re.compile(r"^\s*<!--\s*not run:(?P<reason>.*?)-->\s*$")
MODELS_MARKER = re.compile(r"^<!--\s*cnnzoo:models(?P<families>[^>]*?)\s*-->", re.MULTILINE)
RUNNABLE = ("python", "pycon", "bash")
NEVER_RUN = ("text",)
CLI = "cnnzoo"


@dataclasses.dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the first line of code, counted from 1
    lang: str
    code: str
    not_run: str | None  # the reason given, "" for an empty one, None for no marker

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def commands(self) -> list[str]:
        """A shell block's commands: continuation lines joined, comments and blanks dropped."""
        text = self.code.replace("\\\n", " ")
        lines = [shlex.split(line, comments=True) for line in text.splitlines()]
        return [shlex.join(words) for words in lines if words]

    @property
    def runs(self) -> bool:
        if self.not_run is not None or self.lang not in RUNNABLE:
            return False
        return self.lang != "bash" or all(cmd.startswith(CLI + " ") for cmd in self.commands)


def code_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with the not-run reason above each."""
    lines = page.read_text().splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        above = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = NOT_RUN.match(above)
        indent, fence = len(opening["indent"]), opening["fence"]
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        code = "\n".join(line[indent:] for line in lines[index + 1 : end])
        blocks.append(
            Block(
                page,
                index + 2,
                opening["lang"],
                code + "\n",
                marker["reason"].strip() if marker else None,
            )
        )
        index = end + 1
    return blocks


def _page_id(page: Path) -> str:
    return str(page.relative_to(DOCS))


PAGES_WITH_CODE = [page for page in PAGES if any(block.runs for block in code_blocks(page))]


# ----- the convention ---------------------------------------------------------------------


def test_the_docs_have_pages_and_code():
    assert len(PAGES) >= 20, PAGES
    blocks = [block for page in PAGES for block in code_blocks(page)]
    assert sum(block.runs for block in blocks) >= 60, "the docs lost their runnable code"


def test_every_block_runs_or_says_why():
    problems = []
    for page in PAGES:
        for block in code_blocks(page):
            if block.not_run == "":
                problems.append(f"{block.where}: 'not run:' without a reason")
            elif block.not_run is None and not block.runs and block.lang not in NEVER_RUN:
                problems.append(
                    f"{block.where}: a {block.lang or 'plain'} block that does not run needs "
                    "<!-- not run: REASON --> above it"
                    + (" (only `cnnzoo ...` commands run)" if block.lang == "bash" else "")
                )
    assert not problems, "\n".join(problems)


def test_the_block_parser_reads_the_convention(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n```python\nx = 1\n```\n\n<!-- not run: needs a GPU -->\n```python\ny = 2\n"
        "```\n\n```bash\ncnnzoo list \\\n    'vgg*'  # VGG only\n```\n\n```bash\nmake demo\n"
        "```\n\n```text\noutput\n```\n"
    )
    blocks = code_blocks(page)
    assert [(b.lang, b.line, b.runs, b.not_run) for b in blocks] == [
        ("python", 4, True, None),
        ("python", 9, False, "needs a GPU"),
        ("bash", 13, True, None),
        ("bash", 18, False, None),
        ("text", 22, False, None),
    ]
    assert blocks[2].commands == ["cnnzoo list 'vgg*'"]


# ----- running the pages ---------------------------------------------------------------------


def _run_python(block: Block, namespace: dict) -> None:
    # Leading newlines make tracebacks point at the page's own line numbers.
    code = compile("\n" * (block.line - 1) + block.code, str(block.page), "exec")
    exec(code, namespace)


def _run_pycon(block: Block, namespace: dict) -> None:
    test = doctest.DocTestParser().get_doctest(
        block.code, namespace, block.where, str(block.page), block.line - 1
    )
    report = []
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    runner.run(test, out=report.append, clear_globs=False)
    namespace.update(test.globs)  # DocTest ran on a copy of the namespace
    assert runner.failures == 0, f"{block.where}: doctest failed\n" + "".join(report)


def _run_bash(block: Block) -> None:
    from cnnzoo.cli import main

    for command in block.commands:
        try:
            status = main(shlex.split(command)[1:])
        except SystemExit as exit_:  # argparse's own exits
            status = exit_.code
        assert status in (0, None), f"{block.where}: `{command}` exited with status {status}"


# Pages whose code trains or searches: `make check` leaves them to `make test`.
TRAINING_PAGES = {"getting-started.md", "guides/cli.md", "guides/training-runs.md",
                  "guides/fine-tuning.md", "guides/tuning.md", "guides/backends.md"}  # fmt: skip


@pytest.mark.parametrize(
    "page",
    [pytest.param(page, marks=pytest.mark.slow) if _page_id(page) in TRAINING_PAGES else page
     for page in PAGES_WITH_CODE],
    ids=_page_id,
)  # fmt: skip
def test_page_code_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    keras.utils.set_random_seed(0)
    namespace = {"__name__": "__docs__"}
    for block in code_blocks(page):
        if not block.runs:
            continue
        if block.lang == "python":
            _run_python(block, namespace)
        elif block.lang == "pycon":
            _run_pycon(block, namespace)
        else:
            _run_bash(block)


# ----- the site --------------------------------------------------------------------------------


def _build_site(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=quiet_env(NO_MKDOCS_2_WARNING="1"),
    )


def _html(folder: Path, page: Path) -> str:
    path = page.relative_to(DOCS).with_suffix("")
    path = path.parent if path.name == "index" else path  # MkDocs' directory URLs
    return (folder / path / "index.html").read_text()


def _missing_from_model_tables(folder: Path) -> list[str]:
    """Registered models (and families) missing from the generated tables."""
    family_pages = {}
    for page in (DOCS / "models").glob("*.md"):
        for match in MODELS_MARKER.finditer(page.read_text()):
            for family in match["families"].split():
                family_pages[family] = page
    registered = {name: model_info(name).family for name in list_models()}
    missing = [
        f"family {family} (no page has its table)"
        for family in sorted(set(registered.values()) - set(family_pages))
    ]
    overview = _html(folder, DOCS / "models" / "index.md")
    for name, family in registered.items():
        cell = f"<td><code>{name}</code></td>"
        if family in family_pages and cell not in _html(folder, family_pages[family]):
            missing.append(f"{name} (on the {family} page)")
        if cell not in overview:
            missing.append(f"{name} (in the overview)")
    return missing


def _documented(name: str, obj) -> bool:
    """Whether the API reference must show ``obj``: classes, and functions written with
    ``def`` under their own name (every named model is one)."""
    if inspect.isclass(obj):
        return True
    function = inspect.unwrap(obj)
    return inspect.isfunction(function) and function.__code__.co_name == name


API_PACKAGES = ("cnnzoo", "cnnzoo.models", "cnnzoo.layers", "cnnzoo.augment", "cnnzoo.data")
API_PACKAGES += ("cnnzoo.training", "cnnzoo.transfer", "cnnzoo.tuning", "cnnzoo.viz")
API_PACKAGES += ("cnnzoo.compute", "cnnzoo.explain", "cnnzoo.evaluation")


def _missing_from_api_reference(folder: Path) -> list[str]:
    anchors = set()
    for page in (folder / "api").rglob("index.html"):
        anchors |= set(re.findall(r'id="(cnnzoo[\w.]*)"', page.read_text()))
    missing = []
    for module in API_PACKAGES:
        package = importlib.import_module(module)
        for name in package.__all__:
            shown = any(anchor.endswith(f".{name}") for anchor in anchors)
            if _documented(name, getattr(package, name)) and not shown:
                missing.append(f"{module}.{name}")
    return missing


def _api_order_problems(folder: Path) -> list[str]:
    """API pages (or their sections) where a class comes before a function: the functions
    lead."""
    problems = []
    for page in sorted((folder / "api").rglob("index.html")):
        kinds = []
        for path in re.findall(r'<h2 id="([^"]+)"', page.read_text()):
            if not path.startswith("cnnzoo"):
                kinds.append(("section", path))  # a heading of the page: a new section
                continue
            module, _, name = path.rpartition(".")
            try:
                obj = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError, ValueError):
                continue  # the package's own heading
            if not inspect.ismodule(obj):
                kinds.append(("class" if inspect.isclass(obj) else "function", path))
        for (kind, path), (next_kind, next_path) in itertools.pairwise(kinds):
            if kind == "class" and next_kind == "function":
                problems.append(f"{page.parent.name}: {next_path} after {path}")
    return problems


def _unused_pictures(folder: Path) -> list[str]:
    """Generated pictures that no page shows."""
    html = "".join(path.read_text() for path in folder.rglob("*.html"))
    return [
        path.name
        for path in sorted((folder / "images" / "generated").glob("*.png"))
        if f"images/generated/{path.name}" not in html
    ]


@pytest.mark.slow
def test_site_builds_strict_with_complete_tables_and_api(tmp_path):
    """One build (the slowest part) checked several ways."""
    result = _build_site(tmp_path)
    log = result.stdout + result.stderr
    # MkDocs logs "WARNING -  ..." (TensorFlow's own start-up lines are not the build's).
    warnings = [line for line in log.splitlines() if re.match(r"^(WARNING|ERROR) +- ", line)]
    assert result.returncode == 0 and not warnings, log[-5000:]
    missing = _missing_from_model_tables(tmp_path)
    assert not missing, f"missing from the generated model tables: {missing}"
    missing = _missing_from_api_reference(tmp_path)
    assert not missing, f"not in the API reference: {missing}"
    misordered = _api_order_problems(tmp_path)
    assert not misordered, f"API pages lead with the functions; classes first: {misordered}"
    pictures = ("training-curves", "fine-tuning-curves", "confusion", "feature-maps")
    for name in (*pictures, "tuning-scores", "lr-find-lenet5"):  # real runs, drawn at build
        picture = tmp_path / "images" / "generated" / f"{name}.png"
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
    assert not _unused_pictures(tmp_path), f"pictures no page shows: {_unused_pictures(tmp_path)}"
    recipes_page = (tmp_path / "recipes" / "index.html").read_text()
    scripts = sorted(path.name for path in (ROOT / "recipes").glob("*.py"))
    assert scripts and all(f"recipes/{name}" in recipes_page for name in scripts)


def _load_hook(name: str):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", HOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hook_reads_factory_docstrings_and_refuses_unknown_markers():
    from types import SimpleNamespace

    from cnnzoo.models.resnet import resnet

    hook = _load_hook("generated")
    described = hook.docstring_args(resnet)
    assert described["shortcut"].startswith('``"projection"`` (1x1 convolution')
    assert set(described) >= set(inspect.signature(resnet).parameters) - {"weights"}
    page = SimpleNamespace(file=SimpleNamespace(src_uri="models/page.md"))
    table = hook.on_page_markdown("<!-- cnnzoo:models lenet -->\n", page, None, None)
    assert "| `lenet5` | 60,850 |" in table
    with pytest.raises(hook.MarkerError, match="unknown marker cnnzoo:modles"):
        hook.on_page_markdown("<!-- cnnzoo:modles lenet -->\n", page, None, None)
    with pytest.raises(hook.MarkerError, match="unknown families"):
        hook.on_page_markdown("<!-- cnnzoo:models lenett -->\n", page, None, None)


def test_the_pretrained_guide_shows_the_parity_table():
    hook = _load_hook("generated")
    assert "<!-- cnnzoo:parity -->" in (DOCS / "guides" / "pretrained.md").read_text()
    table = hook.PARITY_TABLE.read_text()
    shown = hook.parity([], "guides/pretrained.md")
    assert shown.count("\n| `") == table.count("\n| `") > 0
    with pytest.raises(hook.MarkerError, match="takes no arguments"):
        hook.parity(["resnet50"], "guides/pretrained.md")


def test_the_api_marker_puts_the_functions_first():
    from types import SimpleNamespace

    hook = _load_hook("generated")
    page = SimpleNamespace(file=SimpleNamespace(src_uri="api/page.md"))
    text = hook.on_page_markdown("<!-- cnnzoo:api cnnzoo.training finetune -->\n", page, None, None)
    objects = re.findall(r"^::: (\S+)$", text, re.MULTILINE)
    # finetune, then __all__'s order
    functions = ["finetune", "find_learning_rate", "history_rows", "load_run_data", "train"]
    assert objects[:6] == ["cnnzoo.training"] + [f"cnnzoo.training.{name}" for name in functions]
    assert objects[-1] == "cnnzoo.training.TrainingDivergedError"  # exceptions last
    assert set(objects[1:]) >= {f"cnnzoo.training.{name}" for name in ("RunData", "TrainResult")}
    assert "cnnzoo.training.SAMPLE" not in objects  # constants have no docstring to show
    # cnnzoo.tuning.search is also a module: the function is found where it is defined.
    text = hook.api(["cnnzoo.tuning", "search"], "api/tuning.md")
    assert re.findall(r"^::: (\S+)$", text, re.MULTILINE)[1] == "cnnzoo.tuning.search.search"
    with pytest.raises(hook.MarkerError, match=r"cnnzoo.training has no public \['trian'\]"):
        hook.api(["cnnzoo.training", "trian"], "api/training.md")


def test_the_griffe_extension_reads_the_house_docstrings():
    extension = _load_hook("griffe_docstrings")
    assert extension.normalize("Adds.\n\nExample:\n    >>> 1 + 1\n    2\n") == (
        "Adds.\n\nExamples:\n    >>> 1 + 1\n    2\n"
    )
    assert extension.normalize("See :func:`~cnnzoo.transfer.freeze`.") == (
        "See `cnnzoo.transfer.freeze`."
    )
