"""The ``tfdp`` command on real files, hand-made files and bad input."""

import csv
import json
import os
import subprocess
import sys

import pytest
from hand_made import image, run
from pycocotools.coco import COCO

from tfdp.errors import TFDPError

CATEGORIES = [{"id": 1, "name": "thing"}, {"id": 2, "name": "other"}]


def square(x0, y0, n):
    x1, y1 = x0 + n - 1, y0 + n - 1
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


def make_file(tmp_path, images, annotations, name="in.json", **extra):
    data = dict(
        extra,
        images=images,
        annotations=annotations,
        categories=extra.get("categories", CATEGORIES),
    )
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def ann(
    ann_id, image_id, segmentation, category_id=1, bbox=(0, 0, 5, 5), **extra
):
    return dict(
        extra,
        id=ann_id,
        image_id=image_id,
        category_id=category_id,
        segmentation=segmentation,
        bbox=list(bbox),
    )


def test_crowd_only_and_zero_area_images_rank_last(tmp_path, capsys):
    path = make_file(
        tmp_path,
        [image(1), image(2), image(3), image(4)],
        [
            ann(1, 1, square(0, 0, 5), iscrowd=1),  # crowd only
            ann(2, 2, square(0, 0, 10)),
            ann(3, 3, [[4, 4]]),  # one pixel: area 0
            ann(4, 4, square(0, 0, 3)),
            ann(5, 4, [[0, 0, 9, 0]], bbox=(0, 0, 10, 1)),  # a line
        ],
    )
    assert (
        run("prune", path, "-o", tmp_path / "o.json", "--keep", "1,2,3") == 0
    )
    kept = [
        [
            im["id"]
            for im in json.loads(
                (tmp_path / ("o.keep-%d.json" % n)).read_text()
            )["images"]
        ]
        for n in (1, 2, 3)
    ]
    # images 2 and 4 each have one positive instance, both SI-SCS 2/sqrt(pi),
    # but CB-SCS splits class 1's total: image 2 and 4 tie, input order wins
    assert kept == [[2], [2, 4], [1, 2, 4]]
    assert "1 crowd" in capsys.readouterr().out
    out = json.loads((tmp_path / "o.keep-3.json").read_text())
    # every annotation of a kept image, crowd and zero-area included
    assert [a["id"] for a in out["annotations"]] == [1, 2, 4, 5]


def test_ineligible_are_counted_per_reason(tmp_path, capsys):
    path = make_file(
        tmp_path,
        [image(1)],
        [
            ann(1, 1, square(0, 0, 5)),
            ann(2, 1, square(0, 0, 5), iscrowd=1),
            ann(3, 1, square(0, 0, 5), ignore=1),
            ann(4, 1, []),
            ann(5, 1, square(0, 0, 5), bbox=(0, 0, 0.5, 5)),
            ann(6, 1, square(0, 0, 5), bbox=(0, 0, float("inf"), 5)),
            ann(7, 1, square(0, 0, 5), bbox=(30, 30, 5, 5)),
            {
                "id": 8,
                "image_id": 1,
                "category_id": 1,
                "segmentation": square(0, 0, 5),
            },
        ],
    )
    report = tmp_path / "r.json"
    assert (
        run(
            "prune",
            path,
            "-o",
            tmp_path / "o.json",
            "--keep-ratio",
            "1",
            "--report",
            report,
        )
        == 0
    )
    assert json.loads(report.read_text())["ineligible"] == {
        "bbox not finite": 1,
        "bbox outside image": 1,
        "bbox under 1 pixel": 1,
        "crowd": 1,
        "empty segmentation": 1,
        "ignore": 1,
        "no bbox": 1,
    }
    assert (
        len(json.loads((tmp_path / "o.json").read_text())["annotations"]) == 8
    )


def _good_images():
    return [image(1), image(2)]


