"""The FiftyOne path on datasets as users have them: repeated label ids,
filtered views, runs killed halfway, two runs at once, names that belong to
the user, malformed labels and files."""

import json
import os
import subprocess
import sys
import uuid

import fiftyone as fo
import numpy as np
import pytest
from shared_data import COCO_SAMPLE, DATA, ROOT, requires_shared_data

import tfdp
from tfdp import cli, coco
from tfdp.errors import InvalidDataError, OutputExistsError, TFDPError
from tfdp.fo_adapter import coco_documents
from tfdp.fo_adapter.preview import preview_pruning

pytestmark = requires_shared_data

FIELD = "segmentations"
PATH = "segmentations.polylines"
CHILD = os.path.join(ROOT, "tests", "fiftyone", "fiftyone_child.py")


def _name(prefix):
    return "tfdp-test-%s-%s" % (prefix, uuid.uuid4().hex[:8])


@pytest.fixture(scope="module")
def base():
    dataset = tfdp.load_coco_dataset(
        COCO_SAMPLE,
        data_path=DATA + "/coco2017-sample/images",
        name=_name("real-base"),
    )
    yield dataset
    dataset.delete()


@pytest.fixture
def dataset(base):
    clone = base.clone(persistent=True)
    yield clone
    if fo.dataset_exists(clone.name):
        clone.delete()


@pytest.fixture(scope="module")
def source():
    return coco.measure(coco.load_json(COCO_SAMPLE))


def _schema(dataset):
    return {
        path: type(field).__name__
        for path, field in dataset.get_field_schema(flat=True).items()
    }


def _raw_count(dataset, path):
    # values in the documents, declared or not
    return dataset._sample_collection.count_documents(
        {path: {"$exists": True}}
    )


def _tuple(values):
    return None if values is None else tuple(values)


def _state(dataset, run_key="tfdp"):
    # everything a run leaves, by COCO id and label position
    coco_ids, perimeters, areas, scores, sample_scores, tags = dataset.values(
        [
            "coco_id",
            "%s.%s_perimeter" % (PATH, run_key),
            "%s.%s_area" % (PATH, run_key),
            "%s.%s_score" % (PATH, run_key),
            "%s_score" % run_key,
            "tags",
        ]
    )
    info = tfdp.get_run_info(dataset, run_key)
    return {
        "labels": dict(
            zip(
                coco_ids,
                zip(
                    map(_tuple, perimeters),
                    map(_tuple, areas),
                    map(_tuple, scores),
                ),
            )
        ),
        "samples": dict(zip(coco_ids, sample_scores)),
        "tags": dict(zip(coco_ids, map(sorted, tags))),
        "kept": sorted(
            tfdp.load_kept_view(dataset, run_key).values("coco_id")
        ),
        "schema": _schema(dataset),
        "views": dataset.list_saved_views(),
        "status": info["status"],
        "num_kept": info["config"]["num_kept"],
        "report": info["report"],
    }


# ---------------------------------------------------------------------------
# Labels are identified by sample and position


