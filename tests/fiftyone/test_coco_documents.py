"""The loader's documents (tfdp/fo_adapter/coco_documents.py) are those that
FiftyOne's importer and adding ``fo.Sample`` objects write: every field of
every sample and label, in the same order, and the same declared fields;
sample and label ids, ``_rand`` and timestamps aside. On the real COCO
sample and on generated files, with polylines and with masks.
"""

import json
import os
import uuid

import fiftyone as fo
import pytest
import yaml
from fuzz_documents import corrupted_documents, documents
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shared_data import (
    COCO_SAMPLE,
    COCO_SAMPLE_IMAGES,
    ROOT,
    requires_shared_data,
)
from test_fuzz_fiftyone import _file_names_are_usable, _ints_fit_in_64_bits

import tfdp
from tfdp.fo_adapter import coco_documents

pytestmark = requires_shared_data

FUZZ = settings(
    max_examples=max(1, int(os.environ.get("TFDP_FUZZ_EXAMPLES", "30")) // 2),
    derandomize="TFDP_FUZZ_EXAMPLES" not in os.environ,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)

# what differs between two loads of the same file
UNIQUE = {"_id", "_rand", "_dataset_id", "created_at", "last_modified_at"}
IMPORTER = dict(
    dataset_type=fo.types.COCODetectionDataset,
    label_types="segmentations",
    include_id=True,
    include_annotation_id=True,
    progress=False,
)


def _name():
    return "tfdp-test-documents-%s" % uuid.uuid4().hex[:8]


def _comparable(value, ordered=True):
    # dicts as lists of items when the order of the keys counts
    if isinstance(value, dict):
        items = [
            (k, _comparable(v, ordered))
            for k, v in value.items()
            if k not in UNIQUE
        ]
        return items if ordered else dict(items)
    if isinstance(value, (list, tuple)):
        return [_comparable(v, ordered) for v in value]
    return value


def _documents(dataset, ordered=True):
    docs = dataset._sample_collection.find().sort("filepath")
    return [_comparable(doc, ordered) for doc in docs]


def _fields(dataset):
    return {
        path: (
            type(field).__name__,
            getattr(field, "document_type", None),
            type(getattr(field, "field", None)).__name__,
        )
        for path, field in dataset.get_field_schema(flat=True).items()
    }


def _slow(monkeypatch, *args, **kwargs):
    # the per-object path, as with a FiftyOne release outside the range
    with monkeypatch.context() as m:
        m.setattr(coco_documents, "supported", lambda: False)
        return tfdp.load_coco_dataset(*args, **kwargs)


def _importer(path, use_polylines):
    with open(path) as f:
        images = json.load(f)["images"]
    folder = os.path.dirname(path)
    return fo.Dataset.from_dir(
        labels_path=path,
        # a manifest: the importer needs no image file when the JSON gives
        # the sizes
        data_path={
            im["file_name"]: os.path.join(folder, im["file_name"])
            for im in images
        },
        use_polylines=use_polylines,
        name=_name(),
        **IMPORTER,
    )


def _check_same(fast, slow, importer=None):
    # the slow path's documents, in the same order of keys; the importer's,
    # which sets coco_id after the labels
    others = (slow,) if importer is None else (slow, importer)
    try:
        assert _documents(fast), "no sample to compare"
        assert _documents(slow) == _documents(fast)
        if importer is not None:
            assert _documents(importer, ordered=False) == _documents(
                fast, ordered=False
            )
        for other in others:
            assert _fields(other) == _fields(fast)
            assert other.media_type == fast.media_type
    finally:
        for dataset in (fast,) + others:
            dataset.delete()


@pytest.mark.parametrize(
    "use_polylines", [True, False], ids=["polylines", "masks"]
)
def test_real_sample_as_the_importer_and_the_slow_path(
    use_polylines, monkeypatch
):
    kwargs = dict(
        data_path=COCO_SAMPLE_IMAGES,
        use_polylines=use_polylines,
        progress=False,
    )
    fast = tfdp.load_coco_dataset(COCO_SAMPLE, name=_name(), **kwargs)
    assert len(fast) == 128
    assert (
        fast.count(
            "segmentations.%s"
            % ("polylines" if use_polylines else "detections")
        )
        > 900
    )
    slow = _slow(monkeypatch, COCO_SAMPLE, name=_name(), **kwargs)
    importer = fo.Dataset.from_dir(
        labels_path=COCO_SAMPLE,
        data_path=COCO_SAMPLE_IMAGES,
        use_polylines=use_polylines,
        name=_name(),
        **IMPORTER,
    )
    _check_same(fast, slow, importer)


def _write(tmp_path, doc):
    path = tmp_path / ("%s.json" % uuid.uuid4().hex[:8])
    path.write_text(json.dumps(doc))
    return str(path)


@FUZZ
@given(doc=documents(), use_polylines=st.booleans())
def test_generated_files_as_the_importer(
    tmp_path, monkeypatch, doc, use_polylines
):
    # the importer keeps what tfdp skips as empty ([[]]), and reads ids
    # differently; on the files both read, the documents are the same
    assume(
        all(
            ann["segmentation"] not in ([], [[]], None)
            for ann in doc["annotations"]
        )
    )
    path = _write(tmp_path, doc)
    try:
        fast = tfdp.load_coco_dataset(
            path, name=_name(), progress=False, use_polylines=use_polylines
        )
    except tfdp.TFDPError:
        assume(False)
    slow = _slow(
        monkeypatch,
        path,
        name=_name(),
        progress=False,
        use_polylines=use_polylines,
    )
    _check_same(fast, slow, _importer(path, use_polylines))


@FUZZ
@given(doc=corrupted_documents(), use_polylines=st.booleans())
def test_corrupted_files_as_the_slow_path(
    tmp_path, monkeypatch, doc, use_polylines
):
    assume(_file_names_are_usable(doc) and _ints_fit_in_64_bits(doc))
    path = _write(tmp_path, doc)
    outcomes = []
    for load in (
        tfdp.load_coco_dataset,
        lambda *a, **k: _slow(monkeypatch, *a, **k),
    ):
        try:
            outcomes.append(
                load(
                    path,
                    name=_name(),
                    progress=False,
                    use_polylines=use_polylines,
                )
            )
        except Exception as e:  # the same refusal, of the same record
            outcomes.append("%s: %s" % (type(e).__name__, e))
    fast, slow = outcomes
    if isinstance(fast, str) or isinstance(slow, str):
        for dataset in outcomes:
            if not isinstance(dataset, str):
                dataset.delete()
        assert fast == slow
    else:
        _check_same(fast, slow)


@pytest.mark.parametrize(
    "supercategory",
    [
        [None, {"e": 1.5, "f.g": {"h": None}}],
        {"_cls": "NotADocument"},  # FiftyOne refuses it
    ],
)
def test_attributes_that_are_not_scalars(tmp_path, monkeypatch, supercategory):
    # only a category's supercategory can be any JSON value
    doc = {
        "images": [{"id": 1, "width": 4, "height": 4, "file_name": "a.jpg"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 2, 2],
                "segmentation": [[0, 0, 2, 0, 2, 2]],
                "ignore": 1,
            }
        ],
        "categories": [{"id": 1, "name": "x", "supercategory": supercategory}],
    }
    path = _write(tmp_path, doc)
    for use_polylines in (True, False):
        outcomes = []
        for load in (
            tfdp.load_coco_dataset,
            lambda *a, **k: _slow(monkeypatch, *a, **k),
        ):
            try:
                outcomes.append(
                    load(
                        path,
                        name=_name(),
                        progress=False,
                        use_polylines=use_polylines,
                    )
                )
            except tfdp.TFDPError as e:
                outcomes.append(str(e))
        if "_cls" in supercategory:
            assert outcomes[0] == outcomes[1]
            assert (
                "FiftyOne cannot convert annotation 1 (image 1)" in outcomes[0]
            )
        else:
            _check_same(*outcomes)