BAD_INPUTS = {
    "unknown image": (
        _good_images(),
        [ann(10, 99, square(0, 0, 5))],
        "annotation 10 (image 99): image_id 99 is not an image of the file",
    ),
    "unknown category": (
        _good_images(),
        [
            ann(11, 1, square(0, 0, 5), category_id=7),
            ann(18, 2, square(0, 0, 5)),
        ],
        "annotation 11 (image 1): category_id 7 is not a category",
    ),
    "odd coordinates": (
        _good_images(),
        [ann(12, 2, [[1, 2, 3, 4, 5, 6, 7]])],
        "annotation 12 (image 2): polygon part 0 has an odd number",
    ),
    "non-finite coordinates": (
        _good_images(),
        [ann(13, 2, [[1, 2, float("nan"), 4, 5, 6]])],
        "annotation 13 (image 2): polygon part 0 has non-finite",
    ),
    "rle size": (
        _good_images(),
        [ann(14, 1, {"size": [10, 20], "counts": [200]})],
        "annotation 14 (image 1): RLE size [10, 20] differs from its "
        "image's [height, width] [20, 20]",
    ),
    "image size": (
        [image(1), {"id": 2, "width": 20, "file_name": "x.jpg"}],
        [ann(15, 1, square(0, 0, 5))],
        "image 2: height null is not a positive integer",
    ),
    "duplicate image id": (
        [image(1), image(2), image(1, width=30)],
        [ann(16, 1, square(0, 0, 5)), ann(17, 2, square(0, 0, 5))],
        "image 1: id used by 2 image records (at positions 0 and 2)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("command", ["score", "prune"])
def test_malformed_records(tmp_path, capsys, case, command):
    images, annotations, message = BAD_INPUTS[case]
    path = make_file(tmp_path, images, annotations)
    out = tmp_path / "out"
    argv = [command, path, "-o", out]
    if command == "prune":
        argv += ["--keep-ratio", "0.5"]
    assert run(*argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("tfdp: error: %s: 1 malformed" % path)
    assert message in err
    assert "--skip-invalid" in err
    assert os.listdir(tmp_path) == ["in.json"]  # nothing written, no temp


def test_many_malformed_are_summarised(tmp_path, capsys):
    path = make_file(
        tmp_path,
        [image(1)],
        [ann(i, 1, [[1, 2, 3]]) for i in range(20, 27)],
    )
    assert run("score", path, "-o", tmp_path / "s.csv") == 1
    err = capsys.readouterr().err
    assert "7 malformed annotations:" in err
    assert "annotation 24 (image 1)" in err
    assert "annotation 25" not in err
    assert "... and 2 more" in err


def test_skip_invalid_lists_and_drops_them(tmp_path, capsys):
    path = make_file(
        tmp_path,
        [image(1), image(2), {"id": 3, "width": 0, "height": 5}],
        [
            ann(1, 1, square(0, 0, 5)),
            ann(2, 1, [[1, 2, 3]]),
            ann(3, 2, square(0, 0, 8)),
            ann(4, 3, square(0, 0, 4)),
        ],
    )
    report = tmp_path / "r.json"
    assert (
        run(
            "prune",
            path,
            "-o",
            tmp_path / "o.json",
            "--keep-ratio",
            "1",
            "--skip-invalid",
            "--report",
            report,
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "skipped: annotation 2 (image 1): polygon part 0 has an odd" in out
    assert (
        "skipped: image 3: width 0 is not a positive integer (its 1 "
        "annotation skipped too)"
    ) in out
    saved = json.loads(report.read_text())
    assert [(p["kind"], p["id"]) for p in saved["invalid"]] == [
        ("image", 3),
        ("annotation", 2),
    ]
    assert saved["images"]["before"] == 2
    written = json.loads((tmp_path / "o.json").read_text())
    assert [im["id"] for im in written["images"]] == [1, 2]
    assert [a["id"] for a in written["annotations"]] == [1, 3]
    COCO(str(tmp_path / "o.json"))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"{not json", "invalid JSON at line 1 column 2"),
        (b"[1, 2]", "a COCO file holds a JSON object, not a list"),
        (b'{"images": []}', "no 'annotations' list"),
        (b'\xff\xfe{"images"', "not UTF-8"),
    ],
)
def test_unreadable_files(tmp_path, capsys, content, message):
    path = tmp_path / "in.json"
    path.write_bytes(content)
    assert run("score", path, "-o", tmp_path / "s.csv") == 1
    err = capsys.readouterr().err
    assert err.startswith("tfdp: error: %s: " % path)
    assert message in err
    assert os.listdir(tmp_path) == ["in.json"]


def test_missing_file(tmp_path, capsys):
    assert run("score", tmp_path / "nope.json", "-o", tmp_path / "s.csv") == 1
    assert "nope.json: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--keep-ratio", "1.5"], "'1.5' is not a ratio between 0 and 1"),
        (["--keep", "x"], "'x' is not a positive integer"),
        (["--keep-ratio", "0.5,0.5"], "0.5 is given twice"),
        (["--keep-ratio", "0.5,.5"], "0.5 and .5 are the same value"),
        (["--prune-ratio", "0.25,0.250"], "0.25 and 0.250 are the same"),
        (["--keep", "3,03"], "3 and 03 are the same value"),
        (["--keep-ratio", "0.5,"], "'' is not a ratio between 0 and 1"),
        (["--keep-ratio", "nan"], "'nan' is not a ratio between 0 and 1"),
        (["--keep", "-1"], "'-1' is not a positive integer"),
        (["--keep", "0"], "'0' is not a positive integer"),
        # the message Python and the App give, with the value as typed
        (
            ["--keep-ratio", "0"],
            "--keep-ratio: a keep ratio of 0 keeps no image: keep at least "
            "one",
        ),
        (
            ["--prune-ratio", "1"],
            "--prune-ratio: a prune ratio of 1 keeps no image: keep at least",
        ),
        (["--keep-ratio", "0.00"], "a keep ratio of 0.00 keeps no image"),
        (
            ["--keep-ratio", "0.5", "--seed", "-5"],
            "argument --seed: '-5' is not a non-negative integer",
        ),
        (["--keep-ratio", "0.5", "--seed", "x"], "'x' is not a non-negative"),
        (["--keep-ratio", "0.5", "--method", "area"], "invalid choice"),
        (["--keep-ratio", "0.5", "--report", ""], "--report: the path is"),
        (["--keep-ratio", "0.5", "--keep", "3"], "not allowed with"),
        ([], "one of the arguments"),
    ],
)
def test_usage_errors(tmp_path, capsys, argv, message):
    # the input does not exist: arguments are checked before it is read
    with pytest.raises(SystemExit) as e:
        run(
            "prune",
            tmp_path / "missing.json",
            "-o",
            tmp_path / "o.json",
            *argv,
        )
    assert e.value.code == 2
    assert message in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_progress_bar_on_a_terminal(tmp_path):
    import io

    from tfdp.progress import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar("scoring", stream=stream, enabled=True)
    bar(0, 10)
    bar(10, 10)
    assert "scoring |" in stream.getvalue()
    assert stream.getvalue().endswith("10/10 100% 0.0s\n")
    assert ProgressBar("x", stream=io.StringIO()).enabled is False


