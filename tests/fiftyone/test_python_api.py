"""What Python users see of the API: signatures, help and messages in
Python's words."""

import inspect
import os
import pydoc
import uuid

import fiftyone as fo
import pytest
from shared_data import COCO_SAMPLE, requires_shared_data

import tfdp

pytestmark = requires_shared_data


def test_apply_tfdp_method_shows_the_real_signature():
    for cls in (fo.Dataset, fo.DatasetView):
        params = list(inspect.signature(cls.apply_tfdp).parameters)
        assert params == [
            "self",
            "label_field",
            "method",
            "keep_ratio",
            "prune_ratio",
            "keep",
            "run_key",
            "tag",
            "seed",
            "selection",
            "min_per_class",
            "strata",
            "hard_cutoff",
            "skip_invalid",
            "overwrite",
            "num_workers",
            "scheduler",
            "progress",
        ]
    dataset = fo.Dataset()
    try:
        bound = inspect.signature(dataset.apply_tfdp)
        assert str(bound).startswith(
            "(label_field, method='cb-scs', keep_ratio=None, prune_ratio=None"
        )
        text = pydoc.render_doc(dataset.apply_tfdp, renderer=pydoc.plaintext)
        assert "apply_tfdp(label_field, method='cb-scs'" in text
        assert "keep_ratio (None): the fraction of samples to keep" in text
    finally:
        dataset.delete()


def test_export_kept_names_the_python_argument(tmp_path):
    dataset = tfdp.load_coco_dataset(
        COCO_SAMPLE, name="tfdp-test-api-%s" % uuid.uuid4().hex[:8]
    )
    try:
        dataset.apply_tfdp("segmentations", keep=5)
        out = tmp_path / "kept.json"
        tfdp.export_kept(dataset, str(out))
        with pytest.raises(tfdp.OutputExistsError) as raised:
            tfdp.export_kept(dataset, str(out))
        assert "overwrite=True" in str(raised.value)
        assert "--overwrite" not in str(raised.value)
    finally:
        dataset.delete()


def test_progress_follows_fiftyone(capfd):
    import fiftyone.core.utils as fou

    dataset = tfdp.load_coco_dataset(
        COCO_SAMPLE,
        name="tfdp-test-progress-%s" % uuid.uuid4().hex[:8],
        progress=False,
    )
    try:
        # a callable receives FiftyOne's progress bar, through to the end
        bars = []
        tfdp.compute_scores(dataset, "segmentations", progress=bars.append)
        assert bars and all(isinstance(b, fou.ProgressBar) for b in bars)
        assert bars[-1].iteration == bars[-1].total == 128
        capfd.readouterr()

        # True or False force a bar or none; None follows the config
        for progress, config, drawn in (
            (False, True, False),
            (True, False, True),
            (None, False, False),
            (None, True, True),
        ):
            show = fo.config.show_progress_bars
            fo.config.show_progress_bars = config
            try:
                tfdp.compute_scores(
                    dataset, "segmentations", progress=progress
                )
            finally:
                fo.config.show_progress_bars = show
            out, err = capfd.readouterr()
            assert ("/128 [" in out + err) == drawn, (progress, config)
    finally:
        dataset.delete()


def test_export_kept_never_writes_over_its_source(tmp_path):
    source = tmp_path / "train.json"
    source.write_bytes(open(COCO_SAMPLE, "rb").read())
    before = source.read_bytes()
    os.symlink(source, tmp_path / "link.json")
    os.link(source, tmp_path / "hard.json")
    (tmp_path / "sub").mkdir()
    dataset = tfdp.load_coco_dataset(
        str(source), name="tfdp-test-api-%s" % uuid.uuid4().hex[:8]
    )
    try:
        dataset.apply_tfdp("segmentations", keep=5)
        for spelling in (
            source,
            tmp_path / "link.json",
            tmp_path / "hard.json",
            tmp_path / "sub" / ".." / "." / "train.json",
        ):
            with pytest.raises(tfdp.TFDPError) as raised:
                tfdp.export_kept(dataset, str(spelling), overwrite=True)
            assert "is the input file" in str(raised.value)
            with pytest.raises(tfdp.TFDPError):
                tfdp.export_kept(
                    dataset,
                    str(spelling),
                    overwrite=True,
                    source_path=str(source),
                )
        assert source.read_bytes() == before
        # an explicit source is protected too, whatever the dataset records
        other = tmp_path / "other.json"
        other.write_bytes(before)
        with pytest.raises(tfdp.TFDPError) as raised:
            tfdp.export_kept(
                dataset, str(other), overwrite=True, source_path=str(other)
            )
        assert "is the input file" in str(raised.value)
        assert other.read_bytes() == before
        # and the recorded source, whatever source is given: later exports
        # would read the subset as the source
        for spelling in (source, tmp_path / "link.json"):
            with pytest.raises(tfdp.TFDPError) as raised:
                tfdp.export_kept(
                    dataset,
                    str(spelling),
                    overwrite=True,
                    source_path=str(other),
                )
            assert "is the input file" in str(raised.value)
        assert source.read_bytes() == before
        out = tfdp.export_kept(dataset, str(tmp_path / "kept.json"))
        assert out["num_samples"] == 5
    finally:
        dataset.delete()


