"""The App path end to end, in a real browser.

Starts the FiftyOne App server on a loopback port with the plugin available,
the real COCO sample loaded and scheduling allowed, and a ``fiftyone
delegated launch`` worker; drives Debian's Chromium headless with Playwright,
as a newcomer would: the operators in workflow order, forms that default to
the run on screen and speak their own words, a scheduled compute that runs
in the worker and reports progress, the panel's plots, slider and
comparison, a panel that survives the deletion of its run, export and run
info that show their results. Screenshots of the grid, the App and the
panel are saved in out/e2e/. Timings are printed, never asserted.
"""

import json
import os
import re
import shutil
import sys
import time
import uuid

import app_browser
import fiftyone as fo
import pytest
from shared_data import COCO_SAMPLE, DATA, ROOT, requires_shared_data

import tfdp

pytestmark = requires_shared_data

ARTIFACTS = os.path.join(ROOT, "out", "e2e")
TIMEOUT_MS = 60_000
WORKFLOW = [
    "TFDP: load COCO dataset",
    "TFDP: compute scores",
    "TFDP: prune",
    "TFDP: open panel",
    "TFDP: export kept samples",
    "TFDP: get run info",
    "TFDP: delete run",
]

if not os.path.exists(app_browser.CHROMIUM):
    pytest.skip(
        "Chromium is not installed: `make test` installs Debian's chromium "
        "(as root)",
        allow_module_level=True,
    )
playwright = pytest.importorskip("playwright.sync_api")
os.makedirs(ARTIFACTS, exist_ok=True)


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
    # scheduling from the App, as FiftyOne documents it: the setting that
    # offers "Schedule", and `fiftyone delegated launch` as the worker
    env = dict(os.environ, FIFTYONE_ALLOW_LEGACY_ORCHESTRATORS="true")
    fiftyone = os.path.join(os.path.dirname(sys.executable), "fiftyone")
    with (
        app_browser.background_process(
            [fiftyone, "delegated", "launch"],
            os.path.join(ARTIFACTS, "worker.log"),
            env=env,
        ),
        app_browser.app_server(
            os.path.join(ARTIFACTS, "server.log"), env=env
        ) as url,
    ):
        yield url


def _scored(dataset, run_key, count=128):
    dataset.reload()
    return (
        run_key in tfdp.list_runs(dataset)
        and tfdp.get_run_info(dataset, run_key)["finished"]
        and dataset.count("%s_score" % run_key) == count
    )


def _field(page, label):
    """The input under a form field's label."""
    return page.get_by_text(label, exact=True).locator(
        "xpath=following::input[1]"
    )


def _has_value(field, value):
    # the form re-renders after each change: poll, bounded
    app_browser.wait_until(
        lambda: field.count() and field.input_value() == value,
        "the value %r" % value,
        30,
    )
    return True


def _execute(page):
    page.get_by_role("button", name="Execute", exact=True).click()


def _schedule(page):
    # the execute button's menu
    page.get_by_role("button", name="Execute", exact=True).locator(
        "xpath=following-sibling::button"
    ).click()
    page.get_by_text("Schedule", exact=True).click()
    page.get_by_role("button", name="Schedule", exact=True).click()


def _step(page, key):
    # One step of the slider with the keyboard. The App mounts the slider
    # anew when the panel renders, and a key pressed meanwhile reaches no
    # slider: press again while its value has not moved.
    label = page.locator(".MuiSlider-valueLabelLabel").first
    before = label.inner_text().strip()
    for _ in range(3):
        page.get_by_role("slider").focus()
        page.keyboard.press(key)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if label.inner_text().strip() != before:
                return
            page.wait_for_timeout(100)
    raise AssertionError("the slider did not move from %s" % before)