def test_same_id_twice_in_one_image_is_warned(tmp_path, capsys):
    path = make_file(
        tmp_path,
        [image(1), image(2)],
        [
            ann(5, 1, square(0, 0, 5)),
            ann(5, 1, square(2, 2, 6)),
            ann(5, 2, square(0, 0, 4)),
            ann(6, 2, square(0, 0, 3)),
        ],
    )
    assert run("score", path, "-o", tmp_path / "s.csv") == 0
    err = capsys.readouterr().err
    assert err.count("tfdp: warning:") == 2
    assert "annotation id 5 is used by annotations of different images" in err
    assert (
        "annotation id 5 (image 1) is used more than once within one image"
    ) in err
    with open(tmp_path / "s.csv") as f:
        assert len(list(csv.reader(f))) == 5


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("iscrowd", "0", 'iscrowd "0" is not 0, 1, true or false'),
        ("iscrowd", "false", 'iscrowd "false" is not 0, 1, true or false'),
        ("iscrowd", 2, "iscrowd 2 is not 0, 1, true or false"),
        ("iscrowd", -1, "iscrowd -1 is not"),
        ("iscrowd", 1.0, "iscrowd 1.0 is not"),
        ("iscrowd", None, "iscrowd null is not"),
        ("iscrowd", [], "iscrowd [] is not"),
        ("ignore", "1", 'ignore "1" is not 0, 1, true or false'),
        ("ignore", None, "ignore null is not"),
        ("bbox", ["0", 0, 5, 5], 'bbox ["0", 0, 5, 5] is not a list of 4'),
        ("bbox", [0, 0, True, 5], "bbox [0, 0, true, 5] is not a list of 4"),
        ("bbox", [0, 0, 5], "bbox [0, 0, 5] is not a list of 4 numbers"),
        (
            "segmentation",
            [[0, 0, "4", 0, 4, 4]],
            'polygon part 0 has a coordinate that is not a number: "4"',
        ),
        (
            "segmentation",
            [[0, 0, 4, 0, 4, True]],
            "polygon part 0 has a coordinate that is not a number: true",
        ),
        ("segmentation", "polygon", "segmentation is a string, not polygons"),
    ],
)
def test_malformed_fields_are_named(tmp_path, capsys, field, value, message):
    record = ann(7, 1, square(0, 0, 5))
    record[field] = value
    path = make_file(tmp_path, [image(1)], [record])
    assert run("prune", path, "-o", tmp_path / "o.json", "--keep", "1") == 1
    err = capsys.readouterr().err
    assert "annotation 7 (image 1): " + message in err
    assert os.listdir(tmp_path) == ["in.json"]


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({}, "eligible"),  # absent means 0
        ({"iscrowd": 0, "ignore": 0}, "eligible"),
        ({"iscrowd": False, "ignore": False}, "eligible"),
        ({"iscrowd": 1}, "crowd"),
        ({"iscrowd": True}, "crowd"),
        ({"ignore": 1}, "ignore"),
        ({"ignore": True, "iscrowd": 0}, "ignore"),
    ],
)
def test_flags_accepted(tmp_path, capsys, flags, expected):
    record = ann(7, 1, square(0, 0, 5), **flags)
    path = make_file(tmp_path, [image(1)], [record])
    assert run("score", path, "-o", tmp_path / "s.csv") == 0
    out = capsys.readouterr().out
    if expected == "eligible":
        assert "wrote 1 eligible annotations" in out
    else:
        assert "not scored: 1 %s" % expected in out


