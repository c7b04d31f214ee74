"""Several COCO files as one dataset, SA-1B-style folders, Parquet tables."""

import csv
import json
import os

import numpy as np
import pytest

import make_sa1b
from conftest import COCO_SAMPLE
from tfdp.cli import main


def run(*argv):
    return main([str(a) for a in argv])


def read_rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def split_coco(data, parts, renumber=False):
    """Splits a COCO dict by image, round-robin, keeping every record's
    order; with ``renumber``, each part numbers its images and annotations
    from 1, so ids repeat across parts.

    Returns:
        a list of ``(dict, {(new image id): original image id})``
    """
    out = []
    for k in range(parts):
        images = data["images"][k::parts]
        ids = {image["id"]: (i + 1 if renumber else image["id"])
               for i, image in enumerate(images)}
        annotations = [
            dict(a, image_id=ids[a["image_id"]],
                 id=(n + 1 if renumber else a["id"]))
            for n, a in enumerate(
                a for a in data["annotations"] if a["image_id"] in ids
            )
        ]
        part = dict(data, images=[dict(im, id=ids[im["id"]]) for im in images],
                    annotations=annotations)
        out.append((part, {v: k for k, v in ids.items()},
                    {(ids[a["image_id"]], n + 1 if renumber else a["id"]):
                     a["id"] for n, a in enumerate(
                         a for a in data["annotations"]
                         if a["image_id"] in ids)}))
    return out


@pytest.mark.parametrize("renumber", [False, True])
def test_three_files_score_and_prune_like_one(tmp_path, capsys, renumber):
    data = json.load(open(COCO_SAMPLE))
    paths, original_image, original_ann = [], {}, {}
    for k, (part, images, anns) in enumerate(split_coco(data, 3, renumber)):
        path = tmp_path / ("part%d.json" % k)
        path.write_text(json.dumps(part))
        paths.append(str(path))
        original_image.update({(str(path), i): o for i, o in images.items()})
        original_ann.update({(str(path), key): o for key, o in anns.items()})

    assert run("score", COCO_SAMPLE, "-o", tmp_path / "one.csv") == 0
    assert run("score", *paths, "-o", tmp_path / "three.csv") == 0
    one = {row["annotation_id"]: row for row in read_rows(tmp_path / "one.csv")}
    three = read_rows(tmp_path / "three.csv")
    assert list(three[0])[0] == "file"
    assert len(three) == len(one) == 929
    for row in three:
        ann = original_ann[(row["file"], (int(row["image_id"]),
                                          int(row["annotation_id"])))]
        reference = one[str(ann)]
        assert int(reference["image_id"]) == original_image[
            (row["file"], int(row["image_id"]))
        ]
        # to the bit: the text of a float is its shortest exact repr
        for column in ("category_id", "perimeter", "area", "scs", "si_scs",
                       "cb_scs"):
            assert row[column] == reference[column], column

    out = tmp_path / "pruned"
    assert run("prune", *paths, "-o", out, "--keep-ratio", "0.7",
               "--report", tmp_path / "report.json") == 0
    assert run("prune", COCO_SAMPLE, "-o", tmp_path / "one.json",
               "--keep-ratio", "0.7") == 0
    expected = {im["id"] for im in json.load(open(tmp_path / "one.json"))
                ["images"]}
    kept = set()
    for path in paths:
        pruned = json.load(open(out / os.path.basename(path)))
        kept |= {original_image[(path, im["id"])] for im in pruned["images"]}
        assert {a["image_id"] for a in pruned["annotations"]} <= {
            im["id"] for im in pruned["images"]
        }
    assert kept == expected and len(kept) == 90
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["images"]["after"] == 90
    assert report["input"] == paths


def test_one_category_id_with_two_names_is_an_error(tmp_path, capsys):
    data = json.load(open(COCO_SAMPLE))
    (a, _, _), (b, _, _) = split_coco(data, 2)
    b["categories"] = [dict(c, name=c["name"] + "-x") if c["id"] == 1 else c
                       for c in b["categories"]]
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    assert run("prune", tmp_path / "a.json", tmp_path / "b.json", "-o",
               tmp_path / "out", "--keep-ratio", "0.5") == 1
    err = capsys.readouterr().err
    assert "category id 1 is 'person' in %s but 'person-x' in %s" % (
        tmp_path / "a.json", tmp_path / "b.json") in err
    assert not (tmp_path / "out").exists()


def _one_category_file(tmp_path, name, category):
    data = {"images": [{"id": 1, "width": 20, "height": 20}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                             "bbox": [0, 0, 5, 5],
                             "segmentation": [[0, 0, 4, 0, 4, 4, 0, 4]]}],
            "categories": category}
    (tmp_path / name).write_text(json.dumps(data))
    return str(tmp_path / name)


