"""compute_scores(update=True): after samples are added or labels replaced,
the run equals a full run on the grown collection."""

import fiftyone as fo
import pytest
from coco_sample import coco_sample_fixture, run_values
from shared_data import requires_shared_data

import tfdp
from tfdp.errors import TFDPError
from tfdp.fo_adapter.fields import label_list_path
from tfdp.fo_adapter.records import SCORING, run_config, save_config

pytestmark = requires_shared_data

FIELD = "segmentations"

#: What a run records of what it scored
RECORD = (
    "method",
    "label_field",
    "status",
    "fields",
    "num_samples",
    "num_instances",
    "ineligible",
    "invalid",
)

base = coco_sample_fixture("base", "tfdp-test-update")


@pytest.fixture
def grown(base):
    """The first 115 samples of the COCO sample scored, then the other 13
    added from another copy, as new samples."""
    dataset = base.clone()
    dataset.delete_samples(dataset.skip(115))
    tfdp.compute_scores(dataset, FIELD)
    dataset.add_samples(base.skip(115))
    yield dataset
    dataset.delete()


def _full_run(dataset, **kwargs):
    full = dataset.clone()
    tfdp.compute_scores(full, FIELD, overwrite=True, **kwargs)
    return full


def _assert_same_run(updated, full, run_key="tfdp"):
    assert run_values(updated, FIELD, run_key) == run_values(
        full, FIELD, run_key
    )
    got = run_config(updated, run_key)
    want = run_config(full, run_key)
    for name in RECORD:
        assert getattr(got, name) == getattr(want, name), name


def test_update_after_adding_samples_equals_a_full_run(grown):
    path = label_list_path(grown, FIELD)
    before = grown.values(path + ".tfdp_perimeter")
    assert all(v is None for labels in before[115:] for v in labels or ())

    measured = tfdp.compute_scores(grown, FIELD, update=True)
    assert len(measured.sample_ids) == 128
    full = _full_run(grown)
    try:
        _assert_same_run(grown, full)
        assert run_config(grown, "tfdp").ineligible  # crowd labels counted
        # the stored shapes were kept, not measured again
        assert grown.values(path + ".tfdp_perimeter")[:115] == before[:115]
    finally:
        full.delete()


def test_a_replaced_label_is_measured(grown):
    tfdp.compute_scores(grown, FIELD, update=True)
    path = label_list_path(grown, FIELD)
    sample = grown.first()
    labels = sample[path.split(".")[0]][path.split(".")[1]]
    old = labels[0]
    old_perimeter = old["tfdp_perimeter"]
    if isinstance(old, fo.Polyline):
        # a shrunken copy: a new label, with no stored shapes
        points = [[[x * 0.5, y * 0.5] for x, y in part] for part in old.points]
        labels[0] = fo.Polyline(
            label=old.label,
            points=points,
            filled=old.filled,
            closed=old.closed,
        )
    else:
        mask = old.mask.copy()
        mask[: mask.shape[0] // 2] = False
        labels[0] = fo.Detection(
            label=old.label, bounding_box=old.bounding_box, mask=mask
        )
    sample.save()

    tfdp.compute_scores(grown, FIELD, update=True)
    full = _full_run(grown)
    try:
        _assert_same_run(grown, full)
        perimeter = grown.first()[path.split(".")[0]][path.split(".")[1]][0]
        assert perimeter["tfdp_perimeter"] != old_perimeter
    finally:
        full.delete()


def test_update_with_another_method_rescores(grown):
    # a cb-scs run updated with scs: a full scs run
    tfdp.compute_scores(grown, FIELD, method="scs", update=True)
    full = _full_run(grown, method="scs")
    try:
        _assert_same_run(grown, full)
        # to random and back: the scores go, then come back
        tfdp.compute_scores(grown, FIELD, method="random", update=True)
        assert not grown.has_field("tfdp_score")
        tfdp.compute_scores(grown, FIELD, update=True)
        tfdp.compute_scores(full, FIELD)
        _assert_same_run(grown, full)
    finally:
        full.delete()


def test_update_of_a_pruned_run_removes_the_pruning(grown):
    with pytest.raises(TFDPError, match="samples are now 128"):
        tfdp.prune_samples(grown, keep=50)
    tfdp.compute_scores(grown, FIELD, update=True)
    tfdp.prune_samples(grown, keep=50)
    assert grown.has_saved_view("tfdp-kept")
    tfdp.compute_scores(grown, FIELD, update=True)
    assert not grown.has_saved_view("tfdp-kept")
    assert not grown.match_tags("tfdp:keep")
    assert run_config(grown, "tfdp").status == "scored"


def test_update_needs_a_finished_run_of_the_field(grown):
    with pytest.raises(TFDPError, match="no such run"):
        tfdp.compute_scores(grown, FIELD, run_key="nope", update=True)

    grown.register_run("other", grown.init_run(method="x"))
    with pytest.raises(TFDPError, match="no such run"):
        tfdp.compute_scores(grown, FIELD, run_key="other", update=True)

    grown.add_sample_field(
        "copy",
        fo.EmbeddedDocumentField,
        embedded_doc_type=type(grown.first()[FIELD]),
    )
    grown.set_values("copy", grown.values(FIELD))
    with pytest.raises(TFDPError, match="it scored field 'segmentations'"):
        tfdp.compute_scores(grown, "copy", update=True)

    config = run_config(grown, "tfdp")
    config.status = SCORING
    save_config(grown, "tfdp", config)
    with pytest.raises(TFDPError, match="did not finish"):
        tfdp.compute_scores(grown, FIELD, update=True)

    with pytest.raises(ValueError, match="update must be True or False"):
        tfdp.compute_scores(grown, FIELD, update=1)


def test_samples_the_run_never_scored_are_measured_again(grown):
    # shapes on a sample without the run's image score came from elsewhere
    tfdp.compute_scores(grown, FIELD, update=True)
    path = label_list_path(grown, FIELD)
    sample = grown.first()
    for label in sample[path.split(".")[0]][path.split(".")[1]]:
        if label["tfdp_perimeter"] is not None:
            label["tfdp_perimeter"] = 1.0
    sample["tfdp_score"] = None
    sample.save()

    tfdp.compute_scores(grown, FIELD, update=True)
    full = _full_run(grown)
    try:
        _assert_same_run(grown, full)
    finally:
        full.delete()
