"""TFDP end to end on a real COCO dataset: FiftyOne and the command.

Loads the dataset into FiftyOne (persistent dataset ``tfdp-demo``), scores
every instance with CB-SCS, keeps 70 % of the images, prints the retention
report, exports the kept images as a COCO file, and checks that
``tfdp prune`` writes the same file from the JSON alone.

Usage: python scripts/demo.py [--data INSTANCES.json] [--images DIR]
       [--keep-ratio R]
"""

import argparse
import contextlib
import filecmp
import io
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the sample shipped with the repository: 44 COCO train2017 images
DEFAULT_DATA = os.path.join(ROOT, "data", "coco2017-sample", "instances.json")
OUT = os.path.join(ROOT, "out", "demo")
NAME = "tfdp-demo"

#: What a run writes in OUT. Each run removes them first, so that OUT shows
#: that run's outputs only: a run without images writes no FiftyOne export,
#: and a failed run none at all
OUTPUTS = ("pruned.json", "pruned-command.json")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help="a COCO-format instances JSON (default: the embedded sample, "
        "data/coco2017-sample)",
    )
    parser.add_argument(
        "--images",
        help="the folder of its images (default: images/ beside the JSON)",
    )
    parser.add_argument("--keep-ratio", type=float, default=0.7)
    args = parser.parse_args()

    if not os.path.isfile(args.data):
        sys.exit(
            "demo: no COCO file at %s.\n"
            "Pass --data PATH/TO/instances.json: any COCO-format instance "
            "segmentation file, e.g. COCO 2017's annotations/"
            "instances_val2017.json from https://cocodataset.org, with "
            "--images PATH/TO/val2017 for its images." % args.data
        )
    images = args.images or os.path.join(os.path.dirname(args.data), "images")

    from tfdp.cli import main as tfdp_command

    os.makedirs(OUT, exist_ok=True)
    remove_previous_outputs(args.data)
    if not os.path.isdir(images):
        print(
            "== FiftyOne: skipped: no images folder at %s (pass --images)"
            % images
        )
        exported = None
    else:
        exported = demo_fiftyone(args.data, images, args.keep_ratio)

    print()
    command_out = os.path.join(OUT, "pruned-command.json")
    print(
        "== Command: tfdp prune %s -o %s --keep-ratio %s --overwrite"
        % (
            os.path.relpath(args.data),
            os.path.relpath(command_out),
            args.keep_ratio,
        )
    )
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = tfdp_command(
            [
                "prune",
                args.data,
                "-o",
                command_out,
                "--keep-ratio",
                str(args.keep_ratio),
                "--overwrite",
            ]
        )
    if code:
        sys.exit(code)
    if exported is None:
        print(printed.getvalue().rstrip())
        return 0

    print(printed.getvalue().splitlines()[0] + " (same report as above)")
    same = filecmp.cmp(exported, command_out, shallow=False)
    print("FiftyOne export and command output identical: %s" % same)

    print()
    print("Open the result in the App, with the TFDP plugin: make app")
    print(
        "(then the 'tfdp-kept' saved view, or press ` for the TFDP operators)"
    )
    # the dataset lives in the demo's own database, not in ~/.fiftyone
    print("Open it from Python: make shell, or run a script in its database:")
    print(
        "  .venv/bin/python scripts/database.py %s -- .venv/bin/python "
        "my_script.py"
        % os.path.relpath(
            os.environ.get("FIFTYONE_DATABASE_DIR", "~/.fiftyone")
        )
    )
    return 0 if same else 1


def remove_previous_outputs(data):
    """Removes the files a previous run wrote in OUT, and nothing else.

    Args:
        data: this run's input, which is never removed
    """
    paths = [os.path.join(OUT, name) for name in OUTPUTS]
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            sys.exit(
                "demo: %s is a folder, not an output of the demo; move "
                "it away" % path
            )
        if os.path.exists(path) and os.path.samefile(path, data):
            sys.exit(
                "demo: --data %s is an output of the previous run, "
                "which this run replaces; copy it elsewhere first" % data
            )
    for path in paths:
        if os.path.lexists(path):
            os.remove(path)  # a link itself, never what it points at


def demo_fiftyone(data, images, keep_ratio):
    import tfdp
    from tfdp.fo_adapter import fields

    print("== FiftyOne: load %s" % os.path.relpath(data))
    start = time.perf_counter()
    dataset = tfdp.load_coco_dataset(
        data, data_path=images, name=NAME, overwrite=True
    )
    dataset.persistent = True
    field = fields.compatible_label_fields(dataset)[0]
    print(
        "dataset %r: %d samples, %d labels in field %r (%.1fs)"
        % (
            NAME,
            len(dataset),
            dataset.count(fields.label_list_path(dataset, field)),
            field,
            time.perf_counter() - start,
        )
    )

    print()
    print(
        "== FiftyOne: dataset.apply_tfdp(%r, method='cb-scs', "
        "keep_ratio=%s)" % (field, keep_ratio)
    )
    start = time.perf_counter()
    kept = dataset.apply_tfdp(field, method="cb-scs", keep_ratio=keep_ratio)
    print(
        "kept %d samples, tagged 'tfdp:keep', saved view %r (%.1fs)"
        % (len(kept), kept.name, time.perf_counter() - start)
    )
    report = tfdp.get_run_info(dataset)["report"]
    print(tfdp.format_report(report, max_classes=10))

    print()
    exported = os.path.join(OUT, "pruned.json")
    result = tfdp.export_kept(dataset, exported, overwrite=True)
    print(
        "== FiftyOne: exported the kept samples (%s) to %s"
        % (result["mode"], exported)
    )
    return exported


if __name__ == "__main__":
    sys.exit(main())
