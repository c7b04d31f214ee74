"""The Python API on FiftyOne datasets, checked against ``tfdp`` on the
source COCO file."""

import json
import os

import fiftyone as fo
import naive
import numpy as np
import pytest
from coco_sample import load_coco_sample
from pycocotools.coco import COCO
from shared_data import COCO_SAMPLE, requires_shared_data

import tfdp
from tfdp import coco, scoring
from tfdp.errors import InvalidDataError, TFDPError
from tfdp.fo_adapter import coco_files
from tfdp.fo_adapter.preview import preview_pruning

pytestmark = requires_shared_data

FIELD = "segmentations"


def test_the_tests_run_in_their_own_database():
    import fiftyone.core.odm.database as fod

    uri = os.environ["FIFTYONE_DATABASE_URI"]
    assert fo.config.database_uri == uri
    host, port = fod.get_db_client().address
    assert "mongodb://%s:%d" % (host, port) == uri


def _load(use_polylines):
    return load_coco_sample("tfdp-test-base", use_polylines)


@pytest.fixture(scope="session")
def bases():
    loaded = {"polylines": _load(True), "masks": _load(False)}
    yield loaded
    for dataset in loaded.values():
        dataset.delete()


@pytest.fixture
def polylines(bases):
    dataset = bases["polylines"].clone()
    yield dataset
    dataset.delete()


@pytest.fixture
def masks(bases):
    dataset = bases["masks"].clone()
    yield dataset
    dataset.delete()


@pytest.fixture(scope="session")
def source():
    data = coco.load_json(COCO_SAMPLE)
    return data, coco.measure(data)


def _label_values(dataset, attrs, path="segmentations.polylines"):
    columns = dataset.values(["%s.%s" % (path, a) for a in attrs])
    out = []
    for rows in zip(*columns):
        if rows[0] is None:
            continue
        out.extend(zip(*rows))
    return out


def _cli_selection(source, method, **amount):
    data, shapes = source
    order, _ = scoring.rank(shapes.table, shapes.num_images, method)
    kept = scoring.select(
        order, scoring.keep_count(shapes.num_images, **amount)
    )
    return {i for i, k in zip(shapes.image_ids, kept) if k}


def test_polylines_are_paper_exact(polylines, source):
    _, shapes = source
    tfdp.compute_scores(polylines, FIELD)
    table = shapes.table
    expected = {
        ann_id: (p, a, n, s)
        for ann_id, p, a, n, s in zip(
            table.instance_ids,
            table.perimeter.tolist(),
            table.area.tolist(),
            table.pixels.tolist(),
            table.scores("cb-scs").tolist(),
        )
    }
    got = {
        coco_id: (p, a, n, s)
        for coco_id, p, a, n, s in _label_values(
            polylines,
            [
                "coco_id",
                "tfdp_perimeter",
                "tfdp_area",
                "tfdp_pixels",
                "tfdp_score",
            ],
        )
        if p is not None
    }
    assert got.keys() == expected.keys()
    for ann_id, values in expected.items():
        assert got[ann_id][:3] == values[:3]
        assert got[ann_id][3] == pytest.approx(values[3], rel=1e-12)

    # crowd labels are not scored
    crowd = [
        p
        for c, p in _label_values(polylines, ["iscrowd", "tfdp_perimeter"])
        if c
    ]
    assert len(crowd) == 10 and set(crowd) == {None}

    # sample scores are the sums, as the command computes them
    _, image_scores = scoring.rank(table, shapes.num_images, "cb-scs")
    by_coco_id = dict(zip(shapes.image_ids, image_scores.tolist()))
    for coco_id, score in zip(*polylines.values(["coco_id", "tfdp_score"])):
        assert score == pytest.approx(by_coco_id[coco_id], rel=1e-12)


def test_masks_are_scored_as_stored(masks):
    tfdp.compute_scores(masks, FIELD, method="si-scs")
    path = "segmentations.detections"
    checked = 0
    for mask, crowd, p, a, n, s in _label_values(
        masks,
        [
            "mask",
            "iscrowd",
            "tfdp_perimeter",
            "tfdp_area",
            "tfdp_pixels",
            "tfdp_score",
        ],
        path=path,
    ):
        if crowd:
            assert p is None
            continue
        perimeter, area = naive.mask_shape(np.pad(mask, 1))
        assert (p, a, n) == (perimeter, area, int(mask.sum()))
        expected = perimeter / (2 * np.sqrt(np.pi * area)) if area else 0.0
        assert s == pytest.approx(expected, rel=1e-12)
        checked += 1
    assert checked == 929