def test_category_names_are_compared_as_written(tmp_path, capsys):
    # no name (reports show the id), the number 1 and the string "1" are
    # three names: whether files agree never depends on the id's value
    unnamed = _one_category_file(tmp_path, "unnamed.json", [{"id": 1}])
    number = _one_category_file(tmp_path, "number.json",
                                [{"id": 1, "name": 1}])
    text = _one_category_file(tmp_path, "text.json",
                              [{"id": 1, "name": "1"}])
    person = _one_category_file(tmp_path, "person.json",
                                [{"id": 1, "name": "person"}])
    for a, b, message in (
            (unnamed, number,
             "category id 1 has no name in %s but is 1 in %s"),
            (unnamed, text,
             "category id 1 has no name in %s but is '1' in %s"),
            (number, text, "category id 1 is 1 in %s but '1' in %s"),
            (person, unnamed, "category id 1 is 'person' in %s but has no "
                              "name in %s")):
        assert run("score", a, b, "-o", tmp_path / "s.csv") == 1
        assert capsys.readouterr().err == "tfdp: error: %s\n" % (
            message % (a, b))
        assert not (tmp_path / "s.csv").exists()
    # the same name as written agrees, also without one
    again = _one_category_file(tmp_path, "again.json", [{"id": 1}])
    assert run("score", unnamed, again, "-o", tmp_path / "s.csv") == 0
    capsys.readouterr()

    # within one file, the same rule
    for categories, message in (
            ([{"id": 1}, {"id": 1, "name": 1}],
             "category id 1 has no name in one record and is named 1 in "
             "another"),
            ([{"id": 1, "name": "1"}, {"id": 1}],
             "category id 1 is named \"1\" in one record and has no name "
             "in another"),
            ([{"id": 1, "name": 1}, {"id": 1, "name": "1"}],
             "category id 1 is named 1 and \"1\"")):
        path = _one_category_file(tmp_path, "within.json", categories)
        assert run("score", path, "-o", tmp_path / "s2.csv") == 1
        assert capsys.readouterr().err == "tfdp: error: %s: %s\n" % (
            path, message)
    path = _one_category_file(tmp_path, "within.json",
                              [{"id": 1}, {"id": 1}])
    assert run("score", path, "-o", tmp_path / "s2.csv") == 0


