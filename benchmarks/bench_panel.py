"""How long a step of the TFDP panel's keep-ratio slider takes in a real
browser: from the release of the key or the mouse to the updated summary.

Runs on the demo's dataset (``make demo`` first): starts the App server on a
loopback port with the plugin, opens the panel in headless Chromium, and
times slider steps with the keyboard and drags with the mouse. Prints each
time, their median, and the App's requests per step.

    FIFTYONE_DATABASE_DIR=.fiftyone/demo-db .venv/bin/python benchmarks/bench_panel.py
"""

import argparse
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import app_browser  # noqa: E402

DEMO_DB = os.path.join(ROOT, ".fiftyone", "demo-db")
PLUGINS_DIR = os.path.join(ROOT, ".fiftyone", "plugins")
OUT = os.path.join(ROOT, "out", "bench")
SUMMARY = re.compile(r"keeps (\d+) of (\d+) images")


def _method(request):
    # a panel event names its method; other requests their path
    import json
    try:
        params = json.loads(request.post_data or "{}").get("params") or {}
    except ValueError:
        params = {}
    return params.get("__method__") or request.url.rsplit("/", 1)[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="tfdp-demo")
    parser.add_argument("--steps", type=int, default=6,
                        help="slider steps of each kind (default 6)")
    args = parser.parse_args(argv)

    os.environ.setdefault("FIFTYONE_DATABASE_DIR", DEMO_DB)
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    os.makedirs(PLUGINS_DIR, exist_ok=True)
    link = os.path.join(PLUGINS_DIR, "tfdp")
    if not os.path.islink(link):
        os.symlink(ROOT, link)
    os.environ["FIFTYONE_PLUGINS_DIR"] = PLUGINS_DIR
    os.makedirs(OUT, exist_ok=True)

    import fiftyone as fo
    import tfdp
    from playwright.sync_api import sync_playwright

    if not fo.dataset_exists(args.dataset):
        raise SystemExit("no dataset %r in %s: run `make demo` first"
                         % (args.dataset, os.environ["FIFTYONE_DATABASE_DIR"]))
    dataset = fo.load_dataset(args.dataset)
    if not tfdp.list_runs(dataset):
        raise SystemExit("dataset %r has no TFDP run: run `make demo` first"
                         % args.dataset)
    num_samples = len(dataset)

    log = os.path.join(OUT, "panel-server.log")
    with app_browser.app_server(log) as url, sync_playwright() as p:
        browser = app_browser.launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            page.set_default_timeout(60_000)
            requests = []  # (what, seconds on the server and network)
            page.on("requestfinished", lambda r: requests.append(
                (_method(r), r.timing["startTime"] / 1000,
                 r.timing["responseEnd"] / 1000))
                if "/operators/" in r.url else None)
            app_browser.open_dataset(page, url, args.dataset, num_samples)
            app_browser.open_operator(page, "TFDP: open panel")
            summary = page.locator("p", has_text=SUMMARY).first
            summary.wait_for()
            page.locator(".js-plotly-plot").first.wait_for()
            page.wait_for_timeout(2000)  # the panel's first render settles
            slider = page.get_by_role("slider")

            def kept():
                return int(SUMMARY.search(summary.inner_text()).group(1))

            def wait_for_change(before):
                deadline = time.monotonic() + 60
                while kept() == before:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the summary did not change")
                    page.wait_for_timeout(10)

            def timed(action, label):
                before = kept()
                del requests[:]
                start = time.perf_counter()
                epoch = time.time()
                action()
                wait_for_change(before)
                seconds = time.perf_counter() - start
                page.wait_for_timeout(800)  # later requests of this step
                print("%-20s %.3f s  (%d -> %d kept; requests: %s)"
                      % (label, seconds, before, kept(), ", ".join(
                          "%s at +%.2f s for %.2f s" % (w, t - epoch, d)
                          for w, t, d in requests)))
                return seconds

            keys = []
            for i in range(args.steps):
                key = "ArrowLeft" if i % 2 == 0 else "ArrowRight"
                slider.focus()
                keys.append(timed(lambda: page.keyboard.press(key),
                                  "key %s" % key))

            drags = []
            box = slider.locator("xpath=..").bounding_box()
            for i in range(args.steps):
                thumb = slider.locator("xpath=..").bounding_box()
                start_x = thumb["x"] + thumb["width"] / 2
                y = thumb["y"] + thumb["height"] / 2
                shift = -60 if i % 2 == 0 else 60

                def drag():
                    page.mouse.move(start_x, y)
                    page.mouse.down()
                    page.mouse.move(start_x + shift, y, steps=12)
                    page.mouse.up()

                drags.append(timed(drag, "drag %+d px" % shift))
            del box
        finally:
            browser.close()

    print()
    print("slider step, release to updated text, on %d samples:"
          % num_samples)
    print("  keyboard: median %.3f s, max %.3f s (%d steps)"
          % (statistics.median(keys), max(keys), len(keys)))
    print("  mouse drag: median %.3f s, max %.3f s (%d drags)"
          % (statistics.median(drags), max(drags), len(drags)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