def test_repeated_label_ids_are_scored_apart(dataset, source):
    # a merge from one source: new sample ids, the same label ids
    dataset.add_collection(dataset.clone(), new_ids=True)
    label_ids = [i for ids in dataset.values(PATH + ".id") if ids for i in ids]
    assert len(label_ids) == 2 * 939 and len(set(label_ids)) == 939

    kept = dataset.apply_tfdp(FIELD, keep_ratio=0.5)
    report = tfdp.get_run_info(dataset)["report"]
    assert report["instances"]["before"] == 2 * len(source.table) == 1858

    # every copy carries the source's shapes, and each class total counts
    # both copies, so every CB-SCS score is half the single file's
    expected = dict(
        zip(
            zip(map(str, source.table.image_index), source.table.instance_ids),
            zip(
                source.table.perimeter.tolist(),
                (source.table.scores("cb-scs") / 2).tolist(),
            ),
        )
    )
    index = {i: str(n) for n, i in enumerate(source.image_ids)}
    checked = 0
    for coco_id, ann_ids, perimeters, scores in zip(
        *dataset.values(
            [
                "coco_id",
                PATH + ".coco_id",
                PATH + ".tfdp_perimeter",
                PATH + ".tfdp_score",
            ]
        )
    ):
        for ann_id, p, s in zip(ann_ids or [], perimeters or [], scores or []):
            if p is None:
                continue
            want_p, want_s = expected[(index[coco_id], ann_id)]
            assert p == want_p
            assert s == pytest.approx(want_s, rel=1e-12)
            checked += 1
    assert checked == 1858

    # the kept samples are the top half by the stored image scores
    ids, scores = dataset.values(["id", "tfdp_score"])
    order = np.argsort(-np.asarray(scores), kind="stable")
    assert set(kept.values("id")) == {ids[i] for i in order[:128]}


def test_a_filtered_view_writes_where_it_read(dataset, source):
    view = dataset.filter_labels(FIELD, fo.ViewField("label") == "person")
    tfdp.compute_scores(view, FIELD, method="si-scs", run_key="people")
    by_id = dict(
        zip(source.table.instance_ids, source.table.perimeter.tolist())
    )
    people = others = 0
    for labels, ann_ids, crowd, perimeters in zip(
        *dataset.values(
            [
                PATH + ".label",
                PATH + ".coco_id",
                PATH + ".iscrowd",
                PATH + ".people_perimeter",
            ]
        )
    ):
        for label, ann_id, c, p in zip(
            labels or [], ann_ids or [], crowd or [], perimeters or []
        ):
            if label == "person" and not c:
                assert p == by_id[ann_id]
                people += 1
            else:
                assert p is None
                others += 1
    assert people > 100 and others > 100


# ---------------------------------------------------------------------------
# Runs killed halfway