def test_no_label_declares_no_label_field(tmp_path, monkeypatch):
    doc = {
        "images": [{"id": 1, "width": 4, "height": 4, "file_name": "a.jpg"}],
        "annotations": [],
        "categories": [],
    }
    path = _write(tmp_path, doc)
    fast = tfdp.load_coco_dataset(path, name=_name(), progress=False)
    assert not fast.has_field("segmentations")
    _check_same(fast, _slow(monkeypatch, path, name=_name(), progress=False))


def test_batches_make_the_same_documents(tmp_path, monkeypatch):
    # several batches, with one in flight while the next is built
    with open(COCO_SAMPLE) as f:
        doc = json.load(f)
    monkeypatch.setattr(coco_documents, "BATCH_SAMPLES", 7)
    monkeypatch.setattr(coco_documents, "BATCH_LABELS", 50)
    updates = []
    fast = tfdp.load_coco_dataset(
        COCO_SAMPLE,
        name=_name(),
        progress=lambda bar: updates.append(bar.iteration),
    )
    assert updates[-1] == len(doc["images"]) == len(fast)
    _check_same(
        fast, _slow(monkeypatch, COCO_SAMPLE, name=_name(), progress=False)
    )


def test_masks_made_in_other_processes_or_here_are_the_same(monkeypatch):
    # in small tasks and chunks, by the process pool and, where processes
    # cannot be forked, in the inserting thread
    monkeypatch.setattr(coco_documents, "MASK_TASK_LABELS", 7)
    monkeypatch.setattr(coco_documents, "MASK_CHUNK_PIXELS", 5000)
    pooled = tfdp.load_coco_dataset(
        COCO_SAMPLE, name=_name(), progress=False, use_polylines=False
    )
    monkeypatch.setattr(
        coco_documents.multiprocessing,
        "get_all_start_methods",
        lambda: ["spawn"],
    )
    here = tfdp.load_coco_dataset(
        COCO_SAMPLE, name=_name(), progress=False, use_polylines=False
    )
    try:
        assert _documents(here) == _documents(pooled)
    finally:
        here.delete()
    slow = _slow(
        monkeypatch,
        COCO_SAMPLE,
        name=_name(),
        progress=False,
        use_polylines=False,
    )
    _check_same(pooled, slow)


