"""Several COCO files as one dataset, SA-1B-style folders, Parquet tables."""

import csv
import json
import os

import make_sa1b
import pytest
from hand_made import (
    not_utf8_path,
    read_rows,
    run,
    sa1b_folder,
    sa1b_mask,
    sa1b_record,
)
from shared_data import COCO_SAMPLE, requires_shared_data

pytestmark = requires_shared_data


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
        ids = {
            image["id"]: (i + 1 if renumber else image["id"])
            for i, image in enumerate(images)
        }
        annotations = [
            dict(
                a,
                image_id=ids[a["image_id"]],
                id=(n + 1 if renumber else a["id"]),
            )
            for n, a in enumerate(
                a for a in data["annotations"] if a["image_id"] in ids
            )
        ]
        part = dict(
            data,
            images=[dict(im, id=ids[im["id"]]) for im in images],
            annotations=annotations,
        )
        out.append(
            (
                part,
                {v: k for k, v in ids.items()},
                {
                    (ids[a["image_id"]], n + 1 if renumber else a["id"]): a[
                        "id"
                    ]
                    for n, a in enumerate(
                        a for a in data["annotations"] if a["image_id"] in ids
                    )
                },
            )
        )
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
    one = {
        row["annotation_id"]: row for row in read_rows(tmp_path / "one.csv")
    }
    three = read_rows(tmp_path / "three.csv")
    assert list(three[0])[0] == "file"
    assert len(three) == len(one) == 929
    for row in three:
        ann = original_ann[
            (row["file"], (int(row["image_id"]), int(row["annotation_id"])))
        ]
        reference = one[str(ann)]
        assert (
            int(reference["image_id"])
            == original_image[(row["file"], int(row["image_id"]))]
        )
        # to the bit: the text of a float is its shortest exact repr
        for column in (
            "category_id",
            "perimeter",
            "area",
            "scs",
            "si_scs",
            "cb_scs",
        ):
            assert row[column] == reference[column], column

    out = tmp_path / "pruned"
    assert (
        run(
            "prune",
            *paths,
            "-o",
            out,
            "--keep-ratio",
            "0.7",
            "--report",
            tmp_path / "report.json",
        )
        == 0
    )
    assert (
        run(
            "prune",
            COCO_SAMPLE,
            "-o",
            tmp_path / "one.json",
            "--keep-ratio",
            "0.7",
        )
        == 0
    )
    expected = {
        im["id"] for im in json.load(open(tmp_path / "one.json"))["images"]
    }
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
    b["categories"] = [
        dict(c, name=c["name"] + "-x") if c["id"] == 1 else c
        for c in b["categories"]
    ]
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    assert (
        run(
            "prune",
            tmp_path / "a.json",
            tmp_path / "b.json",
            "-o",
            tmp_path / "out",
            "--keep-ratio",
            "0.5",
        )
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "category id 1 is 'person' in %s but 'person-x' in %s"
        % (tmp_path / "a.json", tmp_path / "b.json")
        in err
    )
    assert not (tmp_path / "out").exists()


def test_sa1b_folder_scores_like_one_coco_rle_file(tmp_path, capsys):
    """The real masks of the COCO sample, as SA-1B stores them (one RLE
    file per image), and the same masks as one COCO RLE file."""
    folder = tmp_path / "sa1b"
    reference = make_sa1b.write_per_image(
        json.load(open(COCO_SAMPLE)), str(folder)
    )
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

    assert (
        run("prune", folder, "-o", tmp_path / "kept.txt", "--keep", "40") == 0
    )
    assert (
        run("prune", coco_file, "-o", tmp_path / "kept.json", "--keep", "40")
        == 0
    )
    kept = (tmp_path / "kept.txt").read_text().splitlines()
    # the kept list is in ranking order, highest score first
    scores = {}
    for row in file_rows:
        name = "sa_%08d.jpg" % [im["id"] for im in reference["images"]].index(
            int(row["image_id"])
        )
        scores[name] = scores.get(name, 0.0) + float(row["cb_scs"])
    assert len(kept) == 40
    assert [scores[n] for n in kept] == sorted(
        (scores[n] for n in kept), reverse=True
    )
    assert set(kept) == {
        im["file_name"]
        for im in json.load(open(tmp_path / "kept.json"))["images"]
    }
    text = capsys.readouterr().out
    assert "mask" in text


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
    assert (
        list(table[0])
        == list(rows[0])
        == [
            "file",
            "image_id",
            "annotation_id",
            "category_id",
            "perimeter",
            "area",
            "scs",
            "si_scs",
            "cb_scs",
        ]
    )
    assert [{k: str(v) for k, v in r.items()} for r in table] == rows

    folder = tmp_path / "sa1b"
    make_sa1b.write_per_image(a, str(folder))
    assert run("score", folder, "-o", tmp_path / "f.parquet") == 0
    table = pq.read_table(tmp_path / "f.parquet")
    assert "file" not in table.column_names
    assert table.column("category_id").null_count == table.num_rows > 0