def _child(name, run_key="tfdp", point="none"):
    return subprocess.run(
        [sys.executable, CHILD, name, run_key, point],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def clean_state(base):
    pristine = base.clone(persistent=True)
    schema = _schema(pristine)
    result = _child(pristine.name)
    assert result.returncode == 0, result.stderr
    pristine.reload()
    state = _state(pristine)
    pristine.delete()
    return schema, state


@pytest.mark.parametrize(
    "point", ["measuring", "declaring", "writing", "tagging", "saving"]
)
def test_killed_new_run_is_redone_and_deleted(dataset, clean_state, point):
    pristine_schema, clean = clean_state
    result = _child(dataset.name, point=point)
    assert result.returncode == -9, result.stderr
    dataset.reload()

    if point != "measuring":
        info = tfdp.get_run_info(dataset)
        assert not info["finished"] and info["report"] is None
        assert info["config"].get("num_kept") is None
        with pytest.raises(TFDPError, match="prune it"):
            tfdp.load_kept_view(dataset)

    kept = dataset.apply_tfdp(FIELD, keep_ratio=0.7)
    assert len(kept) == 90
    assert _state(dataset) == clean

    tfdp.delete_run(dataset)
    assert _schema(dataset) == pristine_schema
    assert dataset.count_sample_tags() == {}
    assert dataset.list_saved_views() == []
    assert _raw_count(dataset, "tfdp_score") == 0
    assert _raw_count(dataset, PATH + ".tfdp_score") == 0


@pytest.mark.parametrize("point", ["deleting", "writing", "tagging"])
def test_killed_rewrite_claims_nothing_it_lost(dataset, clean_state, point):
    pristine_schema, clean = clean_state
    dataset.apply_tfdp(FIELD, keep_ratio=0.5, method="scs")
    result = _child(dataset.name, point=point)
    assert result.returncode == -9, result.stderr
    dataset.reload()

    info = tfdp.get_run_info(dataset)
    assert not info["finished"]
    assert info["report"] is None and info["config"].get("num_kept") is None

    tfdp.delete_run(dataset)
    assert _schema(dataset) == pristine_schema
    assert dataset.count_sample_tags() == {}
    assert dataset.list_saved_views() == []
    for path in ("tfdp_score", PATH + ".tfdp_score", PATH + ".tfdp_perimeter"):
        assert _raw_count(dataset, path) == 0

    dataset.apply_tfdp(FIELD, keep_ratio=0.7)
    assert _state(dataset) == clean


# ---------------------------------------------------------------------------
# Two runs at once


def test_two_runs_at_once_stay_declared_and_deletable(base):
    for trial in range(3):
        dataset = base.clone(persistent=True)
        pristine_schema = _schema(dataset)
        try:
            children = [
                subprocess.Popen(
                    [sys.executable, CHILD, dataset.name, key, "none"],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for key in ("a", "b")
            ]
            for child in children:
                _, err = child.communicate(timeout=300)
                assert child.returncode == 0, err
            dataset.reload()
            schema = _schema(dataset)
            for key in ("a", "b"):
                for attr in ("perimeter", "area", "pixels", "score"):
                    assert "%s.%s_%s" % (PATH, key, attr) in schema
                assert "%s_score" % key in schema
                assert tfdp.get_run_info(dataset, key)["status"] == "pruned"
                assert len(tfdp.load_kept_view(dataset, key)) == 90
            for key in ("a", "b"):
                tfdp.delete_run(dataset, key)
            assert _schema(dataset) == pristine_schema
            for key in ("a", "b"):
                assert _raw_count(dataset, "%s_score" % key) == 0
                assert _raw_count(dataset, "%s.%s_area" % (PATH, key)) == 0
        finally:
            dataset.delete()


# ---------------------------------------------------------------------------
# Names that belong to the user


def test_a_users_tag_is_refused_and_kept(dataset):
    dataset.take(10, seed=1).tag_samples("keep")
    with pytest.raises(
        TFDPError,
        match="10 samples .* already carry the "
        "tag 'keep'.*choose another tag, e.g. 'tfdp:keep'",
    ):
        dataset.apply_tfdp(FIELD, keep_ratio=0.7, tag="keep")
    # refused before anything was written
    assert "tfdp" not in dataset.list_runs()
    assert "tfdp_score" not in dataset.get_field_schema()

    dataset.apply_tfdp(FIELD, keep_ratio=0.7)
    tfdp.delete_run(dataset)
    assert dataset.count_sample_tags() == {"keep": 10}


def test_a_users_saved_view_is_refused_and_kept(dataset):
    dataset.save_view("tfdp-kept", dataset.limit(3))
    with pytest.raises(
        TFDPError,
        match="saved view 'tfdp-kept' that TFDP "
        "run 'tfdp' did not save.*another run_key",
    ):
        dataset.apply_tfdp(FIELD, keep_ratio=0.7)
    kept = dataset.apply_tfdp(FIELD, keep_ratio=0.7, run_key="mine")
    assert len(kept) == 90
    tfdp.delete_run(dataset, "mine")
    assert dataset.list_saved_views() == ["tfdp-kept"]
    assert len(dataset.load_saved_view("tfdp-kept")) == 3


def test_another_runs_tag_is_refused(dataset):
    dataset.apply_tfdp(FIELD, keep_ratio=0.7, run_key="a", tag="best")
    with pytest.raises(TFDPError, match="tag 'best' belongs to TFDP run 'a'"):
        dataset.apply_tfdp(FIELD, keep_ratio=0.5, run_key="b", tag="best")


# ---------------------------------------------------------------------------
# Arguments and bad labels


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(method="random", seed=-5), "seed must be a non-negative"),
        (dict(keep_ratio=1.5), "between 0 and 1"),
        (dict(keep_ratio=0.5, keep=3), "exactly one"),
        (dict(method="best"), "unknown method"),
        (dict(tag=""), "tag must be a non-empty string"),
        (dict(run_key="no-dash"), "invalid run key"),
        (dict(skip_invalid="yes"), "skip_invalid must be True or False"),
    ],
)
def test_arguments_are_checked_before_anything(dataset, kwargs, message):
    kwargs.setdefault("keep_ratio", 0.7) if "keep" not in kwargs else None
    schema = _schema(dataset)
    with pytest.raises(ValueError, match=message):
        dataset.apply_tfdp(FIELD, **kwargs)
    assert dataset.list_runs() == []
    assert _schema(dataset) == schema