def test_deep_nesting_is_refused_cleanly(tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 200_000 + b"]" * 200_000)
    tfdp = os.path.join(os.path.dirname(sys.executable), "tfdp")
    for argv in (
        ["score", str(path), "-o", str(tmp_path / "s.csv")],
        [
            "prune",
            str(path),
            "-o",
            str(tmp_path / "o.json"),
            "--keep-ratio",
            "0.5",
        ],
    ):
        done = subprocess.run([tfdp] + argv, capture_output=True, text=True)
        assert done.returncode == 1
        assert done.stderr == (
            "tfdp: error: %s: invalid JSON: nested more than 1024 levels "
            "deep\n" % path
        )
    assert os.listdir(tmp_path) == ["deep.json"]


def test_deep_but_readable_records_are_kept_exactly(tmp_path):
    # 600 levels deep in an extra field: orjson writes at most 255, the
    # standard library writes the rest, byte for byte
    deep = []
    for _ in range(600):
        deep = [deep]
    record = ann(7, 1, square(0, 0, 5), extra=deep)
    path = make_file(tmp_path, [image(1)], [record])
    assert run("prune", path, "-o", tmp_path / "o.json", "--keep", "1") == 0
    with open(path) as f:
        expected = json.dumps(
            json.load(f), ensure_ascii=False, separators=(",", ":")
        )
    assert (tmp_path / "o.json").read_text() == expected


