"""The TFDP panel in a real browser: what a pruning loses, and a panel that
stays current.

The same App server, worker and Chromium as test_app_e2e.py, on a dataset
of its own: two runs of different methods compared and switched, the
classes a ratio loses named and marked, the retention curve, the mouse
wheel over a plot, the shown run deleted from the panel, a scheduled run
that appears with its notification and its fields without a reload, and
the panel's buttons each saying what they did. Screenshots go to out/e2e/.
"""

import os
import time

import pytest
import test_app_e2e
from test_app_e2e import (
    ARTIFACTS,
    TIMEOUT_MS,
    _choose_run,
    _execute,
    _field,
    _no_traceback,
    _schedule,
    _show_run,
    _slide_to,
    _summary,
    app_browser,
    playwright,
)

import tfdp
from tfdp.fo_adapter.preview import preview_pruning, retention_curve

# the same App server and worker, on a dataset of this module's own
dataset = test_app_e2e.dataset
app_url = test_app_e2e.app_url

FIELD = "segmentations"


def test_the_panel_shows_what_is_lost_and_stays_current(dataset, app_url):
    # two runs before the App opens: cb-scs, and si-scs the newest
    tfdp.compute_scores(dataset, FIELD, run_key="cb")
    tfdp.compute_scores(dataset, FIELD, run_key="si", method="si-scs")
    with playwright.sync_playwright() as p:
        browser = app_browser.launch_chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 2000})
            page.set_default_timeout(TIMEOUT_MS)
            app_browser.open_dataset(page, app_url, dataset.name, 128)
            app_browser.open_operator(page, "TFDP: open panel")
            _summary(page, "si-scs: keeps 90 of 128 images")
            _compare_then_switch(page, dataset)
            _lost_classes_and_curve(page, dataset)
            _wheel_scrolls(page)
            _delete_from_the_panel(page, dataset)
            _scheduled_run_appears(page, dataset)
            _apply_says_what_it_did(page, dataset)
            _no_traceback(page)
        except BaseException:
            page.screenshot(path=os.path.join(ARTIFACTS, "panel-failure.png"))
            raise
        finally:
            browser.close()


def _plots(page):
    plots = page.locator(".js-plotly-plot")
    app_browser.wait_until(lambda: plots.count() >= 4, "four plots", 60)
    return plots


def _legends(plot):
    return [t.strip() for t in plot.locator(".legendtext").all_text_contents()]


def _choose_compare(page, shown, method):
    page.get_by_text(shown, exact=True).last.click()
    options = page.get_by_role("option")
    options.first.wait_for()
    listed = [o.strip() for o in options.all_inner_texts()]
    page.get_by_role("option", name=method, exact=True).click()
    return listed


def _class_rows(plot):
    # the class names, bottom up
    return [t.strip() for t in plot.locator(".ytick text").all_text_contents()]


def _compare_then_switch(page, dataset):
    # issue 21: a cb-scs run compared with si-scs, then the si-scs run
    plots = _plots(page)
    _show_run(page, "cb", "cb-scs: keeps 90 of 128 images")
    listed = _choose_compare(page, "no comparison", "si-scs")
    assert "cb-scs" not in listed  # the run's own method is not offered
    page.get_by_text(
        "Orange: kept by cb-scs; blue: kept by si-scs", exact=True
    ).wait_for()
    app_browser.wait_until(
        lambda: "kept (si-scs)" in _legends(plots.nth(1)), "the comparison"
    )

    _show_run(page, "si", "si-scs: keeps 90 of 128 images")
    expected = [
        c["name"]
        for c in preview_pruning(dataset, run_key="si", keep_ratio=0.7)[
            "classes"
        ][:20]
    ]

    seen = {}

    def only_si():
        seen.update(
            legends=_legends(plots.nth(1)), rows=_class_rows(plots.nth(1))
        )
        # the DOM lists the rows bottom up
        return (
            seen["rows"][::-1] == expected
            and "kept (cb-scs)" not in seen["legends"]
            and len(seen["legends"]) == len(set(seen["legends"]))
        )

    try:
        app_browser.wait_until(only_si, "the si run's rows and legends", 30)
    except AssertionError:
        raise AssertionError("expected rows %s, got %s" % (expected, seen))
    # the comparison's line goes with the run's redraw, which may come last
    app_browser.wait_until(
        lambda: page.get_by_text("Orange: kept by", exact=False).count() == 0,
        "no comparison after choosing the si run",
        30,
    )
    # offered: every method but si-scs, the run's
    listed = _choose_compare(page, "no comparison", "scs")
    assert "si-scs" not in listed and "cb-scs" in listed
    page.get_by_text(
        "Orange: kept by si-scs; blue: kept by scs", exact=True
    ).wait_for()
    app_browser.wait_until(only_si, "the si run's rows", 30)
    assert set(seen["legends"]) == {
        "kept (si-scs)",
        "kept (scs)",
        "loses every instance (si-scs)",
    }
    _choose_compare(page, "scs", "no comparison")
    app_browser.wait_until(
        lambda: page.get_by_text("Orange: kept by", exact=False).count() == 0,
        "no comparison",
    )