def _detections_dataset(detections):
    dataset = fo.Dataset(_name("bad"))
    dataset.add_sample(
        fo.Sample(
            filepath="/nonexistent/a.jpg",
            metadata=fo.ImageMetadata(width=100, height=80),
            gt=fo.Detections(detections=detections),
        )
    )
    return dataset


def test_malformed_detections_are_named_or_skipped():
    good = fo.Detection(
        label="a",
        bounding_box=[0.1, 0.1, 0.5, 0.5],
        mask=np.ones((20, 30), dtype=bool),
    )
    no_box = fo.Detection(label="a", mask=np.ones((5, 5), dtype=bool))
    no_box.bounding_box = None
    nan_mask = fo.Detection(
        label="b",
        bounding_box=[0.1, 0.1, 0.5, 0.5],
        mask=np.full((4, 4), np.nan),
    )
    dataset = _detections_dataset([good, no_box, nan_mask])
    try:
        with pytest.raises(InvalidDataError) as e:
            tfdp.compute_scores(dataset, "gt")
        message = str(e.value)
        sample_id = dataset.first().id
        assert "2 malformed labels:" in message
        assert (
            "label %s (sample %s): position 1 of gt.detections: "
            "bounding_box" % (no_box.id, sample_id) in message
        )
        assert (
            "label %s (sample %s): position 2 of gt.detections: mask "
            "has non-finite values" % (nan_mask.id, sample_id) in message
        )
        assert "skip_invalid=True" in message
        assert "--skip-invalid" not in message
        assert dataset.list_runs() == []

        measured = tfdp.compute_scores(dataset, "gt", skip_invalid=True)
        assert len(measured.table) == 1 and len(measured.invalid) == 2
        invalid = tfdp.get_run_info(dataset)["config"]["invalid"]
        assert [p["id"] for p in invalid] == [no_box.id, nan_mask.id]
        # a filled 20 x 30 box-relative mask: P = 2 (19 + 29), A = 19 * 29
        assert dataset.values("gt.detections.tfdp_perimeter")[0] == [
            96.0,
            None,
            None,
        ]
    finally:
        dataset.delete()


def test_python_errors_name_python_arguments(dataset, tmp_path):
    dataset.apply_tfdp(FIELD, keep_ratio=0.7)
    out = tmp_path / "kept.json"
    out.write_text("{}")
    with pytest.raises(OutputExistsError) as e:
        tfdp.export_kept(dataset, str(out))
    assert "overwrite=True" in str(e.value)
    assert "--overwrite" not in str(e.value)
    with pytest.raises(TFDPError, match="overwrite=True"):
        tfdp.compute_scores(dataset, FIELD, overwrite=False)


# ---------------------------------------------------------------------------
# Loading COCO files


def test_load_without_images_scores_prunes_and_exports(tmp_path, source):
    name = _name("no-images")
    dataset = tfdp.load_coco_dataset(COCO_SAMPLE, name=name)
    try:
        assert len(dataset) == 128
        widths = dict(zip(*dataset.values(["coco_id", "metadata.width"])))
        data = coco.load_json(COCO_SAMPLE)
        assert widths == {im["id"]: im["width"] for im in data["images"]}

        dataset.apply_tfdp(FIELD, keep_ratio=0.7)
        out = tmp_path / "kept.json"
        result = tfdp.export_kept(dataset, str(out))
        assert result["mode"] == "lossless" and result["num_samples"] == 90

        command = tmp_path / "command.json"
        assert (
            cli.main(
                [
                    "prune",
                    COCO_SAMPLE,
                    "-o",
                    str(command),
                    "--keep-ratio",
                    "0.7",
                ]
            )
            == 0
        )
        assert out.read_bytes() == command.read_bytes()
    finally:
        dataset.delete()