@pytest.mark.parametrize("command", ["score", "prune"])
def test_nothing_left_to_prune(tmp_path, capsys, command):
    path = make_file(
        tmp_path,
        [{"id": 1, "width": 0, "height": 5}, {"id": 2, "width": "20"}],
        [ann(1, 1, square(0, 0, 5)), ann(2, 2, square(0, 0, 5))],
    )
    argv = [command, path, "-o", tmp_path / "out", "--skip-invalid"]
    if command == "prune":
        argv += ["--keep-ratio", "0.5", "--report", tmp_path / "r.json"]
    assert run(*argv) == 1
    err = capsys.readouterr().err
    assert err == (
        "tfdp: error: %s: nothing is left to %s: all 2 malformed records "
        "were skipped and no valid image remains\n" % (path, command)
    )
    assert os.listdir(tmp_path) == ["in.json"]


def test_no_images_at_all(tmp_path, capsys):
    path = make_file(tmp_path, [], [])
    assert run("prune", path, "-o", tmp_path / "o.json", "--keep", "1") == 1
    assert "in.json: no images to prune" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["in.json"]


def test_signal_while_renaming_is_held_until_all_are_in_place(
    tmp_path, monkeypatch
):
    # SIGINT arrives while the first output is renamed into place: it takes
    # effect once every output is there, and they are reported written
    import signal

    from tfdp.outputs import file_writer, write_paths_atomic

    real_link = os.link

    def link_and_signal(src, dst):
        if not calls:
            signal.raise_signal(signal.SIGINT)
        calls.append(dst)
        real_link(src, dst)

    calls = []
    monkeypatch.setattr(os, "link", link_and_signal)
    written = []
    outputs = [
        (
            str(tmp_path / name),
            file_writer(lambda f, name=name: f.write(name.encode())),
        )
        for name in "abc"
    ]
    with pytest.raises(KeyboardInterrupt):
        write_paths_atomic(outputs, written=written)
    assert written == [path for path, _ in outputs]
    assert sorted(os.listdir(tmp_path)) == ["a", "b", "c"]
    assert (tmp_path / "c").read_text() == "c"


def test_a_signal_pending_at_cleanup_still_removes_every_temporary_file(
    tmp_path, monkeypatch
):
    # SIGINT arrives while the outputs are linked into place and is raised
    # once they are; SIGTERM arrives just then, and Python runs its handler
    # when the cleanup sets its own handlers (signal.signal runs pending
    # handlers first). The temporary files must go all the same, and every
    # handler be restored.
    import signal

    from tfdp.outputs import file_writer, write_paths_atomic

    class Terminated(BaseException):
        pass

    def terminate(signum, frame):
        raise Terminated()

    real_signal, real_raise, real_link = (
        signal.signal,
        signal.raise_signal,
        os.link,
    )
    pending = []

    def signal_after_pending(signum, handler):
        while pending:  # as CPython does before it swaps a handler
            waiting = pending.pop()
            signal.getsignal(waiting)(waiting, None)
        return real_signal(signum, handler)

    def raise_and_terminate(signum):
        pending.append(signal.SIGTERM)
        real_raise(signum)

    def link_and_interrupt(src, dst):
        if not calls:
            real_raise(signal.SIGINT)  # held until all are linked
        calls.append(dst)
        real_link(src, dst)

    calls = []
    previous = real_signal(signal.SIGTERM, terminate)
    try:
        handlers = [
            signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)
        ]
        monkeypatch.setattr(signal, "signal", signal_after_pending)
        monkeypatch.setattr(signal, "raise_signal", raise_and_terminate)
        monkeypatch.setattr(os, "link", link_and_interrupt)
        outputs = [
            (
                str(tmp_path / name),
                file_writer(lambda f, name=name: f.write(name.encode())),
            )
            for name in "ab"
        ]
        with pytest.raises((KeyboardInterrupt, Terminated)):
            write_paths_atomic(outputs)
        monkeypatch.undo()
        assert sorted(os.listdir(tmp_path)) == ["a", "b"]  # no .tmp left
        assert [
            signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)
        ] == handlers
    finally:
        real_signal(signal.SIGTERM, previous)