def _slide_to(page, value):
    """Steps the slider until it shows ``value`` and stays there: the App
    may put back an older state after a step (a ratio passed on the way),
    so count the steps by what is shown, and look again after a while."""
    label = page.locator(".MuiSlider-valueLabelLabel").first
    settled = 0
    for _ in range(30):
        shown = float(label.inner_text().strip())
        if abs(shown - value) < 1e-9:
            settled += 1
            if settled == 3:
                return
            page.wait_for_timeout(1000)
            continue
        settled = 0
        _step(page, "ArrowLeft" if shown > value else "ArrowRight")
        page.wait_for_timeout(300)
    raise AssertionError("the slider did not stay at %s" % value)


def _summary(page, text):
    page.locator("p", has_text=text).first.wait_for()


def _no_traceback(page):
    for text in ("Traceback", "Uncaught", "Operator Error"):
        assert page.get_by_text(text).count() == 0, text


def test_loading_a_file_from_the_app(dataset, app_url, tmp_path):
    """The load form checks its paths in its own words; scheduled, as it is
    by default, the load runs in the worker and makes the named dataset.
    First: the App keeps a dataset's view between pages, and the
    newcomer's leaves fewer than 128 samples on screen."""
    source = tmp_path / "instances.json"
    shutil.copyfile(COCO_SAMPLE, source)
    name = "tfdp-e2e-load-%s" % uuid.uuid4().hex[:8]
    with playwright.sync_playwright() as p:
        browser = app_browser.launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 2000})
            page.set_default_timeout(TIMEOUT_MS)
            app_browser.open_dataset(page, app_url, dataset.name, 128)
            app_browser.open_operator(page, "TFDP: load COCO dataset")
            path = _field(page, "COCO file")
            for value, message in (
                ("instances.json", "give an absolute path"),
                (str(tmp_path / "missing.json"), "no such file"),
            ):
                path.fill(value)
                page.get_by_text(message, exact=True).wait_for()
            path.fill(str(source))
            _field(page, "Dataset name").fill(name)
            page.wait_for_timeout(500)  # the form validates the new values
            page.get_by_role("button", name="Schedule", exact=True).click()
            app_browser.wait_until(
                lambda: fo.dataset_exists(name), "the scheduled load", 180
            )
            loaded = fo.load_dataset(name)
            assert len(loaded) == 128 and loaded.persistent
            assert loaded.info["tfdp_source"]["labels_path"] == str(source)
        except BaseException:
            page.screenshot(path=os.path.join(ARTIFACTS, "load-failure.png"))
            raise
        finally:
            browser.close()
            if fo.dataset_exists(name):
                fo.delete_dataset(name)


def test_a_newcomer_in_the_app(dataset, app_url):
    with playwright.sync_playwright() as p:
        browser = app_browser.launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 2000})
            page.set_default_timeout(TIMEOUT_MS)
            app_browser.open_dataset(page, app_url, dataset.name, 128)
            _walk_through(page, dataset)
        except BaseException:
            page.screenshot(path=os.path.join(ARTIFACTS, "failure.png"))
            raise
        finally:
            browser.close()


