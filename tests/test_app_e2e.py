"""The App path end to end, in a real browser.

Starts the FiftyOne App server on a loopback port with the plugin available
and the real COCO sample loaded, and drives Debian's Chromium headless with
Playwright, as a user would: the TFDP operators are in the operator browser,
compute then prune changes the grid to the kept samples, and the panel
renders its plots with the numbers of that run, its slider previews another
ratio without writing, and it compares two methods. Screenshots of the grid,
the App and the panel are saved in out/e2e/.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest

import tfdp
from conftest import COCO_SAMPLE, DATA, ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = os.path.join(ROOT, "out", "e2e")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TIMEOUT_MS = 60_000

if not os.path.exists(CHROMIUM):
    pytest.skip(
        "Chromium is not installed: `make test` installs Debian's chromium "
        "(as root)",
        allow_module_level=True,
    )
playwright = pytest.importorskip("playwright.sync_api")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dataset():
    dataset = tfdp.load_coco_dataset(
        COCO_SAMPLE,
        data_path=DATA + "/coco2017-sample/images",
        name="tfdp-e2e-%s" % uuid.uuid4().hex[:8],
    )
    dataset.persistent = True  # visible to the server's process
    yield dataset
    dataset.delete()


@pytest.fixture(scope="module")
def app_url(dataset):
    port = _free_port()
    log = open(os.path.join(ARTIFACTS, "server.log"), "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "fiftyone.server.main", "--port", str(port),
         "--address", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read(1)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the App server did not start; see %s" % log.name
                    )
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=20)
        log.close()


os.makedirs(ARTIFACTS, exist_ok=True)


def _wait_until(condition, what, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(0.5)


def _scored(dataset):
    dataset.reload()
    return "tfdp" in dataset.list_runs() and dataset.count("tfdp_score") == 128


def _run_operator(page, label):
    page.keyboard.press("Escape")
    page.keyboard.press("`")
    search = page.get_by_placeholder("Search operations by name...")
    if search.count():
        search.fill(label)
    else:
        page.keyboard.type(label)
    page.get_by_text(label, exact=True).click(timeout=TIMEOUT_MS)


def test_compute_prune_and_panel_in_the_browser(dataset, app_url):
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1500})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto("%s/datasets/%s" % (app_url, dataset.name))
            page.get_by_text("128 samples").wait_for()
            # the App's promotion pops up once, soon after loading
            dismiss = page.get_by_text("Dismiss", exact=True)
            try:
                dismiss.first.wait_for(timeout=10_000)
                dismiss.first.click()
            except playwright.TimeoutError:
                pass

            # every TFDP operator is in the operator browser
            page.keyboard.press("`")
            page.keyboard.type("TFDP")
            for label in ("TFDP: compute scores", "TFDP: prune",
                          "TFDP: export kept samples", "TFDP: get run info",
                          "TFDP: delete run", "TFDP: open panel"):
                page.get_by_text(label, exact=True).wait_for()

            # compute, from the form
            _run_operator(page, "TFDP: compute scores")
            page.get_by_text("Label field").wait_for()
            page.get_by_role("button", name="Execute", exact=True).click()
            _wait_until(lambda: _scored(dataset), "the scores")

            # prune: the grid shows the kept samples
            _run_operator(page, "TFDP: prune")
            page.get_by_text("Keeps 90 of 128 samples").wait_for()
            page.get_by_role("button", name="Execute", exact=True).click()
            page.get_by_text("90 samples", exact=True).wait_for()
            assert dataset.count_sample_tags() == {"tfdp:keep": 90}
            page.wait_for_timeout(2000)  # thumbnails
            page.screenshot(path=os.path.join(ARTIFACTS, "grid.png"))

            # the panel, with the numbers of this run
            _run_operator(page, "TFDP: open panel")
            page.get_by_text("cb-scs: keeps 90 of 128 images (70.3%)").wait_for()
            text = page.locator(
                "p", has_text="cb-scs: keeps 90 of 128 images"
            ).first.inner_text()
            dataset.reload()  # the server's process wrote the run
            report = tfdp.get_run_info(dataset)["report"]
            worst = report["classes"][0]
            assert "%d of %d instances" % (
                report["instances"]["after"], report["instances"]["before"]
            ) in text
            assert "worst class: %s" % worst["name"] in text
            plots = page.locator(".js-plotly-plot")
            _wait_until(lambda: plots.count() >= 3, "three plots", 30)
            for i in range(3):
                plots.nth(i).locator(".main-svg").first.wait_for()
            # the size buckets' labels
            assert page.get_by_text(
                "%d of %d" % (report["sizes"]["small"]["after"],
                              report["sizes"]["small"]["before"]),
                exact=True,
            ).count()

            # the slider previews without writing anything
            slider = page.get_by_role("slider")
            slider.focus()
            page.keyboard.press("ArrowLeft")
            page.get_by_text("cb-scs: keeps 83 of 128 images (64.8%)").wait_for()
            assert dataset.count_sample_tags() == {"tfdp:keep": 90}
            slider.focus()
            page.keyboard.press("ArrowRight")
            page.get_by_text("cb-scs: keeps 90 of 128 images (70.3%)").wait_for()

            # a second method side by side
            page.get_by_text("no comparison", exact=True).click()
            page.get_by_role("option", name="scs", exact=True).click()
            page.get_by_text("scs: keeps 90 of 128 images (70.3%)",
                             exact=False).nth(1).wait_for()
            page.wait_for_timeout(1000)
            page.screenshot(path=os.path.join(ARTIFACTS, "app.png"))
            left = plots.nth(0).bounding_box()["x"] - 20
            page.screenshot(
                path=os.path.join(ARTIFACTS, "panel.png"),
                clip=dict(x=left, y=60, width=1600 - left, height=1440),
            )

            # apply another ratio from the panel: the prune operator runs
            # and the grid shows the new kept samples
            slider.focus()
            page.keyboard.press("ArrowLeft")
            page.get_by_text("cb-scs: keeps 83 of 128 images (64.8%)").wait_for()
            page.get_by_role("button", name="Apply pruning").click()
            page.get_by_text("83 samples", exact=True).wait_for()
            assert dataset.count_sample_tags() == {"tfdp:keep": 83}

            # the pruned-away samples, lowest scores first
            page.get_by_role("button", name="Show pruned-away samples").click()
            page.get_by_text("45 samples", exact=True).wait_for()
        except BaseException:
            page.screenshot(path=os.path.join(ARTIFACTS, "failure.png"))
            raise
        finally:
            browser.close()
