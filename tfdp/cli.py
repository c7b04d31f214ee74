"""The ``tfdp`` command: score and prune COCO-format files and SA-1B-style
folders."""

import argparse
import contextlib
import functools
import os
import signal
import sys
import threading

from tfdp import coco, inputs, jsonio, score_tables, scoring, selection
from tfdp._version import __version__
from tfdp.engine import (
    CLUSTER_INSTALL,
    SCHEDULER_ENV,
    check_scheduler,
    check_workers,
    cluster_installed,
)
from tfdp.errors import (
    InvalidDataError,
    NothingToScoreError,
    TFDPError,
    describe_problem,
    printable,
)
from tfdp.outputs import (
    check_outputs,
    dump_json,
    dump_report,
    file_writer,
    write_paths_atomic,
)
from tfdp.progress import ProgressBar
from tfdp.report import format_report
from tfdp.runner import Runner

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
    try:
        with _command_process(args, written):
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
        _silence(sys.stdout)
        return FAILED
    except StandardOutputError as e:
        _silence(sys.stdout)
        _say("error", str(e))
        return FAILED
    return OK


def run():
    """The ``tfdp`` command: runs :func:`main` and ends the process.

    SIGINT and SIGTERM stop the command until every output is in place
    (status 130 or 143, with a line saying what was written); from then
    on, the result stands: they are ignored, and the command finishes as
    it would have, its status unchanged. A standard output that cannot be
    written is an error (status 1), never a traceback.
    """
    # the interrupts of tfdp.signals.end_the_command_on_interrupt end here
    signal.signal(signal.SIGINT, _signalled)
    signal.signal(signal.SIGTERM, _signalled)
    status = None
    try:
        status = main()
        _ignore_signals()
    except SystemExit as e:  # argparse: --help, --version, a usage error
        if not (e.code is None or isinstance(e.code, int)):
            raise
        status = e.code or OK
    except KeyboardInterrupt:  # before the command started
        if status is None:
            _stderr("tfdp: interrupted")
            status = INTERRUPTED
    except Terminated:
        if status is None:
            _stderr("tfdp: terminated")
            status = TERMINATED
    # also for the interpreter's teardown: Python sets the signals it
    # handles back to their default as it finalizes, not ignored ones
    _ignore_signals()
    sys.exit(_flush_standard_streams(status))


def _ignore_signals():
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


class StandardOutputError(Exception):
    """The standard output cannot be written (other than a closed pipe).

    Args:
        error: the ``OSError`` that writing raised
    """

    def __init__(self, error):
        super().__init__(
            "could not write the standard output: %s" % error.strerror
        )


def _flush_standard_streams(status):
    # what is still buffered; the status of a stream that failed is 1
    if sys.stdout is not None:  # None when started without one
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _silence(sys.stdout)
            status = status or FAILED
        except OSError as e:
            _silence(sys.stdout)
            _say("error", str(StandardOutputError(e)))
            status = status or FAILED
    if sys.stderr is not None:
        try:
            sys.stderr.flush()
        except OSError:
            _silence(sys.stderr)
            status = status or FAILED
    return status


def _silence(stream):
    # later writes, and the interpreter's last flush, go nowhere rather
    # than fail again
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (AttributeError, ValueError, OSError):
        pass


def _say(kind, message):
    _stderr("tfdp: %s: %s" % (kind, message))


def _stderr(text):
    # nowhere to say that stderr cannot be written: it is left at that
    try:
        _print(text, file=sys.stderr)
    except OSError:
        _silence(sys.stderr)


def _print(text="", file=None):
    # paths may be file names that are not UTF-8: never a UnicodeEncodeError
    # on a strict stream (PYTHONIOENCODING=utf-8, a test's capture)
    stream = sys.stdout if file is None else file
    if stream is None:  # started without it (a closed descriptor)
        return
    try:
        print(printable(text), file=stream)
    except BrokenPipeError:
        raise
    except OSError as e:
        if stream is not sys.stdout:
            raise
        raise StandardOutputError(e) from None


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
    _stderr("tfdp: %s; %s" % (what, message))