def test_apply_tfdp_keeps_what_the_command_keeps(polylines, source):
    assert hasattr(fo.Dataset, "apply_tfdp")
    assert hasattr(fo.DatasetView, "apply_tfdp")
    kept = polylines.apply_tfdp(FIELD, keep_ratio=0.7)
    assert set(kept.values("coco_id")) == _cli_selection(
        source, "cb-scs", keep_ratio=0.7
    )
    assert len(kept) == 90
    assert polylines.count_sample_tags() == {"tfdp:keep": 90}
    assert polylines.list_saved_views() == ["tfdp-kept"]
    # the saved view is an expression, not a list of ids
    stages = [type(s).__name__ for s in kept._stages]
    assert stages == ["MatchTags", "SortBy"]
    scores = kept.values("tfdp_score")
    assert scores == sorted(scores, reverse=True)

    info = tfdp.get_run_info(polylines)
    config = info["config"]
    assert polylines.list_runs() == ["tfdp"]
    assert config["method"] == "cb-scs"
    assert config["label_field"] == FIELD
    assert config["tag"] == "tfdp:keep"
    assert config["saved_view"] == "tfdp-kept"
    assert config["keep_ratio"] == 0.7 and config["num_kept"] == 90
    assert config["tfdp_version"] == tfdp.__version__
    assert config["fields"] == [
        "segmentations.polylines.tfdp_perimeter",
        "segmentations.polylines.tfdp_area",
        "segmentations.polylines.tfdp_pixels",
        "segmentations.polylines.tfdp_score",
        "tfdp_score",
    ]
    report = info["report"]
    assert report["images"] == {
        "before": 128,
        "after": 90,
        "retention": 90 / 128,
    }
    assert report["instances"]["before"] == 929
    assert report["ineligible"] == {"crowd": 10}


def test_prune_again_from_stored_shapes(polylines, source):
    polylines.apply_tfdp(FIELD, keep_ratio=0.7)
    # another ratio and method, without reading a mask: the label field is
    # gone from what prune_samples may read
    kept = tfdp.prune_samples(polylines, prune_ratio=0.5, method="scs")
    assert set(kept.values("coco_id")) == _cli_selection(
        source, "scs", keep_ratio=0.5
    )
    assert polylines.count_sample_tags() == {"tfdp:keep": 64}
    assert tfdp.get_run_info(polylines)["config"]["method"] == "scs"
    _, shapes = source
    scs = dict(
        zip(shapes.table.instance_ids, shapes.table.scores("scs").tolist())
    )
    for coco_id, score in _label_values(polylines, ["coco_id", "tfdp_score"]):
        if score is not None:
            assert score == pytest.approx(scs[coco_id], rel=1e-12)


def test_random_is_seeded(polylines):
    a = set(
        polylines.apply_tfdp(FIELD, method="random", keep=20, seed=1).values(
            "id"
        )
    )
    b = set(tfdp.prune_samples(polylines, keep=20, seed=1).values("id"))
    c = set(tfdp.prune_samples(polylines, keep=20, seed=2).values("id"))
    assert a == b != c and len(a) == 20
    assert not polylines.has_field("tfdp_score")  # random has no scores


def test_rerun_replaces_and_keys_live_side_by_side(polylines):
    polylines.tag_samples("mine")
    polylines.apply_tfdp(FIELD, keep_ratio=0.7)
    schema = set(polylines.get_field_schema(flat=True))
    polylines.apply_tfdp(FIELD, keep_ratio=0.5, tag="best")
    assert polylines.count_sample_tags() == {"mine": 128, "best": 64}
    assert set(polylines.get_field_schema(flat=True)) == schema
    assert polylines.list_saved_views() == ["tfdp-kept"]
    assert polylines.list_runs() == ["tfdp"]

    polylines.apply_tfdp(FIELD, keep=10, run_key="small", method="scs")
    assert polylines.list_runs() == ["small", "tfdp"]
    assert polylines.count_sample_tags() == {
        "mine": 128,
        "best": 64,
        "small:keep": 10,
    }
    assert sorted(polylines.list_saved_views()) == ["small-kept", "tfdp-kept"]
    assert len(tfdp.load_kept_view(polylines, "tfdp")) == 64
    assert len(tfdp.load_kept_view(polylines, "small")) == 10

    tfdp.delete_run(polylines, "tfdp")
    assert polylines.list_runs() == ["small"]
    assert polylines.count_sample_tags() == {"mine": 128, "small:keep": 10}
    assert polylines.list_saved_views() == ["small-kept"]
    remaining = set(polylines.get_field_schema(flat=True))
    assert not any("tfdp_" in f for f in remaining)
    assert "small_score" in remaining
    assert "segmentations.polylines.small_area" in remaining
    assert len(polylines) == 128
    assert polylines.count("segmentations.polylines") == 939


