"""The ``tfdp`` command: score and prune COCO-format files."""

import argparse
import json
import os
import sys

import tfdp
from tfdp import coco, scoring
from tfdp.errors import TFDPError, describe_problem
from tfdp.progress import ProgressBar
from tfdp.report import format_report, retention_report


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
            "Write one CSV row per eligible annotation: "
            + ",".join(coco.SCORE_COLUMNS)
        ),
    )
    score.add_argument("input", help="COCO-format JSON file")
    score.add_argument(
        "-o", "--output", required=True, help="CSV file to write"
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
            "scoring pass."
        ),
    )
    prune.add_argument("input", help="COCO-format JSON file")
    prune.add_argument(
        "-o", "--output", required=True, help="pruned JSON file to write"
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


def _common_options(parser):
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


def _measure(args):
    data = coco.load_json(args.input)
    shapes = coco.measure(
        data,
        source=args.input,
        skip_invalid=args.skip_invalid,
        progress=ProgressBar("scoring"),
    )
    return data, shapes


def run_score(args):
    """``tfdp score``: writes the per-annotation CSV."""
    coco.check_writable(args.output, overwrite=args.overwrite)
    _, shapes = _measure(args)
    coco.write_scores(shapes, args.output, overwrite=args.overwrite)
    print(
        "wrote %d eligible annotations of %d images to %s"
        % (len(shapes.table), shapes.num_images, args.output)
    )
    _print_not_scored(shapes)


def _print_not_scored(shapes):
    if shapes.ineligible:
        print(
            "not scored: "
            + ", ".join(
                "%d %s" % (n, r) for r, n in sorted(shapes.ineligible.items())
            )
        )
    for problem in shapes.invalid:
        print("skipped: %s" % describe_problem(problem))


def run_prune(args):
    """``tfdp prune``: writes one pruned file (and report) per criterion."""
    outputs = _output_paths(args.output, args.criteria)
    reports = (
        _output_paths(args.report, args.criteria)
        if args.report
        else [None] * len(outputs)
    )
    targets = outputs + [r for r in reports if r]
    if len(set(map(os.path.abspath, targets + [args.input]))) != len(
        targets
    ) + 1:
        raise TFDPError(
            "outputs must differ from each other and from the input"
        )
    for path in targets:
        coco.check_writable(path, overwrite=args.overwrite)

    data, shapes = _measure(args)
    order, _ = scoring.rank(
        shapes.table, shapes.num_images, args.method, seed=args.seed
    )

    for (name, value, _), output, report_path in zip(
        args.criteria, outputs, reports
    ):
        count = scoring.keep_count(shapes.num_images, **{name: value})
        kept = scoring.select(order, count)
        kept_ids = [i for i, k in zip(shapes.image_ids, kept) if k]
        coco.write_json(
            coco.prune(data, kept_ids, shapes.skipped_annotations),
            output,
            overwrite=args.overwrite,
        )

        report = retention_report(
            shapes.table,
            kept,
            lambda index: shapes.categories[index],
            args.method,
            ineligible=shapes.ineligible,
            invalid=shapes.invalid,
        )
        report = dict(
            input=args.input,
            output=output,
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

        print("wrote %s" % output)
        if report_path:
            print("wrote %s" % report_path)
        print(format_report(report, max_classes=15))
        for problem in shapes.invalid:
            print("skipped: %s" % describe_problem(problem))
        print()


if __name__ == "__main__":
    sys.exit(main())