def test_a_folder_file_is_never_an_output_nor_counted_twice(tmp_path, capsys):
    folder = sa1b_folder(
        tmp_path, [sa1b_record(i, [sa1b_mask(1)]) for i in (1, 2)]
    )
    first = folder / "sa_0.json"
    before = first.read_bytes()
    for argv in (
        ("prune", folder, "-o", first, "--keep-ratio", "0.5"),
        ("score", str(folder / "*.json"), "-o", first),
        ("score", folder, "-o", folder / ".." / "sa1b" / "sa_0.json"),
    ):
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
    assert (
        run(
            "prune",
            coco_file,
            tmp_path / "again.json",
            "-o",
            tmp_path / "pruned",
            "--keep-ratio",
            "0.5",
        )
        == 1
    )
    assert "are the same file" in capsys.readouterr().err
    assert not (tmp_path / "pruned").exists()


def test_a_file_name_with_glob_characters_is_that_file(tmp_path, capsys):
    data = json.load(open(COCO_SAMPLE))
    path = tmp_path / "train[1].json"
    path.write_text(json.dumps(data))
    assert run("score", path, "-o", tmp_path / "s.csv") == 0
    assert "of 128 images" in capsys.readouterr().out


def test_a_folder_that_appears_meanwhile_is_an_error(tmp_path, capsys):
    data = json.load(open(COCO_SAMPLE))
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text(json.dumps(data))
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    assert (
        run(
            "prune",
            tmp_path / "a.json",
            tmp_path / "b.json",
            "-o",
            tmp_path / "dangling",
            "--keep-ratio",
            "0.5",
        )
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "cannot make folder %s: File exists" % (tmp_path / "dangling") in err
    )
    assert "Traceback" not in err


def test_what_the_input_decides_is_an_error_not_a_traceback(tmp_path, capsys):
    # more images to keep than there are
    assert (
        run("prune", COCO_SAMPLE, "-o", tmp_path / "p.json", "--keep", "1000")
        == 1
    )
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
    assert (
        "%s: a annotation_id is beyond 64 bits" % (tmp_path / "s.parquet")
    ) in err and "Traceback" not in err
    assert not (tmp_path / "s.parquet").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_without_dask_or_pyarrow_the_command_says_what_to_install(
    tmp_path, capsys, monkeypatch
):
    import tfdp.cli
    import tfdp.engine
    import tfdp.runner
    import tfdp.score_tables

    for module in (tfdp.cli, tfdp.engine, tfdp.runner):
        monkeypatch.setattr(module, "cluster_installed", lambda: False)
    monkeypatch.setattr(tfdp.score_tables, "parquet_installed", lambda: False)
    for argv, message in (
        (
            ["--workers", "2"],
            "--workers 2: measuring in several "
            "processes or on a cluster needs Dask: "
            "install tfdp with its cluster extra, pip "
            "install '/path/to/tfdp[cluster]'",
        ),
        (["--scheduler", "tcp://127.0.0.1:1"], "needs Dask"),
        (["-o", tmp_path / "s.parquet"], "writing Parquet needs pyarrow"),
    ):
        with pytest.raises(SystemExit) as e:
            run("score", COCO_SAMPLE, "-o", tmp_path / "s.csv", *argv)
        assert e.value.code == 2
        assert message in capsys.readouterr().err
    # the default stays in this process, whatever the size of the input
    runner = tfdp.runner.Runner()
    assert runner._choose(3600.0, 10.0) == ("local", 1)