#: (args, written) of the command that runs, or ran last, in this process
_running = None


@contextlib.contextmanager
def _command_process(args, written):
    # One document of millions of objects (see jsonio.gc_paused). SIGINT
    # and SIGTERM raise, so that temporary files are removed on the way out.
    global _running
    main_thread = threading.current_thread() is threading.main_thread()
    _running = (args, written)
    if main_thread:
        previous = {
            signum: signal.signal(signum, _signalled)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
    try:
        with jsonio.gc_paused():
            yield
    finally:
        if main_thread:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _signalled(signum, frame):
    # Until every output is in place, the signal stops the command where it
    # is. Afterwards the outputs are complete: the command finishes, and
    # the signal is left at that (raising anywhere, in a weak reference's
    # callback for one, would print "Exception ignored" and go on)
    if _running is not None:
        args, written = _running
        if written and len(written) == len(args.outputs):
            return
    if signum == signal.SIGTERM:
        raise Terminated()
    raise KeyboardInterrupt()


def _parser():
    parser = argparse.ArgumentParser(
        prog="tfdp",
        description=(
            "Training-free dataset pruning for instance segmentation: score "
            "COCO-format annotations by mask shape complexity and keep the "
            "most complex images."
        ),
        epilog=(
            "Run 'tfdp score --help' or 'tfdp prune --help' for a command's "
            "options and examples. The method: docs/method.md."
        ),
    )
    parser.add_argument(
        "--version", action="version", version="tfdp " + __version__
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        title="commands",
    )

    score = commands.add_parser(
        "score",
        help="write the shape and scores of every eligible annotation",
        description=(
            "Write one row per eligible annotation: "
            + ",".join(score_tables.COLUMNS)
            + " (and file first, with several COCO files). An output "
            "ending in .parquet is written as Parquet, anything else as CSV."
        ),
        epilog=SCORE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score.add_argument("inputs", nargs="+", metavar="INPUT", help=INPUT_HELP)
    score.add_argument(
        "-o",
        "--output",
        required=True,
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
        epilog=PRUNE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prune.add_argument("inputs", nargs="+", metavar="INPUT", help=INPUT_HELP)
    prune.add_argument(
        "-o",
        "--output",
        required=True,
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
        type=_seed,
        default=0,
        help="seed of the random method and of the stratified selection, "
        "a non-negative integer (default: %(default)s)",
    )
    prune.add_argument(
        "--selection",
        choices=selection.SELECTIONS,
        default="top",
        help="top: the highest scores (default); stratified: "
        "coverage-centric selection over score strata (docs/method.md)",
    )
    prune.add_argument(
        "--min-per-class",
        metavar="N",
        type=_positive_int,
        help="with the top selection, keep at least N images of every class "
        "(or all of its images, when it has fewer)",
    )
    prune.add_argument(
        "--strata",
        metavar="N",
        type=_positive_int,
        default=50,
        help="strata of the stratified selection (default: %(default)s)",
    )
    prune.add_argument(
        "--hard-cutoff",
        metavar="F",
        type=float,
        default=0.0,
        help="fraction of the highest-scoring images the stratified "
        "selection removes first (default: %(default)s)",
    )
    prune.add_argument(
        "--report", metavar="FILE.json", help="also save the report as JSON"
    )
    _common_options(prune)
    prune.set_defaults(func=run_prune)

    return parser


SCORE_EXAMPLES = """\
examples:
  # one row per scored annotation, as CSV
  tfdp score data/coco2017-sample/instances.json -o scores.csv

  # several COCO files as one dataset (a file column first), as Parquet
  tfdp score train.json extra.json -o scores.parquet

  # a folder of SA-1B-style per-image files, on 2 worker processes
  tfdp score sa1b/ -o scores.csv --workers 2
"""

PRUNE_EXAMPLES = """\
examples:
  # keep the 70 % highest-scoring images (CB-SCS)
  tfdp prune data/coco2017-sample/instances.json -o pruned.json \\
      --keep-ratio 0.7

  # three pruned files from one scoring pass, with SI-SCS, and the report
  tfdp prune instances.json -o pruned.json --keep-ratio 0.5,0.6,0.7 \\
      --method si-scs --report report.json

  # the 1,000 best images of an SA-1B-style folder, as a list of file names
  tfdp prune sa1b/ -o kept.txt --keep 1000
"""

INPUT_HELP = (
    "COCO-format JSON files, or SA-1B-style per-image JSON files: a folder, "
    "a quoted glob or the files"
)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("%r is not a positive integer" % text)
    return value


def _workers(text):
    try:
        value = int(text)
    except ValueError:
        value = text
    try:
        return check_workers(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _common_options(parser):
    parser.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="measure in N processes of a local Dask cluster, from 1 to the "
        "number of cores; 1 measures in this process. Default: every core, "
        "when the input is large enough to pay for starting them",
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
        help="skip malformed images and annotations, rather than stop, and "
        "list them on the output (and in prune's report)",
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
    if args.workers is not None and args.scheduler:
        parser.error("give --workers or --scheduler, not both")
    if args.workers is None and not args.scheduler:
        args.scheduler = os.environ.get(SCHEDULER_ENV) or None
        where = "$" + SCHEDULER_ENV
    else:
        where = "--scheduler"
    if args.scheduler is not None:
        try:
            check_scheduler(args.scheduler)
        except ValueError as e:
            parser.error("%s: %s" % (where, e))
    if not cluster_installed():
        if args.scheduler:
            parser.error(
                "%s %s: %s" % (where, args.scheduler, CLUSTER_INSTALL)
            )
        if (args.workers or 1) > 1:
            parser.error("--workers %d: %s" % (args.workers, CLUSTER_INSTALL))
    if (
        args.command == "score"
        and score_tables.is_parquet(args.output)
        and not score_tables.parquet_installed()
    ):
        parser.error(
            "%s: writing Parquet needs pyarrow: pip install pyarrow"
            % args.output
        )
    if args.command == "prune":
        if args.report == "":
            parser.error("--report: the path is empty")
        try:
            selection.validate_selection(
                args.selection,
                args.min_per_class,
                args.strata,
                args.hard_cutoff,
                scored=args.method != "random",
            )
        except ValueError as e:
            parser.error(
                str(e)
                .replace("min_per_class", "--min-per-class")
                .replace("hard_cutoff", "--hard-cutoff")
            )
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
            value, error = _criterion_value(name, item)
            if error is not None:
                parser.error("%s: %s" % (option, error))
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
    # (the value as the selection uses it, so that equal values compare
    # equal, None) or (None, what is wrong with it)
    try:
        value = int(item) if name == "keep" else float(item)
        scoring.keep_count(None, **{name: value})
    except scoring.KeepsNothingError as e:
        message = str(e)
        # the message Python and the App give, with the ratio as typed
        # ("0", not "0.0")
        try:
            scoring.keep_count(None, **{name: item})
        except scoring.KeepsNothingError as typed:
            message = str(typed)
        except ValueError:
            pass
        return None, message
    except ValueError:
        return None, "%r is not a %s" % (
            item,
            "positive integer" if name == "keep" else "ratio between 0 and 1",
        )
    return value, None


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
        # only prune's report uses them (its size buckets)
        count_pixels=args.command == "prune",
    )


def _open(args, runner, detected):
    collection = inputs.open_collection(
        args.inputs, runner, args.skip_invalid, detected=detected
    )
    for warning in getattr(collection, "warnings", ()):
        _say(
            "warning",
            warning
            if len(args.inputs) > 1
            else "%s: %s" % (args.inputs[0], warning),
        )
    if not collection.num_images:
        source = " ".join(args.inputs)
        if collection.invalid:
            raise TFDPError(
                "%s: nothing is left to %s: all %d malformed records were "
                "skipped and no valid image remains"
                % (source, args.command, len(collection.invalid))
            )
        raise TFDPError("%s: no images to %s" % (source, args.command))
    if args.command == "prune" and not collection.num_instances:
        # a score table of no rows is true; a pruning would choose by nothing
        raise NothingToScoreError(
            " ".join(args.inputs),
            collection.ineligible,
            len(collection.invalid),
        )
    return collection


def run_score(args, written):
    """``tfdp score``: writes the per-annotation score table (CSV, or
    Parquet for a ``.parquet`` output).

    Args:
        args: the parsed arguments
        written: a list to which the output is appended once in place
    """
    args.outputs = [args.output]
    check_outputs(
        args.outputs,
        inputs=args.inputs,
        overwrite=args.overwrite,
        hint=OVERWRITE_HINT,
    )
    detected = inputs.input_format(args.inputs)
    if detected[0] == "sa1b":  # nor any file of a folder or glob
        check_outputs(
            args.outputs,
            inputs=detected[1],
            overwrite=args.overwrite,
            hint=OVERWRITE_HINT,
        )
    elif len(args.inputs) > 1:  # the table has a file column
        score_tables.check_file_names(args.output, args.inputs)
    rows = []
    with _runner(args) as runner:
        collection = _open(args, runner, detected)
        write_paths_atomic(
            [
                (
                    args.output,
                    score_tables.table_writer(
                        args.output,
                        collection.score_parts(),
                        collection.id_types(),
                        with_file=getattr(collection, "several", False),
                        rows=rows,
                    ),
                )
            ],
            overwrite=args.overwrite,
            hint=OVERWRITE_HINT,
            written=written,
        )
    _print(
        "wrote %d eligible annotations of %d images to %s"
        % (rows[0], collection.num_images, args.output)
    )
    _print_not_scored(collection)


def _print_not_scored(collection):
    if collection.ineligible:
        _print(
            "not scored: "
            + ", ".join(
                "%d %s" % (n, r)
                for r, n in sorted(collection.ineligible.items())
            )
        )
    for problem in collection.invalid:
        _print("skipped: %s" % describe_problem(problem))


def _folder_mode(args, kind):
    # several COCO files (or an existing folder as -o): pruned copies
    return kind == "coco" and (
        len(args.inputs) > 1 or os.path.isdir(args.output)
    )


def _pruned_outputs(args, kind):
    # [[output path per input, or the one kept list], ...] per criterion
    if _folder_mode(args, kind):
        if os.path.exists(args.output) and not os.path.isdir(args.output):
            raise TFDPError(
                "%s: with several inputs, -o names a folder" % args.output
            )
        named = {}
        for path in args.inputs:
            other = named.setdefault(os.path.basename(path), path)
            if other is not path:
                raise TFDPError(
                    "inputs %s and %s have the same name: their pruned "
                    "copies go into one folder, %s; rename one"
                    % (other, path, args.output)
                )
        per_input = [
            _output_paths(inputs.pruned_path(args.output, p), args.criteria)
            for p in args.inputs
        ]
        return [list(paths) for paths in zip(*per_input)]
    return [[p] for p in _output_paths(args.output, args.criteria)]


def run_prune(args, written):
    """``tfdp prune``: writes the pruned files or kept lists (and reports)
    per criterion, all together or none.

    Args:
        args: the parsed arguments
        written: a list to which each output is appended once in place
    """
    detected = inputs.input_format(args.inputs)
    kind = detected[0]
    if kind == "sa1b" and args.min_per_class:
        raise TFDPError("--min-per-class: SA-1B-style masks have no classes")
    outputs = _pruned_outputs(args, kind)
    reports = (
        _output_paths(args.report, args.criteria)
        if args.report
        else [None] * len(outputs)
    )
    args.outputs = [
        path
        for paths, report in zip(outputs, reports)
        for path in paths + [report]
        if path
    ]
    # a folder of pruned copies is made once everything is measured; what
    # goes in it cannot exist before
    make_folder = _folder_mode(args, kind) and not os.path.isdir(args.output)
    if make_folder:
        parent = os.path.dirname(os.path.abspath(args.output))
        if not os.path.isdir(parent):
            raise TFDPError(
                "%s: folder %s does not exist" % (args.output, parent)
            )
    check_outputs(
        [r for r in reports if r] if make_folder else args.outputs,
        inputs=detected[1] if kind == "sa1b" else args.inputs,
        overwrite=args.overwrite,
        hint=OVERWRITE_HINT,
    )

    files = []
    reports_made = []
    with _runner(args) as runner:
        collection = _open(args, runner, detected)
        order, scores = collection.rank(args.method, seed=args.seed)
        table = getattr(collection, "table", None)
        for (name, value, _), paths, report_path in zip(
            args.criteria, outputs, reports
        ):
            try:
                count = scoring.keep_count(
                    collection.num_images, **{name: value}
                )
            except scoring.KeepsNothingError as e:
                raise TFDPError(
                    "%s: %s" % (" ".join(args.inputs), e)
                ) from None
            except ValueError:  # --keep: more images than the input has
                raise TFDPError(
                    "%s: --keep %s exceeds the %d images"
                    % (" ".join(args.inputs), value, collection.num_images)
                ) from None
            try:
                kept, chosen = selection.select_images(
                    order,
                    scores,
                    count,
                    image_index=table.image_index if table else None,
                    category=table.category if table else None,
                    selection=args.selection,
                    min_per_class=args.min_per_class,
                    strata=args.strata,
                    seed=args.seed,
                    hard_cutoff=args.hard_cutoff,
                )
            except ValueError as e:  # a guarantee or cutoff beyond the count
                raise TFDPError(
                    "%s: %s"
                    % (
                        " ".join(args.inputs),
                        str(e)
                        .replace("min_per_class", "--min-per-class")
                        .replace("hard cutoff", "--hard-cutoff"),
                    )
                ) from None
            report = dict(
                input=args.inputs[0] if len(args.inputs) == 1 else args.inputs,
                output=paths[0] if len(paths) == 1 else paths,
                criterion={name: value},
                seed=args.seed if args.method == "random" else None,
                warnings=list(getattr(collection, "warnings", ())),
                **collection.report(kept, args.method),
            )
            if chosen:
                report["selection"] = chosen
            if kind == "sa1b":
                files.append(
                    (
                        paths[0],
                        file_writer(
                            functools.partial(
                                _dump_kept_list,
                                collection.kept_file_names(order, kept),
                            )
                        ),
                    )
                )
            else:
                for path, (data, kept_ids, skipped) in zip(
                    paths, collection.pruned_selections(kept)
                ):
                    files.append(
                        (
                            path,
                            file_writer(
                                functools.partial(
                                    _dump_pruned, data, kept_ids, skipped
                                )
                            ),
                        )
                    )
            if report_path:
                files.append(
                    (
                        report_path,
                        file_writer(functools.partial(dump_report, report)),
                    )
                )
            reports_made.append((paths, report_path, report))

    if make_folder:
        try:
            os.mkdir(args.output)
        except OSError as e:  # made meanwhile, or a dangling link
            raise TFDPError(
                "cannot make folder %s: %s" % (args.output, e.strerror or e)
            ) from None
    try:
        write_paths_atomic(
            files,
            overwrite=args.overwrite,
            hint=OVERWRITE_HINT,
            written=written,
        )
    except BaseException:
        if make_folder and not os.listdir(args.output):
            os.rmdir(args.output)
        raise

    for paths, report_path, report in reports_made:
        for path in paths:
            _print("wrote %s" % path)
        if report_path:
            _print("wrote %s" % report_path)
        _print(format_report(report, max_classes=15))
        for problem in collection.invalid:
            _print("skipped: %s" % describe_problem(problem))
        _print()


def _dump_kept_list(names, f):
    f.write("".join("%s\n" % name for name in names).encode("utf-8"))


def _dump_pruned(data, kept_ids, skipped_annotations, f):
    dump_json(coco.prune(data, kept_ids, skipped_annotations), f)


if __name__ == "__main__":
    sys.exit(main())
