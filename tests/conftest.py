"""Test setup: paths to the shared data and a private FiftyOne database."""

import atexit
import json
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Before anything imports fiftyone: the tests run in a mongod of their own,
# on their own folder, never in the user's database (FiftyOne's service
# would attach to one already running); processes the tests start inherit it
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import database  # noqa: E402

TEST_DB = os.path.join(ROOT, ".fiftyone", "test-db")
_database = database.private_database(TEST_DB)
os.environ["FIFTYONE_DATABASE_URI"] = _database.__enter__()
atexit.register(_database.__exit__, None, None, None)
os.environ["FIFTYONE_DATABASE_DIR"] = TEST_DB
os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

DATA = os.path.abspath(os.path.join(ROOT, "..", "shared", "data"))
if not os.path.isdir(DATA):
    raise RuntimeError(
        "the tests need the real annotation files in %s" % DATA
    )

COCO_SAMPLE = os.path.join(DATA, "coco2017-sample", "instances.json")
VOC = os.path.join(DATA, "voc2012-instances", "instances_train.json")
LVIS = os.path.join(DATA, "lvis-v0.5-val100", "lvis_val_100.json")
TACO = os.path.join(DATA, "taco-unofficial", "annotations_unofficial.json")
PANOPTIC = os.path.join(
    DATA, "coco-panoptic-sample", "panoptic_coco_detection_format.json"
)
REAL_FILES = {
    "coco2017-sample": COCO_SAMPLE,
    "voc2012": VOC,
    "lvis": LVIS,
    "taco": TACO,
    "panoptic": PANOPTIC,
}

COCO_SAMPLE_IMAGES = os.path.join(DATA, "coco2017-sample", "images")


def load_coco_sample(prefix, use_polylines):
    """The COCO sample as a new FiftyOne dataset named ``prefix-<random>``:
    polygons as polylines, or as masks rasterised by FiftyOne."""
    import uuid

    import tfdp

    return tfdp.load_coco_dataset(
        COCO_SAMPLE,
        data_path=COCO_SAMPLE_IMAGES,
        name="%s-%s" % (prefix, uuid.uuid4().hex[:8]),
        use_polylines=use_polylines,
    )


def coco_sample_fixture(name, prefix):
    """A module-scoped fixture ``name``: the COCO sample loaded with
    polylines, then with masks, deleted afterwards."""

    @pytest.fixture(scope="module", params=["polylines", "masks"], name=name)
    def fixture(request):
        dataset = load_coco_sample(prefix, request.param == "polylines")
        yield dataset
        dataset.delete()

    return fixture


def run_values(samples, label_field, run_key):
    """Every value a TFDP run wrote: the four per label, the image score."""
    from tfdp.fo_adapter.fields import label_list_path

    path = label_list_path(samples, label_field)
    return samples.values(
        ["%s.%s_%s" % (path, run_key, name)
         for name in ("perimeter", "area", "pixels", "score")]
        + ["%s_score" % run_key]
    )


# The plugin, as a user would install it: a plugins folder linking to the
# repository (hidden folders are not searched, so the link cannot loop)
PLUGINS_DIR = os.path.join(ROOT, ".fiftyone", "plugins")
os.makedirs(PLUGINS_DIR, exist_ok=True)
_LINK = os.path.join(PLUGINS_DIR, "tfdp")
if not os.path.islink(_LINK):
    os.symlink(ROOT, _LINK)
os.environ["FIFTYONE_PLUGINS_DIR"] = PLUGINS_DIR


# A loopback Dask cluster: separate `dask scheduler` and `dask worker`
# processes, as on a real cluster
DASK = os.path.join(os.path.dirname(sys.executable), "dask")


def scheduler_command(scheduler_file):
    """``dask scheduler`` listening on 127.0.0.1 only: --host binds the
    scheduler, and its HTTP server (which runs even with --no-dashboard)
    binds where --dashboard-address says, every interface by default."""
    return [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
            "--dashboard-address", "127.0.0.1:0", "--no-dashboard",
            "--scheduler-file", str(scheduler_file)]


def worker_command(address):
    """A single-threaded ``dask worker`` (and its nanny) listening on
    127.0.0.1 only, its HTTP server included."""
    return [DASK, "worker", address, "--nthreads", "1", "--host",
            "127.0.0.1", "--dashboard-address", "127.0.0.1:0",
            "--no-dashboard"]


def _start(args, log):
    return subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _end(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="session")
def loopback_scheduler(tmp_path_factory):
    """A ``dask scheduler`` and two single-threaded ``dask worker``
    processes on 127.0.0.1, always ended afterwards."""
    folder = tmp_path_factory.mktemp("loopback")
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "dask.log", "w")
    processes = []
    try:
        processes.append(_start(scheduler_command(scheduler_file), log))
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            assert time.monotonic() < deadline, "scheduler did not start"
            assert processes[0].poll() is None, "scheduler exited"
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written whole, then read
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            processes.append(_start(worker_command(address), log))
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            _end(process)
        log.close()
