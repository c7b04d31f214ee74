"""The ``tfdp`` command on real files, hand-made files and bad input."""

import csv
import json
import os
import subprocess
import sys

import naive
import pytest
from hand_made import run
from pycocotools.coco import COCO
from shared_data import (
    COCO_SAMPLE,
    LVIS,
    REAL_FILES,
    TACO,
    requires_shared_data,
)

from tfdp.errors import TFDPError

pytestmark = requires_shared_data


def test_score_csv_matches_the_full_canvas(tmp_path, capsys):
    out = tmp_path / "scores.csv"
    assert run("score", LVIS, "-o", out) == 0
    assert "wrote 977 eligible annotations of 100 images" in (
        capsys.readouterr().out
    )
    with open(out) as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "image_id",
        "annotation_id",
        "category_id",
        "perimeter",
        "area",
        "scs",
        "si_scs",
        "cb_scs",
    ]
    data = json.load(open(LVIS))
    reference = naive.shapes(data)
    scores = naive.scores(reference)
    assert len(rows) - 1 == len(reference)
    for row, shape, values in zip(rows[1:], reference, scores):
        image_id, ann_id, category_id, perimeter, area = shape
        assert [int(v) for v in row[:3]] == [image_id, ann_id, category_id]
        # full precision: the text reads back to the exact float
        assert [float(v) for v in row[3:5]] == [perimeter, area]
        assert [float(v) for v in row[5:]] == pytest.approx(values, rel=1e-12)


