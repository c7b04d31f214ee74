"""The plugin: discovery, every operator immediate and delegated, forms and
progress, checked against the command on the source file."""

import json
import os
import subprocess
import sys

import fiftyone as fo
import fiftyone.operators as foo
import pytest
from coco_sample import coco_sample_fixture, run_values
from fiftyone.operators.delegated import DelegatedOperationService
from fiftyone.operators.executor import ExecutionContext, Executor
from shared_data import COCO_SAMPLE, ROOT, requires_shared_data

import tfdp
from tfdp import coco
from tfdp.cli import main
from tfdp.fo_adapter.fields import label_list_path
from tfdp.fo_adapter.preview import preview_pruning

pytestmark = requires_shared_data

PLUGIN = "@tfdp/tfdp"
OPERATORS = [
    "load_coco_dataset",
    "compute_scores",
    "prune",
    "export_kept",
    "get_run_info",
    "delete_run",
    "open_panel",
    "tfdp_panel",
]
FIELD = "segmentations"


def test_plugin_is_discovered_in_a_fresh_process(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    os.symlink(ROOT, plugins / "tfdp")
    code = (
        "import fiftyone.operators as foo\n"
        "from fiftyone.plugins.context import build_plugin_contexts\n"
        "for p in build_plugin_contexts():\n"
        "    if p.name == %r:\n"
        "        print('errors', len(p.errors), p.errors)\n"
        "print('ops', sorted(o.uri for o in foo.list_operators()\n"
        "                    if o.uri.startswith(%r)))\n" % (PLUGIN, PLUGIN)
    )
    env = dict(os.environ, FIFTYONE_PLUGINS_DIR=str(plugins))
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "errors 0 []" in done.stdout
    expected = sorted("%s/%s" % (PLUGIN, name) for name in OPERATORS)
    assert "ops %r" % expected in done.stdout


base = coco_sample_fixture("base", "tfdp-test-plugin")


@pytest.fixture
def dataset(base):
    clone = base.clone()
    yield clone
    clone.delete()


def _operator(name):
    return foo.get_operator("%s/%s" % (PLUGIN, name))


def _run_delegated(dataset):
    service = DelegatedOperationService()
    results = service.execute_queued_operations(dataset_name=dataset.name)
    assert results and all(r.error is None for r in results), [
        r.error for r in results
    ]


def _cli_prune(tmp_path, ratio, method="cb-scs"):
    out = tmp_path / ("cli-%s-%s.json" % (ratio, method))
    if out.exists():
        return out
    assert (
        main(
            [
                "prune",
                COCO_SAMPLE,
                "-o",
                str(out),
                "--keep-ratio",
                str(ratio),
                "--method",
                method,
            ]
        )
        == 0
    )
    return out


@pytest.mark.parametrize("delegate", [False, True])
def test_every_operator(dataset, tmp_path, delegate):
    is_polylines = dataset.has_field("segmentations.polylines")
    path = "segmentations." + ("polylines" if is_polylines else "detections")

    result = _operator("compute_scores")(
        dataset, FIELD, method="scs", delegate=delegate
    )
    assert result.error is None
    if delegate:
        assert dataset.list_runs() == []  # queued, not run yet
        _run_delegated(dataset)
    assert dataset.list_runs() == ["tfdp"]
    assert dataset.count(path + ".tfdp_score") == 929  # crowd not scored
    if is_polylines:
        shapes = coco.measure(coco.load_json(COCO_SAMPLE))
        expected = dict(
            zip(shapes.table.instance_ids, shapes.table.scores("scs").tolist())
        )
        ids, scores = dataset.values([path + ".coco_id", path + ".tfdp_score"])
        got = {
            i: s
            for r, q in zip(ids, scores)
            if r
            for i, s in zip(r, q)
            if s is not None
        }
        assert got.keys() == expected.keys()
        assert all(
            got[k] == pytest.approx(v, rel=1e-12) for k, v in expected.items()
        )

    result = _operator("prune")(
        dataset, keep_ratio=0.6, method="cb-scs", delegate=delegate
    )
    assert result.error is None
    if delegate:
        _run_delegated(dataset)
    assert dataset.count_sample_tags() == {"tfdp:keep": 77}
    assert dataset.list_saved_views() == ["tfdp-kept"]
    kept = tfdp.load_kept_view(dataset)
    if is_polylines:
        cli = json.loads(_cli_prune(tmp_path, 0.6).read_text())
        assert set(kept.values("coco_id")) == {
            im["id"] for im in cli["images"]
        }

    info = _operator("get_run_info")(dataset)
    assert info.result["config"]["num_kept"] == 77
    assert info.result["config"]["method"] == "cb-scs"
    assert info.result["report"]["images"]["after"] == 77

    out = tmp_path / "export.json"
    result = _operator("export_kept")(dataset, str(out), delegate=delegate)
    assert result.error is None
    if delegate:
        _run_delegated(dataset)
    exported = json.loads(out.read_text())
    assert {im["id"] for im in exported["images"]} == set(
        kept.values("coco_id")
    )
    if is_polylines:
        # lossless: the same bytes as the command for the same selection
        assert out.read_bytes() == _cli_prune(tmp_path, 0.6).read_bytes()

    result = _operator("delete_run")(dataset)
    assert result.error is None
    assert dataset.list_runs() == []
    assert dataset.count_sample_tags() == {}
    assert dataset.list_saved_views() == []
    assert not any("tfdp" in f for f in dataset.get_field_schema(flat=True))


def test_prune_scores_first_when_the_run_is_new(dataset):
    result = _operator("prune")(
        dataset, keep=12, run_key="fresh", label_field=FIELD, tag="keepers"
    )
    assert result.error is None
    assert dataset.count_sample_tags() == {"keepers": 12}
    assert dataset.list_saved_views() == ["fresh-kept"]
    assert tfdp.get_run_info(dataset, "fresh")["config"]["keep"] == 12


def test_scoring_the_selected_samples(dataset):
    selected = dataset.take(30, seed=1).values("id")
    result = foo.execute_operator(
        "%s/compute_scores" % PLUGIN,
        dict(
            dataset=dataset,
            selected=selected,
            view_target="SELECTED_SAMPLES",
            params=dict(label_field=FIELD, method="cb-scs", run_key="tfdp"),
        ),
    )
    assert result.error is None
    assert set(dataset.exists("tfdp_score").values("id")) == set(selected)


def _ctx(dataset, **params):
    return ExecutionContext(
        request_params=dict(dataset_name=dataset.name, params=params),
        executor=Executor(),
    )


def _form(name, ctx):
    return _operator(name).resolve_input(ctx).type.properties


def test_forms_validate(dataset):
    props = _form("compute_scores", _ctx(dataset, run_key="2bad"))
    assert props["run_key"].invalid
    assert "invalid run key" in props["run_key"].error_message
    assert list(props["label_field"].type.values) == [FIELD]

    dataset.register_run("other", dataset.init_run(method="x"))
    props = _form("compute_scores", _ctx(dataset, run_key="other"))
    assert "taken by another kind of run" in props["run_key"].error_message

    tfdp.compute_scores(dataset, FIELD)
    props = _form("compute_scores", _ctx(dataset, run_key="tfdp"))
    assert not props["run_key"].invalid
    assert "overwrite_warning" in props

    props = _form(
        "prune",
        _ctx(dataset, run_key="tfdp", amount="keep_ratio", keep_ratio=1.5),
    )
    assert props["keep_ratio"].invalid
    assert "between 0 and 1" in props["keep_ratio"].error_message
    props = _form(
        "prune", _ctx(dataset, run_key="tfdp", amount="keep", keep=10)
    )
    assert not props["keep"].invalid
    assert props["amount_summary"].view.label == "Keeps 10 of 128 samples"

    props = _form("export_kept", _ctx(dataset, run_key="tfdp"))
    assert props["pruned"].invalid  # not pruned yet
    tfdp.prune_samples(dataset, keep=5)
    props = _form(
        "export_kept", _ctx(dataset, run_key="tfdp", labels_path=COCO_SAMPLE)
    )
    assert props["exists_guard"].invalid
    props = _form(
        "export_kept",
        _ctx(dataset, run_key="tfdp", labels_path="relative.json"),
    )
    assert props["labels_path"].invalid


def test_update_is_offered_for_a_finished_run_of_the_field(dataset):
    props = _form("compute_scores", _ctx(dataset, run_key="tfdp"))
    assert "update" not in props
    tfdp.compute_scores(dataset.limit(100), FIELD)
    props = _form("compute_scores", _ctx(dataset, run_key="tfdp"))
    assert props["update"].default is False
    props = _form("compute_scores", _ctx(dataset, run_key="other"))
    assert "update" not in props

    result = _operator("compute_scores")(dataset, FIELD, update=True)
    assert result.error is None
    full = dataset.clone()
    try:
        tfdp.compute_scores(full, FIELD)
        assert run_values(dataset, FIELD, "tfdp") == run_values(
            full, FIELD, "tfdp"
        )
        assert tfdp.get_run_info(dataset)["config"]["num_samples"] == 128
    finally:
        full.delete()

    config = dataset.get_run_info("tfdp").config
    config.status = "scoring"
    dataset.update_run_config("tfdp", config)
    props = _form("compute_scores", _ctx(dataset, run_key="tfdp"))
    assert "update" not in props


def test_forms_without_runs_or_fields(dataset):
    props = _form("delete_run", _ctx(dataset))
    assert props["run_key"].invalid and "no_run_key" in props
    dataset.delete_sample_field(FIELD)
    props = _form("compute_scores", _ctx(dataset))
    assert props["label_field"].invalid and "no_label_field" in props


def test_progress_immediate_and_delegated(dataset):
    # run immediately: a generator that yields set_progress triggers
    ctx = _ctx(dataset, label_field=FIELD, method="cb-scs", run_key="tfdp")
    messages = list(_operator("compute_scores").execute(ctx))
    progress = [
        m.body.params
        for m in messages
        if m.body.operator_uri.endswith("set_progress")
    ]
    assert progress[-1] == {"progress": 1.0, "label": "Measuring 128/128"}
    assert messages[-2].body.operator_uri.endswith("reload_dataset")
    assert messages[-1].body.operator_uri.endswith("notify")
    scored = (
        "TFDP run 'tfdp': scored %d instances of 128 samples (cb-scs)"
        % (tfdp.get_run_info(dataset)["config"]["num_instances"])
    )
    assert messages[-1].body.params == {
        "message": scored,
        "variant": "success",
    }

    # delegated: progress is recorded on the operation
    _operator("compute_scores")(dataset, FIELD, run_key="later", delegate=True)
    service = DelegatedOperationService()
    queued = service.list_operations(dataset_name=dataset.name)
    _run_delegated(dataset)
    done = service.get(queued[-1].id)
    assert done.status.progress == 1.0
    # its last label is what it did
    assert done.status.label == scored.replace("'tfdp'", "'later'")


def test_operator_errors_are_reported(dataset):
    with pytest.raises(Exception, match="run_key. Reason: no TFDP run"):
        _operator("get_run_info")(dataset, run_key="nope")
    with pytest.raises(Exception, match="Path: label_field"):
        _operator("compute_scores")(dataset, "coco_id")


def _ctx_with_view(dataset, view, **params):
    return ExecutionContext(
        request_params=dict(
            dataset_name=dataset.name, view=view._serialize(), params=params
        ),
        executor=Executor(),
    )


def test_prune_form_has_a_field_and_default_per_amount(dataset):
    tfdp.compute_scores(dataset, FIELD)
    defaults = {"keep_ratio": 0.7, "prune_ratio": 0.3, "keep": 90}
    for kind, default in defaults.items():
        # a value of another kind is never carried over
        props = _form(
            "prune",
            _ctx(
                dataset,
                run_key="tfdp",
                amount=kind,
                keep_ratio=0.5,
                prune_ratio=0.5,
            ),
        )
        assert props[kind].default == default
        others = set(defaults) - {kind}
        assert not others & set(props)
        if kind == "keep":
            assert not props["keep"].invalid
            assert props["amount_summary"].view.label == (
                "Keeps 90 of 128 samples"
            )

    # an empty field, in the form's own words
    props = _form(
        "prune",
        _ctx(dataset, run_key="tfdp", amount="keep_ratio", keep_ratio=None),
    )
    assert props["keep_ratio"].invalid
    assert props["keep_ratio"].error_message == (
        "enter the fraction of samples to keep"
    )
    props = _form(
        "prune", _ctx(dataset, run_key="tfdp", amount="keep", keep=None)
    )
    assert props["keep"].error_message == "enter the number of samples to keep"

    props = _form(
        "prune", _ctx(dataset, run_key="tfdp", amount="keep", keep=0)
    )
    assert props["keep"].invalid
    assert props["keep"].error_message == "keep at least 1 sample"
    props = _form(
        "prune", _ctx(dataset, run_key="tfdp", amount="keep", keep=200)
    )
    assert props["keep"].invalid
    assert props["keep"].error_message == "200 exceeds the 128 samples"
    props = _form(
        "prune",
        _ctx(dataset, run_key="tfdp", amount="prune_ratio", prune_ratio=0.3),
    )
    assert props["amount_summary"].view.label == "Keeps 90 of 128 samples"
    props = _form(
        "prune",
        _ctx(dataset, run_key="tfdp", amount="keep_ratio", keep_ratio=0.001),
    )
    assert props["keep_ratio"].error_message == (
        "a keep ratio of 0.001 keeps no image of the 128: keep at least one"
    )
    # a ratio of 0: the message Python and the command give
    props = _form(
        "prune",
        _ctx(dataset, run_key="tfdp", amount="keep_ratio", keep_ratio=0),
    )
    assert props["keep_ratio"].error_message == (
        "a keep ratio of 0 keeps no image: keep at least one"
    )
    with pytest.raises(ValueError, match="^a keep ratio of 0 keeps no image"):
        tfdp.prune_samples(dataset, keep_ratio=0)

    # refused at execution too, not clamped
    with pytest.raises(Exception, match="exceeds the 128 samples"):
        _operator("prune")(dataset, keep=200)
    result = _operator("prune")(dataset, prune_ratio=0.3)
    assert result.error is None
    assert dataset.count_sample_tags() == {"tfdp:keep": 90}


def test_an_empty_run_key_shows_one_message(dataset):
    tfdp.compute_scores(dataset, FIELD)
    for name in ("compute_scores", "prune"):
        props = _form(name, _ctx(dataset, run_key=""))
        assert props["run_key"].invalid
        assert props["run_key"].error_message == "enter a run key"
        assert not props["run_key"].required  # no second "Required" message
        assert "overwrite_warning" not in props
    # absent, it is the form's first rendering: the default, no error
    props = _form("compute_scores", _ctx(dataset))
    assert not props["run_key"].invalid
    assert props["run_key"].default == "tfdp"


def test_the_target_is_explicit_and_the_dataset_by_default(dataset):
    from fiftyone.operators.constants import ViewTarget

    view = dataset.limit(38)
    props = _form("compute_scores", _ctx_with_view(dataset, view))
    target = props["view_target"]
    assert target.default == ViewTarget.DATASET
    assert set(target.type.values) == {
        ViewTarget.DATASET,
        ViewTarget.CURRENT_VIEW,
    }
    assert props["target_summary"].view.label == (
        "Scores the 128 samples of the dataset. CB-SCS class totals are "
        "taken over these samples only"
    )
    props = _form(
        "compute_scores",
        _ctx_with_view(dataset, view, view_target=ViewTarget.CURRENT_VIEW),
    )
    assert props["target_summary"].view.label.startswith(
        "Scores the 38 samples of the current view."
    )

    # from the App, with a view on screen and the form's default: the dataset
    result = foo.execute_operator(
        "%s/prune" % PLUGIN,
        dict(view=view),
        params=dict(
            run_key="fresh", label_field=FIELD, amount="keep", keep=10
        ),
    )
    assert result.error is None
    assert dataset.count("fresh_score") == 128
    assert tfdp.get_run_info(dataset, "fresh")["config"]["num_samples"] == 128


def test_forms_default_to_the_run_on_screen_else_the_newest(dataset):
    tfdp.apply_tfdp(dataset, FIELD, keep_ratio=0.7)
    tfdp.apply_tfdp(dataset, FIELD, keep=20, run_key="tfdp2")
    for name in ("export_kept", "get_run_info", "delete_run"):
        props = _form(name, _ctx(dataset))
        assert props["run_key"].default == "tfdp2"
        assert list(props["run_key"].type.values) == ["tfdp2", "tfdp"]
    assert _form("prune", _ctx(dataset))["run_key"].default == "tfdp2"

    # the grid shows tfdp's kept samples, then its pruned-away samples
    from tfdp.fo_adapter.preview import pruned_away_view

    for view in (
        tfdp.load_kept_view(dataset, "tfdp"),
        pruned_away_view(dataset, "tfdp", keep_ratio=0.7),
    ):
        for name in ("export_kept", "get_run_info", "delete_run", "prune"):
            props = _form(name, _ctx_with_view(dataset, view))
            assert props["run_key"].default == "tfdp", name


def test_operators_are_listed_in_workflow_order():
    # the App's operator browser sorts by the first character of each
    # description (then by registration order): the workflow, delete last
    workflow = [
        "load_coco_dataset",
        "compute_scores",
        "prune",
        "open_panel",
        "export_kept",
        "get_run_info",
        "delete_run",
    ]
    configs = [_operator(name).config for name in workflow]
    keys = [ord((c.description or c.label)[0]) for c in configs]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    import yaml

    manifest = yaml.safe_load(open(os.path.join(ROOT, "fiftyone.yml")))
    assert manifest["operators"] == workflow


@pytest.mark.parametrize("delegate", [False, True])
def test_load_coco_dataset_operator(delegate):
    name = "tfdp-test-op-load-%s" % delegate
    images = os.path.join(os.path.dirname(COCO_SAMPLE), "images")
    result = _operator("load_coco_dataset")(
        COCO_SAMPLE, data_path=images, name=name, delegate=delegate
    )
    assert result.error is None
    try:
        if delegate:
            assert not fo.dataset_exists(name)  # queued, not run yet
            results = DelegatedOperationService().execute_queued_operations(
                operator="%s/load_coco_dataset" % PLUGIN
            )
            assert results and all(r.error is None for r in results)
        loaded = fo.load_dataset(name)
        assert loaded.persistent  # it outlives the process that loads it
        expected = tfdp.load_coco_dataset(
            COCO_SAMPLE, data_path=images, name=name + "-api"
        )
        try:
            assert loaded.values("filepath") == expected.values("filepath")
            assert loaded.values(
                "segmentations.polylines.points"
            ) == expected.values("segmentations.polylines.points")
            assert loaded.info == expected.info
        finally:
            expected.delete()
    finally:
        if fo.dataset_exists(name):
            fo.delete_dataset(name)


def test_load_coco_dataset_form(tmp_path):
    def form(**params):
        ctx = ExecutionContext(
            request_params=dict(params=params), executor=Executor()
        )
        return _operator("load_coco_dataset").resolve_input(ctx)

    props = form().type.properties
    assert props["labels_path"].required and not props["labels_path"].invalid
    assert "overwrite" not in props
    props = form(labels_path="instances.json").type.properties
    assert props["labels_path"].error_message == "give an absolute path"
    props = form(labels_path=str(tmp_path / "none.json")).type.properties
    assert props["labels_path"].error_message == "no such file"
    props = form(labels_path=COCO_SAMPLE, data_path="images").type.properties
    assert not props["labels_path"].invalid
    assert props["data_path"].error_message == "give an absolute path"

    # the default name is the file's; a taken name must be replaced on
    # purpose
    taken = fo.Dataset("instances")
    try:
        props = form(labels_path=COCO_SAMPLE).type.properties
        assert props["exists_guard"].invalid
        props = form(labels_path=COCO_SAMPLE, overwrite=True).type.properties
        assert "exists_guard" not in props
        props = form(labels_path=COCO_SAMPLE, name="other").type.properties
        assert "overwrite" not in props
    finally:
        taken.delete()


def test_export_requires_json_and_shows_its_result(dataset, tmp_path):
    tfdp.apply_tfdp(dataset, FIELD, keep_ratio=0.7)
    props = _form(
        "export_kept", _ctx(dataset, labels_path=str(tmp_path / "kept.txt"))
    )
    assert props["labels_path"].invalid
    assert props["labels_path"].error_message == "give a path ending in .json"

    out = tmp_path / "kept.json"
    ctx = _ctx(dataset, run_key="tfdp", labels_path=str(out))
    messages = list(_operator("export_kept").execute(ctx))
    shown = messages[-1].body
    assert shown.operator_uri.endswith("show_output")
    written = json.loads(out.read_text())
    # what it wrote, in one line
    notified = messages[-2].body
    assert notified.operator_uri.endswith("notify")
    assert notified.params == {
        "message": "Wrote 90 samples and %d annotations to %s (lossless)"
        % (len(written["annotations"]), out),
        "variant": "success",
    }
    assert shown.params["results"] == {
        "mode": "lossless",
        "labels_path": str(out),
        "num_samples": 90,
        "num_annotations": len(written["annotations"]),
        "source": COCO_SAMPLE,
    }
    fields = shown.params["outputs"]["type"]["properties"]
    assert {"labels_path", "num_samples", "num_annotations"} <= set(fields)


def test_deleting_the_run_on_screen_resets_the_view(dataset):
    tfdp.apply_tfdp(dataset, FIELD, keep_ratio=0.7)
    tfdp.apply_tfdp(dataset, FIELD, keep=20, run_key="other")

    def triggered(ctx):
        return [r["operator_uri"] for r in ctx.executor.to_json()["requests"]]

    # another run's samples on screen: the view stays
    ctx = _ctx_with_view(
        dataset, tfdp.load_kept_view(dataset, "other"), run_key="tfdp"
    )
    fields = tfdp.get_run_info(dataset)["config"]["fields"]
    list(_operator("delete_run").execute(ctx))
    assert triggered(ctx) == ["reload_dataset", "notify"]
    notified = ctx.executor.to_json()["requests"][-1]["params"]["message"]
    assert notified == (
        "Deleted TFDP run 'tfdp': fields %s, tag 'tfdp:keep' and saved view "
        "'tfdp-kept'" % ", ".join(fields)
    )
    assert len(fields) == 5
    ctx = _ctx_with_view(
        dataset, tfdp.load_kept_view(dataset, "other"), run_key="other"
    )
    list(_operator("delete_run").execute(ctx))
    assert triggered(ctx) == ["set_view", "reload_dataset", "notify"]
    assert tfdp.list_runs(dataset) == []


def test_run_info_is_a_readable_summary(dataset):
    tfdp.apply_tfdp(dataset, FIELD, keep_ratio=0.7)
    info = _operator("get_run_info")(dataset).result
    summary = info["summary"]
    report = tfdp.get_run_info(dataset)["report"]
    worst = report["classes"][0]
    for text in (
        "| Method | cb-scs |",
        "| Label field | `segmentations` |",
        "| Status | pruned |",
        "| Kept | 90 of 128 samples (keep ratio 0.7) |",
        "| Tag | `tfdp:keep` |",
        "| Saved view | `tfdp-kept` |",
        "**Retention:** images 90 of 128 (70.3 %%), instances "
        "%d of %d"
        % (report["instances"]["after"], report["instances"]["before"]),
        "worst class **%s** %d of %d"
        % (worst["name"], worst["after"], worst["before"]),
    ):
        assert text in summary
    assert "| Created | 20" in summary
    outputs = _operator("get_run_info").resolve_output(_ctx(dataset))
    assert list(outputs.type.properties) == ["summary"]


def _panel_event(dataset, state, view=None, **params):
    request = dict(
        dataset_name=dataset.name,
        params=dict(panel_id="tfdp-panel", panel_state=state, **params),
    )
    if view is not None:
        request["view"] = view._serialize()
    return ExecutionContext(request_params=request, executor=Executor())


def _panel_change(panel, dataset, state, **changes):
    # the App changes the panel's state, then sends it to on_change
    state.update(changes)
    ctx = _panel_event(dataset, state)
    panel.on_change(ctx)
    return ctx


def _panel_sent(ctx, what):
    # what an event sent to the App: the panel's "state" or "data" patches
    sent = {}
    for request in ctx.executor.to_json()["requests"]:
        if request["operator_uri"] == "patch_panel_" + what:
            sent.update(request["params"][what])
    return sent


def _panel_state_sent(ctx):
    return _panel_sent(ctx, "state")


def _panel_data(ctx):
    return _panel_sent(ctx, "data")


def _prompts(ctx):
    # the operators an event asked the App to run, or to show the form of
    return [
        r["params"]
        for r in ctx.executor.to_json()["requests"]
        if r["operator_uri"] == "prompt_user_for_operation"
    ]


def test_panel_survives_deleted_runs_and_lists_new_ones(dataset):
    panel = _operator("tfdp_panel")
    state = {}
    ctx = _panel_event(dataset, state)
    panel.on_load(ctx)
    assert state["run_key"] is None
    assert "no_runs" in panel.render(ctx).type.properties

    # runs created after the panel opened: an event or Refresh shows them
    tfdp.apply_tfdp(dataset, FIELD, keep_ratio=0.7)
    panel.refresh(_panel_event(dataset, state))
    assert state["run_key"] == "tfdp"
    assert "keeps 90 of 128 images" in state["summary"]
    tfdp.compute_scores(dataset, FIELD, run_key="tfdp2", method="scs")
    ctx = _panel_change(panel, dataset, state, keep_ratio=0.5)
    assert state["keep_ratio"] == 0.5
    assert "keeps 64 of 128 images" in state["summary"]
    runs = panel.render(ctx).type.properties["run_key"]
    assert list(runs.type.values) == ["tfdp2", "tfdp"]

    # the run on show is deleted: the next event falls back, no traceback,
    # at the ratio the user chose, which is never sent back to the slider
    tfdp.delete_run(dataset, "tfdp")
    ctx = _panel_change(panel, dataset, state, keep_ratio=0.6)
    assert state["run_key"] == "tfdp2"
    assert state["message"] == "Run 'tfdp' was deleted; showing run 'tfdp2'"
    assert "scs: keeps 77 of 128 images" in state["summary"]
    assert "keep_ratio" not in _panel_state_sent(ctx)
    props = panel.render(ctx).type.properties
    assert props["message"].view.label == state["message"]
    assert list(props["run_key"].type.values) == ["tfdp2"]

    # the last run too: the "no runs yet" state, from any event
    tfdp.delete_run(dataset, "tfdp2")
    for event, changes in (
        ("on_change", dict(compare="scs")),
        ("apply", {}),
        ("show_removed", {}),
        ("on_change", dict(run_key="tfdp2")),
    ):
        state.update(changes)
        ctx = _panel_event(dataset, state)
        getattr(panel, event)(ctx)
        assert state["run_key"] is None
        assert "no_runs" in panel.render(ctx).type.properties
        assert not _prompts(ctx)


def test_panel_shows_an_unfinished_run_without_a_traceback(dataset):
    tfdp.apply_tfdp(dataset, FIELD, keep_ratio=0.7)
    config = dataset.get_run_info("tfdp").config
    config.status = "scoring"  # as a compute still running leaves it
    dataset.update_run_config("tfdp", config)
    state = {}
    ctx = _panel_event(dataset, state)
    _operator("tfdp_panel").on_load(ctx)
    assert "did not finish scoring" in state["message"]
    assert _panel_data(ctx)["classes"] == []


def _panel_on_two_runs(dataset):
    # tfdp keeps 90 of 128 samples, tfdp2 20
    tfdp.apply_tfdp(dataset, FIELD, keep_ratio=0.7)
    tfdp.apply_tfdp(dataset, FIELD, keep=20, run_key="tfdp2")
    panel = _operator("tfdp_panel")
    state = {}
    panel.on_load(_panel_event(dataset, state))
    return panel, state


def test_panel_opens_on_the_run_on_screen(dataset):
    panel, state = _panel_on_two_runs(dataset)
    assert state["run_key"] == "tfdp2"  # the newest
    assert state["keep_ratio"] == 0.15  # what it kept, 20 of 128
    kept = tfdp.load_kept_view(dataset, "tfdp")
    panel.on_load(_panel_event(dataset, state, view=kept))
    assert state["run_key"] == "tfdp"
    assert state["keep_ratio"] == 0.7


def test_panel_plots_read_at_a_glance(dataset):
    tfdp.apply_tfdp(dataset, FIELD, keep_ratio=0.7)
    panel = _operator("tfdp_panel")
    state = {}
    panel.on_load(_panel_event(dataset, state))
    _panel_change(panel, dataset, state, compare="scs")
    # a ratio low enough that the worst class keeps nothing
    ctx = _panel_change(panel, dataset, state, keep_ratio=0.05)
    data = _panel_data(ctx)
    props = panel.render(ctx).type.properties

    # every plot has axis titles in Plotly.js's form and a legend
    for name in ("scores", "classes", "curve", "sizes"):
        layout = props[name].view.layout
        for axis in ("xaxis", "yaxis"):
            title = layout[axis].get("title")
            assert title is None or isinstance(title["text"], str)
        assert layout["xaxis"].get("title") or layout["yaxis"].get("title")
        assert layout["showlegend"]  # the App's default hides it
        assert all(trace["name"] for trace in data[name])
    assert {t["name"] for t in data["scores"]} == {
        "kept (cb-scs)",
        "pruned away",
    }

    # per class: horizontal bars of the kept share, worst first, each
    # labelled "kept of total"; red crosses on the classes that keep
    # nothing; scs as markers on these rows
    preview = preview_pruning(dataset, keep_ratio=0.05)
    classes = preview["classes"]
    lost = [c["name"] for c in classes if c["after"] == 0]
    assert lost and classes[0]["after"] == 0
    kept, crosses, other = data["classes"]
    assert kept["orientation"] == "h" and kept["name"] == "kept (cb-scs)"
    assert kept["y"] == [c["name"] for c in classes[:20]]
    assert kept["text"] == [
        "%d of %d" % (c["after"], c["before"]) if c["after"] else ""
        for c in classes[:20]
    ]
    assert kept["textposition"] == "outside"
    assert crosses["y"] == lost[:20] and set(crosses["x"]) == {0}
    assert crosses["text"] == [
        "0 of %d" % c["before"] for c in classes[:20] if not c["after"]
    ]
    assert crosses["name"] == "loses every instance (cb-scs)"
    assert all(0 <= x <= 100 for x in kept["x"] + other["x"])
    assert other["name"] == "kept (scs)" and other["mode"] == "markers"
    assert set(other["y"]) <= set(kept["y"])
    # no bar that is always full
    assert all(set(t["x"]) != {100} for t in data["classes"] if t["x"])

    # the summary counts the classes that lose all their instances, and
    # names as many as the chart shows
    line = state["summary"].split("\n\n")[0]
    assert "**%d classes lose every instance**: " % len(lost) in line
    assert all("%s (" % name in line for name in lost[:20])
    assert len(lost) > 20 and line.endswith(" and %d more" % (len(lost) - 20))

    # no plot zooms under the mouse wheel, or under a drag
    for name in ("scores", "classes", "curve", "sizes"):
        view = props[name].view
        assert view.config["scrollZoom"] is False
        assert view.layout["xaxis"]["fixedrange"]
        assert view.layout["yaxis"]["fixedrange"]
    assert state["classes_title"].startswith(
        "**Instances kept per class**, worst first: the 20 worst of %d "
        "classes (%d more hidden)" % (len(classes), len(classes) - 20)
    )
    assert props["classes"].view.layout["yaxis"]["dtick"] == 1

    # the slider's tooltip reads 0.05, not 0.050000
    slider = props["keep_ratio"].view.to_json()
    assert slider["value_precision"] == 2
    assert (slider["min"], slider["max"], slider["view_multiple_of"]) == (
        0.05,
        1.0,
        0.05,
    )


def test_retention_curve_counts_what_select_keeps_at_each_ratio(dataset):
    from tfdp import scoring
    from tfdp.fo_adapter.preview import _rank, retention_curve

    tfdp.compute_scores(dataset, FIELD)
    for method in ("cb-scs", "si-scs", "scs", "random"):
        curve = retention_curve(dataset, method=method)
        assert curve["method"] == method
        assert curve["ratios"] == [round(0.05 * k, 2) for k in range(1, 21)]
        ranking = _rank(dataset, "tfdp", 1.0, method)
        table, order = ranking["stored"].table, ranking["order"]
        classes = set(table.category.tolist())
        assert curve["instances"]["total"] == len(table) == 929
        assert curve["classes"]["total"] == len(classes)
        for i, ratio in enumerate(curve["ratios"]):
            count = scoring.keep_count(128, keep_ratio=ratio)
            kept = scoring.select(order, count)[table.image_index]
            assert curve["images"][i] == count
            assert curve["instances"]["kept"][i] == kept.sum()
            assert curve["classes"]["kept"][i] == len(
                set(table.category[kept].tolist())
            )
        # what the panel's bars say at the same ratio
        preview = preview_pruning(dataset, keep_ratio=0.5, method=method)
        assert curve["instances"]["kept"][9] == preview["instances"]["after"]
        assert curve["classes"]["kept"][9] == sum(
            c["after"] > 0 for c in preview["classes"]
        )
        assert curve["instances"]["kept"][-1] == 929
        assert curve["classes"]["kept"][-1] == len(classes)


def test_curve_counts_images_without_instances_and_unranked_classes():
    import numpy as np

    from tfdp.fo_adapter.preview import curve_counts
    from tfdp.scoring import ShapeTable

    # 5 images ranked 3, 0, 4, 1, 2; image 4 has no instance
    table = ShapeTable(
        instance_ids=np.arange(6),
        image_index=np.array([0, 0, 1, 2, 3, 3]),
        category=np.array(["a", "b", "b", "c", "a", "d"]),
        perimeter=np.ones(6),
        area=np.ones(6),
        pixels=np.ones(6),
    )
    curve = curve_counts(table, [3, 0, 4, 1, 2], 5, [0.2, 0.4, 0.6, 0.8, 1])
    assert curve["images"] == [1, 2, 3, 4, 5]
    assert curve["instances"] == {"kept": [2, 4, 4, 5, 6], "total": 6}
    assert curve["classes"] == {"kept": [2, 3, 3, 3, 4], "total": 4}


def test_panel_switching_runs_keeps_no_row_or_legend_of_another(dataset):
    # issue 21: cb-scs compared with si-scs, then a run of si-scs
    tfdp.compute_scores(dataset, FIELD)
    tfdp.compute_scores(dataset, FIELD, run_key="tfdp2", method="si-scs")
    panel = _operator("tfdp_panel")
    state = {}
    panel.on_load(_panel_event(dataset, state, view=None))
    _panel_change(panel, dataset, state, run_key="tfdp", keep_ratio=0.5)
    ctx = _panel_change(panel, dataset, state, compare="si-scs")
    assert len(_panel_data(ctx)["classes"]) == 3
    compare = panel.render(ctx).type.properties["compare"]
    assert list(compare.type.values) == ["none", "si-scs", "scs", "random"]

    # the App copied the plots into the state; the answer clears them, and
    # the comparison with the run's own method goes
    state.update(_panel_data(ctx))
    ctx = _panel_change(panel, dataset, state, run_key="tfdp2")
    sent = _panel_state_sent(ctx)
    assert all(
        sent[name] is None for name in ("scores", "classes", "curve", "sizes")
    )
    assert sent["compare"] == "none"
    assert sent["shown"] == dict(
        run_key="tfdp2", keep_ratio=0.5, compare="none"
    )
    data = _panel_data(ctx)
    preview = preview_pruning(dataset, run_key="tfdp2", keep_ratio=0.5)
    kept, crosses = data["classes"]
    assert kept["y"] == [c["name"] for c in preview["classes"][:20]]
    for plot in data.values():
        legends = [t["name"] for t in plot]
        assert "kept (cb-scs)" not in legends
        assert len(legends) == len(set(legends))
    assert "si-scs:" in sent["summary"] and "cb-scs" not in sent["summary"]
    compare = panel.render(ctx).type.properties["compare"]
    assert list(compare.type.values) == ["none", "cb-scs", "scs", "random"]
    assert compare.default == "none"


def test_panel_retention_curve_marks_the_ratio(dataset):
    from tfdp.fo_adapter.preview import retention_curve

    tfdp.compute_scores(dataset, FIELD)
    panel = _operator("tfdp_panel")
    state = {}
    panel.on_load(_panel_event(dataset, state))
    ctx = _panel_change(panel, dataset, state, keep_ratio=0.35)
    instances, classes, ratio = _panel_data(ctx)["curve"]
    curve = retention_curve(dataset)
    assert instances["name"] == "instances kept (cb-scs)"
    assert classes["name"] == "classes kept (cb-scs)"
    assert instances["x"] == curve["ratios"]
    assert classes["y"] == [
        100 * k / curve["classes"]["total"] for k in curve["classes"]["kept"]
    ]
    assert ratio["x"] == [0.35, 0.35] and ratio["name"] == "keep ratio 0.35"
    # compared: the other method's two curves too
    ctx = _panel_change(panel, dataset, state, compare="scs")
    names = [t["name"] for t in _panel_data(ctx)["curve"]]
    assert names == [
        "instances kept (cb-scs)",
        "classes kept (cb-scs)",
        "instances kept (scs)",
        "classes kept (scs)",
        "keep ratio 0.35",
    ]


def _poll(panel, dataset, state):
    ctx = _panel_event(dataset, state, __method__="poll")
    assert panel.execute(ctx) is None
    return ctx, [r["operator_uri"] for r in ctx.executor.to_json()["requests"]]


def test_panel_polls_for_runs_and_scheduled_operations(dataset):
    panel = _operator("tfdp_panel")
    tfdp.compute_scores(dataset, FIELD)
    state = {}
    ctx = _panel_event(dataset, state)
    panel.on_load(ctx)
    timer = panel.render(ctx).type.properties["poll"].view.to_json()
    assert timer["name"] == "TimerView" and timer["interval"] > 0
    assert timer["on_interval"].endswith("#poll")

    # nothing new: nothing sent, no render
    assert _poll(panel, dataset, state)[1] == []

    # a run scored elsewhere: listed, and the sidebar reloads
    tfdp.compute_scores(dataset, FIELD, run_key="tfdp2", method="scs")
    ctx, sent = _poll(panel, dataset, state)
    assert "reload_dataset" in sent and "show_panel_output" in sent
    assert [key for key, _ in state["runs"]] == ["tfdp", "tfdp2"]
    assert state["run_key"] == "tfdp"
    assert list(panel.render(ctx).type.properties["run_key"].type.values) == [
        "tfdp2",
        "tfdp",
    ]
    assert _poll(panel, dataset, state)[1] == []

    # the run shown deleted elsewhere: replaced at once, and said
    tfdp.delete_run(dataset, "tfdp")
    ctx, sent = _poll(panel, dataset, state)
    assert "show_panel_output" in sent
    assert state["run_key"] == "tfdp2"
    assert state["message"] == "Run 'tfdp' was deleted; showing run 'tfdp2'"
    assert list(panel.render(ctx).type.properties["run_key"].type.values) == [
        "tfdp2"
    ]

    # a scheduled run that ends: announced in its own words, listed
    result = _operator("compute_scores")(
        dataset, FIELD, run_key="tfdp3", delegate=True
    )
    assert result.error is None
    assert _poll(panel, dataset, state)[1] == []  # queued: nothing yet
    _run_delegated(dataset)
    ctx, sent = _poll(panel, dataset, state)
    notes = [
        r["params"]
        for r in ctx.executor.to_json()["requests"]
        if r["operator_uri"] == "notify"
    ]
    config = dataset.get_run_info("tfdp3").config
    assert notes == [
        dict(
            message="TFDP run 'tfdp3': scored %d instances of 128 samples "
            "(cb-scs)" % config.num_instances,
            variant="success",
        )
    ]
    assert "reload_dataset" in sent and "show_panel_output" in sent
    assert [key for key, _ in state["runs"]] == ["tfdp2", "tfdp3"]
    # announced once
    assert _poll(panel, dataset, state)[1] == []


def test_panel_buttons_go_through_the_operators(dataset):
    tfdp.compute_scores(dataset, FIELD)
    panel = _operator("tfdp_panel")
    state = {}
    panel.on_load(_panel_event(dataset, state))
    props = panel.render(_panel_event(dataset, state)).type.properties
    buttons = props["buttons"].type.properties
    assert {"apply", "show_removed", "compute", "delete", "refresh"} <= set(
        buttons
    )
    # not pruned yet: applying replaces nothing, and says nothing
    assert state["apply_note"] is None and "apply_note" not in props

    # delete: the operator's form, on the run shown, then a refresh
    ctx = _panel_event(dataset, state)
    panel.delete(ctx)
    (prompt,) = _prompts(ctx)
    assert prompt["operator_uri"].endswith("/delete_run")
    assert prompt["params"] == dict(run_key="tfdp")
    assert not prompt["skip_prompt"]
    assert prompt["on_success"].endswith("#refresh")

    # compute: the operator's form; then the run it scored is shown, at the
    # slider's ratio (queued, nothing changes)
    ctx = _panel_event(dataset, state)
    panel.compute(ctx)
    (prompt,) = _prompts(ctx)
    assert prompt["operator_uri"].endswith("/compute_scores")
    assert prompt["on_success"].endswith("#computed")
    panel.computed(_panel_event(dataset, state))
    assert state["run_key"] == "tfdp"
    tfdp.compute_scores(dataset, FIELD, run_key="new", method="scs")
    state["keep_ratio"] = 0.5
    panel.computed(_panel_event(dataset, state))
    assert state["run_key"] == "new"
    assert "scs: keeps 64 of 128 images" in state["summary"]
    _panel_change(panel, dataset, state, run_key="tfdp", keep_ratio=0.7)

    # apply: the prune operator at once, which says what it did; then the
    # panel shows its saved view, and the note what a second one replaces
    ctx = _panel_event(dataset, state)
    panel.apply(ctx)
    (prompt,) = _prompts(ctx)
    assert prompt["operator_uri"].endswith("/prune")
    assert prompt["params"] == dict(
        run_key="tfdp", amount="keep_ratio", keep_ratio=0.7, seed=0
    )
    assert prompt["skip_prompt"]
    assert prompt["on_success"].endswith("#applied")
    tfdp.prune_samples(dataset, keep_ratio=0.7)
    ctx = _panel_event(dataset, state)
    panel.applied(ctx)
    (view,) = [
        r["params"]
        for r in ctx.executor.to_json()["requests"]
        if r["operator_uri"] == "set_view"
    ]
    assert view["name"] == "tfdp-kept"
    assert state["apply_note"] == (
        "*Apply pruning* replaces this run's tag "
        "'tfdp:keep' and saved view 'tfdp-kept'"
    )


@pytest.mark.parametrize(
    "choices, phrase",
    [
        (dict(min_per_class=1), "at least 1 per class"),
        (
            dict(selection="stratified", strata=5, hard_cutoff=0.1, seed=3),
            "stratified (5 strata, hard cutoff 0.1)",
        ),
    ],
)
def test_panel_previews_and_applies_the_runs_selection(
    dataset, choices, phrase
):
    # the panel's ratio, with the choices of the run's last pruning: what
    # it previews is what Apply keeps
    tfdp.compute_scores(dataset, FIELD)
    tfdp.prune_samples(dataset, keep_ratio=0.7, **choices)
    panel = _operator("tfdp_panel")
    state = {}
    panel.on_load(_panel_event(dataset, state))
    _panel_change(panel, dataset, state, keep_ratio=0.6)
    assert "cb-scs, %s: keeps 77 of 128 images" % phrase in state["summary"]
    preview = preview_pruning(dataset, keep_ratio=0.6)

    ctx = _panel_event(dataset, state)
    panel.apply(ctx)
    (prompt,) = _prompts(ctx)
    result = foo.execute_operator(
        prompt["operator_uri"], dict(dataset=dataset), params=prompt["params"]
    )
    assert result.error is None
    kept = tfdp.load_kept_view(dataset)
    assert kept.values("id") == preview["kept_view"].values("id")
    report = tfdp.get_run_info(dataset)["report"]
    assert report["instances"] == preview["instances"]
    assert report["selection"]["selection"] == choices.get("selection", "top")
    expected = tfdp.prune_samples(dataset, keep_ratio=0.6, **choices)
    assert set(kept.values("id")) == set(expected.values("id"))
    assert set(preview["removed_view"].values("id")) == set(
        dataset.values("id")
    ) - set(kept.values("id"))

    if "min_per_class" in choices:
        # a ratio the guarantee does not fit: said, as prune would say it
        _panel_change(panel, dataset, state, keep_ratio=0.05)
        assert "needs" in state["message"]
        assert "keep at least" in state["message"]


def test_prune_warns_only_of_what_it_replaces(dataset):
    def warning(name, **params):
        props = _form(name, _ctx(dataset, **params))
        return (
            props["overwrite_warning"].view.label
            if ("overwrite_warning" in props)
            else None
        )

    tfdp.compute_scores(dataset, FIELD)
    assert warning("prune", run_key="tfdp") is None  # scored, not pruned
    assert warning("prune", run_key="new") is None
    assert warning("prune", run_key="tfdp", method="random") is None
    assert warning("prune", run_key="tfdp", method="scs") == (
        "Run 'tfdp' exists: its stored scores (cb-scs, rewritten by scs) "
        "will be replaced"
    )
    fields = "Run 'tfdp' exists: its fields "
    assert warning("prune", run_key="tfdp", rescore=True).startswith(fields)
    assert warning("compute_scores", run_key="tfdp").startswith(fields)

    tfdp.prune_samples(dataset, keep_ratio=0.7)
    assert warning("prune", run_key="tfdp") == (
        "Run 'tfdp' exists: its tag 'tfdp:keep' and saved view 'tfdp-kept' "
        "will be replaced"
    )
    assert warning("compute_scores", run_key="tfdp").endswith(
        "tag 'tfdp:keep' and saved view 'tfdp-kept' will be replaced"
    )


def test_panel_follows_its_state_and_never_moves_the_slider_back(dataset):
    # The App calls on_change after every change of the panel's state,
    # including the state the panel sets itself, and a step's answer may
    # arrive after the user moved the slider on
    tfdp.apply_tfdp(dataset, FIELD, keep_ratio=0.7)
    panel = _operator("tfdp_panel")
    state = {}
    panel.on_load(_panel_event(dataset, state))
    assert state["shown"] == dict(
        run_key="tfdp", keep_ratio=0.7, compare="none"
    )
    for value, previewed in (
        (0.5, True),
        (0.5, False),
        (0.55000001, True),
        (0.5, True),
    ):
        ctx = _panel_change(panel, dataset, state, keep_ratio=value)
        sent = _panel_state_sent(ctx)
        if not previewed:  # nothing to show anew: nothing sent
            assert sent == {} and _panel_data(ctx) == {}
            continue
        assert sorted(_panel_data(ctx)) == [
            "classes",
            "curve",
            "scores",
            "sizes",
        ]
        assert "keep_ratio" not in sent  # the slider keeps the user's value
        assert sent["shown"]["keep_ratio"] == round(value, 2)
        assert "keeps %d of 128" % round(value * 128) in sent["summary"]

    # the state the panel set comes back: nothing to do, not even a render
    ctx = _panel_change(panel, dataset, state)
    assert _panel_state_sent(ctx) == {} and _panel_data(ctx) == {}
    ctx = _panel_event(dataset, state, __method__="on_change")
    assert panel.execute(ctx) is None
    assert ctx.executor.to_json()["requests"] == []
    ctx = _panel_event(
        dataset, dict(state, keep_ratio=0.3), __method__="on_change"
    )
    panel.execute(ctx)
    sent = [r["operator_uri"] for r in ctx.executor.to_json()["requests"]]
    assert "show_panel_output" in sent and "patch_panel_data" in sent

    # one step, sent twice by the App, the second built on the state from
    # before the first answer: answered again, as the App may have put
    # that state back
    stale = dict(state, keep_ratio=0.6)
    for ctx in (
        _panel_change(panel, dataset, dict(stale)),
        _panel_change(panel, dataset, dict(stale)),
    ):
        sent = _panel_state_sent(ctx)
        assert "keeps 77 of 128" in sent["summary"]
        assert "keep_ratio" not in sent

    # another run: at the slider's ratio, nothing written back
    tfdp.apply_tfdp(dataset, FIELD, keep=20, run_key="tfdp2")
    ctx = _panel_change(panel, dataset, state, run_key="tfdp2")
    sent = _panel_state_sent(ctx)
    assert "keep_ratio" not in sent and "run_key" not in sent
    assert sent["shown"] == dict(
        run_key="tfdp2", keep_ratio=0.5, compare="none"
    )
    assert "keeps 64 of 128" in sent["summary"]


def test_panel_whose_run_is_deleted_keeps_the_users_ratio(dataset):
    # What the App sent in a browser: a step of the slider after the run
    # on show was deleted, then changes built on the state before the
    # panel's answer, with the new run echoed by its input
    panel, state = _panel_on_two_runs(dataset)
    assert (state["run_key"], state["keep_ratio"]) == ("tfdp2", 0.15)
    tfdp.delete_run(dataset, "tfdp2")
    before = dict(state)

    ctx = _panel_change(panel, dataset, state, keep_ratio=0.1)
    sent = _panel_state_sent(ctx)
    deleted = "Run 'tfdp2' was deleted; showing run 'tfdp'"
    assert sent["run_key"] == "tfdp" and sent["message"] == deleted
    assert "keep_ratio" not in sent
    assert "cb-scs: keeps 13 of 128" in sent["summary"]

    # the new run echoed on the old state, and the step itself again:
    # the same answer, the notice included, and no input written back
    for changes in (
        dict(run_key="tfdp", keep_ratio=0.1),
        dict(keep_ratio=0.1),
    ):
        ctx = _panel_change(panel, dataset, dict(before), **changes)
        sent = _panel_state_sent(ctx)
        assert sent["message"] == deleted
        assert "cb-scs: keeps 13 of 128" in sent["summary"]
        assert "keep_ratio" not in sent
    assert "run_key" not in sent or sent["run_key"] == "tfdp"

    # the notice stays while its run is shown, and goes with another run,
    # or once the deleted run exists again
    ctx = _panel_change(panel, dataset, state, keep_ratio=0.2)
    assert _panel_state_sent(ctx)["message"] == deleted
    tfdp.compute_scores(dataset, FIELD, run_key="tfdp2")
    ctx = _panel_change(panel, dataset, state, keep_ratio=0.25)
    assert _panel_state_sent(ctx)["message"] is None
    # deleted again while another run is shown: nothing to say
    tfdp.delete_run(dataset, "tfdp2")
    ctx = _panel_change(panel, dataset, state, keep_ratio=0.2)
    assert _panel_state_sent(ctx)["message"] is None
    tfdp.compute_scores(dataset, FIELD, run_key="tfdp3", method="scs")
    ctx = _panel_change(panel, dataset, state, run_key="tfdp3")
    sent = _panel_state_sent(ctx)
    assert sent["message"] is None
    assert "scs: keeps 26 of 128" in sent["summary"]


def _measure_tasks_run(address):
    from distributed import Client

    with Client(address, timeout=30) as client:
        return client.run_on_scheduler(
            lambda dask_scheduler: (
                dask_scheduler.task_prefixes["measure_task"].state_counts[
                    "memory"
                ]
                if "measure_task" in dask_scheduler.task_prefixes
                else 0
            )
        )


def test_workers_in_the_form_and_the_cluster_of_scheduled_runs(
    dataset, loopback_scheduler, monkeypatch
):
    for value, message in (
        (0, "at least 1"),
        (1.5, "at least 1"),
        ("", "enter the number"),
    ):
        props = _form(
            "compute_scores",
            _ctx(dataset, label_field=FIELD, num_workers=value),
        )
        assert props["num_workers"].invalid
        assert message in props["num_workers"].error_message
    props = _form(
        "compute_scores", _ctx(dataset, label_field=FIELD, num_workers=2)
    )
    assert not props["num_workers"].invalid
    with pytest.raises(Exception, match="num_workers"):
        _operator("compute_scores")(
            dataset, FIELD, run_key="none", num_workers=0
        )
    assert "none" not in dataset.list_runs()

    # the same fields measured here, on 2 local workers, and, scheduled,
    # on the cluster that TFDP_SCHEDULER names
    _operator("compute_scores")(dataset, FIELD, run_key="here")
    _operator("compute_scores")(dataset, FIELD, run_key="local", num_workers=2)
    monkeypatch.setenv("TFDP_SCHEDULER", loopback_scheduler)
    before = _measure_tasks_run(loopback_scheduler)
    _operator("compute_scores")(
        dataset, FIELD, run_key="cluster", delegate=True
    )
    _run_delegated(dataset)
    assert _measure_tasks_run(loopback_scheduler) > before

    path = label_list_path(dataset, FIELD)
    assert dataset.count(path + ".cluster_score") == 929
    assert (
        run_values(dataset, FIELD, "here")
        == run_values(dataset, FIELD, "local")
        == run_values(dataset, FIELD, "cluster")
    )


def test_prune_form_offers_the_selection_choices(dataset):
    tfdp.compute_scores(dataset, FIELD)
    props = _form("prune", _ctx(dataset, run_key="tfdp"))
    assert "min_per_class" in props and "strata" not in props
    props = _form(
        "prune", _ctx(dataset, run_key="tfdp", selection="stratified")
    )
    assert {"strata", "hard_cutoff", "seed"} <= set(props)
    assert "min_per_class" not in props
    # in the form's words, before anything runs
    props = _form(
        "prune",
        _ctx(dataset, run_key="tfdp", method="random", selection="stratified"),
    )
    assert props["selection_error"].view.label == (
        "the stratified selection needs image scores; the random method "
        "has none"
    )

    # the operator keeps what prune_samples keeps with the same choices
    _operator("prune")(dataset, keep_ratio=0.5, min_per_class=1)
    by_operator = set(tfdp.load_kept_view(dataset).values("id"))
    expected = set(
        tfdp.prune_samples(dataset, keep_ratio=0.5, min_per_class=1).values(
            "id"
        )
    )
    assert by_operator == expected
    assert tfdp.get_run_info(dataset)["config"]["selection"]["added"] > 0
    _operator("prune")(
        dataset, keep_ratio=0.5, selection="stratified", strata=10, seed=2
    )
    assert len(tfdp.load_kept_view(dataset)) == 64


def test_the_curve_shows_a_class_guarantee(dataset):
    from tfdp import scoring, selection
    from tfdp.fo_adapter.preview import _rank, retention_curve

    tfdp.compute_scores(dataset, FIELD)
    curve = retention_curve(dataset, min_per_class=1)
    ranking = _rank(dataset, "tfdp", 1.0, None)
    table, order = ranking["stored"].table, ranking["order"]
    guarantee = curve["guarantee"]
    needed = selection.class_guarantee(
        order, table.image_index, table.category, 1
    ).sum()
    assert guarantee["needed"] == needed
    for i, ratio in enumerate(curve["ratios"]):
        count = scoring.keep_count(128, keep_ratio=ratio)
        if count < needed:  # refused there, as prune_samples refuses it
            assert guarantee["instances"][i] is None
            with pytest.raises(ValueError, match="needs %d images" % needed):
                tfdp.prune_samples(dataset, keep_ratio=ratio, min_per_class=1)
            continue
        # what prune_samples keeps with the guarantee at that ratio
        tfdp.prune_samples(dataset, keep_ratio=ratio, min_per_class=1)
        report = tfdp.get_run_info(dataset)["report"]
        assert guarantee["instances"][i] == report["instances"]["after"]
        assert (
            guarantee["classes"][i]
            == curve["classes"]["total"]
            == sum(c["after"] > 0 for c in report["classes"])
        )

    # the panel draws it for a run pruned with the guarantee
    panel = _operator("tfdp_panel")
    state = {}
    panel.on_load(_panel_event(dataset, state))
    ctx = _panel_change(panel, dataset, state, keep_ratio=0.8)
    names = [t["name"] for t in _panel_data(ctx)["curve"]]
    assert "instances kept (at least 1 per class)" in names
    assert "classes kept (at least 1 per class)" in names