def test_inputs_with_one_name_are_named(tmp_path, capsys):
    # their pruned copies would go to one path of the output folder
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        _one_category_file(tmp_path / folder, "train.json",
                           [{"id": 1, "name": "x"}])
    a, b = tmp_path / "a" / "train.json", tmp_path / "b" / "train.json"
    assert run("prune", a, b, "-o", tmp_path / "out", "--keep", "1") == 1
    assert capsys.readouterr().err == (
        "tfdp: error: inputs %s and %s have the same name: their pruned "
        "copies go into one folder, %s; rename one\n"
        % (a, b, tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_sa1b_folder_scores_like_one_coco_rle_file(tmp_path, capsys):
    """The real masks of the COCO sample, as SA-1B stores them (one RLE
    file per image), and the same masks as one COCO RLE file."""
    folder = tmp_path / "sa1b"
    reference = make_sa1b.write_per_image(json.load(open(COCO_SAMPLE)),
                                          str(folder))
    coco_file = tmp_path / "masks.json"
    coco_file.write_text(json.dumps(reference))

    assert run("score", folder, "-o", tmp_path / "folder.csv") == 0
    assert run("score", coco_file, "-o", tmp_path / "file.csv") == 0
    folder_rows = read_rows(tmp_path / "folder.csv")
    file_rows = read_rows(tmp_path / "file.csv")
    assert len(folder_rows) == len(file_rows) == 929
    for a, b in zip(folder_rows, file_rows):
        assert a.pop("category_id") == "" and b.pop("category_id") == "1"
        assert a == b

    assert run("prune", folder, "-o", tmp_path / "kept.txt", "--keep",
               "40") == 0
    assert run("prune", coco_file, "-o", tmp_path / "kept.json", "--keep",
               "40") == 0
    kept = (tmp_path / "kept.txt").read_text().splitlines()
    # the kept list is in ranking order, highest score first
    scores = {}
    for row in file_rows:
        name = "sa_%08d.jpg" % [im["id"] for im in reference["images"]].index(
            int(row["image_id"]))
        scores[name] = scores.get(name, 0.0) + float(row["cb_scs"])
    assert len(kept) == 40
    assert [scores[n] for n in kept] == sorted(
        (scores[n] for n in kept), reverse=True
    )
    assert set(kept) == {
        im["file_name"] for im in json.load(open(tmp_path / "kept.json"))
        ["images"]
    }
    text = capsys.readouterr().out
    assert "mask" in text


def _record(image_id, annotations, width=20, height=10):
    return {"image": {"image_id": image_id, "width": width, "height": height,
                      "file_name": "%s.jpg" % image_id},
            "annotations": annotations}


def _square_counts():
    # a 5x5 square at x=0, y=2 of a 10x20 image, as SA-1B encodes it
    from pycocotools import mask as mask_utils

    mask = np.zeros((10, 20), dtype=np.uint8)
    mask[2:7, 0:5] = 1
    return mask_utils.encode(np.asfortranarray(mask))["counts"].decode()


def _mask(ann_id, counts=None, bbox=(0, 2, 5, 5)):
    return {"id": ann_id,
            "segmentation": {"size": [10, 20],
                             "counts": counts or _square_counts()},
            "bbox": list(bbox), "area": 25}


def test_bad_files_in_a_folder_are_named_or_skipped(tmp_path, capsys):
    folder = tmp_path / "sa1b"
    folder.mkdir()
    good = [_record(i, [_mask(1), _mask(2, bbox=(0, 0, 0.5, 3))])
            for i in (1, 2, 3)]
    for i, record in enumerate(good):
        (folder / ("sa_%d.json" % i)).write_text(json.dumps(record))
    (folder / "sa_broken.json").write_text('{"image": ')
    (folder / "sa_width.json").write_text(json.dumps(
        _record(9, [_mask(1)], width=-3)))
    (folder / "sa_mask.json").write_text(json.dumps(
        _record(8, [_mask(1), _mask(7, counts="not rle!")])))
    (folder / "notes.txt").write_text("not a JSON file: not read")
    # JSON that Python's parser refuses with other errors
    (folder / "sa_digits.json").write_text('{"image": %s}' % ("9" * 5000))
    (folder / "sa_deep.json").write_text("[" * 200000 + "]" * 200000)

    assert run("prune", folder, "-o", tmp_path / "kept.txt", "--keep-ratio",
               "0.5") == 1
    err = capsys.readouterr().err
    assert "image %s: invalid JSON at line 1" % (folder / "sa_broken.json") \
        in err
    for name in ("sa_digits.json", "sa_deep.json"):
        assert "image %s: invalid JSON: " % (folder / name) in err
    assert "image %s: image width -3 is not a positive integer" % (
        folder / "sa_width.json") in err
    assert "annotation 7 (image %s): RLE counts string" % (
        folder / "sa_mask.json") in err
    assert "--skip-invalid" in err and "Traceback" not in err
    assert not (tmp_path / "kept.txt").exists()

    assert run("prune", folder, "-o", tmp_path / "kept.txt", "--keep-ratio",
               "0.5", "--skip-invalid", "--report",
               tmp_path / "report.json") == 0
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
    assert run("score", str(tmp_path / "nothing*.json"), "-o",
               tmp_path / "a.csv") == 1
    assert "no JSON file found" in capsys.readouterr().err


def test_parquet_has_the_csv_columns_and_values(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    data = json.load(open(COCO_SAMPLE))
    (a, _, _), (b, _, _) = split_coco(data, 2)
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    inputs = [tmp_path / "a.json", tmp_path / "b.json"]
    assert run("score", *inputs, "-o", tmp_path / "s.parquet") == 0
    assert run("score", *inputs, "-o", tmp_path / "s.csv") == 0
    table = pq.read_table(tmp_path / "s.parquet").to_pylist()
    rows = read_rows(tmp_path / "s.csv")
    assert list(table[0]) == list(rows[0]) == [
        "file", "image_id", "annotation_id", "category_id", "perimeter",
        "area", "scs", "si_scs", "cb_scs"]
    assert [{k: str(v) for k, v in r.items()} for r in table] == rows

    folder = tmp_path / "sa1b"
    make_sa1b.write_per_image(a, str(folder))
    assert run("score", folder, "-o", tmp_path / "f.parquet") == 0
    table = pq.read_table(tmp_path / "f.parquet")
    assert "file" not in table.column_names
    assert table.column("category_id").null_count == table.num_rows > 0


def _folder(tmp_path, records, name="sa1b"):
    folder = tmp_path / name
    folder.mkdir()
    for i, record in enumerate(records):
        (folder / ("sa_%d.json" % i)).write_text(json.dumps(record))
    return folder


def test_a_folder_file_is_never_an_output_nor_counted_twice(tmp_path, capsys):
    folder = _folder(tmp_path, [_record(i, [_mask(1)]) for i in (1, 2)])
    first = folder / "sa_0.json"
    before = first.read_bytes()
    for argv in (("prune", folder, "-o", first, "--keep-ratio", "0.5"),
                 ("score", str(folder / "*.json"), "-o", first),
                 ("score", folder, "-o", folder / ".." / "sa1b" / "sa_0.json")):
        assert run(*argv, "--overwrite") == 1
        err = capsys.readouterr().err
        assert "is the input file" in err and "Traceback" not in err
    assert first.read_bytes() == before

    # the same file twice, by name or through a link: its masks would
    # count twice
    os.symlink(first, folder / "sa_link.json")
    assert run("score", folder, "-o", tmp_path / "s.csv") == 1
    err = capsys.readouterr().err
    assert "are the same file" in err and "sa_link.json" in err
    os.remove(folder / "sa_link.json")
    assert run("score", first, first, "-o", tmp_path / "s.csv") == 1
    assert "are the same file" in capsys.readouterr().err

    data = json.load(open(COCO_SAMPLE))
    coco_file = tmp_path / "train.json"
    coco_file.write_text(json.dumps(data))
    os.symlink(coco_file, tmp_path / "again.json")
    assert run("prune", coco_file, tmp_path / "again.json", "-o",
               tmp_path / "pruned", "--keep-ratio", "0.5") == 1
    assert "are the same file" in capsys.readouterr().err
    assert not (tmp_path / "pruned").exists()


def test_a_file_name_with_glob_characters_is_that_file(tmp_path, capsys):
    data = json.load(open(COCO_SAMPLE))
    path = tmp_path / "train[1].json"
    path.write_text(json.dumps(data))
    assert run("score", path, "-o", tmp_path / "s.csv") == 0
    assert "of 128 images" in capsys.readouterr().out


def test_sa1b_records_are_checked_as_coco_records_are(tmp_path, capsys):
    bad = {
        "sa_newline.json": _record(1, [_mask(1)]),
        "sa_no_name.json": _record(2, [_mask(1)]),
        "sa_crowd.json": _record(3, [_mask(1), dict(
            _mask(2, counts="!!!garbage"), iscrowd=1)]),
        "sa_wide.json": _record(4, [_mask(1)], width=2**63),
    }
    bad["sa_newline.json"]["image"]["file_name"] = "a.jpg\n../../etc/passwd"
    del bad["sa_no_name.json"]["image"]["file_name"]
    folder = _folder(tmp_path, [_record(9, [_mask(1)])])
    for name, record in bad.items():
        (folder / name).write_text(json.dumps(record))
    (folder / "sa_utf16.json").write_bytes(
        json.dumps(_record(5, [_mask(1)])).encode("utf-16"))
    (folder / "sa_surrogate.json").write_text(
        json.dumps(_record(6, [_mask(1)])).replace("6.jpg", "\\ud800.jpg"))
    os.symlink(tmp_path / "gone.json", folder / "sa_gone.json")

    assert run("prune", folder, "-o", tmp_path / "kept.txt",
               "--keep-ratio", "1") == 1
    err = capsys.readouterr().err
    assert "6 malformed images" in err and "Traceback" not in err
    assert not (tmp_path / "kept.txt").exists()

    # every one named, with --skip-invalid
    assert run("prune", folder, "-o", tmp_path / "kept.txt",
               "--keep-ratio", "1", "--skip-invalid") == 0
    err = capsys.readouterr().out
    for name, message in (
            ("sa_newline.json", "image file_name \"a.jpg\\n../../etc/passwd\""
                                " is not a file name"),
            ("sa_no_name.json", "image file_name null is not a file name"),
            ("sa_wide.json", "image width 9223372036854775808 is too large"),
            ("sa_utf16.json", "not UTF-8 text"),
            ("sa_surrogate.json", "invalid JSON"),
            ("sa_gone.json", "cannot read: No such file or directory")):
        assert "image %s: %s" % (folder / name, message) in err, name
    assert "annotation 2 (image %s): RLE counts string" % (
        folder / "sa_crowd.json") in err
    # the crowd mask's image stays, without it
    assert (tmp_path / "kept.txt").read_text() == "9.jpg\n3.jpg\n"


def test_coco_records_the_command_refused_with_a_traceback(tmp_path, capsys):
    # an image too wide for any canvas; RLE counts that are not ASCII;
    # one category id with two names in one file
    data = {"images": [{"id": 1, "width": 2**63, "height": 80},
                       {"id": 2, "width": 100, "height": 80}],
            "annotations": [
                {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 9, 9],
                 "segmentation": [[1, 1, 9, 1, 9, 9]]},
                {"id": 2, "image_id": 2, "category_id": 1, "bbox": [1, 1, 9, 9],
                 "segmentation": {"size": [80, 100], "counts": "Zi0\u00e9Q2"}}],
            "categories": [{"id": 1, "name": "a"}]}
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    assert run("score", path, "-o", tmp_path / "s.csv", "--workers", "1") == 1
    err = capsys.readouterr().err
    assert "image 1: width 9223372036854775808 is too large" in err
    assert "annotation 2 (image 2): RLE counts string has invalid " \
        "characters" in err
    assert "Traceback" not in err

    data["categories"].append({"id": 1, "name": None})
    path.write_text(json.dumps(data))
    assert run("score", path, "-o", tmp_path / "s.csv") == 1
    assert "category id 1 is named \"a\" and null" in (
        capsys.readouterr().err)


def test_a_folder_that_appears_meanwhile_is_an_error(tmp_path, capsys):
    data = json.load(open(COCO_SAMPLE))
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(data))
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    assert run("prune", tmp_path / "a.json", tmp_path / "b.json", "-o",
               tmp_path / "dangling", "--keep-ratio", "0.5") == 1
    err = capsys.readouterr().err
    assert "cannot make folder %s: File exists" % (tmp_path / "dangling") \
        in err
    assert "Traceback" not in err


def test_what_the_input_decides_is_an_error_not_a_traceback(tmp_path, capsys):
    # more images to keep than there are
    assert run("prune", COCO_SAMPLE, "-o", tmp_path / "p.json", "--keep",
               "1000") == 1
    err = capsys.readouterr().err
    assert "--keep 1000 exceeds the 128 images" in err
    assert not (tmp_path / "p.json").exists()

    # ids beyond 64 bits: exact in CSV, refused by Parquet's integers
    data = json.load(open(COCO_SAMPLE))
    data["annotations"][0]["id"] = 2**64
    path = tmp_path / "wide.json"
    path.write_text(json.dumps(data))
    assert run("score", path, "-o", tmp_path / "s.csv") == 0
    assert run("score", path, "-o", tmp_path / "s.parquet") == 1
    err = capsys.readouterr().err
    assert ("%s: a annotation_id is beyond 64 bits" % (tmp_path / "s.parquet")
            ) in err and "Traceback" not in err
    assert not (tmp_path / "s.parquet").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_without_dask_or_pyarrow_the_command_says_what_to_install(
        tmp_path, capsys, monkeypatch):
    import tfdp.cli
    import tfdp.engine
    import tfdp.measuring
    import tfdp.score_tables

    for module in (tfdp.cli, tfdp.engine, tfdp.measuring):
        monkeypatch.setattr(module, "cluster_installed", lambda: False)
    monkeypatch.setattr(tfdp.score_tables, "parquet_installed",
                        lambda: False)
    for argv, message in (
            (["--workers", "2"], "--workers 2: measuring in several "
                                 "processes or on a cluster needs Dask: "
                                 "install tfdp with its cluster extra, pip "
                                 "install '/path/to/tfdp[cluster]'"),
            (["--scheduler", "tcp://127.0.0.1:1"], "needs Dask"),
            (["-o", tmp_path / "s.parquet"], "writing Parquet needs "
                                             "pyarrow")):
        with pytest.raises(SystemExit) as e:
            run("score", COCO_SAMPLE, "-o", tmp_path / "s.csv", *argv)
        assert e.value.code == 2
        assert message in capsys.readouterr().err
    # the default stays in this process, whatever the size of the input
    runner = tfdp.measuring.Runner()
    assert runner._choose(3600.0, 10.0) == ("local", 1)


def test_csv_text_is_what_the_csv_module_writes(tmp_path):
    # numbers and nulls are formatted in bulk: the bytes must be the csv
    # module's, whatever the value (repr switches to an exponent below
    # 1e-4 and from 1e16, where orjson does not)
    import struct

    from tfdp import score_tables

    rng = np.random.default_rng(7)
    special = [0.0, -0.0, 1e-4, 9.99999e-5, 1e16, 9999999999999998.0,
               5e-324, 1.7976931348623157e308, float("inf"),
               float("-inf"), float("nan"), 0.1, 123.0]
    powers = [s * f * 10.0**e for e in range(-30, 30)
              for s in (1, -1) for f in (1.0, 1.2345678901234567)]
    bits = [struct.unpack("d", rng.bytes(8))[0] for _ in range(5000)]
    floats = np.array(special + powers + bits)
    n = len(floats)
    ids = list(range(n))
    cases = [
        (False, ids),  # int ids
        (False, [None if i % 3 else i for i in ids]),  # some without class
        (True, ids),  # with the file names
        (False, [str(i) if i % 2 else i for i in ids]),  # string ids
        (False, [",\"x\"" if i == 5 else i for i in ids]),  # quoted
    ]
    for with_file, case in cases:
        names = score_tables.columns_of(with_file)
        part = {name: floats for name in score_tables.FLOAT_COLUMNS}
        part.update(file=["f.json"] * n, image_id=case,
                    annotation_id=np.arange(n), category_id=case)
        ours = tmp_path / "ours.csv"
        with open(ours, "w", newline="") as f:
            assert score_tables._write_csv(f, [part, part], names) == 2 * n
        expected = tmp_path / "expected.csv"
        with open(expected, "w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(names)
            for _ in range(2):
                writer.writerows(zip(*[
                    part[k].tolist() if isinstance(part[k], np.ndarray)
                    else part[k] for k in names]))
        assert ours.read_bytes() == expected.read_bytes()


def _not_utf8_path(folder, name):
    # a file name made of bytes, as Linux allows: Python holds its byte
    # 0xe9 as the lone surrogate U+DCE9 (surrogateescape)
    path = os.fsdecode(os.path.join(os.fsencode(str(folder)), name))
    try:
        open(path, "w").close()
    except OSError:
        pytest.skip("the file system refuses names that are not UTF-8")
    os.remove(path)
    return path


def test_a_file_name_that_is_not_utf8(tmp_path, capsys):
    # the test's capture, like PYTHONIOENCODING=utf-8, refuses lone
    # surrogates: what the command prints names the file as caf\xe9.json
    data = json.load(open(COCO_SAMPLE))
    (a, _, _), (b, _, _) = split_coco(data, 2)
    cafe = _not_utf8_path(tmp_path, b"caf\xe9.json")
    shown = os.path.join(str(tmp_path), "caf\\xe9.json")
    with open(cafe, "w") as f:
        json.dump(a, f)
    other = str(tmp_path / "b.json")
    (tmp_path / "b.json").write_text(json.dumps(b))

    assert run("score", cafe, "-o", tmp_path / "one.csv") == 0
    assert run("prune", cafe, "-o", tmp_path / "one.json", "--keep",
               "10") == 0
    assert "wrote %s" % (tmp_path / "one.json") in capsys.readouterr().out

    # the CSV's file column holds the name's bytes, losslessly
    assert run("score", cafe, other, "-o", tmp_path / "two.csv") == 0
    assert "wrote 929 eligible annotations" in capsys.readouterr().out
    with open(tmp_path / "two.csv", encoding="utf-8",
              errors="surrogateescape", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {row["file"] for row in rows} == {cafe, other}
    assert os.fsencode(cafe) in (tmp_path / "two.csv").read_bytes()

    # Parquet's strings cannot hold it: refused before anything is read
    if score_tables_parquet():
        assert run("score", cafe, other, "-o", tmp_path / "two.parquet") == 1
        err = capsys.readouterr().err
        assert ("two.parquet: the input file name %s is not UTF-8 text"
                % shown) in err and "Traceback" not in err
        assert not (tmp_path / "two.parquet").exists()

    # pruned copies keep the input's name; the report reads back to it
    out = tmp_path / "pruned"
    assert run("prune", cafe, other, "-o", out, "--keep-ratio", "0.5",
               "--report", tmp_path / "report.json") == 0
    printed = capsys.readouterr().out
    assert "wrote %s" % os.path.join(str(out), "caf\\xe9.json") in printed
    assert sorted(os.listdir(out)) == ["b.json", os.path.basename(cafe)]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["input"] == [cafe, other]
    assert report["output"][0] == os.path.join(str(out),
                                               os.path.basename(cafe))

    # an error names it too
    assert run("score", cafe, other, "-o", cafe, "--overwrite") == 1
    assert "tfdp: error: %s is the input file" % shown in (
        capsys.readouterr().err)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_a_folder_file_name_that_is_not_utf8(tmp_path, capsys):
    folder = _folder(tmp_path, [_record(1, [_mask(1)])])
    bad = _not_utf8_path(folder, b"bad\xe9.json")
    with open(bad, "w") as f:
        f.write('{"image": ')
    good = _not_utf8_path(folder, b"caf\xe9.json")
    with open(good, "w") as f:
        json.dump(_record(2, [_mask(1)]), f)
    shown = os.path.join(str(folder), "bad\\xe9.json")

    assert run("prune", folder, "-o", tmp_path / "kept.txt", "--keep",
               "1") == 1
    err = capsys.readouterr().err
    assert "image %s: invalid JSON" % shown in err
    assert not (tmp_path / "kept.txt").exists()

    for command, out in (("score", "s.csv"), ("prune", "kept.txt")):
        argv = ["--keep", "2", "--report", tmp_path / "r.json"] \
            if command == "prune" else []
        assert run(command, folder, "-o", tmp_path / out, "--skip-invalid",
                   *argv) == 0
        assert "skipped: image %s: invalid JSON" % shown in (
            capsys.readouterr().out)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["invalid"][0]["id"] == bad
    # equal scores keep the input order: caf\xe9.json before sa_0.json
    assert (tmp_path / "kept.txt").read_text() == "2.jpg\n1.jpg\n"


def score_tables_parquet():
    from tfdp import score_tables

    return score_tables.parquet_installed()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sa1b_repeated_ids_are_warned_once(tmp_path, capsys, workers):
    # an image is identified by its file, never by its id: repeats are
    # scored and kept as they are, with one warning each, as COCO's
    # repeated annotation ids are
    records = [
        _record(1, [_mask(1), _mask(2)]),
        _record(1, [_mask(3), _mask(3), _mask(4), _mask(3)]),
        _record(2, [_mask(1)]),        # mask id 1 again, in another file
        _record(3, [_mask(5), _mask(5, bbox=(0, 0, 0.5, 1))]),
    ]
    records[1]["image"]["file_name"] = "1b.jpg"
    records[3]["image"]["file_name"] = "2.jpg"  # the name of image 2
    folder = _folder(tmp_path, records)
    path = [str(folder / ("sa_%d.json" % i)) for i in range(4)]

    assert run("score", folder, "-o", tmp_path / "s.csv",
               "--workers", workers) == 0
    warnings = [
        "tfdp: warning: %s: mask ids 3 (in %s) and 5 (in %s) are used more "
        "than once within one file; every mask is kept and scored, but "
        "those cannot be told apart by image and id" % (folder, path[1],
                                                        path[3]),
        "tfdp: warning: %s: image id 1 (%s and %s) is used by several files; "
        "every image is kept and scored, identified by its file, but the "
        "score table cannot tell their rows apart by image id"
        % (folder, path[0], path[1]),
        "tfdp: warning: %s: file_name \"2.jpg\" (%s and %s) is used by "
        "several files; every image is kept and scored, but the kept list "
        "names image files, so it cannot tell those images apart"
        % (folder, path[2], path[3]),
    ]
    assert capsys.readouterr().err.splitlines() == warnings
    rows = read_rows(tmp_path / "s.csv")
    assert [(r["image_id"], r["annotation_id"]) for r in rows] == [
        ("1", "1"), ("1", "2"), ("1", "3"), ("1", "3"), ("1", "4"),
        ("1", "3"), ("2", "1"), ("3", "5")]

    assert run("prune", folder, "-o", tmp_path / "kept.txt", "--keep", "4",
               "--report", tmp_path / "r.json", "--workers", workers) == 0
    assert capsys.readouterr().err.splitlines() == warnings
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["warnings"] == [w.split(": ", 3)[3] for w in warnings]
    assert report["images"]["before"] == 4
    assert report["instances"]["before"] == 8


def test_sa1b_many_repeats_are_summarised(tmp_path, capsys):
    folder = _folder(tmp_path, [_record(i % 3, [_mask(1), _mask(1)])
                                for i in range(14)])
    assert run("score", folder, "-o", tmp_path / "s.csv") == 0
    err = capsys.readouterr().err.replace(str(folder) + os.sep, "")
    # files in name order: sa_0, sa_1, sa_10, ..., sa_13, sa_2, ...
    assert "mask ids 1 (in sa_0.json), 1 (in sa_1.json), 1 (in sa_10.json)" \
        in err
    assert "1 (in sa_5.json) and 4 more are used more than once" in err
    assert ("image ids 0 (sa_0.json, sa_12.json, sa_3.json and 2 more), "
            "1 (sa_1.json, sa_10.json, sa_13.json and 2 more) and 2 "
            "(sa_11.json, sa_2.json, sa_5.json and 1 more) are used") in err
    assert "file_names \"0.jpg\" (sa_0.json, sa_12.json" in err


def test_a_folder_file_through_a_folder_link_or_hard_link_counts_once(
        tmp_path, capsys):
    folder = _folder(tmp_path, [_record(i, [_mask(1)]) for i in (1, 2, 3)],
                     name="small")
    os.symlink(folder, tmp_path / "smalllink")
    assert run("score", folder, tmp_path / "smalllink", "-o",
               tmp_path / "s.csv") == 1
    err = capsys.readouterr().err
    assert "%s and %s are the same file" % (
        folder / "sa_0.json", tmp_path / "smalllink" / "sa_0.json") in err
    assert "Traceback" not in err and not (tmp_path / "s.csv").exists()
    # the same folder spelled twice, and a file given beside its folder
    for argv in ((folder, tmp_path / "small" / ".." / "small"),
                 (folder, folder / "sa_1.json"),
                 (folder, str(tmp_path / "smalllink" / "*.json"))):
        assert run("score", *argv, "-o", tmp_path / "s.csv") == 1
        assert "are the same file" in capsys.readouterr().err

    # two names, one inode
    os.link(folder / "sa_1.json", folder / "sa_9.json")
    assert run("prune", folder, "-o", tmp_path / "kept.txt",
               "--keep-ratio", "0.5", "--skip-invalid") == 1
    err = capsys.readouterr().err
    assert "%s and %s are the same file" % (
        folder / "sa_1.json", folder / "sa_9.json") in err
    assert not (tmp_path / "kept.txt").exists()
    os.remove(folder / "sa_9.json")
    assert run("score", folder, "-o", tmp_path / "s.csv") == 0
    assert "of 3 images" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["sa_loop.json", "sa_other.json"])
def test_a_link_loop_in_a_folder_is_named(tmp_path, capsys, target):
    folder = _folder(tmp_path, [_record(i, [_mask(1)]) for i in (1, 2)])
    os.symlink(target, folder / "sa_loop.json")
    if target == "sa_other.json":
        os.symlink("sa_loop.json", folder / target)
    assert run("score", folder, "-o", tmp_path / "s.csv") == 1
    err = capsys.readouterr().err
    assert "image %s: cannot read: Too many levels of symbolic links" % (
        folder / "sa_loop.json") in err
    assert "Traceback" not in err and not (tmp_path / "s.csv").exists()
    assert run("score", folder, "-o", tmp_path / "s.csv",
               "--skip-invalid") == 0
    assert "of 2 images" in capsys.readouterr().out


@pytest.mark.parametrize("table", ["s.csv", "s.parquet"])
def test_image_ids_of_two_types_are_refused_in_a_score_table(
        tmp_path, capsys, table):
    if table.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    data = json.load(open(COCO_SAMPLE))
    first, second = data["images"][:2]
    data["annotations"] = [dict(a, image_id="x") if a["image_id"] == second[
        "id"] else a for a in data["annotations"]]
    second["id"] = "x"
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    assert run("score", path, "-o", tmp_path / table) == 1
    err = capsys.readouterr().err
    assert 'image ids mix numbers and strings (image %d and image "x")' % (
        first["id"]) in err, err
    assert not (tmp_path / table).exists()
    # pruning needs no table
    assert run("prune", path, "-o", tmp_path / "p.json", "--keep",
               "3") == 0

    folder = _folder(tmp_path, [_record(i, [_mask(1)]) for i in (1, "b", 2)])
    assert run("score", folder, "-o", tmp_path / table) == 1
    err = capsys.readouterr().err
    assert ('image ids mix numbers and strings (image 1 (%s) and image "b" '
            '(%s))' % (folder / "sa_0.json", folder / "sa_1.json")) in err
    assert not (tmp_path / table).exists()


def test_a_file_name_that_climbs_out_of_its_folder_is_malformed(
        tmp_path, capsys):
    records = [_record(i, [_mask(1)]) for i in (1, 2, 3, 4, 5)]
    records[1]["image"]["file_name"] = "../../etc/passwd"
    records[2]["image"]["file_name"] = "/etc/passwd"
    records[3]["image"]["file_name"] = "images/../../x.jpg"
    records[4]["image"]["file_name"] = "images/..x/a..b.jpg"  # no '..' part
    folder = _folder(tmp_path, records)
    kept = tmp_path / "kept.txt"
    assert run("prune", folder, "-o", kept, "--keep-ratio", "1") == 1
    err = capsys.readouterr().err
    for i, name in ((1, "../../etc/passwd"), (2, "/etc/passwd"),
                    (3, "images/../../x.jpg")):
        assert ('image %s: image file_name "%s" climbs out of its folder'
                % (folder / ("sa_%d.json" % i), name)) in err
    assert "sa_4.json" not in err and not kept.exists()
    assert run("prune", folder, "-o", kept, "--keep-ratio", "1",
               "--skip-invalid") == 0
    assert sorted(kept.read_text().splitlines()) == [
        "1.jpg", "images/..x/a..b.jpg"]