def test_scoring_a_view_takes_class_totals_over_the_view(polylines, source):
    data, _ = source
    view = polylines.sort_by("coco_id").limit(40)
    kept = view.apply_tfdp(FIELD, keep_ratio=0.5)
    ids = view.values("coco_id")
    subset = coco.prune(data, ids)
    shapes = coco.measure(subset)
    order, image_scores = scoring.rank(
        shapes.table, shapes.num_images, "cb-scs"
    )
    expected = dict(zip(shapes.image_ids, image_scores.tolist()))
    for coco_id, score in zip(*view.values(["coco_id", "tfdp_score"])):
        assert score == pytest.approx(expected[coco_id], rel=1e-12)
    kept_ids = {
        i for i, k in zip(shapes.image_ids, scoring.select(order, 20)) if k
    }
    assert set(kept.values("coco_id")) == kept_ids
    # samples outside the view are untouched
    assert polylines.exists("tfdp_score").count() == 40


def test_empty_view(polylines):
    # nothing to score: refused, as a pruning would choose by nothing
    empty = polylines.match_tags("nothing")
    with pytest.raises(tfdp.TFDPError, match="it holds no label"):
        empty.apply_tfdp(FIELD, keep_ratio=0.7)
    assert tfdp.list_runs(polylines) == []


def test_lossless_export_equals_the_command(polylines, tmp_path):
    from tfdp.cli import main

    polylines.apply_tfdp(FIELD, keep_ratio=0.7)
    out = tmp_path / "kept.json"
    result = tfdp.export_kept(polylines, str(out))
    assert result["mode"] == "lossless"
    cli = tmp_path / "cli.json"
    assert (
        main(["prune", COCO_SAMPLE, "-o", str(cli), "--keep-ratio", "0.7"])
        == 0
    )
    assert out.read_bytes() == cli.read_bytes()

    # never overwrite unless asked
    with pytest.raises(tfdp.OutputExistsError):
        tfdp.export_kept(polylines, str(out))
    tfdp.prune_samples(polylines, keep=5)
    tfdp.export_kept(polylines, str(out), overwrite=True)
    assert len(json.loads(out.read_text())["images"]) == 5


def test_export_validates_only_a_source_that_changed(
    polylines, tmp_path, monkeypatch
):
    # the bytes the load validated are exported from without measuring
    # them again; other bytes at the source's path are validated, as the
    # load would validate them
    data = json.load(open(COCO_SAMPLE))
    source = tmp_path / "source.json"
    source.write_text(json.dumps(data))
    info = polylines.info[coco_files.SOURCE_INFO_KEY]
    info["labels_path"] = str(source)
    info["sha256"] = coco_files.read_coco(str(source))[2]
    polylines.save()
    polylines.apply_tfdp(FIELD, keep_ratio=0.7)
    expected = tmp_path / "expected.json"
    tfdp.export_kept(polylines, str(expected))

    measure = coco.measure
    calls = []
    monkeypatch.setattr(
        coco, "measure", lambda *a, **k: calls.append(1) or measure(*a, **k)
    )
    same = tmp_path / "same.json"
    assert tfdp.export_kept(polylines, str(same))["mode"] == "lossless"
    assert same.read_bytes() == expected.read_bytes()
    assert calls == []

    data["annotations"][0]["segmentation"] = [[0, 0, 1]]  # an odd polygon
    source.write_text(json.dumps(data))
    with pytest.raises(InvalidDataError, match="annotation"):
        tfdp.export_kept(polylines, str(tmp_path / "changed.json"))
    assert calls == [1]
    assert not (tmp_path / "changed.json").exists()


