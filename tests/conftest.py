"""Fixtures shared by the tiers (tests/README.md). Nothing here starts a
database or reads the shared data: the tiers that need them say so."""

import json
import os
import sys
import time

import loopback
import pytest
from shared_data import ROOT

# scripts/demo.py and scripts/database.py, imported by their tests, and
# benchmarks/make_sa1b.py, which builds SA-1B-style folders from COCO files
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))


@pytest.fixture(scope="session")
def loopback_scheduler(tmp_path_factory):
    """A ``dask scheduler`` and two single-threaded ``dask worker``
    processes on 127.0.0.1, always ended afterwards."""
    folder = tmp_path_factory.mktemp("loopback")
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "dask.log", "w")
    processes = []
    try:
        processes.append(
            loopback.start(loopback.scheduler_command(scheduler_file), log)
        )
        deadline = time.monotonic() + 60
        while not scheduler_file.exists():
            assert time.monotonic() < deadline, "scheduler did not start"
            assert processes[0].poll() is None, "scheduler exited"
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written whole, then read
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            processes.append(
                loopback.start(loopback.worker_command(address), log)
            )
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            loopback.end(process)
        log.close()