def test_prune_coco_sample(tmp_path, capsys):
    out = tmp_path / "pruned.json"
    report = tmp_path / "report.json"
    assert (
        run(
            "prune",
            COCO_SAMPLE,
            "-o",
            out,
            "--keep-ratio",
            "0.7",
            "--report",
            report,
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "images:    90 of 128 kept (70.3%)" in text
    assert "not scored: 10 crowd" in text

    data = json.load(open(COCO_SAMPLE))
    expected = naive.prune(data, "0.7", "cb-scs")
    assert json.loads(out.read_text()) == expected
    saved = json.loads(report.read_text())
    assert saved["images"] == {
        "before": 128,
        "after": 90,
        "retention": 90 / 128,
    }
    kept = {im["id"] for im in expected["images"]}
    eligible = [a for a in data["annotations"] if not a["iscrowd"]]
    assert saved["instances"]["before"] == len(eligible) == 929
    assert saved["instances"]["after"] == sum(
        a["image_id"] in kept for a in eligible
    )
    assert saved["ineligible"] == {"crowd": 10}
    by_name = {c["name"]: c for c in saved["classes"]}
    person = [a for a in eligible if a["category_id"] == 1]
    assert by_name["person"]["before"] == len(person)
    assert by_name["person"]["after"] == sum(
        a["image_id"] in kept for a in person
    )
    sizes = saved["sizes"]
    assert sum(s["before"] for s in sizes.values()) == 929
    assert (
        sum(s["after"] for s in sizes.values())
        == (saved["instances"]["after"])
    )
    COCO(str(out))  # valid COCO


def test_several_ratios_one_file_each(tmp_path, capsys):
    out = tmp_path / "pruned.json"
    assert (
        run(
            "prune",
            COCO_SAMPLE,
            "-o",
            out,
            "--keep-ratio",
            "0.5,0.8",
            "--report",
            tmp_path / "r.json",
        )
        == 0
    )
    data = json.load(open(COCO_SAMPLE))
    for ratio in ("0.5", "0.8"):
        written = json.loads(
            (tmp_path / ("pruned.keep-%s.json" % ratio)).read_text()
        )
        assert written == naive.prune(data, ratio, "cb-scs")
        assert (tmp_path / ("r.keep-%s.json" % ratio)).exists()
    assert not out.exists()


def test_prune_ratio_keep_and_methods(tmp_path):
    data = json.load(open(COCO_SAMPLE))
    assert (
        run(
            "prune",
            COCO_SAMPLE,
            "-o",
            tmp_path / "a.json",
            "--prune-ratio",
            "0.3",
            "--method",
            "scs",
        )
        == 0
    )
    assert json.loads((tmp_path / "a.json").read_text()) == naive.prune(
        data, "0.7", "scs"
    )
    assert (
        run(
            "prune",
            COCO_SAMPLE,
            "-o",
            tmp_path / "b.json",
            "--keep",
            "10",
            "--method",
            "si-scs",
        )
        == 0
    )
    assert json.loads((tmp_path / "b.json").read_text()) == naive.prune(
        data, "10/128", "si-scs"
    )


def test_random_is_seeded(tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        assert (
            run(
                "prune",
                COCO_SAMPLE,
                "-o",
                tmp_path / (name + ".json"),
                "--keep-ratio",
                "0.5",
                "--method",
                "random",
                "--seed",
                seed,
            )
            == 0
        )
    ids = {
        name: [
            im["id"]
            for im in json.loads((tmp_path / (name + ".json")).read_text())[
                "images"
            ]
        ]
        for name in "abc"
    }
    assert ids["a"] == ids["b"] != ids["c"]
    assert len(ids["a"]) == 64


def test_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "o.json"
    out.write_text("mine")
    assert run("prune", COCO_SAMPLE, "-o", out, "--keep-ratio", "0.5") == 1
    assert "already exists" in capsys.readouterr().err
    assert out.read_text() == "mine"
    # with several outputs, none is written when one exists
    (tmp_path / "m.keep-0.6.json").write_text("mine")
    assert (
        run(
            "prune",
            COCO_SAMPLE,
            "-o",
            tmp_path / "m.json",
            "--keep-ratio",
            "0.5,0.6",
        )
        == 1
    )
    assert not (tmp_path / "m.keep-0.5.json").exists()
    assert (
        run(
            "prune",
            COCO_SAMPLE,
            "-o",
            out,
            "--keep-ratio",
            "0.5",
            "--overwrite",
        )
        == 0
    )
    assert len(json.loads(out.read_text())["images"]) == 64
    assert (
        run(
            "prune",
            COCO_SAMPLE,
            "-o",
            COCO_SAMPLE,
            "--keep-ratio",
            "0.5",
            "--overwrite",
        )
        == 1
    )


def test_console_command_without_terminal(tmp_path):
    tfdp = os.path.join(os.path.dirname(sys.executable), "tfdp")
    ok = subprocess.run(
        [
            tfdp,
            "prune",
            TACO,
            "-o",
            str(tmp_path / "t.json"),
            "--keep-ratio",
            "0.6",
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""  # no progress bar when not a terminal
    assert "images:    2299 of 3831 kept (60.0%)" in ok.stdout
    assert "not scored: 8 bbox outside image, 15 empty segmentation" in (
        ok.stdout
    )

    bad = tmp_path / "bad.json"
    bad.write_text("{")
    failed = subprocess.run(
        [tfdp, "score", str(bad), "-o", str(tmp_path / "s.csv")],
        capture_output=True,
        text=True,
    )
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    assert failed.stderr.startswith("tfdp: error: ")


def test_console_command_flushes_and_ends_cleanly(tmp_path):
    # The command ends without the interpreter's teardown: what it printed
    # must still reach a buffered stdout, and a stdout it cannot write (a
    # full disk, a closed pipe) is an error, never a traceback
    tfdp = os.path.join(os.path.dirname(sys.executable), "tfdp")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    out = str(tmp_path / "s.csv")
    argv = [tfdp, "score", COCO_SAMPLE, "-o", out, "--overwrite"]

    ok = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert (ok.returncode, ok.stderr) == (0, "")
    assert ok.stdout == (
        "wrote 929 eligible annotations of 128 images to %s\n"
        "not scored: 10 crowd\n" % out
    )
    with open(out) as f:
        expected = f.read()

    with open("/dev/full", "w") as full:
        failed = subprocess.run(
            argv, stdout=full, stderr=subprocess.PIPE, text=True, env=env
        )
    assert failed.returncode == 1
    assert failed.stderr == (
        "tfdp: error: could not write the standard "
        "output: No space left on device\n"
    )
    with open(out) as f:
        assert f.read() == expected  # the output itself is whole

    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    proc.stdout.close()  # nobody reads: a broken pipe
    assert proc.wait() == 1
    assert b"Traceback" not in proc.stderr.read()
    proc.stderr.close()
    with open(out) as f:
        assert f.read() == expected

    # started without a stdout (a closed descriptor): nothing to say it on
    closed = subprocess.run(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: os.close(1),
    )
    assert (closed.returncode, closed.stderr) == (0, "")

    # unbuffered, the write itself fails, in the middle of the command;
    # --help fails at the end; a cluster run exits the usual way
    full_runs = [
        (dict(env, PYTHONUNBUFFERED="1"), argv[1:]),
        (env, ["--help"]),
        (env, argv[1:] + ["--workers", "2"]),
    ]
    for run_env, args in full_runs:
        with open("/dev/full", "w") as full:
            failed = subprocess.run(
                [tfdp] + args,
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                env=run_env,
            )
        assert failed.returncode == 1, args
        assert failed.stderr == (
            "tfdp: error: could not write the standard "
            "output: No space left on device\n"
        ), args
    with open(out) as f:
        assert f.read() == expected


def test_output_is_valid_coco_for_every_real_file(tmp_path):
    for name, path in sorted(REAL_FILES.items()):
        out = tmp_path / (name + ".json")
        assert run("prune", path, "-o", out, "--keep-ratio", "0.5") == 0
        data = json.load(open(path))
        loaded = COCO(str(out))
        # halves round up
        assert len(loaded.getImgIds()) == (len(data["images"]) + 1) // 2
        kept = set(loaded.getImgIds())
        assert len(loaded.getAnnIds()) == sum(
            a["image_id"] in kept for a in data["annotations"]
        )


def with_repeated_ids(data, pairs):
    """Gives an annotation of another image each id of ``pairs``: TACO's
    official file uses ids 309 and 4040 twice each, so."""
    by_id = {a["id"]: a for a in data["annotations"]}
    for ann_id, donor_id in pairs:
        donor = by_id[donor_id]
        assert donor["image_id"] != by_id[ann_id]["image_id"]
        donor["id"] = ann_id
    return data


def test_repeated_annotation_ids_in_taco_are_kept_and_warned(tmp_path, capsys):
    data = with_repeated_ids(
        json.load(open(TACO)), [(309, 1000), (4040, 5000)]
    )
    path = tmp_path / "taco-official-ids.json"
    path.write_text(json.dumps(data))

    assert run("score", path, "-o", tmp_path / "s.csv") == 0
    captured = capsys.readouterr()
    warnings = [
        line for line in captured.err.splitlines() if line.startswith("tfdp:")
    ]
    assert warnings == [
        "tfdp: warning: %s: annotation ids 309 and 4040 are used by "
        "annotations of different images; every annotation is kept and "
        "scored, identified by its image and its id" % path
    ]
    assert "wrote 8311 eligible annotations of 3831 images" in captured.out
    with open(tmp_path / "s.csv") as f:
        rows = list(csv.reader(f))[1:]
    keys = [(r[0], r[1]) for r in rows]
    assert len(keys) == len(set(keys)) == 8311
    assert sum(r[1] == "309" for r in rows) == 2

    report = tmp_path / "r.json"
    assert (
        run(
            "prune",
            path,
            "-o",
            tmp_path / "all.json",
            "--keep-ratio",
            "1",
            "--report",
            report,
        )
        == 0
    )
    assert "tfdp: warning:" in capsys.readouterr().err
    written = json.loads((tmp_path / "all.json").read_text())
    assert written["annotations"] == data["annotations"]  # every one kept
    saved = json.loads(report.read_text())
    assert saved["warnings"] == [warnings[0].split(": ", 3)[3]]
    assert saved["instances"]["before"] == 8311
    assert saved["invalid"] == []


def test_repeated_annotation_ids_count_in_class_totals(tmp_path):
    # the COCO sample with two ids each given to two annotations: CB-SCS
    # class totals take every annotation, as the full canvas does
    data = json.load(open(COCO_SAMPLE))
    anns = data["annotations"]
    data = with_repeated_ids(
        data, [(anns[0]["id"], anns[1]["id"]), (anns[2]["id"], anns[40]["id"])]
    )
    path = tmp_path / "repeated.json"
    path.write_text(json.dumps(data))
    assert run("score", path, "-o", tmp_path / "s.csv") == 0
    with open(tmp_path / "s.csv") as f:
        rows = list(csv.reader(f))[1:]
    reference = naive.shapes(data)
    assert len(rows) == len(reference) == 929
    for row, shape, values in zip(rows, reference, naive.scores(reference)):
        assert [int(v) for v in row[:3]] == list(shape[:3])
        assert [float(v) for v in row[3:5]] == list(shape[3:])
        assert [float(v) for v in row[5:]] == pytest.approx(values, rel=1e-12)
    for ratio in ("0.5", "0.8"):
        out = tmp_path / ("p%s.json" % ratio)
        assert run("prune", path, "-o", out, "--keep-ratio", ratio) == 0
        assert json.loads(out.read_text()) == naive.prune(
            data, ratio, rows=reference
        )


def coco_with_duplicate_image(tmp_path):
    data = json.load(open(COCO_SAMPLE))
    second = dict(data["images"][5], id=9)  # a second record with id 9
    data["images"].append(second)
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(data))
    return str(path), data


def test_duplicate_image_id_is_refused(tmp_path, capsys):
    path, _ = coco_with_duplicate_image(tmp_path)
    assert (
        run("prune", path, "-o", tmp_path / "o.json", "--keep-ratio", "0.5")
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "image 9: id used by 2 image records (at positions 0 and 128)" in err
    )
    assert "--skip-invalid" in err
    assert sorted(os.listdir(tmp_path)) == ["dup.json"]


def test_duplicate_image_id_is_skipped_whole(tmp_path, capsys):
    path, data = coco_with_duplicate_image(tmp_path)
    out = tmp_path / "o.json"
    report = tmp_path / "r.json"
    assert (
        run(
            "prune",
            path,
            "-o",
            out,
            "--keep-ratio",
            "1",
            "--skip-invalid",
            "--report",
            report,
        )
        == 0
    )
    text = capsys.readouterr().out
    assert (
        "skipped: image 9: id used by 2 image records (at positions 0 "
        "and 128) (its 8 annotations skipped too)"
    ) in text
    written = json.loads(out.read_text())
    ids = [im["id"] for im in written["images"]]
    assert len(ids) == len(set(ids)) == 127 and 9 not in ids
    # every other annotation is there: none is dropped silently
    assert written["annotations"] == [
        a for a in data["annotations"] if a["image_id"] != 9
    ]
    saved = json.loads(report.read_text())
    assert saved["images"]["before"] == 127
    assert [(p["kind"], p["id"]) for p in saved["invalid"]] == [("image", 9)]
    COCO(str(out))


def test_prune_never_writes_a_duplicate_image_id():
    data = json.load(open(COCO_SAMPLE))
    data["images"].append(dict(data["images"][3], id=9))
    from tfdp import coco

    with pytest.raises(TFDPError, match="image id 9 is used by more than"):
        coco.prune(data, [9, 25])


def input_spellings(tmp_path):
    """The input under other names: a symbolic link, a hard link, a path
    through ./.. and a link to its folder."""
    folder = tmp_path / "data"
    folder.mkdir()
    source = folder / "in.json"
    source.write_bytes(open(COCO_SAMPLE, "rb").read())
    os.symlink(source, tmp_path / "symlink.json")
    os.link(source, tmp_path / "hardlink.json")
    os.symlink(folder, tmp_path / "folder-link")
    return str(source), [
        str(tmp_path / "symlink.json"),
        str(tmp_path / "hardlink.json"),
        str(folder / ".." / "data" / "." / "in.json"),
        str(tmp_path / "folder-link" / "in.json"),
        str(source),
    ]


@pytest.mark.parametrize("command", ["score", "prune", "prune-report"])
def test_output_is_never_the_input(tmp_path, capsys, command):
    source, spellings = input_spellings(tmp_path)
    before = open(source, "rb").read()
    for spelling in spellings:
        if command == "score":
            argv = ["score", source, "-o", spelling]
        elif command == "prune":
            argv = ["prune", source, "-o", spelling, "--keep-ratio", "0.5"]
        else:
            argv = [
                "prune",
                source,
                "-o",
                tmp_path / "o.json",
                "--keep-ratio",
                "0.5",
                "--report",
                spelling,
            ]
        assert run(*argv, "--overwrite") == 1, spelling
        assert "is the input file" in capsys.readouterr().err
        assert open(source, "rb").read() == before
    assert not (tmp_path / "o.json").exists()


def test_outputs_must_differ(tmp_path, capsys):
    out = tmp_path / "o.json"
    assert (
        run(
            "prune",
            COCO_SAMPLE,
            "-o",
            out,
            "--keep-ratio",
            "0.5",
            "--report",
            str(tmp_path / "." / "o.json"),
        )
        == 1
    )
    assert "are the same output file" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_interrupt_while_writing_leaves_nothing(tmp_path, capsys, monkeypatch):
    # the second of four outputs is interrupted: none of them appears
    from tfdp import cli

    calls = []
    real_dump = cli.dump_json

    def dump_then_interrupt(data, f):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_dump(data, f)

    monkeypatch.setattr(cli, "dump_json", dump_then_interrupt)
    assert (
        run(
            "prune",
            COCO_SAMPLE,
            "-o",
            tmp_path / "o.json",
            "--keep-ratio",
            "0.5,0.7",
            "--report",
            tmp_path / "r.json",
        )
        == 130
    )
    assert (
        capsys.readouterr().err == "tfdp: interrupted; nothing was written\n"
    )
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="Linux /proc")
@pytest.mark.parametrize("command", ["score", "prune"])
def test_an_unwritable_output_is_named_as_given(tmp_path, capsys, command):
    # /proc takes no new file, even from root: the message names the
    # output the user gave, not the temporary file beside it
    out = "/proc/tfdp-out.json"
    argv = ["--keep-ratio", "0.5"] if command == "prune" else []
    assert run(command, COCO_SAMPLE, "-o", out, *argv) == 1
    err = capsys.readouterr().err
    assert (
        err
        == "tfdp: error: cannot write %s: No such file or directory\n" % out
    )


def _prune_loads_in_pycocotools(tmp_path, path, capsys):
    out = tmp_path / "out.json"
    code = run(
        "prune",
        path,
        "-o",
        out,
        "--keep-ratio",
        "0.5",
        "--skip-invalid",
        "--overwrite",
    )
    text = capsys.readouterr()
    assert "Traceback" not in text.err
    if code == 0:
        COCO(str(out))
    return code, text


def test_malformed_categories_are_named_like_other_records(tmp_path, capsys):
    data = json.load(open(COCO_SAMPLE))
    num_annotations = len(data["annotations"])
    first = data["categories"][0]["id"]
    for bad, message in (
        (None, "category #1: is a null, not an object"),
        ({"name": "no id"}, "category #1: has no integer or string id"),
        (7, "category #1: is a number, not an object"),
    ):
        doc = dict(
            data,
            categories=[data["categories"][0], bad] + data["categories"][1:],
        )
        path = tmp_path / "in.json"
        path.write_text(json.dumps(doc))
        assert run("score", path, "-o", tmp_path / "s.csv") == 1
        err = capsys.readouterr().err
        assert "1 malformed category:\n  %s" % message in err, err
        code, text = _prune_loads_in_pycocotools(tmp_path, path, capsys)
        assert code == 0 and "skipped: %s" % message in text.out
    # a category without id takes its annotations with it, named as well
    doc = dict(
        data,
        categories=[
            {"name": c["name"]} if c["id"] == first else c
            for c in data["categories"]
        ],
    )
    path.write_text(json.dumps(doc))
    assert run("score", path, "-o", tmp_path / "s.csv") == 1
    err = capsys.readouterr().err
    assert "category #0: has no integer or string id" in err
    assert "category_id %d is not a category of the file" % first in err
    code, text = _prune_loads_in_pycocotools(tmp_path, path, capsys)
    assert code == 0 and "skipped: category #0" in text.out

    # annotations that all lose their category: refused, never emptied
    for categories, message in (
        (None, 'it has no "categories" list'),
        ([], 'its "categories" list is empty'),
        ([None, {"name": "x"}], "none of its 2 category records is valid"),
        ([{"id": 999, "name": "x"}], "its category ids are 999"),
    ):
        doc = dict(data, categories=categories)
        if categories is None:
            del doc["categories"]
        path.write_text(json.dumps(doc))
        for skip in ((), ("--skip-invalid",)):
            assert (
                run(
                    "prune",
                    path,
                    "-o",
                    tmp_path / "out2.json",
                    "--keep-ratio",
                    "0.5",
                    *skip,
                )
                == 1
            )
            err = capsys.readouterr().err
            assert (
                "%s: none of its %d annotations has a category of the "
                "file, e.g. annotation " % (path, num_annotations)
            ) in err
            assert "is not a category of the file; %s\n" % message in err
            assert "Traceback" not in err
            assert not (tmp_path / "out2.json").exists()
    # a categories value that is not a list is no COCO file
    path.write_text(json.dumps(dict(data, categories={"id": 1})))
    assert run("score", path, "-o", tmp_path / "s.csv") == 1
    assert '"categories" is an object, not a list' in capsys.readouterr().err
    # a file without annotations needs no categories
    doc = dict(data, annotations=[])
    del doc["categories"]
    path.write_text(json.dumps(doc))
    assert run("score", path, "-o", tmp_path / "s.csv") == 0
    capsys.readouterr()