def _walk_through(page, dataset):
    # the operators, in workflow order, the destructive one last
    page.keyboard.press("`")
    page.keyboard.type("TFDP")
    page.get_by_text(WORKFLOW[-1], exact=True).wait_for()
    listed = page.get_by_text(re.compile(r"^TFDP: ")).all_inner_texts()
    assert [t.strip() for t in listed] == WORKFLOW

    # compute: the target is the dataset, said with what CB-SCS totals over
    app_browser.open_operator(page, "TFDP: compute scores")
    page.get_by_text(
        "Scores the 128 samples of the dataset. CB-SCS class "
        "totals are taken over these samples only"
    ).wait_for()
    _execute(page)
    app_browser.wait_until(lambda: _scored(dataset, "tfdp"), "the scores")

    # prune: its own field and default per amount, errors in its words
    app_browser.open_operator(page, "TFDP: prune")
    page.get_by_text("Keeps 90 of 128 samples").wait_for()
    page.get_by_text("Keep a number of samples", exact=True).click()
    keep = _field(page, "Samples to keep")
    assert _has_value(keep, "90")
    for value, message in (
        ("200", "200 exceeds the 128 samples"),
        ("0", "keep at least 1 sample"),
        ("", "enter the number of samples to keep"),
    ):
        keep.fill(value)
        page.get_by_text(message, exact=True).wait_for()
    page.get_by_text("Remove a fraction", exact=True).click()
    assert _has_value(_field(page, "Fraction to remove"), "0.3")
    page.get_by_text("Keeps 90 of 128 samples").wait_for()
    page.get_by_text("Keep a fraction", exact=True).click()
    assert _has_value(_field(page, "Fraction to keep"), "0.7")
    page.get_by_text("Keeps 90 of 128 samples").wait_for()
    _execute(page)
    page.get_by_text("90 samples", exact=True).wait_for()
    assert dataset.count_sample_tags() == {"tfdp:keep": 90}
    # what it did, in one line, and its saved view selected by name
    page.get_by_text(
        "TFDP run 'tfdp': kept 90 of 128 samples (cb-scs), "
        "tagged 'tfdp:keep', saved view 'tfdp-kept'"
    ).wait_for()
    page.get_by_text("tfdp-kept", exact=True).first.wait_for()
    assert page.get_by_text("Unsaved view", exact=True).count() == 0
    page.wait_for_timeout(2000)  # thumbnails
    page.screenshot(path=os.path.join(ARTIFACTS, "grid.jpg"), quality=70)

    # an empty run key: one message, no stale warning
    app_browser.open_operator(page, "TFDP: compute scores")
    page.get_by_text("Run 'tfdp' exists", exact=False).wait_for()
    _field(page, "Run key").fill("")
    page.get_by_text("enter a run key", exact=True).wait_for()
    assert page.get_by_text("Run 'tfdp' exists", exact=False).count() == 0
    assert page.get_by_text("Required property").count() == 0

    # scheduled: the worker runs it and records its progress
    _field(page, "Run key").fill("tfdp2")
    page.get_by_text("Label field", exact=True).wait_for()
    page.wait_for_timeout(500)  # the form validates the new key
    start = time.monotonic()
    _schedule(page)
    app_browser.wait_until(
        lambda: _scored(dataset, "tfdp2"), "the scheduled compute", 180
    )
    print("\nscheduled compute done in %.1f s" % (time.monotonic() - start))
    _check_delegated_progress(dataset)
    page.keyboard.press("Escape")

    # prune: the form starts from the run on screen, tfdp
    app_browser.open_operator(page, "TFDP: prune")
    run_key = _field(page, "Run key")
    assert _has_value(run_key, "tfdp")
    run_key.fill("tfdp2")
    page.get_by_text("Keep a number of samples", exact=True).click()
    _field(page, "Samples to keep").fill("20")
    page.get_by_text("Keeps 20 of 128 samples").wait_for()
    _execute(page)
    page.get_by_text("20 samples", exact=True).wait_for()

    _panel(page, dataset)
    _forms_follow_the_run_on_screen(page, dataset)
    _panel_after_deletion(page, dataset)


def _check_delegated_progress(dataset):
    from fiftyone.operators.delegated import DelegatedOperationService

    operations = [
        op
        for op in DelegatedOperationService().list_operations(
            dataset_name=dataset.name
        )
        if op.operator.endswith("/compute_scores")
    ]
    assert len(operations) == 1
    done = operations[0]
    assert done.run_state == "completed", done.run_state
    assert done.status.progress == 1.0
    assert done.status.label == (
        "TFDP run 'tfdp2': scored %d instances of 128 samples (cb-scs)"
        % dataset.get_run_info("tfdp2").config.num_instances
    )


def _choose_run(page, run_key):
    page.get_by_text("Newest first", exact=True).locator(
        "xpath=following::*[@aria-haspopup='listbox'][1]"
    ).click()
    options = page.get_by_role("option")
    options.first.wait_for()
    listed = [o.strip() for o in options.all_inner_texts()]
    page.get_by_role("option", name=run_key, exact=True).click()
    return listed


