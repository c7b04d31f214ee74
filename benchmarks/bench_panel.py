"""How long a step of the TFDP panel's keep-ratio slider takes in a real
browser: from the release of the key or the mouse to the updated summary.

Runs on the demo's dataset (``make demo`` first): starts the App server on a
loopback port with the plugin, opens the panel in headless Chromium, and
times slider steps with the keyboard and drags with the mouse. Prints each
time and their median, and where each step's time went, measured in the
page from the release: when the App sent its requests and had their
answers, when the summary's text changed, and when the plots last changed.

    make bench      # or, for this benchmark alone:
    FIFTYONE_DATABASE_DIR=.fiftyone/demo-db \
        .venv/bin/python benchmarks/bench_panel.py
"""

import argparse
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
# the browser driver the end-to-end tests use
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import app_browser  # noqa: E402

DEMO_DB = os.path.join(ROOT, ".fiftyone", "demo-db")
PLUGINS_DIR = os.path.join(ROOT, ".fiftyone", "plugins")
OUT = os.path.join(ROOT, "out", "bench")
SUMMARY = re.compile(r"keeps (\d+) of (\d+) images")


# Timestamps in the page, from the release: the App's requests (sent,
# answered), the summary's text, the plots' last change
INSTRUMENT = """
const kept = () => {
  for (const p of document.querySelectorAll("p")) {
    const m = /keeps (\\d+) of \\d+ images/.exec(p.textContent);
    if (m) return m[1];
  }
  return null;
};
window.__tfdp = {t0: 0, requests: [], text: null, plots: null, kept: null,
  mark() { this.t0 = performance.now(); this.requests = [];
           this.text = null; this.plots = null; this.kept = kept(); },
  report() {
    const t = (x) =>
      x === null ? "-" : "+" + ((x - this.t0) / 1000).toFixed(2);
    const r = this.requests.map(
      (q) => q.what + " sent " + t(q.sent) + " answered " + t(q.done));
    return {text: this.text === null ? null : (this.text - this.t0) / 1000,
            line: r.join(", ") + " | text " + t(this.text) + ", plots "
                  + t(this.plots)};
  }};
const fetch0 = window.fetch;
window.fetch = async function (url, options) {
  const sent = performance.now();
  let what = String(url).split("/").pop();
  try {
    const body = JSON.parse(options && options.body || "{}");
    what = (body.params && body.params.__method__) || what;
  } catch (e) {}
  const response = await fetch0.apply(this, arguments);
  if (String(url).includes("/operators/")) {
    const entry = {what, sent, done: null};
    window.__tfdp.requests.push(entry);
    response.clone().text().then(() => { entry.done = performance.now(); });
  }
  return response;
};
new MutationObserver((mutations) => {
  const now = performance.now();
  for (const m of mutations) {
    const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
    if (!el) continue;
    if (el.closest(".js-plotly-plot")) window.__tfdp.plots = now;
    else if (window.__tfdp.text === null && kept() !== window.__tfdp.kept)
      window.__tfdp.text = now;
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="tfdp-demo")
    parser.add_argument(
        "--steps",
        type=int,
        default=6,
        help="slider steps of each kind (default 6)",
    )
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
    from playwright.sync_api import sync_playwright

    import tfdp

    if not fo.dataset_exists(args.dataset):
        raise SystemExit(
            "no dataset %r in %s: run `make demo` first"
            % (args.dataset, os.environ["FIFTYONE_DATABASE_DIR"])
        )
    dataset = fo.load_dataset(args.dataset)
    if not tfdp.list_runs(dataset):
        raise SystemExit(
            "dataset %r has no TFDP run: run `make demo` first" % args.dataset
        )
    num_samples = len(dataset)

    log = os.path.join(OUT, "panel-server.log")
    with app_browser.app_server(log) as url, sync_playwright() as p:
        browser = app_browser.launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1400})
            page.set_default_timeout(60_000)
            page.add_init_script(INSTRUMENT)
            app_browser.open_dataset(page, url, args.dataset, num_samples)
            app_browser.open_operator(page, "TFDP: open panel")
            summary = page.locator("p", has_text=SUMMARY).first
            summary.wait_for()
            page.locator(".js-plotly-plot").first.wait_for()
            page.wait_for_timeout(2000)  # the panel's first render settles
            slider = page.get_by_role("slider")

            def kept():
                return int(SUMMARY.search(summary.inner_text()).group(1))

            def timed(release, label, before_release=None):
                before = kept()
                if before_release is not None:
                    before_release()
                page.evaluate("window.__tfdp.mark()")
                start = time.perf_counter()
                release()
                deadline = time.monotonic() + 60
                while kept() == before:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the summary did not change")
                    page.wait_for_timeout(10)
                polled = time.perf_counter() - start
                page.wait_for_timeout(1500)  # the rest of this step
                report = page.evaluate("window.__tfdp.report()")
                # the page's own clock; polling from here adds its delay
                seconds = report["text"] or polled
                print(
                    "%-16s %.2f s (polled %.2f s)  %d -> %d kept | %s"
                    % (label, seconds, polled, before, kept(), report["line"])
                )
                return seconds

            keys = []
            for i in range(args.steps):
                key = "ArrowLeft" if i % 2 == 0 else "ArrowRight"
                slider.focus()
                keys.append(
                    timed(lambda: page.keyboard.press(key), "key %s" % key)
                )

            drags = []
            for i in range(args.steps):
                thumb = slider.locator("xpath=..").bounding_box()
                start_x = thumb["x"] + thumb["width"] / 2
                y = thumb["y"] + thumb["height"] / 2
                shift = -60 if i % 2 == 0 else 60

                def drag():
                    page.mouse.move(start_x, y)
                    page.mouse.down()
                    page.mouse.move(start_x + shift, y, steps=12)

                drags.append(
                    timed(
                        page.mouse.up,
                        "drag %+d px" % shift,
                        before_release=drag,
                    )
                )
        finally:
            browser.close()

    print()
    print(
        "slider step, release to updated text (the page's clock), on %d "
        "samples:" % num_samples
    )
    print(
        "  keyboard: median %.3f s, max %.3f s (%d steps)"
        % (statistics.median(keys), max(keys), len(keys))
    )
    print(
        "  mouse drag: median %.3f s, max %.3f s (%d drags)"
        % (statistics.median(drags), max(drags), len(drags))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