def test_a_file_name_that_is_not_utf8(tmp_path, capsys):
    # the test's capture, like PYTHONIOENCODING=utf-8, refuses lone
    # surrogates: what the command prints names the file as caf\xe9.json
    data = json.load(open(COCO_SAMPLE))
    (a, _, _), (b, _, _) = split_coco(data, 2)
    cafe = not_utf8_path(tmp_path, b"caf\xe9.json")
    shown = os.path.join(str(tmp_path), "caf\\xe9.json")
    with open(cafe, "w") as f:
        json.dump(a, f)
    other = str(tmp_path / "b.json")
    (tmp_path / "b.json").write_text(json.dumps(b))

    assert run("score", cafe, "-o", tmp_path / "one.csv") == 0
    assert run("prune", cafe, "-o", tmp_path / "one.json", "--keep", "10") == 0
    assert "wrote %s" % (tmp_path / "one.json") in capsys.readouterr().out

    # the CSV's file column holds the name's bytes, losslessly
    assert run("score", cafe, other, "-o", tmp_path / "two.csv") == 0
    assert "wrote 929 eligible annotations" in capsys.readouterr().out
    with open(
        tmp_path / "two.csv",
        encoding="utf-8",
        errors="surrogateescape",
        newline="",
    ) as f:
        rows = list(csv.DictReader(f))
    assert {row["file"] for row in rows} == {cafe, other}
    assert os.fsencode(cafe) in (tmp_path / "two.csv").read_bytes()

    # Parquet's strings cannot hold it: refused before anything is read
    if score_tables_parquet():
        assert run("score", cafe, other, "-o", tmp_path / "two.parquet") == 1
        err = capsys.readouterr().err
        assert (
            "two.parquet: the input file name %s is not UTF-8 text" % shown
        ) in err and "Traceback" not in err
        assert not (tmp_path / "two.parquet").exists()

    # pruned copies keep the input's name; the report reads back to it
    out = tmp_path / "pruned"
    assert (
        run(
            "prune",
            cafe,
            other,
            "-o",
            out,
            "--keep-ratio",
            "0.5",
            "--report",
            tmp_path / "report.json",
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "wrote %s" % os.path.join(str(out), "caf\\xe9.json") in printed
    assert sorted(os.listdir(out)) == ["b.json", os.path.basename(cafe)]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["input"] == [cafe, other]
    assert report["output"][0] == os.path.join(
        str(out), os.path.basename(cafe)
    )

    # an error names it too
    assert run("score", cafe, other, "-o", cafe, "--overwrite") == 1
    assert "tfdp: error: %s is the input file" % shown in (
        capsys.readouterr().err
    )
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def score_tables_parquet():
    from tfdp import score_tables

    return score_tables.parquet_installed()


@pytest.mark.parametrize("table", ["s.csv", "s.parquet"])
def test_image_ids_of_two_types_are_refused_in_a_score_table(
    tmp_path, capsys, table
):
    if table.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    data = json.load(open(COCO_SAMPLE))
    first, second = data["images"][:2]
    data["annotations"] = [
        dict(a, image_id="x") if a["image_id"] == second["id"] else a
        for a in data["annotations"]
    ]
    second["id"] = "x"
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data))
    assert run("score", path, "-o", tmp_path / table) == 1
    err = capsys.readouterr().err
    assert (
        'image ids mix numbers and strings (image %d and image "x")'
        % (first["id"])
        in err
    ), err
    assert not (tmp_path / table).exists()
    # pruning needs no table
    assert run("prune", path, "-o", tmp_path / "p.json", "--keep", "3") == 0

    folder = sa1b_folder(
        tmp_path, [sa1b_record(i, [sa1b_mask(1)]) for i in (1, "b", 2)]
    )
    assert run("score", folder, "-o", tmp_path / table) == 1
    err = capsys.readouterr().err
    assert (
        'image ids mix numbers and strings (image 1 (%s) and image "b" '
        "(%s))" % (folder / "sa_0.json", folder / "sa_1.json")
    ) in err
    assert not (tmp_path / table).exists()
