"""Several COCO files as one dataset, SA-1B-style folders, Parquet tables."""

import csv
import json
import os

import numpy as np
import pytest
from hand_made import (
    not_utf8_path,
    read_rows,
    run,
    sa1b_folder,
    sa1b_mask,
    sa1b_record,
)


def _one_category_file(tmp_path, name, category):
    data = {
        "images": [{"id": 1, "width": 20, "height": 20}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 5, 5],
                "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]],
            }
        ],
        "categories": category,
    }
    (tmp_path / name).write_text(json.dumps(data))
    return str(tmp_path / name)


def test_category_names_are_compared_as_written(tmp_path, capsys):
    # no name (reports show the id), the number 1 and the string "1" are
    # three names: whether files agree never depends on the id's value
    unnamed = _one_category_file(tmp_path, "unnamed.json", [{"id": 1}])
    number = _one_category_file(
        tmp_path, "number.json", [{"id": 1, "name": 1}]
    )
    text = _one_category_file(tmp_path, "text.json", [{"id": 1, "name": "1"}])
    person = _one_category_file(
        tmp_path, "person.json", [{"id": 1, "name": "person"}]
    )
    for a, b, message in (
        (unnamed, number, "category id 1 has no name in %s but is 1 in %s"),
        (unnamed, text, "category id 1 has no name in %s but is '1' in %s"),
        (number, text, "category id 1 is 1 in %s but '1' in %s"),
        (
            person,
            unnamed,
            "category id 1 is 'person' in %s but has no name in %s",
        ),
    ):
        assert run("score", a, b, "-o", tmp_path / "s.csv") == 1
        assert capsys.readouterr().err == "tfdp: error: %s\n" % (
            message % (a, b)
        )
        assert not (tmp_path / "s.csv").exists()
    # the same name as written agrees, also without one
    again = _one_category_file(tmp_path, "again.json", [{"id": 1}])
    assert run("score", unnamed, again, "-o", tmp_path / "s.csv") == 0
    capsys.readouterr()

    # within one file, the same rule
    for categories, message in (
        (
            [{"id": 1}, {"id": 1, "name": 1}],
            "category id 1 has no name in one record and is named 1 in "
            "another",
        ),
        (
            [{"id": 1, "name": "1"}, {"id": 1}],
            'category id 1 is named "1" in one record and has no name '
            "in another",
        ),
        (
            [{"id": 1, "name": 1}, {"id": 1, "name": "1"}],
            'category id 1 is named 1 and "1"',
        ),
    ):
        path = _one_category_file(tmp_path, "within.json", categories)
        assert run("score", path, "-o", tmp_path / "s2.csv") == 1
        assert capsys.readouterr().err == "tfdp: error: %s: %s\n" % (
            path,
            message,
        )
    path = _one_category_file(tmp_path, "within.json", [{"id": 1}, {"id": 1}])
    assert run("score", path, "-o", tmp_path / "s2.csv") == 0


def test_inputs_with_one_name_are_named(tmp_path, capsys):
    # their pruned copies would go to one path of the output folder
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        _one_category_file(
            tmp_path / folder, "train.json", [{"id": 1, "name": "x"}]
        )
    a, b = tmp_path / "a" / "train.json", tmp_path / "b" / "train.json"
    assert run("prune", a, b, "-o", tmp_path / "out", "--keep", "1") == 1
    assert capsys.readouterr().err == (
        "tfdp: error: inputs %s and %s have the same name: their pruned "
        "copies go into one folder, %s; rename one\n"
        % (a, b, tmp_path / "out")
    )
    assert not (tmp_path / "out").exists()


