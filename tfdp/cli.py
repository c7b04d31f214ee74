"""The ``tfdp`` command: score and prune COCO-format files."""

import argparse
import contextlib
import functools
import gc
import os
import signal
import sys
import threading

import tfdp
from tfdp import coco, scoring
from tfdp.errors import InvalidDataError, TFDPError, describe_problem
from tfdp.progress import ProgressBar
from tfdp.report import format_report, retention_report

OVERWRITE_HINT = "pass --overwrite to replace it"
SKIP_HINT = "pass --skip-invalid to skip them and list them in the report"

#: exit statuses
OK, FAILED, USAGE, INTERRUPTED, TERMINATED = 0, 1, 2, 130, 143


class Terminated(BaseException):
    """SIGTERM, raised where the command is, so that it cleans up."""


def main(argv=None):
    """Runs the command.

    Every argument is checked before the input is read. Outputs are written
    all together or not at all.

    Args:
        argv (None): the arguments, ``sys.argv[1:]`` by default

    Returns:
        the exit status: 0 on success, 1 on a data or file error, 130 when
        interrupted (SIGINT), 143 when terminated (SIGTERM)

    Raises:
        SystemExit: with status 2 on a usage error (argparse's way), and
            0 after ``--help`` or ``--version``
    """
    parser = _parser()
    args = parser.parse_args(argv)
    _check_arguments(parser, args)
    args.outputs = []
    written = []
    with _command_process():
        try:
            args.func(args, written)
        except InvalidDataError as e:
            _say("error", "%s\n%s" % (e, SKIP_HINT))
            return FAILED
        except TFDPError as e:
            _say("error", str(e))
            return FAILED
        except KeyboardInterrupt:
            _say_interrupted(args.outputs, written)
            return INTERRUPTED
        except Terminated:
            _say_interrupted(args.outputs, written, "terminated")
            return TERMINATED
        except BrokenPipeError:
            # stdout closed early (e.g. piped into head): the outputs are
            # complete; say nothing more on that pipe
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return FAILED
    return OK


def _say(kind, message):
    print("tfdp: %s: %s" % (kind, message), file=sys.stderr)


def _say_interrupted(outputs, written, what="interrupted"):
    if not written:
        message = "nothing was written"
    elif len(written) == len(outputs):
        message = "after every output was written: %s" % ", ".join(written)
    else:
        message = "written: %s; not written: %s" % (
            ", ".join(written),
            ", ".join(p for p in outputs if p not in written),
        )
    print("tfdp: %s; %s" % (what, message), file=sys.stderr)


@contextlib.contextmanager
def _command_process():
    # One document of millions of acyclic objects: the cyclic garbage
    # collector would scan them again and again for nothing. SIGTERM raises,
    # so that temporary files are removed on the way out.
    gc_enabled = gc.isenabled()
    gc.disable()
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        if gc_enabled:
            gc.enable()


def _raise_terminated(signum, frame):
    raise Terminated()


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
        type=_seed,
        default=0,
        help="seed of the random method, a non-negative integer "
        "(default: %(default)s)",
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


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            "%r is not a non-negative integer" % text
        )
    return value


def _check_arguments(parser, args):
    # usage errors, before anything is read: exit status 2
    if not args.output:
        parser.error("-o/--output: the path is empty")
    if args.command == "prune":
        if args.report == "":
            parser.error("--report: the path is empty")
        args.criteria = _criteria(parser, args)