@pytest.mark.parametrize("fork", [True, False])
def test_a_mask_that_cannot_be_made_is_named(monkeypatch, fork):
    # validated masks are always made; were one not, the error names its
    # annotation and image, and no dataset is left
    data = json.load(open(COCO_SAMPLE))
    bad = data["annotations"][100]
    box_masks = coco_documents.box_masks

    def failing(segmentations, boxes, frame_sizes):
        if bad["bbox"] in boxes:
            raise ValueError("no mask")
        return box_masks(segmentations, boxes, frame_sizes)

    monkeypatch.setattr(coco_documents, "box_masks", failing)
    if not fork:
        monkeypatch.setattr(
            coco_documents.multiprocessing,
            "get_all_start_methods",
            lambda: ["spawn"],
        )
    assert _failed_load(use_polylines=False) == (
        "%s: FiftyOne cannot convert annotation %s (image %s): no mask"
        % (COCO_SAMPLE, bad["id"], bad["image_id"])
    )


def _failed_load(**kwargs):
    # the message of a load of the sample that fails, leaving no dataset
    before = set(fo.list_datasets())
    with pytest.raises(tfdp.TFDPError) as e:
        tfdp.load_coco_dataset(COCO_SAMPLE, progress=False, **kwargs)
    assert set(fo.list_datasets()) == before
    return str(e.value)


def _killed(*args):
    os._exit(1)


