"""The ``tfdp`` command: score and prune COCO-format files and SA-1B-style
folders."""

import argparse
import json
import os
import sys

import tfdp
from tfdp import coco, inputs, score_tables, scoring
from tfdp.engine import SCHEDULER_ENV
from tfdp.errors import TFDPError, describe_problem
from tfdp.measuring import Runner
from tfdp.progress import ProgressBar
from tfdp.report import format_report


def main(argv=None):
    """Runs the command.

    Args:
        argv (None): the arguments, ``sys.argv[1:]`` by default

    Returns:
        the exit status: 0 on success, 1 on a data or file error, 2 on a
        usage error
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.workers is not None and args.scheduler:
        parser.error("give --workers or --scheduler, not both")
    if args.workers is None and not args.scheduler:
        args.scheduler = os.environ.get(SCHEDULER_ENV) or None
    try:
        if args.command == "prune":
            args.criteria = _criteria(parser, args)
        args.func(args)
    except TFDPError as e:
        print("tfdp: error: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tfdp: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0


def _parser():
    parser = argparse.ArgumentParser(
        prog="tfdp",
        description=(
            "Training-free dataset pruning for instance segmentation: score "
            "COCO-format annotations by mask shape complexity and keep the "
            "most complex images."
        ),
    )
    parser.add_argument(
        "--version", action="version", version="tfdp " + tfdp.__version__
    )
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser(
        "score",
        help="write the shape and scores of every eligible annotation",
        description=(
            "Write one row per eligible annotation: "
            + ",".join(score_tables.COLUMNS)
            + " (and file first, with several COCO files). An output "
            "ending in .parquet is written as Parquet, anything else as CSV."
        ),
    )
    score.add_argument("inputs", nargs="+", metavar="INPUT", help=INPUT_HELP)
    score.add_argument(
        "-o", "--output", required=True,
        help="CSV or .parquet file to write",
    )
    _common_options(score)
    score.set_defaults(func=run_score)

    prune = commands.add_parser(
        "prune",
        help="write the file restricted to the highest-scoring images",
        description=(
            "Keep the highest-scoring images with all of their annotations. "
            "Several comma-separated values write one file each, named "
            "OUTPUT with .keep-R or .prune-R before its extension, from one "
            "scoring pass. With several COCO files, OUTPUT is a folder that "
            "gets one pruned file per input, with the input's name. With "
            "SA-1B-style files, OUTPUT is a text file listing the kept "
            "images' file names, highest score first."
        ),
    )
    prune.add_argument("inputs", nargs="+", metavar="INPUT", help=INPUT_HELP)
    prune.add_argument(
        "-o", "--output", required=True,
        help="pruned JSON file, folder (several COCO files) or kept list "
        "(SA-1B-style files) to write",
    )
    amount = prune.add_mutually_exclusive_group(required=True)
    amount.add_argument(
        "--keep-ratio", metavar="R[,R...]", help="fraction of images to keep"
    )
    amount.add_argument(
        "--prune-ratio",
        metavar="R[,R...]",
        help="fraction of images to remove",
    )
    amount.add_argument(
        "--keep", metavar="N[,N...]", help="number of images to keep"
    )
    prune.add_argument(
        "--method",
        choices=scoring.METHODS,
        default="cb-scs",
        help="ranking method (default: %(default)s)",
    )
    prune.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the random method (default: %(default)s)",
    )
    prune.add_argument(
        "--report", metavar="FILE.json", help="also save the report as JSON"
    )
    _common_options(prune)
    prune.set_defaults(func=run_prune)

    return parser


INPUT_HELP = (
    "COCO-format JSON files, or SA-1B-style per-image JSON files: a folder, "
    "a quoted glob or the files"
)


def _workers(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            "%r is not a positive number of workers" % text
        )
    return value


def _common_options(parser):
    parser.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="measure in N processes of a local Dask cluster; 1 measures in "
        "this process. Default: every core, when the input is large enough "
        "to pay for starting them",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="measure on the Dask cluster of this scheduler, e.g. "
        "tcp://10.0.0.5:8786 (default: $%s)" % SCHEDULER_ENV,
    )
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="skip malformed images and annotations and list them in the "
        "report, rather than stop",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace existing output files",
    )


def _criteria(parser, args):
    # [(criterion, value, output suffix), ...]
    for option, name, kind in (
        ("--keep-ratio", "keep_ratio", float),
        ("--prune-ratio", "prune_ratio", float),
        ("--keep", "keep", int),
    ):
        text = getattr(args, name)
        if text is None:
            continue
        criteria = []
        for item in text.split(","):
            try:
                value = kind(item.strip())
                scoring.keep_count(0, **{name: value})
            except ValueError:
                parser.error(
                    "%s: %r is not a %s" % (
                        option,
                        item,
                        "ratio between 0 and 1" if kind is float
                        else "non-negative integer",
                    )
                )
            label = "keep" if name != "prune_ratio" else "prune"
            criteria.append((name, value, "%s-%s" % (label, item.strip())))
        if len(set(c[2] for c in criteria)) != len(criteria):
            parser.error("%s: a value is given twice" % option)
        return criteria


def _output_paths(path, criteria):
    if len(criteria) == 1:
        return [path]
    root, ext = os.path.splitext(path)
    return ["%s.%s%s" % (root, suffix, ext) for _, _, suffix in criteria]


def _runner(args):
    return Runner(
        workers=args.workers,
        scheduler=args.scheduler,
        progress=ProgressBar("measuring"),
    )


def _check_outputs(args, targets):
    _check_distinct(args, targets)
    for path in targets:
        coco.check_writable(path, overwrite=args.overwrite)


def _check_distinct(args, targets):
    given = [os.path.abspath(p) for p in args.inputs]
    absolute = [os.path.abspath(p) for p in targets]
    if len(set(absolute)) != len(absolute) or set(absolute) & set(given):
        raise TFDPError(
            "outputs must differ from each other and from the inputs"
        )


def _folder_mode(args, kind):
    # several COCO files (or an existing folder as -o): pruned copies
    return kind == "coco" and (
        len(args.inputs) > 1 or os.path.isdir(args.output)
    )


def run_score(args):
    """``tfdp score``: writes the per-annotation score table."""
    _check_outputs(args, [args.output])
    detected = inputs.input_format(args.inputs)
    with _runner(args) as runner:
        collection = inputs.open_collection(
            args.inputs, runner, args.skip_invalid, detected=detected
        )
        rows = score_tables.write_table(
            args.output,
            collection.score_parts(),
            collection.id_types(),
            with_file=getattr(collection, "several", False),
            overwrite=args.overwrite,
        )
    print(
        "wrote %d eligible annotations of %d images to %s"
        % (rows, collection.num_images, args.output)
    )
    _print_not_scored(collection)


def _print_not_scored(collection):
    if collection.ineligible:
        print(
            "not scored: "
            + ", ".join(
                "%d %s" % (n, r)
                for r, n in sorted(collection.ineligible.items())
            )
        )
    for problem in collection.invalid:
        print("skipped: %s" % describe_problem(problem))


def _pruned_outputs(args, kind):
    # [[output path per input or one kept list], ...] per criterion
    if _folder_mode(args, kind):
        if os.path.exists(args.output) and not os.path.isdir(args.output):
            raise TFDPError(
                "%s: with several inputs, -o names a folder" % args.output
            )
        names = [os.path.basename(p) for p in args.inputs]
        if len(set(names)) != len(names):
            raise TFDPError(
                "inputs must have different names: their pruned copies "
                "go into one folder"
            )
        per_input = [
            _output_paths(inputs.pruned_path(args.output, p), args.criteria)
            for p in args.inputs
        ]
        return [list(paths) for paths in zip(*per_input)]
    return [[p] for p in _output_paths(args.output, args.criteria)]


def run_prune(args):
    """``tfdp prune``: writes the pruned files (and report) per criterion."""
    detected = inputs.input_format(args.inputs)
    kind = detected[0]
    outputs = _pruned_outputs(args, kind)
    reports = (
        _output_paths(args.report, args.criteria)
        if args.report
        else [None] * len(outputs)
    )
    targets = [p for paths in outputs for p in paths]
    # a folder of pruned copies is made once everything is measured
    make_folder = _folder_mode(args, kind) and not os.path.isdir(args.output)
    if make_folder:
        parent = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(parent):
            raise TFDPError(
                "%s: folder %s does not exist" % (args.output, parent)
            )
        # nothing can exist in a folder that does not exist yet
        _check_outputs(args, [r for r in reports if r])
        _check_distinct(args, targets + [r for r in reports if r])
    else:
        _check_outputs(args, targets + [r for r in reports if r])

    with _runner(args) as runner:
        collection = inputs.open_collection(
            args.inputs, runner, args.skip_invalid, detected=detected
        )
        order, _ = collection.rank(args.method, seed=args.seed)
        plans = []
        for (name, value, _), paths, report_path in zip(
            args.criteria, outputs, reports
        ):
            count = scoring.keep_count(
                collection.num_images, **{name: value}
            )
            kept = scoring.select(order, count)
            report = collection.report(kept, args.method)
            kept_names = (
                collection.kept_file_names(order, kept)
                if kind == "sa1b"
                else None
            )
            plans.append((name, value, paths, report_path, kept, report,
                          kept_names))

    if make_folder:
        os.mkdir(args.output)
    for name, value, paths, report_path, kept, report, kept_names in plans:
        if kind == "sa1b":
            _write_kept_list(paths[0], kept_names, args.overwrite)
        else:
            for path, (_, data) in zip(paths, collection.pruned(kept)):
                coco.write_json(data, path, overwrite=args.overwrite)

        report = dict(
            input=args.inputs[0] if len(args.inputs) == 1 else args.inputs,
            output=paths[0] if len(paths) == 1 else paths,
            criterion={name: value},
            seed=args.seed if args.method == "random" else None,
            **report,
        )
        if report_path:
            coco.write_atomic(
                report_path,
                lambda f: json.dump(report, f, indent=2),
                overwrite=args.overwrite,
            )

        for path in paths:
            print("wrote %s" % path)
        if report_path:
            print("wrote %s" % report_path)
        print(format_report(report, max_classes=15))
        for problem in collection.invalid:
            print("skipped: %s" % describe_problem(problem))
        print()


def _write_kept_list(path, names, overwrite):
    def write(f):
        for name in names:
            f.write("%s\n" % name)

    coco.write_atomic(path, write, overwrite=overwrite)


if __name__ == "__main__":
    sys.exit(main())