def _criteria(parser, args):
    # [(criterion, value, output suffix), ...]
    for option, name in (
        ("--keep-ratio", "keep_ratio"),
        ("--prune-ratio", "prune_ratio"),
        ("--keep", "keep"),
    ):
        text = getattr(args, name)
        if text is None:
            continue
        criteria = []
        given = {}
        for item in (i.strip() for i in text.split(",")):
            value = _criterion_value(name, item)
            if value is None:
                parser.error(
                    "%s: %r is not a %s" % (
                        option,
                        item,
                        "non-negative integer" if name == "keep"
                        else "ratio between 0 and 1",
                    )
                )
            if value in given:
                parser.error(
                    "%s: %s and %s are the same value; give each once"
                    % (option, given[value], item)
                    if given[value] != item
                    else "%s: %s is given twice" % (option, item)
                )
            given[value] = item
            label = "prune" if name == "prune_ratio" else "keep"
            criteria.append((name, value, "%s-%s" % (label, item)))
        return criteria


def _criterion_value(name, item):
    # the value as the selection uses it, so that equal values compare equal
    try:
        value = int(item) if name == "keep" else float(item)
        scoring.keep_count(0, **{name: value})
    except ValueError:
        return None
    return value


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
    for warning in shapes.warnings:
        _say("warning", "%s: %s" % (args.input, warning))
    if not shapes.num_images:
        if shapes.invalid:
            raise TFDPError(
                "%s: nothing is left to %s: all %d malformed records were "
                "skipped and no valid image remains"
                % (args.input, args.command, len(shapes.invalid))
            )
        raise TFDPError("%s: no images to %s" % (args.input, args.command))
    return data, shapes


def run_score(args, written):
    """``tfdp score``: writes the per-annotation CSV.

    Args:
        args: the parsed arguments
        written: a list to which the output is appended once in place
    """
    args.outputs = [args.output]
    coco.check_outputs(
        args.outputs,
        inputs=[args.input],
        overwrite=args.overwrite,
        hint=OVERWRITE_HINT,
    )
    _, shapes = _measure(args)
    coco.write_paths_atomic(
        [(args.output, coco.file_writer(
            functools.partial(coco.dump_scores, shapes)))],
        overwrite=args.overwrite,
        hint=OVERWRITE_HINT,
        written=written,
    )
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


def run_prune(args, written):
    """``tfdp prune``: writes one pruned file (and report) per criterion,
    all together or none.

    Args:
        args: the parsed arguments
        written: a list to which each output is appended once in place
    """
    outputs = _output_paths(args.output, args.criteria)
    reports = (
        _output_paths(args.report, args.criteria)
        if args.report
        else [None] * len(outputs)
    )
    args.outputs = [
        path for pair in zip(outputs, reports) for path in pair if path
    ]
    coco.check_outputs(
        args.outputs,
        inputs=[args.input],
        overwrite=args.overwrite,
        hint=OVERWRITE_HINT,
    )

    data, shapes = _measure(args)
    order, _ = scoring.rank(
        shapes.table, shapes.num_images, args.method, seed=args.seed
    )

    files = []
    reports_made = []
    for (name, value, _), output, report_path in zip(
        args.criteria, outputs, reports
    ):
        count = scoring.keep_count(shapes.num_images, **{name: value})
        kept = scoring.select(order, count)
        kept_ids = [i for i, k in zip(shapes.image_ids, kept.tolist()) if k]
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
            warnings=shapes.warnings,
            **report,
        )
        files.append((output, coco.file_writer(functools.partial(
            _dump_pruned, data, kept_ids, shapes.skipped_annotations))))
        if report_path:
            files.append((report_path, coco.file_writer(
                functools.partial(coco.dump_report, report))))
        reports_made.append((output, report_path, report))

    coco.write_paths_atomic(
        files, overwrite=args.overwrite, hint=OVERWRITE_HINT, written=written
    )

    for output, report_path, report in reports_made:
        print("wrote %s" % output)
        if report_path:
            print("wrote %s" % report_path)
        print(format_report(report, max_classes=15))
        for problem in shapes.invalid:
            print("skipped: %s" % describe_problem(problem))
        print()


def _dump_pruned(data, kept_ids, skipped_annotations, f):
    coco.dump_json(coco.prune(data, kept_ids, skipped_annotations), f)


if __name__ == "__main__":
    sys.exit(main())
