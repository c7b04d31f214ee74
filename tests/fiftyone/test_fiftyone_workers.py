"""FiftyOne runs measured on Dask workers write the same fields, bit for
bit, as runs measured in one process."""

import pytest
from coco_sample import coco_sample_fixture, run_values
from shared_data import requires_shared_data

import tfdp
from tfdp.errors import TFDPError
from tfdp.fo_adapter import labels

pytestmark = requires_shared_data

FIELD = "segmentations"


dataset = coco_sample_fixture("dataset", "tfdp-test-workers")


def _same_run(dataset, key_a, key_b):
    a = dataset.get_run_info(key_a).config
    b = dataset.get_run_info(key_b).config
    values = run_values(dataset, FIELD, key_a)
    assert sum(s is not None for s in values[-1]) > 50
    assert values == run_values(dataset, FIELD, key_b)
    assert a.num_instances == b.num_instances
    assert a.ineligible == b.ineligible


def test_local_cluster_writes_the_serial_fields(dataset, monkeypatch):
    # several shards, the last one short, so that the join order matters
    monkeypatch.setattr(labels, "SHARD_SIZE", 13)
    serial = tfdp.compute_scores(dataset, FIELD, run_key="serial")
    workers = tfdp.compute_scores(
        dataset, FIELD, run_key="workers", num_workers=2
    )
    assert len(serial.table) == len(workers.table) == 929
    _same_run(dataset, "serial", "workers")
    for key in ("serial", "workers"):
        tfdp.delete_run(dataset, key)


def test_a_filtered_view_on_a_loopback_cluster(
    dataset, loopback_scheduler, monkeypatch
):
    # labels filtered out keep their positions: values land where read
    from fiftyone import ViewField as F

    monkeypatch.setattr(labels, "SHARD_SIZE", 17)
    view = dataset.filter_labels(FIELD, F("label") != "person").skip(3)
    serial = tfdp.apply_tfdp(view, FIELD, keep_ratio=0.4, run_key="serial")
    workers = view.apply_tfdp(
        FIELD,
        keep_ratio=0.4,
        run_key="workers",
        scheduler=loopback_scheduler,
    )
    assert serial.values("id") == workers.values("id")
    _same_run(dataset, "serial", "workers")
    for key in ("serial", "workers"):
        tfdp.delete_run(dataset, key)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_workers=0), "num_workers: 0 is not a number of workers"),
        (dict(num_workers="2"), "num_workers: '2' is not a number of workers"),
        (dict(num_workers=True), "num_workers: True is not a number"),
        (dict(num_workers=10**9), "from 1 to the \\d+ cores of this machine"),
        (dict(scheduler=""), "scheduler: '' is not a Dask scheduler address"),
        (dict(scheduler=8786), "scheduler: 8786 is not a Dask scheduler"),
        (dict(scheduler="inproc://x"), "is not a Dask scheduler address"),
        (dict(scheduler="not-an-address"), "is not a Dask scheduler address"),
        (dict(scheduler="tcp://h:99999"), "is not a Dask scheduler address"),
        (dict(scheduler="tcp://h:1\n"), "is not a Dask scheduler address"),
    ],
)
def test_worker_arguments_are_checked_first(dataset, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tfdp.compute_scores(dataset, FIELD, run_key="bad", **kwargs)
    assert "bad" not in dataset.list_runs()


def test_an_unreachable_scheduler_fails_before_anything_is_read(
    dataset, monkeypatch
):
    from tfdp.engine import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    view = dataset.limit(5)
    saved = view.values("metadata")
    view.set_values("metadata", [None] * 5)
    try:
        with pytest.raises(TFDPError, match="cannot reach the Dask scheduler"):
            tfdp.compute_scores(
                view, FIELD, run_key="bad", scheduler="tcp://127.0.0.1:9"
            )
        assert len(view.exists("metadata")) == 0  # not computed
        assert "bad" not in dataset.list_runs()
    finally:
        view.set_values("metadata", saved)


def test_a_listener_that_never_answers_fails_in_bounded_time(dataset):
    # Dask's own connect waits for an answer forever: the run, in a process
    # of its own, must end with the error, and record nothing
    import subprocess
    import sys

    from loopback import silent_listener

    code = (
        "import sys\n"
        "import fiftyone as fo\n"
        "import tfdp\n"
        "from tfdp.engine import cluster\n"
        "cluster.CONNECT_TIMEOUT = 2\n"
        "try:\n"
        "    tfdp.compute_scores(fo.load_dataset(sys.argv[1]), %r,\n"
        "                        run_key='bad', scheduler=sys.argv[2])\n"
        "except tfdp.TFDPError as e:\n"
        "    print(e)\n" % FIELD
    )
    close, address = silent_listener()
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, dataset.name, address],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        close()
    assert done.stdout == (
        "no Dask scheduler answered at %s within 2 s\n" % address
    ), done.stderr
    assert "bad" not in dataset.list_runs()


def test_views_generated_from_another_are_refused_first(dataset):
    groups = dataset.group_by("coco_id")
    with pytest.raises(ValueError, match="use num_workers=1"):
        tfdp.compute_scores(groups, FIELD, run_key="bad", num_workers=2)


def test_a_worker_that_cannot_find_the_dataset_says_so(dataset):
    uri = labels.database_uri()
    with pytest.raises(TFDPError, match="cannot find the dataset"):
        labels._open_collection(uri, False, dataset.name, "0" * 24, None)
    with pytest.raises(TFDPError, match="cannot find the dataset"):
        labels._open_collection(uri, False, "no-such-dataset", "0" * 24, None)


def test_unreadable_values_name_the_same_first_sample(dataset, monkeypatch):
    # values that FiftyOne cannot decode, in two shards: one process and
    # the workers name the first of them in collection order
    from bson import ObjectId

    if not dataset.has_field("segmentations.detections"):
        pytest.skip("masks only")
    monkeypatch.setattr(labels, "SHARD_SIZE", 7)
    broken = dataset.clone()
    try:
        ids = broken.values("id")
        documents = broken._sample_collection
        documents.update_one(
            {"_id": ObjectId(ids[3])},
            {"$set": {"segmentations.detections.0.mask": "not a mask"}},
        )
        documents.update_one(
            {"_id": ObjectId(ids[20])},
            {
                "$set": {
                    "segmentations.detections.0.bounding_box": [None, 0, 1, 1]
                }
            },
        )
        messages = []
        for num_workers in (1, 2):
            with pytest.raises(TFDPError) as error:
                tfdp.compute_scores(broken, FIELD, num_workers=num_workers)
            messages.append(str(error.value))
        assert messages[0] == messages[1]
        assert "of sample %s cannot be read" % ids[3] in messages[0]
    finally:
        broken.delete()