def _bad_files(tmp_path):
    data = json.load(open(COCO_SAMPLE))
    files = {}

    bad = json.loads(json.dumps(data))
    bad["annotations"][3]["segmentation"] = [[1, 2, 3]]
    files["odd polygon"] = bad

    bad = json.loads(json.dumps(data))
    bad["annotations"][5]["bbox"] = ["a", 1, 2, 3]
    files["string bbox"] = bad

    bad = json.loads(json.dumps(data))
    bad["images"][2]["width"] = -4
    files["negative width"] = bad

    bad = json.loads(json.dumps(data))
    bad["annotations"][7]["image_id"] = 123456789
    files["unknown image"] = bad

    paths = {}
    for name, content in files.items():
        path = tmp_path / (name.replace(" ", "-") + ".json")
        path.write_text(json.dumps(content))
        paths[name] = str(path)
    return paths


def test_bad_files_are_refused_like_the_command(tmp_path, capsys):
    before = set(fo.list_datasets())
    for name, path in _bad_files(tmp_path).items():
        assert (
            cli.main(
                [
                    "prune",
                    path,
                    "-o",
                    str(tmp_path / "o.json"),
                    "--keep-ratio",
                    "0.5",
                ]
            )
            == 1
        ), name
        command_error = capsys.readouterr().err
        with pytest.raises(InvalidDataError) as e:
            tfdp.load_coco_dataset(path, name=_name("bad"))
        # the same records, named the same way
        records = [
            line.strip()
            for line in str(e.value).splitlines()
            if line.startswith("  ")
        ]
        assert records, name
        for record in records:
            assert record in command_error, (name, record)
        assert "skip_invalid=True" in str(e.value)
        assert set(fo.list_datasets()) == before, name
        assert not os.path.exists(tmp_path / "o.json")


def test_load_skips_invalid_records_on_request(tmp_path):
    path = _bad_files(tmp_path)["odd polygon"]
    dataset = tfdp.load_coco_dataset(
        path, name=_name("skip"), skip_invalid=True
    )
    try:
        assert len(dataset) == 128
        assert dataset.count(PATH) == 938
    finally:
        dataset.delete()


def test_load_refuses_a_taken_name_and_never_leaves_a_partial_dataset(
    tmp_path, monkeypatch
):
    name = _name("taken")
    fo.Dataset(name)
    try:
        with pytest.raises(TFDPError, match="overwrite=True"):
            tfdp.load_coco_dataset(COCO_SAMPLE, name=name)
        assert len(fo.load_dataset(name)) == 0

        before = set(fo.list_datasets())

        def fail(*args, **kwargs):
            raise KeyboardInterrupt

        # interrupted while inserting, by either path
        monkeypatch.setattr(fo.Dataset, "add_samples", fail)
        monkeypatch.setattr(coco_documents._Writer, "insert", fail)
        with pytest.raises(KeyboardInterrupt):
            tfdp.load_coco_dataset(COCO_SAMPLE, name=name, overwrite=True)
        assert set(fo.list_datasets()) == before
        assert len(fo.load_dataset(name)) == 0  # the old one is intact
        monkeypatch.undo()

        dataset = tfdp.load_coco_dataset(
            COCO_SAMPLE, name=name, overwrite=True
        )
        assert len(dataset) == 128
    finally:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


