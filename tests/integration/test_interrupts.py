"""The command interrupted by real signals while it writes its outputs:
no output, no temporary file, and the truth on stderr."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from shared_data import COCO_SAMPLE, requires_shared_data

pytestmark = requires_shared_data


@pytest.fixture(scope="module")
def big_input(tmp_path_factory):
    """The real COCO sample with 200,000 more images (no annotations, a
    long caption each): quick to measure, about 100 MB to write."""
    data = json.load(open(COCO_SAMPLE))
    caption = "a real caption, repeated to make the file long " * 10
    extra = [
        {"id": 10**7 + i, "width": 640, "height": 480,
         "file_name": "extra-%d.jpg" % i, "caption": caption}
        for i in range(200_000)
    ]
    data["images"].extend(extra)
    path = tmp_path_factory.mktemp("big") / "big.json"
    with open(path, "w") as f:
        json.dump(data, f)
    return str(path)


def run_until_writing(argv, folder, signum):
    # SIGINT is reset to its default in the child, so that Python turns it
    # into KeyboardInterrupt even where this test runs with it ignored
    proc = subprocess.Popen(
        [sys.executable, "-m", "tfdp"] + argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    signalled = False
    while proc.poll() is None and time.monotonic() < deadline:
        if any(name.endswith(".tmp") for name in os.listdir(folder)):
            proc.send_signal(signum)
            signalled = True
            break
        time.sleep(0.0005)
    out, err = proc.communicate(timeout=120)
    assert signalled, "the command ended before writing: %s" % err
    return proc.returncode, out, err


@pytest.mark.parametrize(
    "signum, status, word",
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_signal_while_writing_leaves_nothing(tmp_path, big_input, signum,
                                              status, word):
    argv = ["prune", big_input, "-o", str(tmp_path / "o.json"),
            "--keep-ratio", "0.5,0.7", "--report", str(tmp_path / "r.json")]
    returncode, out, err = run_until_writing(argv, str(tmp_path), signum)
    assert returncode == status
    assert err == "tfdp: %s; nothing was written\n" % word
    assert out == ""
    assert os.listdir(tmp_path) == []  # no output, no temporary file

    # and a run without --overwrite then goes through
    done = subprocess.run(
        [sys.executable, "-m", "tfdp"] + argv, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path)) == [
        "o.keep-0.5.json", "o.keep-0.7.json", "r.keep-0.5.json",
        "r.keep-0.7.json",
    ]