def test_fiftyone_export_without_source(masks, tmp_path):
    masks.info.pop(coco_files.SOURCE_INFO_KEY)
    masks.save()
    masks.apply_tfdp(FIELD, keep_ratio=0.5)
    out = tmp_path / "kept.json"
    result = tfdp.export_kept(masks, str(out))
    assert result["mode"] == "fiftyone"
    loaded = COCO(str(out))
    written = json.loads(out.read_text())
    original = json.load(open(COCO_SAMPLE))
    assert written["categories"] == original["categories"]
    kept = set(tfdp.load_kept_view(masks).values("coco_id"))
    assert {im["id"] for im in written["images"]} == kept
    assert len(loaded.getAnnIds()) == sum(
        a["image_id"] in kept for a in original["annotations"]
    )
    assert not any("tfdp" in key for a in written["annotations"] for key in a)
    with pytest.raises(tfdp.OutputExistsError):
        tfdp.export_kept(masks, str(out))
    assert [p.name for p in tmp_path.iterdir()] == ["kept.json"]


def test_bad_field_method_and_keys(polylines):
    with pytest.raises(
        ValueError,
        match="has no field 'nope'; compatible fields: segmentations",
    ):
        tfdp.compute_scores(polylines, "nope")
    with pytest.raises(ValueError, match="field 'coco_id' is a IntField"):
        tfdp.compute_scores(polylines, "coco_id")
    with pytest.raises(ValueError, match="invalid run key '2bad'"):
        tfdp.compute_scores(polylines, FIELD, run_key="2bad")
    with pytest.raises(ValueError, match="unknown method 'el2n'"):
        tfdp.compute_scores(polylines, FIELD, method="el2n")
    with pytest.raises(ValueError, match="exactly one"):
        polylines.apply_tfdp(FIELD, keep_ratio=0.5, keep=3)
    # before anything is scored: no run is recorded
    for keep, message in (
        (0, "keep must be a positive integer, not 0"),
        (200, "keep 200 exceeds the 128 images"),
    ):
        with pytest.raises(ValueError, match=message):
            polylines.apply_tfdp(FIELD, keep=keep)
    assert not tfdp.list_runs(polylines)
    with pytest.raises(TFDPError, match="has no run 'tfdp'"):
        tfdp.prune_samples(polylines, keep=3)

    polylines.register_run("other", polylines.init_run(method="x"))
    with pytest.raises(TFDPError, match="taken by another kind of run"):
        tfdp.compute_scores(polylines, FIELD, run_key="other")
    polylines.set_values("mine_score", [1.0] * len(polylines))
    with pytest.raises(TFDPError, match="already has field.*mine_score"):
        tfdp.compute_scores(polylines, FIELD, run_key="mine")
    assert polylines.values("mine_score") == [1.0] * 128

    tfdp.compute_scores(polylines, FIELD)
    with pytest.raises(TFDPError, match="no kept samples yet"):
        tfdp.load_kept_view(polylines)
    with pytest.raises(TFDPError, match="already has a TFDP run"):
        tfdp.compute_scores(polylines, FIELD, overwrite=False)


def test_malformed_labels(polylines):
    sample = polylines.match(fo.ViewField("coco_id") == 9).first()
    label = sample.segmentations.polylines[0]
    label.points = [[[0.1, float("nan")], [0.2, 0.3], [0.4, 0.5]]]
    sample.save()
    with pytest.raises(InvalidDataError) as e:
        tfdp.compute_scores(polylines, FIELD)
    message = str(e.value)
    assert "1 malformed label:" in message
    assert (
        "label %s (sample %s): position 0 of segmentations.polylines: "
        "polyline has non-finite points" % (label.id, sample.id)
    ) in message
    assert polylines.list_runs() == []
    assert "tfdp_score" not in polylines.get_field_schema()

    measured = tfdp.compute_scores(polylines, FIELD, skip_invalid=True)
    assert [p.id for p in measured.invalid] == [label.id]
    assert tfdp.get_run_info(polylines)["config"]["invalid"][0]["id"] == (
        label.id
    )


def test_detections_without_masks_are_not_scored(masks):
    masks.set_values(
        "segmentations.detections.mask",
        [
            [None] * len(d) if d else None
            for d in masks.values("segmentations.detections")
        ],
    )
    # a field of boxes only: refused, saying what TFDP needs and what the
    # field holds, and no run is recorded
    with pytest.raises(tfdp.TFDPError) as raised:
        tfdp.compute_scores(masks, FIELD)
    assert str(raised.value).endswith(
        "no label can be scored. TFDP needs instance masks or polygons, not "
        "crowd or ignored, with a bbox inside the image; it holds 939 "
        "labels: 10 crowd, 929 empty segmentation"
    )
    assert tfdp.list_runs(masks) == []


def test_existing_apply_tfdp_is_not_replaced():
    class Collection(object):
        def apply_tfdp(self):
            return "theirs"

    module = type("module", (), {"SampleCollection": Collection})
    tfdp._add_apply_tfdp(module)
    assert Collection().apply_tfdp() == "theirs"