def test_an_output_appearing_meanwhile_undoes_the_others(tmp_path):
    from tfdp.errors import OutputExistsError
    from tfdp.outputs import file_writer, write_paths_atomic

    def write_b(f):
        (tmp_path / "c").write_text("someone else's")  # appears meanwhile
        f.write(b"b")

    outputs = [
        (str(tmp_path / "a"), file_writer(lambda f: f.write(b"a"))),
        (str(tmp_path / "b"), file_writer(write_b)),
        (str(tmp_path / "c"), file_writer(lambda f: f.write(b"c"))),
    ]
    written = []
    with pytest.raises(OutputExistsError, match="c already exists$"):
        write_paths_atomic(outputs, written=written)
    assert written == []
    assert os.listdir(tmp_path) == ["c"]
    assert (tmp_path / "c").read_text() == "someone else's"


def test_a_failed_write_or_rename_names_the_output(tmp_path, monkeypatch):
    from tfdp.outputs import file_writer, write_paths_atomic

    def no_space(tmp):
        raise OSError(28, "No space left on device", tmp)

    write_a = file_writer(lambda f: f.write(b"a"))
    outputs = [(str(tmp_path / "a"), write_a), (str(tmp_path / "b"), no_space)]
    with pytest.raises(TFDPError) as e:
        write_paths_atomic(outputs)
    assert str(e.value) == "cannot write %s: No space left on device" % (
        tmp_path / "b"
    )
    assert os.listdir(tmp_path) == []

    def cross_device(src, dst):
        raise OSError(18, "Invalid cross-device link", src, None, dst)

    monkeypatch.setattr(os, "link", cross_device)
    write_b = file_writer(lambda f: f.write(b"b"))
    outputs[1] = (str(tmp_path / "b"), write_b)
    with pytest.raises(TFDPError) as e:
        write_paths_atomic(outputs)
    assert str(e.value) == "cannot write %s: Invalid cross-device link" % (
        tmp_path / "a"
    )
    assert os.listdir(tmp_path) == []


def test_a_box_beyond_floats_is_scored_at_the_cost_of_its_image(
    tmp_path, capsys, monkeypatch
):
    # a box side that is an integer beyond floats stopped the command with
    # an OverflowError; one of 1e308 made the cost estimate infinite, and a
    # tiny file started a local cluster
    import tfdp.runner

    choices = []
    real_choose = tfdp.runner.Runner._choose

    def choose(self, seconds, mean_box_area):
        choices.append((seconds, mean_box_area))
        return real_choose(self, seconds, mean_box_area)

    monkeypatch.setattr(tfdp.runner.Runner, "_choose", choose)
    path = make_file(
        tmp_path,
        [image(1), image(2)],
        [
            ann(1, 1, square(0, 0, 5), bbox=(0, 0, 7, 7)),
            ann(2, 2, square(0, 0, 5), bbox=(0, 0, 1e308, 1e308)),
        ],
    )
    text = (
        open(path)
        .read()
        .replace("[0, 0, 7, 7]", "[0, 0, 1%s, 7]" % ("0" * 400))
    )
    open(path, "w").write(text)
    assert run("score", path, "-o", tmp_path / "s.csv") == 0
    with open(tmp_path / "s.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["perimeter"], r["area"]) for r in rows] == [
        ("16.0", "16.0")
    ] * 2
    assert len(choices) == 1
    seconds, mean_box_area = choices[0]
    assert seconds < 0.01 and mean_box_area == (20 * 7 + 20 * 20) / 2
    assert "Traceback" not in capsys.readouterr().err