def test_file_names_fiftyone_does_not_read_as_images_are_named(tmp_path):
    # the command never opens an image; FiftyOne makes a sample's media
    # type from its file name, and one dataset holds one media type
    data = json.load(open(COCO_SAMPLE))
    before = set(fo.list_datasets())
    for position, file_name in (
        (0, "no-extension"),
        (2, "clip.mp4"),
        (0, "scan.pcd"),
        (3, "."),
        (1, "images/"),
    ):
        bad = json.loads(json.dumps(data))
        bad["images"][position]["file_name"] = file_name
        image_id = bad["images"][position]["id"]
        path = tmp_path / "in.json"
        path.write_text(json.dumps(bad))
        assert (
            cli.main(
                [
                    "prune",
                    str(path),
                    "-o",
                    str(tmp_path / "o.json"),
                    "--keep-ratio",
                    "0.5",
                    "--overwrite",
                ]
            )
            == 0
        )
        with pytest.raises(TFDPError) as e:
            tfdp.load_coco_dataset(str(path), name=_name("media"))
        assert (
            "image %s has file_name %s, which FiftyOne does not read "
            "as an image" % (image_id, json.dumps(file_name)) in str(e.value)
        )
        assert set(fo.list_datasets()) == before


def _not_utf8(folder, name):
    # a name made of bytes, as Linux allows: Python holds the byte 0xe9 as
    # the lone surrogate U+DCE9 (surrogateescape)
    path = os.fsdecode(os.path.join(os.fsencode(str(folder)), name))
    try:
        os.mkdir(path)
    except OSError:
        pytest.skip("the file system refuses names that are not UTF-8")
    return path


def test_paths_that_are_not_utf8_are_refused_by_name(tmp_path):
    # MongoDB's strings are UTF-8: such a path cannot be stored, neither as
    # the recorded source nor in the samples' file paths
    before = set(fo.list_datasets())
    folder = _not_utf8(tmp_path, b"caf\xe9")
    shown = os.path.join(str(tmp_path), "caf\\xe9")
    labels = os.path.join(folder, "in.json")
    with open(COCO_SAMPLE, "rb") as f, open(labels, "wb") as out:
        out.write(f.read())
    with pytest.raises(TFDPError) as e:
        tfdp.load_coco_dataset(labels, name=_name("utf8"))
    assert str(e.value) == (
        "%s: the path is not UTF-8 text, which FiftyOne's database cannot "
        "store; rename it" % os.path.join(shown, "in.json")
    )

    with pytest.raises(TFDPError) as e:
        tfdp.load_coco_dataset(
            COCO_SAMPLE, data_path=folder, name=_name("utf8")
        )
    assert str(e.value) == (
        "data_path %s is not UTF-8 text, which FiftyOne's database cannot "
        "store in the samples' file paths; rename it" % shown
    )
    assert set(fo.list_datasets()) == before


@pytest.mark.parametrize(
    "label_field, message",
    [
        ("a.b", "label_field 'a.b' cannot name a FiftyOne field"),
        ("$x", "label_field '$x' cannot name a FiftyOne field"),
        ("_x", "label_field '_x' cannot name a FiftyOne field"),
        ("caf\udce9", "label_field 'caf\\udce9' cannot name a FiftyOne field"),
        (5, "label_field 5 cannot name a FiftyOne field"),
        ("filepath", "label_field 'filepath' is a field of every sample"),
        ("id", "label_field 'id' is a field of every sample"),
        ("tags", "label_field 'tags' is a field of every sample"),
        ("coco_id", "label_field 'coco_id' is a field of every sample"),
    ],
)
def test_load_checks_label_field_before_anything(
    label_field, message, monkeypatch
):
    # never FiftyOne's or MongoDB's error halfway, never labels dropped
    # silently (a sample's "id" is not a field to fill)
    monkeypatch.setattr(tfdp.fo_adapter.coco_files, "read_coco", None)
    before = set(fo.list_datasets())
    with pytest.raises(ValueError) as e:
        tfdp.load_coco_dataset(COCO_SAMPLE, label_field=label_field)
    assert message in str(e.value)
    assert set(fo.list_datasets()) == before