def _show_run(page, run_key, summary):
    """Chooses a run in the panel until its summary shows: the App mounts
    the panel's inputs anew on a render, and a choice made during one is
    lost (the user chooses again)."""
    for _ in range(2):
        _choose_run(page, run_key)
        try:
            page.locator("p", has_text=summary).first.wait_for(
                timeout=TIMEOUT_MS // 3
            )
            return
        except playwright.TimeoutError:
            page.keyboard.press("Escape")
    _choose_run(page, run_key)
    _summary(page, summary)


def _panel(page, dataset):
    # the panel starts from the run on screen, tfdp2, which kept 20: the
    # nearest step is 0.15
    app_browser.open_operator(page, "TFDP: open panel")
    _summary(page, "cb-scs: keeps 19 of 128 images (14.8%)")
    plots = page.locator(".js-plotly-plot")
    app_browser.wait_until(lambda: plots.count() >= 3, "three plots", 60)
    for i in range(3):
        plots.nth(i).locator(".main-svg").first.wait_for()

    # the slider's tooltip, and a step that previews without writing
    label = page.locator(".MuiSlider-valueLabelLabel").first
    assert label.inner_text().strip() == "0.15"
    slider = page.get_by_role("slider")
    slider.focus()
    start = time.perf_counter()
    page.keyboard.press("ArrowLeft")
    _summary(page, "cb-scs: keeps 13 of 128 images (10.2%)")
    print(
        "slider step, key release to updated text: %.2f s"
        % (time.perf_counter() - start)
    )
    assert label.inner_text().strip() == "0.10"
    assert dataset.count_sample_tags() == {"tfdp:keep": 90, "tfdp2:keep": 20}

    # the run list knows both runs, newest first; the ratio stays the
    # slider's
    assert _choose_run(page, "tfdp") == ["tfdp2", "tfdp"]
    _summary(page, "cb-scs: keeps 13 of 128 images (10.2%)")
    assert label.inner_text().strip() == "0.10"

    # axis titles and legends
    titles = page.locator(".js-plotly-plot .xtitle, .js-plotly-plot .ytitle")
    assert {
        "image score",
        "images",
        "instances kept (%)",
        "instance size",
    } <= set(titles.all_text_contents())
    legends = set(
        page.locator(".js-plotly-plot .legendtext").all_text_contents()
    )
    assert {
        "kept (cb-scs)",
        "pruned away",
        "loses every instance (cb-scs)",
    } <= legends

    # per class: the 20 worst classes, every name on its own row
    dataset.reload()  # the server's process wrote the runs
    classes = len(tfdp.get_run_info(dataset, "tfdp")["report"]["classes"])
    page.get_by_text(
        "the 20 worst of %d classes (%d more hidden)"
        % (classes, classes - 20),
        exact=False,
    ).wait_for()
    names = plots.nth(1).locator(".ytick text")
    assert names.count() == 20

    def one_per_row():
        boxes = names.evaluate_all(
            "els => els.map(e => [e.getBoundingClientRect().top,"
            " e.getBoundingClientRect().height])"
        )
        tops = sorted(top for top, _ in boxes)
        heights = [h for _, h in boxes]
        return min(heights) > 0 and all(
            b - a >= 0.9 * max(heights) for a, b in zip(tops, tops[1:])
        )

    # Plotly lays the names out again after each render of the panel
    app_browser.wait_until(one_per_row, "every class name on its own row", 30)

    # a second method side by side
    page.get_by_text("no comparison", exact=True).click()
    page.get_by_role("option", name="scs", exact=True).click()
    page.get_by_text("scs: keeps 13 of 128 images (10.2%)", exact=False).nth(
        1
    ).wait_for()
    page.get_by_text("kept (scs)", exact=True).first.wait_for()
    page.wait_for_timeout(1000)
    page.screenshot(path=os.path.join(ARTIFACTS, "app.png"))
    left = plots.nth(0).bounding_box()["x"] - 20
    page.screenshot(
        path=os.path.join(ARTIFACTS, "panel.png"),
        clip=dict(x=left, y=60, width=1600 - left, height=1760),
    )
    _no_traceback(page)

    # back to tfdp2, the run about to be deleted
    _choose_run(page, "tfdp2")


