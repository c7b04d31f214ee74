"""The demo script's outputs (the part that runs without FiftyOne)."""

import json
import os
import sys

import demo
import pytest
from shared_data import COCO_SAMPLE, requires_shared_data

pytestmark = requires_shared_data


@pytest.fixture
def demo_out(tmp_path, monkeypatch):
    out = tmp_path / "out" / "demo"
    monkeypatch.setattr(demo, "OUT", str(out))
    return out


def run_demo(monkeypatch, *argv):
    monkeypatch.setattr(sys, "argv", ["demo.py"] + [str(a) for a in argv])
    try:
        return demo.main()
    except SystemExit as e:
        return e.code


def test_a_run_leaves_only_its_own_outputs(
    tmp_path, demo_out, monkeypatch, capsys
):
    # a previous run with images wrote both files; a user's file beside them
    demo_out.mkdir(parents=True)
    for name in ("pruned.json", "pruned-command.json", "notes.txt"):
        (demo_out / name).write_text("from before")
    elsewhere = tmp_path / "mine.json"
    elsewhere.write_text("the user's")

    # data without an images folder: the command alone runs
    data = tmp_path / "data" / "instances.json"
    data.parent.mkdir()
    data.write_text(open(COCO_SAMPLE).read())
    assert run_demo(monkeypatch, "--data", data) == 0
    assert "FiftyOne: skipped: no images folder" in capsys.readouterr().out
    assert sorted(os.listdir(demo_out)) == ["notes.txt", "pruned-command.json"]
    assert (
        len(
            json.loads((demo_out / "pruned-command.json").read_text())[
                "images"
            ]
        )
        == 90
    )
    assert (demo_out / "notes.txt").read_text() == "from before"

    # a run that fails leaves no output of an earlier run either; a link
    # in the output folder goes, never what it points at
    os.symlink(elsewhere, demo_out / "pruned.json")
    empty = tmp_path / "data" / "empty.json"
    empty.write_text(
        json.dumps({"images": [], "annotations": [], "categories": []})
    )
    assert run_demo(monkeypatch, "--data", empty) == 1
    assert "no images to prune" in capsys.readouterr().err
    assert sorted(os.listdir(demo_out)) == ["notes.txt"]
    assert elsewhere.read_text() == "the user's"


def test_the_previous_output_as_data_is_never_removed(
    tmp_path, demo_out, monkeypatch
):
    demo_out.mkdir(parents=True)
    previous = demo_out / "pruned-command.json"
    previous.write_text(open(COCO_SAMPLE).read())
    message = run_demo(monkeypatch, "--data", previous)
    assert "is an output of the previous run" in message
    assert previous.read_text() == open(COCO_SAMPLE).read()