def test_image_size_as_an_integral_float(tmp_path, capsys):
    path = make_file(
        tmp_path,
        [dict(image(1), width=20.0, height=20.0), dict(image(2), width=20.5)],
        [ann(1, 1, square(0, 0, 5)), ann(2, 2, square(0, 0, 5))],
    )
    assert run("score", path, "-o", tmp_path / "s.csv", "--skip-invalid") == 0
    out = capsys.readouterr().out
    assert "wrote 1 eligible annotations of 1 images" in out
    assert (
        "skipped: image 2: width 20.5 is not a positive integer (its 1 "
        "annotation skipped too)"
    ) in out


def test_an_image_id_used_many_times_is_named_once(tmp_path, capsys):
    path = make_file(
        tmp_path,
        [image(1)] * 9 + [image(2)],
        [ann(1, 1, square(0, 0, 5)), ann(2, 2, square(0, 0, 5))],
    )
    assert run("score", path, "-o", tmp_path / "s.csv", "--skip-invalid") == 0
    assert (
        "skipped: image 1: id used by 9 image records (at positions 0, "
        "1, 2, 3, 4 and 4 more) (its 1 annotation skipped too)"
    ) in capsys.readouterr().out


def test_command_startup_is_lean():
    # the command imports neither FiftyOne nor pandas nor Dask
    code = (
        "import sys; from tfdp.cli import main; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'fiftyone', 'pandas', 'dask', 'scipy', 'matplotlib'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == "[]\n"


def test_core_errors_carry_no_command_wording(tmp_path):
    # the command adds its hints; the core's messages fit any caller
    from tfdp import coco
    from tfdp.errors import InvalidDataError, OutputExistsError
    from tfdp.outputs import check_writable, write_json

    data = json.loads(
        open(make_file(tmp_path, [image(1)], [ann(1, 1, [[1, 2, 3]])])).read()
    )
    with pytest.raises(InvalidDataError) as e:
        coco.measure(data, source="in.json")
    assert str(e.value) == (
        "in.json: 1 malformed annotation:\n  annotation 1 (image 1): polygon "
        "part 0 has an odd number of coordinates (3)"
    )
    existing = str(tmp_path / "in.json")
    with pytest.raises(OutputExistsError) as e:
        check_writable(existing)
    assert str(e.value) == "%s already exists" % existing
    with pytest.raises(OutputExistsError, match="exists; pass overwrite=True"):
        write_json({}, existing, hint="pass overwrite=True to replace it")


_UNDER_A_MEMORY_LIMIT = """\
import re, resource, sys
from tfdp.cli import main
import cv2, numpy
# what the process maps now, and 512 MiB more: less than the 1 GB crop
with open("/proc/self/status") as f:
    mapped = int(re.search(r"VmSize:\\s+(\\d+) kB", f.read()).group(1))
limit = mapped * 1024 + 2**29
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.exit(main(sys.argv[1:]))
"""


def test_running_out_of_memory_is_not_malformed_data(tmp_path):
    side = 32000  # a valid crop of 1.024e9 pixels, within the limit
    polygon = [[0, 0, side - 1, 0, side - 1, side - 1, 0, side - 1]]
    rle = {"size": [side, side], "counts": [0, side * side]}
    path = make_file(
        tmp_path,
        [image(1, side, side), image(2)],
        [
            ann(5, 2, square(0, 0, 5)),
            ann(7, 1, polygon, bbox=(0, 0, side, side)),
        ],
    )
    folder = tmp_path / "sa1b"
    folder.mkdir()
    (folder / "sa_1.json").write_text(
        json.dumps(
            {
                "image": {
                    "image_id": 1,
                    "width": side,
                    "height": side,
                    "file_name": "1.jpg",
                },
                "annotations": [
                    {"id": 7, "segmentation": rle, "bbox": [0, 0, side, side]}
                ],
            }
        )
    )
    for source, where in ((path, path), (folder, folder / "sa_1.json")):
        for skip in ((), ("--skip-invalid",)):
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _UNDER_A_MEMORY_LIMIT,
                    "score",
                    str(source),
                    "-o",
                    str(tmp_path / "s.csv"),
                ]
                + list(skip),
                capture_output=True,
                text=True,
            )
            assert done.returncode == 1, done.stderr
            assert done.stderr == (
                "tfdp: error: %s: out of memory measuring annotation 7 of "
                "image 1\n" % where
            )
            assert not (tmp_path / "s.csv").exists()