@pytest.mark.parametrize("use_polylines", [False, True])
def test_a_process_that_dies_is_said_and_leaves_no_dataset(
    monkeypatch, use_polylines
):
    # a forked process that makes masks (or traces crowds into polylines)
    # is killed, as by the kernel when memory runs out
    if use_polylines:
        monkeypatch.setattr(coco_documents, "_polygons", _killed)
    else:
        monkeypatch.setattr(coco_documents, "box_masks", _killed)
    assert _failed_load(use_polylines=use_polylines) == (
        "%s: a process making masks or polylines stopped before it finished "
        "(killed, for example for lack of memory)" % COCO_SAMPLE
    )


def test_a_failed_insert_leaves_no_dataset(tmp_path, monkeypatch):
    before = set(fo.list_datasets())
    monkeypatch.setattr(coco_documents, "BATCH_SAMPLES", 10)
    calls = []

    def insert(self, docs, *args):
        calls.append(len(docs))
        if len(calls) == 3:
            raise ValueError("refused by the database")
        return original(self, docs, *args)

    original = coco_documents._Writer.insert
    monkeypatch.setattr(coco_documents._Writer, "insert", insert)
    with pytest.raises(ValueError, match="refused by the database"):
        tfdp.load_coco_dataset(COCO_SAMPLE, progress=False)
    assert set(fo.list_datasets()) == before


def test_versions_are_fiftyone_ymls():
    with open(os.path.join(ROOT, "fiftyone.yml")) as f:
        declared = yaml.safe_load(f)["fiftyone"]["version"]
    assert coco_documents.FIFTYONE_VERSIONS == declared
    assert coco_documents.supported(fo.__version__)
    assert coco_documents.supported("1.22.0")
    assert not coco_documents.supported("1.23.0")
    assert not coco_documents.supported("1.21.9")
    assert not coco_documents.supported("not a version")


def test_outside_the_range_loads_objects_and_warns_once(monkeypatch, caplog):
    monkeypatch.setattr(coco_documents, "supported", lambda: False)
    monkeypatch.setattr(coco_documents, "_warned", [])
    add_samples = []
    original = fo.Dataset.add_samples
    monkeypatch.setattr(
        fo.Dataset,
        "add_samples",
        lambda self, *a, **k: add_samples.append(1) or original(self, *a, **k),
    )
    with caplog.at_level("WARNING", logger=coco_documents.__name__):
        for _ in range(2):
            tfdp.load_coco_dataset(COCO_SAMPLE, progress=False).delete()
    assert len(add_samples) == 2
    warnings = [
        r for r in caplog.records if "is not in >=1.22,<1.23" in r.getMessage()
    ]
    assert len(warnings) == 1


def _scored(dataset, run_key, monkeypatch, public):
    with monkeypatch.context() as m:
        if public:
            m.setattr(coco_documents, "supported", lambda: False)
        try:
            tfdp.compute_scores(
                dataset,
                "segmentations",
                run_key=run_key,
                skip_invalid=True,
                progress=False,
            )
        except tfdp.TFDPError as e:  # the same refusal
            return str(e)
    config = tfdp.get_run_info(dataset, run_key)["config"]
    path = "segmentations.polylines."
    return (
        dataset.values(
            [
                path + run_key + "_" + n
                for n in ("perimeter", "area", "pixels", "score")
            ]
            + [run_key + "_score"]
        ),
        config["ineligible"],
        config["invalid"],
    )


def _check_scores_read_as_stored(path, monkeypatch):
    # points read as stored, and as FiftyOne's values() converts them
    dataset = tfdp.load_coco_dataset(path, name=_name(), progress=False)
    try:
        if not dataset.has_field("segmentations"):
            return
        fast = _scored(dataset, "fast", monkeypatch, public=False)
        public = _scored(dataset, "public", monkeypatch, public=True)
        assert fast == public
    finally:
        dataset.delete()


def test_real_sample_scores_read_as_stored(monkeypatch):
    _check_scores_read_as_stored(COCO_SAMPLE, monkeypatch)


@FUZZ
@given(doc=documents())
def test_generated_scores_read_as_stored(tmp_path, monkeypatch, doc):
    path = _write(tmp_path, doc)
    _check_scores_read_as_stored(path, monkeypatch)