def test_load_coco_dataset_refuses_an_empty_name():
    before = set(fo.list_datasets())
    for name in ("", "  "):
        with pytest.raises(ValueError, match="is empty"):
            tfdp.load_coco_dataset(COCO_SAMPLE, name=name)
    assert set(fo.list_datasets()) == before


_KILLED_MID_LOAD = """\
import os, signal, sys
import tfdp

def die(bar):
    print("loading", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

tfdp.load_coco_dataset(sys.argv[1], name=sys.argv[2], progress=die)
"""


def test_a_killed_load_leaves_no_dataset_after_the_next_load():
    import subprocess
    import sys

    name = "tfdp-test-killed-%s" % uuid.uuid4().hex[:8]
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_MID_LOAD, COCO_SAMPLE, name],
        capture_output=True,
        text=True,
    )
    assert done.returncode == -9, done.stderr
    # this process is connected: FiftyOne's own cleanup waits for it
    [left] = fo.list_datasets("tfdp-loading-*")
    assert not fo.dataset_exists(name)
    # loads that may be running are never touched: this process's, and
    # another machine's
    import socket

    from tfdp.fo_adapter import coco_files

    running = [
        fo.Dataset(
            coco_files.LOADING_NAME % (host, os.getpid(), uuid.uuid4().hex)
        )
        for host in (socket.gethostname(), "elsewhere")
    ]
    try:
        dataset = tfdp.load_coco_dataset(COCO_SAMPLE, name=name)
        try:
            assert not fo.dataset_exists(left)
            assert sorted(fo.list_datasets("tfdp-loading-*")) == sorted(
                d.name for d in running
            )
            assert len(dataset) == 128
        finally:
            dataset.delete()
    finally:
        for d in running:
            d.delete()


def test_selection_choices_match_the_command(tmp_path):
    # the same images as tfdp prune on the source file, by either choice
    from tfdp.cli import main

    dataset = tfdp.load_coco_dataset(
        COCO_SAMPLE,
        name="tfdp-test-choices-%s" % uuid.uuid4().hex[:8],
        progress=False,
    )
    try:
        for choice, flags in (
            (dict(min_per_class=1), ["--min-per-class", "1"]),
            (
                dict(
                    selection="stratified", strata=10, seed=4, hard_cutoff=0.1
                ),
                [
                    "--selection",
                    "stratified",
                    "--strata",
                    "10",
                    "--seed",
                    "4",
                    "--hard-cutoff",
                    "0.1",
                ],
            ),
        ):
            kept = dataset.apply_tfdp(
                "segmentations", keep_ratio=0.5, progress=False, **choice
            )
            out = tmp_path / "pruned.json"
            assert (
                main(
                    [
                        "prune",
                        COCO_SAMPLE,
                        "-o",
                        str(out),
                        "--keep-ratio",
                        "0.5",
                        "--overwrite",
                    ]
                    + flags
                )
                == 0
            )
            import json

            expected = {
                im["id"] for im in json.loads(out.read_text())["images"]
            }
            assert set(kept.values("coco_id")) == expected
            assert len(kept) == 64
            report = tfdp.get_run_info(dataset)["report"]
            assert report["selection"]["selection"] == choice.get(
                "selection", "top"
            )

        # a guarantee beyond the budget is refused before anything changes
        with pytest.raises(ValueError, match="min_per_class 50 needs"):
            tfdp.prune_samples(dataset, keep=10, min_per_class=50)
        assert len(tfdp.load_kept_view(dataset)) == 64
    finally:
        dataset.delete()