def _lost_classes_and_curve(page, dataset):
    # si-scs at 0.5: the classes that lose every instance, by name
    _slide_to(page, 0.5)
    _summary(page, "si-scs: keeps 64 of 128 images")
    preview = preview_pruning(dataset, run_key="si", keep_ratio=0.5)
    lost = [c for c in preview["classes"] if c["after"] == 0]
    assert len(lost) > 1
    line = "%d classes lose every instance" % len(lost)
    summary = page.locator("p", has_text=line).first
    summary.wait_for()
    text = summary.inner_text()
    assert all("%s (%d)" % (c["name"], c["before"]) in text for c in lost[:20])

    # bars read "kept of total", and a red cross marks each lost class
    plots = _plots(page)
    classes = plots.nth(1)
    for c in lost:
        classes.locator(
            ".scatterlayer .textpoint", has_text="0 of %d" % c["before"]
        ).first.wait_for()
    assert classes.locator(".scatterlayer .point").count() >= len(lost)
    assert classes.locator(".bartext", has_text="1 of ").count()
    assert "all instances" not in _legends(classes)
    assert "loses every instance (si-scs)" in _legends(classes)

    # the retention curve, with the ratio chosen
    curve = retention_curve(dataset, run_key="si")
    assert curve["classes"]["kept"][9] == (
        curve["classes"]["total"] - len(lost)
    )
    app_browser.wait_until(
        lambda: (
            {
                "instances kept (si-scs)",
                "classes kept (si-scs)",
                "keep ratio 0.50",
            }
            <= set(_legends(plots.nth(2)))
        ),
        "the retention curve",
        30,
    )
    titles = plots.nth(2).locator(".xtitle, .ytitle").all_text_contents()
    assert set(titles) == {"keep ratio", "kept (%)"}
    page.wait_for_timeout(1000)
    left = plots.nth(0).bounding_box()["x"] - 40
    page.screenshot(
        path=os.path.join(ARTIFACTS, "panel-lost.png"),
        clip=dict(x=left, y=60, width=1600 - left, height=1900),
    )


def _scroller(page):
    # the panel's scrolling container: the closest ancestor of the plots
    # that scrolls
    return page.locator(".js-plotly-plot").first.evaluate_handle(
        """el => { let e = el.parentElement;
                   while (e && !(e.scrollHeight > e.clientHeight
                                 && /(auto|scroll)/.test(
                                     getComputedStyle(e).overflowY)))
                       e = e.parentElement;
                   return e; }"""
    )


def _wheel_scrolls(page):
    # the wheel over a plot scrolls the panel and zooms nothing
    plots = _plots(page)
    plot = plots.nth(1)
    plot.scroll_into_view_if_needed()
    ticks = plot.locator(".xtick text").all_text_contents()
    scroller = _scroller(page)
    before = scroller.evaluate("e => e ? e.scrollTop : null")
    box = plot.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(500)
    assert plot.locator(".xtick text").all_text_contents() == ticks
    if before is not None:
        assert scroller.evaluate("e => e.scrollTop") > before
        scroller.evaluate("e => { e.scrollTop = 0; }")


def _delete_from_the_panel(page, dataset):
    # the shown run, deleted from the panel: its form, a one-line
    # notification, and the other run shown at once
    page.get_by_role("button", name="Delete run").click()
    page.get_by_text("Deletes fields", exact=False).wait_for()
    _execute(page)
    page.get_by_text(
        "Deleted TFDP run 'si': fields", exact=False
    ).first.wait_for()
    page.get_by_text(
        "Run 'si' was deleted; showing run 'cb'", exact=True
    ).wait_for()
    _summary(page, "cb-scs: keeps ")
    assert _runs_listed(page) == ["cb"]
    dataset.reload()
    assert tfdp.list_runs(dataset) == ["cb"]


def _runs_listed(page):
    listed = _choose_run(page, "cb")
    page.keyboard.press("Escape")
    return listed


def _scheduled_run_appears(page, dataset):
    # scheduled from the panel: when the worker is done, the panel says so,
    # lists the run, and the sidebar shows its fields, without a reload
    page.get_by_role("button", name="Compute scores").click()
    run_key = _field(page, "Run key")
    run_key.wait_for()
    run_key.fill("sched")
    page.get_by_text("Label field", exact=True).wait_for()
    page.wait_for_timeout(500)  # the form validates the new key
    start = time.monotonic()
    _schedule(page)
    page.get_by_text("TFDP run 'sched': scored", exact=False).first.wait_for(
        timeout=180_000
    )
    print(
        "\nscheduled run announced %.1f s after scheduling"
        % (time.monotonic() - start)
    )
    page.get_by_text("sched_score", exact=True).first.wait_for()
    app_browser.wait_until(
        lambda: _runs_listed(page) == ["sched", "cb"],
        "the scheduled run in the list",
        30,
    )
    page.screenshot(path=os.path.join(ARTIFACTS, "panel-scheduled.png"))


def _apply_says_what_it_did(page, dataset):
    kept, _ = app_browser.apply_pruning(page, "cb", "cb-scs", 128)
    page.get_by_text("%d samples" % kept, exact=True).wait_for()
    assert dataset.count_sample_tags().get("cb:keep") == kept
    # a second apply would replace this one's tag and saved view: said
    page.get_by_text(
        "replaces this run's tag 'cb:keep' and saved view 'cb-kept'",
        exact=False,
    ).wait_for()


if __name__ == "__main__":
    pytest.main([__file__, "-s"])