def test_bad_files_in_a_folder_are_named_or_skipped(tmp_path, capsys):
    folder = tmp_path / "sa1b"
    folder.mkdir()
    good = [
        sa1b_record(i, [sa1b_mask(1), sa1b_mask(2, bbox=(0, 0, 0.5, 3))])
        for i in (1, 2, 3)
    ]
    for i, record in enumerate(good):
        (folder / ("sa_%d.json" % i)).write_text(json.dumps(record))
    (folder / "sa_broken.json").write_text('{"image": ')
    (folder / "sa_width.json").write_text(
        json.dumps(sa1b_record(9, [sa1b_mask(1)], width=-3))
    )
    (folder / "sa_mask.json").write_text(
        json.dumps(
            sa1b_record(8, [sa1b_mask(1), sa1b_mask(7, counts="not rle!")])
        )
    )
    (folder / "notes.txt").write_text("not a JSON file: not read")
    # JSON that Python's parser refuses with other errors
    (folder / "sa_digits.json").write_text('{"image": %s}' % ("9" * 5000))
    (folder / "sa_deep.json").write_text("[" * 200000 + "]" * 200000)

    assert (
        run(
            "prune", folder, "-o", tmp_path / "kept.txt", "--keep-ratio", "0.5"
        )
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "image %s: invalid JSON at line 1" % (folder / "sa_broken.json") in err
    )
    for name in ("sa_digits.json", "sa_deep.json"):
        assert "image %s: invalid JSON: " % (folder / name) in err
    assert (
        "image %s: image width -3 is not a positive integer"
        % (folder / "sa_width.json")
        in err
    )
    assert (
        "annotation 7 (image %s): RLE counts string"
        % (folder / "sa_mask.json")
        in err
    )
    assert "--skip-invalid" in err and "Traceback" not in err
    assert not (tmp_path / "kept.txt").exists()

    assert (
        run(
            "prune",
            folder,
            "-o",
            tmp_path / "kept.txt",
            "--keep-ratio",
            "0.5",
            "--skip-invalid",
            "--report",
            tmp_path / "report.json",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "skipped: image %s" % (folder / "sa_broken.json") in out
    report = json.loads((tmp_path / "report.json").read_text())
    # the two unreadable files are not images; the bad mask's image is
    assert report["images"]["before"] == 4
    assert report["instances"]["before"] == 4
    assert report["ineligible"] == {"bbox under 1 pixel": 3}
    assert len(report["invalid"]) == 5
    assert len((tmp_path / "kept.txt").read_text().splitlines()) == 2


def test_folder_and_glob_errors(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("score", empty, "-o", tmp_path / "a.csv") == 1
    assert "%s: no JSON file found" % empty in capsys.readouterr().err
    assert (
        run("score", str(tmp_path / "nothing*.json"), "-o", tmp_path / "a.csv")
        == 1
    )
    assert "no JSON file found" in capsys.readouterr().err


def test_sa1b_records_are_checked_as_coco_records_are(tmp_path, capsys):
    bad = {
        "sa_newline.json": sa1b_record(1, [sa1b_mask(1)]),
        "sa_no_name.json": sa1b_record(2, [sa1b_mask(1)]),
        "sa_crowd.json": sa1b_record(
            3,
            [sa1b_mask(1), dict(sa1b_mask(2, counts="!!!garbage"), iscrowd=1)],
        ),
        "sa_wide.json": sa1b_record(4, [sa1b_mask(1)], width=2**63),
    }
    bad["sa_newline.json"]["image"]["file_name"] = "a.jpg\n../../etc/passwd"
    del bad["sa_no_name.json"]["image"]["file_name"]
    folder = sa1b_folder(tmp_path, [sa1b_record(9, [sa1b_mask(1)])])
    for name, record in bad.items():
        (folder / name).write_text(json.dumps(record))
    (folder / "sa_utf16.json").write_bytes(
        json.dumps(sa1b_record(5, [sa1b_mask(1)])).encode("utf-16")
    )
    (folder / "sa_surrogate.json").write_text(
        json.dumps(sa1b_record(6, [sa1b_mask(1)])).replace(
            "6.jpg", "\\ud800.jpg"
        )
    )
    os.symlink(tmp_path / "gone.json", folder / "sa_gone.json")

    assert (
        run("prune", folder, "-o", tmp_path / "kept.txt", "--keep-ratio", "1")
        == 1
    )
    err = capsys.readouterr().err
    assert "6 malformed images" in err and "Traceback" not in err
    assert not (tmp_path / "kept.txt").exists()

    # every one named, with --skip-invalid
    assert (
        run(
            "prune",
            folder,
            "-o",
            tmp_path / "kept.txt",
            "--keep-ratio",
            "1",
            "--skip-invalid",
        )
        == 0
    )
    err = capsys.readouterr().out
    for name, message in (
        (
            "sa_newline.json",
            'image file_name "a.jpg\\n../../etc/passwd" is not a file name',
        ),
        ("sa_no_name.json", "image file_name null is not a file name"),
        ("sa_wide.json", "image width 9223372036854775808 is too large"),
        ("sa_utf16.json", "not UTF-8 text"),
        ("sa_surrogate.json", "invalid JSON"),
        ("sa_gone.json", "cannot read: No such file or directory"),
    ):
        assert "image %s: %s" % (folder / name, message) in err, name
    assert (
        "annotation 2 (image %s): RLE counts string"
        % (folder / "sa_crowd.json")
        in err
    )
    # the crowd mask's image stays, without it
    assert (tmp_path / "kept.txt").read_text() == "9.jpg\n3.jpg\n"


def test_coco_records_the_command_refused_with_a_traceback(tmp_path, capsys):
    # an image too wide for any canvas; RLE counts that are not ASCII;
    # one category id with two names in one file
    data = {
        "images": [
            {"id": 1, "width": 2**63, "height": 80},
            {"id": 2, "width": 100, "height": 80},
        ],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [1, 1, 9, 9],
                "segmentation": [[1, 1, 9, 1, 9, 9]],
            },
            {
                "id": 2,
                "image_id": 2,
                "category_id": 1,
                "bbox": [1, 1, 9, 9],
                "segmentation": {"size": [80, 100], "counts": "Zi0\u00e9Q2"},
            },
        ],
        "categories": [{"id": 1, "name": "a"}],
    }
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    assert run("score", path, "-o", tmp_path / "s.csv", "--workers", "1") == 1
    err = capsys.readouterr().err
    assert "image 1: width 9223372036854775808 is too large" in err
    assert (
        "annotation 2 (image 2): RLE counts string has invalid "
        "characters" in err
    )
    assert "Traceback" not in err

    data["categories"].append({"id": 1, "name": None})
    path.write_text(json.dumps(data))
    assert run("score", path, "-o", tmp_path / "s.csv") == 1
    assert 'category id 1 is named "a" and null' in (capsys.readouterr().err)


def test_csv_text_is_what_the_csv_module_writes(tmp_path):
    # numbers and nulls are formatted in bulk: the bytes must be the csv
    # module's, whatever the value (repr switches to an exponent below
    # 1e-4 and from 1e16, where orjson does not)
    import struct

    from tfdp import score_tables

    rng = np.random.default_rng(7)
    special = [
        0.0,
        -0.0,
        1e-4,
        9.99999e-5,
        1e16,
        9999999999999998.0,
        5e-324,
        1.7976931348623157e308,
        float("inf"),
        float("-inf"),
        float("nan"),
        0.1,
        123.0,
    ]
    powers = [
        s * f * 10.0**e
        for e in range(-30, 30)
        for s in (1, -1)
        for f in (1.0, 1.2345678901234567)
    ]
    bits = [struct.unpack("d", rng.bytes(8))[0] for _ in range(5000)]
    floats = np.array(special + powers + bits)
    n = len(floats)
    ids = list(range(n))
    cases = [
        (False, ids),  # int ids
        (False, [None if i % 3 else i for i in ids]),  # some without class
        (True, ids),  # with the file names
        (False, [str(i) if i % 2 else i for i in ids]),  # string ids
        (False, [',"x"' if i == 5 else i for i in ids]),  # quoted
    ]
    for with_file, case in cases:
        names = score_tables.columns_of(with_file)
        part = {name: floats for name in score_tables.FLOAT_COLUMNS}
        part.update(
            file=["f.json"] * n,
            image_id=case,
            annotation_id=np.arange(n),
            category_id=case,
        )
        ours = tmp_path / "ours.csv"
        with open(ours, "w", newline="") as f:
            assert score_tables._write_csv(f, [part, part], names) == 2 * n
        expected = tmp_path / "expected.csv"
        with open(expected, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(names)
            for _ in range(2):
                writer.writerows(
                    zip(
                        *[
                            part[k].tolist()
                            if isinstance(part[k], np.ndarray)
                            else part[k]
                            for k in names
                        ]
                    )
                )
        assert ours.read_bytes() == expected.read_bytes()


def test_a_folder_file_name_that_is_not_utf8(tmp_path, capsys):
    folder = sa1b_folder(tmp_path, [sa1b_record(1, [sa1b_mask(1)])])
    bad = not_utf8_path(folder, b"bad\xe9.json")
    with open(bad, "w") as f:
        f.write('{"image": ')
    good = not_utf8_path(folder, b"caf\xe9.json")
    with open(good, "w") as f:
        json.dump(sa1b_record(2, [sa1b_mask(1)]), f)
    shown = os.path.join(str(folder), "bad\\xe9.json")

    assert (
        run("prune", folder, "-o", tmp_path / "kept.txt", "--keep", "1") == 1
    )
    err = capsys.readouterr().err
    assert "image %s: invalid JSON" % shown in err
    assert not (tmp_path / "kept.txt").exists()

    for command, out in (("score", "s.csv"), ("prune", "kept.txt")):
        argv = (
            ["--keep", "2", "--report", tmp_path / "r.json"]
            if command == "prune"
            else []
        )
        assert (
            run(command, folder, "-o", tmp_path / out, "--skip-invalid", *argv)
            == 0
        )
        assert "skipped: image %s: invalid JSON" % shown in (
            capsys.readouterr().out
        )
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["invalid"][0]["id"] == bad
    # equal scores keep the input order: caf\xe9.json before sa_0.json
    assert (tmp_path / "kept.txt").read_text() == "2.jpg\n1.jpg\n"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sa1b_repeated_ids_are_warned_once(tmp_path, capsys, workers):
    # an image is identified by its file, never by its id: repeats are
    # scored and kept as they are, with one warning each, as COCO's
    # repeated annotation ids are
    records = [
        sa1b_record(1, [sa1b_mask(1), sa1b_mask(2)]),
        sa1b_record(
            1, [sa1b_mask(3), sa1b_mask(3), sa1b_mask(4), sa1b_mask(3)]
        ),
        sa1b_record(2, [sa1b_mask(1)]),  # mask id 1 again, in another file
        sa1b_record(3, [sa1b_mask(5), sa1b_mask(5, bbox=(0, 0, 0.5, 1))]),
    ]
    records[1]["image"]["file_name"] = "1b.jpg"
    records[3]["image"]["file_name"] = "2.jpg"  # the name of image 2
    folder = sa1b_folder(tmp_path, records)
    path = [str(folder / ("sa_%d.json" % i)) for i in range(4)]

    assert (
        run("score", folder, "-o", tmp_path / "s.csv", "--workers", workers)
        == 0
    )
    warnings = [
        "tfdp: warning: %s: mask ids 3 (in %s) and 5 (in %s) are used more "
        "than once within one file; every mask is kept and scored, but "
        "those cannot be told apart by image and id"
        % (folder, path[1], path[3]),
        "tfdp: warning: %s: image id 1 (%s and %s) is used by several files; "
        "every image is kept and scored, identified by its file, but the "
        "score table cannot tell their rows apart by image id"
        % (folder, path[0], path[1]),
        'tfdp: warning: %s: file_name "2.jpg" (%s and %s) is used by '
        "several files; every image is kept and scored, but the kept list "
        "names image files, so it cannot tell those images apart"
        % (folder, path[2], path[3]),
    ]
    assert capsys.readouterr().err.splitlines() == warnings
    rows = read_rows(tmp_path / "s.csv")
    assert [(r["image_id"], r["annotation_id"]) for r in rows] == [
        ("1", "1"),
        ("1", "2"),
        ("1", "3"),
        ("1", "3"),
        ("1", "4"),
        ("1", "3"),
        ("2", "1"),
        ("3", "5"),
    ]

    assert (
        run(
            "prune",
            folder,
            "-o",
            tmp_path / "kept.txt",
            "--keep",
            "4",
            "--report",
            tmp_path / "r.json",
            "--workers",
            workers,
        )
        == 0
    )
    assert capsys.readouterr().err.splitlines() == warnings
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["warnings"] == [w.split(": ", 3)[3] for w in warnings]
    assert report["images"]["before"] == 4
    assert report["instances"]["before"] == 8


def test_sa1b_many_repeats_are_summarised(tmp_path, capsys):
    folder = sa1b_folder(
        tmp_path,
        [sa1b_record(i % 3, [sa1b_mask(1), sa1b_mask(1)]) for i in range(14)],
    )
    assert run("score", folder, "-o", tmp_path / "s.csv") == 0
    err = capsys.readouterr().err.replace(str(folder) + os.sep, "")
    # files in name order: sa_0, sa_1, sa_10, ..., sa_13, sa_2, ...
    assert (
        "mask ids 1 (in sa_0.json), 1 (in sa_1.json), 1 (in sa_10.json)" in err
    )
    assert "1 (in sa_5.json) and 4 more are used more than once" in err
    assert (
        "image ids 0 (sa_0.json, sa_12.json, sa_3.json and 2 more), "
        "1 (sa_1.json, sa_10.json, sa_13.json and 2 more) and 2 "
        "(sa_11.json, sa_2.json, sa_5.json and 1 more) are used"
    ) in err
    assert 'file_names "0.jpg" (sa_0.json, sa_12.json' in err


def test_a_folder_file_through_a_folder_link_or_hard_link_counts_once(
    tmp_path, capsys
):
    folder = sa1b_folder(
        tmp_path,
        [sa1b_record(i, [sa1b_mask(1)]) for i in (1, 2, 3)],
        name="small",
    )
    os.symlink(folder, tmp_path / "smalllink")
    assert (
        run("score", folder, tmp_path / "smalllink", "-o", tmp_path / "s.csv")
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "%s and %s are the same file"
        % (folder / "sa_0.json", tmp_path / "smalllink" / "sa_0.json")
        in err
    )
    assert "Traceback" not in err and not (tmp_path / "s.csv").exists()
    # the same folder spelled twice, and a file given beside its folder
    for argv in (
        (folder, tmp_path / "small" / ".." / "small"),
        (folder, folder / "sa_1.json"),
        (folder, str(tmp_path / "smalllink" / "*.json")),
    ):
        assert run("score", *argv, "-o", tmp_path / "s.csv") == 1
        assert "are the same file" in capsys.readouterr().err

    # two names, one inode
    os.link(folder / "sa_1.json", folder / "sa_9.json")
    assert (
        run(
            "prune",
            folder,
            "-o",
            tmp_path / "kept.txt",
            "--keep-ratio",
            "0.5",
            "--skip-invalid",
        )
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "%s and %s are the same file"
        % (folder / "sa_1.json", folder / "sa_9.json")
        in err
    )
    assert not (tmp_path / "kept.txt").exists()
    os.remove(folder / "sa_9.json")
    assert run("score", folder, "-o", tmp_path / "s.csv") == 0
    assert "of 3 images" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["sa_loop.json", "sa_other.json"])
def test_a_link_loop_in_a_folder_is_named(tmp_path, capsys, target):
    folder = sa1b_folder(
        tmp_path, [sa1b_record(i, [sa1b_mask(1)]) for i in (1, 2)]
    )
    os.symlink(target, folder / "sa_loop.json")
    if target == "sa_other.json":
        os.symlink("sa_loop.json", folder / target)
    assert run("score", folder, "-o", tmp_path / "s.csv") == 1
    err = capsys.readouterr().err
    assert (
        "image %s: cannot read: Too many levels of symbolic links"
        % (folder / "sa_loop.json")
        in err
    )
    assert "Traceback" not in err and not (tmp_path / "s.csv").exists()
    assert (
        run("score", folder, "-o", tmp_path / "s.csv", "--skip-invalid") == 0
    )
    assert "of 2 images" in capsys.readouterr().out


def test_a_file_name_that_climbs_out_of_its_folder_is_malformed(
    tmp_path, capsys
):
    records = [sa1b_record(i, [sa1b_mask(1)]) for i in (1, 2, 3, 4, 5)]
    records[1]["image"]["file_name"] = "../../etc/passwd"
    records[2]["image"]["file_name"] = "/etc/passwd"
    records[3]["image"]["file_name"] = "images/../../x.jpg"
    records[4]["image"]["file_name"] = "images/..x/a..b.jpg"  # no '..' part
    folder = sa1b_folder(tmp_path, records)
    kept = tmp_path / "kept.txt"
    assert run("prune", folder, "-o", kept, "--keep-ratio", "1") == 1
    err = capsys.readouterr().err
    for i, name in (
        (1, "../../etc/passwd"),
        (2, "/etc/passwd"),
        (3, "images/../../x.jpg"),
    ):
        assert (
            'image %s: image file_name "%s" climbs out of its folder'
            % (folder / ("sa_%d.json" % i), name)
        ) in err
    assert "sa_4.json" not in err and not kept.exists()
    assert (
        run("prune", folder, "-o", kept, "--keep-ratio", "1", "--skip-invalid")
        == 0
    )
    assert sorted(kept.read_text().splitlines()) == [
        "1.jpg",
        "images/..x/a..b.jpg",
    ]


def test_a_file_name_that_names_a_folder_is_malformed(tmp_path, capsys):
    # the kept list is meant for tar -T: "." there would take the whole
    # folder of images
    names = [".", "images/.", "images/", "./"]
    records = [sa1b_record(i, [sa1b_mask(1)]) for i in range(len(names) + 1)]
    for record, name in zip(records[1:], names):
        record["image"]["file_name"] = name
    folder = sa1b_folder(tmp_path, records)
    kept = tmp_path / "kept.txt"
    assert run("prune", folder, "-o", kept, "--keep-ratio", "1") == 1
    err = capsys.readouterr().err
    for i, name in enumerate(names, 1):
        assert (
            'image %s: image file_name "%s" names a folder, not a file'
            % (folder / ("sa_%d.json" % i), name)
        ) in err
    assert not kept.exists()
    assert (
        run("prune", folder, "-o", kept, "--keep-ratio", "1", "--skip-invalid")
        == 0
    )
    assert kept.read_text().splitlines() == ["0.jpg"]