def _forms_follow_the_run_on_screen(page, dataset):
    # export: the run on screen, a .json path, and the result shown
    out = os.path.join(ARTIFACTS, "kept-%s.json" % uuid.uuid4().hex[:6])
    app_browser.open_operator(page, "TFDP: export kept samples")
    page.get_by_text("COCO file to write", exact=True).wait_for()
    path = _field(page, "COCO file to write")
    path.fill(out[: -len(".json")] + ".txt")
    page.get_by_text("give a path ending in .json", exact=True).wait_for()
    path.fill(out)
    page.wait_for_timeout(500)
    _execute(page)
    page.get_by_text("Written to:", exact=False).first.wait_for()
    page.get_by_text(out, exact=True).wait_for()
    page.get_by_text("Annotations:", exact=False).first.wait_for()
    with open(out) as f:
        assert len(json.load(f)["images"]) == 20  # tfdp2's
    page.get_by_role("button", name="Done", exact=True).click()

    # run info: a readable summary of the run on screen
    app_browser.open_operator(page, "TFDP: get run info")
    page.get_by_text("The run to show", exact=True).wait_for()
    _execute(page)
    page.get_by_text("tfdp2-kept", exact=True).wait_for()
    page.get_by_text("20 of 128 samples (keep 20)", exact=True).wait_for()
    page.get_by_text("Retention:", exact=False).first.wait_for()
    # the output's own button: a key pressed while the App renders is lost
    page.get_by_role("button", name="Close", exact=True).click()
    page.get_by_text("Retention:", exact=False).first.wait_for(state="hidden")

    # delete the run on screen: the grid goes back to the dataset
    app_browser.open_operator(page, "TFDP: delete run")
    page.get_by_text("Deletes fields", exact=False).wait_for()
    assert page.get_by_text("tfdp2-kept", exact=False).count()
    _execute(page)
    page.get_by_text("128 samples", exact=True).wait_for()
    app_browser.wait_until(
        lambda: (
            (dataset.reload() or True) and tfdp.list_runs(dataset) == ["tfdp"]
        ),
        "the deletion",
    )


def _panel_after_deletion(page, dataset):
    # the panel's run is gone: the next move of the slider says so and
    # shows tfdp at the ratio chosen, without a traceback
    _step(page, "ArrowLeft")
    page.get_by_text(
        "Run 'tfdp2' was deleted; showing run 'tfdp'", exact=True
    ).wait_for()
    _summary(page, "cb-scs: keeps 6 of 128 images (4.7%)")
    _no_traceback(page)
    # the App echoes the new run to the panel as change events
    page.wait_for_timeout(2000)

    # apply another ratio from the panel: the grid shows the kept samples
    _slide_to(page, 0.10)
    _summary(page, "cb-scs: keeps 13 of 128 images (10.2%)")
    kept, said = app_browser.apply_pruning(page, "tfdp", "cb-scs", 128)
    assert (
        "TFDP run 'tfdp': kept %d of 128 samples (cb-scs), tagged "
        "'tfdp:keep', saved view 'tfdp-kept'" % kept
    ) in said
    page.get_by_text("%d samples" % kept, exact=True).wait_for()
    assert dataset.count_sample_tags() == {"tfdp:keep": kept}
    # the saved view is selected by name after the operator's last word: a
    # view chosen before that would be replaced by it
    page.wait_for_timeout(3000)

    # the pruned-away samples, lowest scores first
    page.get_by_role("button", name="Show pruned-away samples").click()
    page.get_by_text("%d samples" % (128 - kept), exact=True).wait_for()
    _no_traceback(page)