def test_a_class_guarantee_keeps_a_rare_class(tmp_path):
    # class 1 in images 1 and 2 (small squares: SCS 4/n is high), class 2
    # only in image 3 (a large square, a low score); keep 2 of 3
    path = make_file(
        tmp_path,
        [image(1), image(2), image(3)],
        [
            ann(1, 1, square(0, 0, 3)),
            ann(2, 2, square(0, 0, 4)),
            ann(3, 3, square(0, 0, 15), category_id=2),
        ],
    )
    out, report = tmp_path / "p.json", tmp_path / "r.json"
    assert (
        run(
            "prune",
            path,
            "-o",
            out,
            "--keep",
            "2",
            "--method",
            "scs",
            "--report",
            report,
        )
        == 0
    )
    assert [im["id"] for im in json.loads(out.read_text())["images"]] == [1, 2]
    assert (
        run(
            "prune",
            path,
            "-o",
            out,
            "--keep",
            "2",
            "--method",
            "scs",
            "--min-per-class",
            "1",
            "--report",
            report,
            "--overwrite",
        )
        == 0
    )
    # image 1 (class 1's best) and image 3 (class 2's only one)
    assert [im["id"] for im in json.loads(out.read_text())["images"]] == [1, 3]
    assert json.loads(report.read_text())["selection"] == {
        "selection": "top",
        "min_per_class": 1,
        "added": 1,
    }


def test_a_guarantee_beyond_the_budget_is_refused(tmp_path, capsys):
    path = make_file(
        tmp_path,
        [image(1), image(2)],
        [
            ann(1, 1, square(0, 0, 3)),
            ann(2, 2, square(0, 0, 4), category_id=2),
        ],
    )
    out = tmp_path / "p.json"
    assert (
        run("prune", path, "-o", out, "--keep", "1", "--min-per-class", "1")
        == 1
    )
    assert (
        "--min-per-class 1 needs 2 images, more than the 1 kept; keep "
        "at least 2 or lower it"
    ) in capsys.readouterr().err
    assert not out.exists()


def test_stratified_selection_keeps_the_count(tmp_path, capsys):
    images = [image(i) for i in range(1, 11)]
    anns = [ann(i, i, square(0, 0, 2 + i)) for i in range(1, 11)]
    path = make_file(tmp_path, images, anns)
    out = tmp_path / "p.json"
    assert (
        run(
            "prune",
            path,
            "-o",
            out,
            "--keep",
            "4",
            "--selection",
            "stratified",
            "--strata",
            "2",
            "--seed",
            "3",
        )
        == 0
    )
    assert len(json.loads(out.read_text())["images"]) == 4
    assert (
        "selection: stratified, 2 strata, hard cutoff 0.0, seed 3"
        in capsys.readouterr().out
    )
    with pytest.raises(SystemExit):
        run(
            "prune",
            path,
            "-o",
            out,
            "--keep",
            "4",
            "--selection",
            "stratified",
            "--min-per-class",
            "1",
        )
    assert "applies to the top selection" in capsys.readouterr().err