@pytest.mark.parametrize("ratio", [0.3, 0.7, 1.0])
def test_preview_equals_the_pruning(polylines, ratio):
    polylines.apply_tfdp(FIELD, keep_ratio=0.5)
    tags = polylines.count_sample_tags()
    for method in ("cb-scs", "scs", "random"):
        preview = preview_pruning(polylines, keep_ratio=ratio, method=method)
        assert polylines.count_sample_tags() == tags  # nothing written
        kept = tfdp.prune_samples(
            polylines, keep_ratio=ratio, method=method, tag="check"
        )
        report = tfdp.get_run_info(polylines)["report"]
        for key in ("images", "instances", "sizes"):
            assert preview[key] == report[key], (method, key)
        assert sorted(preview["classes"], key=lambda c: c["name"]) == sorted(
            (
                {k: c[k] for k in ("name", "before", "after", "retention")}
                for c in report["classes"]
            ),
            key=lambda c: c["name"],
        )
        assert set(preview["kept_view"].values("id")) == set(kept.values("id"))
        assert len(preview["removed_view"]) == 128 - len(kept)
        if method != "random":
            assert preview["cutoff"] == min(kept.values("tfdp_score"))
            assert sum(preview["histogram"]["counts"]) == 128
        tfdp.prune_samples(polylines, keep_ratio=0.5, method="cb-scs")


def test_mask_path_is_read_from_disk(masks, tmp_path):
    import cv2

    tfdp.compute_scores(masks, FIELD, run_key="stored")
    expected = _label_values(
        masks,
        ["id", "stored_perimeter", "stored_area"],
        path="segmentations.detections",
    )
    for sample in masks.exists(FIELD).iter_samples(autosave=True):
        for det in sample.segmentations.detections:
            path = str(tmp_path / ("%s.png" % det.id))
            cv2.imwrite(path, det.mask.astype(np.uint8) * 255)
            det.mask = None
            det.mask_path = path
    tfdp.compute_scores(masks, FIELD, run_key="from_disk")
    got = _label_values(
        masks,
        ["id", "from_disk_perimeter", "from_disk_area"],
        path="segmentations.detections",
    )
    assert got == expected


def test_missing_metadata_is_computed(polylines, source):
    polylines.set_values("metadata", [None] * len(polylines))
    tfdp.compute_scores(polylines, FIELD, method="scs")
    assert polylines.count("metadata.width") == 128
    _, shapes = source
    expected = sorted(shapes.table.scores("scs").tolist())
    got = sorted(
        s
        for _, s in _label_values(polylines, ["id", "tfdp_score"])
        if s is not None
    )
    assert got == pytest.approx(expected, rel=1e-12)


def test_an_undeclared_label_attribute_is_never_overwritten(masks):
    # a dynamic attribute, not in the schema, with the name of a run field
    sample = masks.match(fo.ViewField("coco_id") == 9).first()
    label = sample.segmentations.detections[1]
    label["tfdp_area"] = "mine"
    sample.save()
    assert not masks.has_field("segmentations.detections.tfdp_area")
    with pytest.raises(TFDPError) as raised:
        tfdp.compute_scores(masks, FIELD)
    message = str(raised.value)
    assert "segmentations.detections.tfdp_area" in message
    assert sample.id in message and label.id in message
    assert "choose another run_key" in message
    assert not tfdp.list_runs(masks)
    assert not masks.has_field("segmentations.detections.tfdp_perimeter")
    assert not masks.has_field("tfdp_score")
    sample.reload()
    assert sample.segmentations.detections[1]["tfdp_area"] == "mine"
    # another key is free
    tfdp.compute_scores(masks, FIELD, run_key="other")
    tfdp.delete_run(masks, "other")
    sample.reload()
    assert sample.segmentations.detections[1]["tfdp_area"] == "mine"

    # nor by a pruning that scores a random run's shapes
    tfdp.compute_scores(masks, FIELD, method="random", run_key="rnd")
    sample.reload()
    sample.segmentations.detections[1]["rnd_score"] = "mine too"
    sample.save()
    with pytest.raises(TFDPError, match="rnd_score.*choose another run_key"):
        tfdp.prune_samples(masks, run_key="rnd", keep=3, method="cb-scs")
    sample.reload()
    assert sample.segmentations.detections[1]["rnd_score"] == "mine too"
    assert not masks.has_field("rnd_score")
