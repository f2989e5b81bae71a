"""``cnnzoo weights list|info|download``: the catalogue of pretrained weights, and downloads
ahead of time for machines without internet access."""

from __future__ import annotations

import sys

from cnnzoo.cli.tables import format_rows

ACTIONS = ("list", "info", "download")


def weights_arguments(parser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="list, info TAG..., or download TAG...")
    parser.add_argument(
        "names", nargs="*", metavar="TAG",
        help="weights as <model>.<tag> (list: shell patterns, default all)",
    )  # fmt: skip
    parser.add_argument("--mirror", help="download from this server instead of the source")
    parser.add_argument("--cache-dir", help="keep the files here (default: the Keras cache)")


def _list(patterns) -> None:
    from cnnzoo.pretrained import list_pretrained, pretrained_weights
    from cnnzoo.pretrained.download import cached_file

    names = [name for pattern in patterns or ["*"] for name in list_pretrained(pattern)]
    rows = []
    for name in dict.fromkeys(names):
        entry = pretrained_weights(name)
        top1 = "" if entry.top1 is None else f"{entry.top1:.2f}"
        cached = "yes" if cached_file(entry).is_file() else ""
        size = entry.preprocessing.input_size
        rows.append((name, top1, str(size), entry.format, entry.licence, cached))
    print(format_rows(("weights", "top-1", "input", "format", "licence", "cached"), rows))


def _info(names) -> None:
    from cnnzoo.pretrained import pretrained_weights
    from cnnzoo.pretrained.download import cached_file

    for name in names:
        entry = pretrained_weights(name)
        build = ", ".join(f"{key}={value!r}" for key, value in entry.builder_args)
        lines = [
            f"{entry.name}: {entry.source}",
            f"  model: {entry.model}({build})" if build else f"  model: {entry.model}",
            f"  top-1: {entry.top1}%" if entry.top1 is not None else "  top-1: not reported",
            f"  preprocessing: {entry.preprocessing.describe()}",
            f"  file: {entry.url} ({entry.format}"
            + (f", checksum {entry.checksum})" if entry.checksum else ", no checksum published)"),
            f"  cached at: {cached_file(entry)}"
            + ("" if cached_file(entry).is_file() else " (not yet)"),
            f"  licence: {entry.licence}",
        ]
        if entry.without_top() is not entry:  # keras.applications' _notop.h5
            notop = entry.without_top()
            lines.insert(
                -2, f"  without the top (include_top=False): {notop.url}, checksum {notop.checksum}"
            )
        print("\n".join(lines))


def weights_command(args) -> int:
    from cnnzoo.cli import UsageError
    from cnnzoo.pretrained import WeightsDownloadError, fetch, pretrained_weights

    if args.action == "list":
        _list(args.names)
        return 0
    if not args.names:
        raise UsageError(f"cnnzoo weights {args.action} needs at least one TAG, e.g. "
                         "resnet18.tv_in1k ('cnnzoo weights list' shows them).")  # fmt: skip
    entries = [pretrained_weights(name) for name in args.names]  # every name checked first
    if args.action == "info":
        _info(args.names)
        return 0
    for entry in entries:
        try:
            path = fetch(entry, cache_dir=args.cache_dir, mirror=args.mirror)
        except WeightsDownloadError as error:
            print(f"cnnzoo weights: {error}", file=sys.stderr)
            return 1
        print(f"{entry.name}: {path}")
    return 0
