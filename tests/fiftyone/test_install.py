"""The plugin installed the FiftyOne way, in an environment that has only
FiftyOne: ``fiftyone plugins download`` of the repository's zip, then
``fiftyone plugins requirements @tfdp/tfdp --install``, then the operators
called from Python, as docs/python.md shows."""

import functools
import http.server
import os
import subprocess
import sys
import threading
import zipfile

import fiftyone.constants as foc
import pytest
from shared_data import ROOT, tracked_files

# what a user runs once the plugin and its requirements are installed
SCRIPT = """
import json, sys
import fiftyone as fo
import fiftyone.operators as foo

data = sys.argv[1]
dataset = fo.Dataset.from_dir(
    dataset_type=fo.types.COCODetectionDataset,
    data_path=data + "/images",
    labels_path=data + "/instances.json",
    label_types="segmentations",
    label_field="gt",
)
compute = foo.get_operator("@tfdp/tfdp/compute_scores")
prune = foo.get_operator("@tfdp/tfdp/prune")
export = foo.get_operator("@tfdp/tfdp/export_kept")
compute(dataset, "gt", method="cb-scs")
prune(dataset, keep_ratio=0.5)
export(dataset, sys.argv[2])
print(json.dumps(dict(
    kept=len(dataset.load_saved_view("tfdp-kept")),
    tagged=dataset.count_sample_tags().get("tfdp:keep"),
    exported=len(json.load(open(sys.argv[2]))["images"]),
)))
"""


def _zip_of_the_repository(path):
    # as GitHub serves a branch: one top folder holding the tracked files
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in tracked_files():
            source = os.path.join(ROOT, name)
            if os.path.isfile(source):
                archive.write(source, "tfdp-fiftyone-main/" + name)


@pytest.fixture
def served_zip(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    _zip_of_the_repository(folder / "main.zip")
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(folder)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d/main.zip" % server.server_port
    finally:
        server.shutdown()
        server.server_close()


def _run(args, env, timeout=900):
    result = subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )
    return result


def test_fiftyone_way_install_gives_working_operators(tmp_path, served_zip):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    env = dict(
        os.environ,
        FIFTYONE_PLUGINS_DIR=str(tmp_path / "plugins"),
        PATH="%s:%s" % (bin_dir, os.environ["PATH"]),
    )
    env.pop("PYTHONPATH", None)
    # the FiftyOne this environment runs, from the package registry
    _run(
        [str(bin_dir / "pip"), "install", "-q", "fiftyone==%s" % foc.VERSION],
        env,
    )

    _run([str(bin_dir / "fiftyone"), "plugins", "download", served_zip], env)
    listed = _run([str(bin_dir / "fiftyone"), "plugins", "list"], env)
    assert "@tfdp/tfdp" in listed.stdout
    # downloaded alone, the plugin lacks its packages
    missing = subprocess.run(
        [str(bin_dir / "python"), "-c", "import orjson, pycocotools"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0

    _run(
        [
            str(bin_dir / "fiftyone"),
            "plugins",
            "requirements",
            "@tfdp/tfdp",
            "--install",
        ],
        env,
    )
    exported = tmp_path / "kept.json"
    result = _run(
        [
            str(bin_dir / "python"),
            "-c",
            SCRIPT,
            os.path.join(ROOT, "data", "coco2017-sample"),
            str(exported),
        ],
        env,
    )
    counts = result.stdout.strip().splitlines()[-1]
    assert counts == '{"kept": 22, "tagged": 22, "exported": 22}'