def test_load_checks_name_before_anything(monkeypatch):
    monkeypatch.setattr(tfdp.fo_adapter.coco_files, "read_coco", None)
    with pytest.raises(ValueError, match=r"name 'caf\\udce9' is not UTF-8"):
        tfdp.load_coco_dataset(COCO_SAMPLE, name="caf\udce9")


# ---------------------------------------------------------------------------
# A collection that changed after it was scored


def _copy_of_a_label(dataset):
    # a label added after scoring: no stored shape
    sample = dataset.first()
    label = sample[FIELD].polylines[0].copy()
    for name in ("perimeter", "area", "pixels", "score"):
        label["tfdp_" + name] = None
    sample[FIELD].polylines.append(label)
    sample.save()


def _delete_a_label(dataset):
    sample = dataset.first()
    sample[FIELD].polylines.pop(0)
    sample.save()


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda d: d.delete_samples(d.take(10, seed=1)),
            "TFDP run 'tfdp' scored 128 samples and its samples are now 118",
        ),
        (
            lambda d: d.add_sample(
                fo.Sample(
                    filepath="/nowhere/new.jpg",
                    metadata=fo.ImageMetadata(width=10, height=10),
                )
            ),
            "TFDP run 'tfdp' scored 128 samples and its samples are now 129",
        ),
        (
            _copy_of_a_label,
            "TFDP run 'tfdp' scored 939 labels and its samples now have 940",
        ),
        (
            _delete_a_label,
            "TFDP run 'tfdp' scored 939 labels and its samples now have 938",
        ),
    ],
)
def test_samples_or_labels_changed_since_scoring_are_not_pruned(
    dataset, change, message
):
    # pruning reads the stored shapes: on another collection than the one
    # scored, it would rank samples never scored as 0 and take class
    # totals over other labels, silently
    tfdp.compute_scores(dataset, FIELD)
    preview_pruning(dataset)  # the panel's, read before the change
    change(dataset)
    with pytest.raises(TFDPError) as e:
        tfdp.prune_samples(dataset, keep_ratio=0.5)
    assert str(e.value) == (
        "%s since it scored them; run compute_scores again" % message
    )
    if "samples are now" in message:
        # the panel's preview reads the shapes again and says the same
        with pytest.raises(TFDPError, match=message):
            preview_pruning(dataset)
    assert tfdp.get_run_info(dataset)["status"] == "scored"
    assert not dataset.match_tags("tfdp:keep")

    tfdp.compute_scores(dataset, FIELD)
    assert len(tfdp.prune_samples(dataset, keep=10)) == 10


def test_a_view_whose_samples_changed_is_not_pruned(dataset):
    # take() draws again from what is left: as many samples, other ones
    view = dataset.take(40, seed=3)
    tfdp.compute_scores(view, FIELD)
    dataset.delete_samples(view.take(5, seed=4))
    assert len(dataset.load_run_view("tfdp")) == 40
    with pytest.raises(
        TFDPError,
        match=(
            "TFDP run 'tfdp' scored 40 samples and 5 of its samples now "
            "have no image score since it scored them; run compute_scores "
            "again"
        ),
    ):
        tfdp.prune_samples(dataset, keep=20)


def test_kept_samples_deleted_since_pruning_are_not_exported(
    dataset, tmp_path
):
    kept = dataset.apply_tfdp(FIELD, keep_ratio=0.5)
    dataset.delete_samples(kept.take(3, seed=0))
    out = tmp_path / "kept.json"
    with pytest.raises(TFDPError) as e:
        tfdp.export_kept(dataset, str(out))
    assert str(e.value) == (
        "TFDP run 'tfdp' kept 64 samples and 61 samples carry its tag "
        "'tfdp:keep' now: samples were deleted or tagged since it pruned; "
        "prune again"
    )
    assert not out.exists()
    dataset.apply_tfdp(FIELD, keep_ratio=0.5)
    assert tfdp.export_kept(dataset, str(out))["num_samples"] == 63
