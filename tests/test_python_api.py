"""What Python users see of the API: signatures, help and messages in
Python's words."""

import inspect
import pydoc
import uuid

import pytest

import fiftyone as fo

import tfdp
from conftest import COCO_SAMPLE


def test_apply_tfdp_method_shows_the_real_signature():
    for cls in (fo.Dataset, fo.DatasetView):
        params = list(inspect.signature(cls.apply_tfdp).parameters)
        assert params == ["self", "label_field", "method", "keep_ratio",
                          "prune_ratio", "keep", "run_key", "tag", "seed",
                          "skip_invalid", "overwrite", "num_workers",
                          "scheduler", "progress"]
    dataset = fo.Dataset()
    try:
        bound = inspect.signature(dataset.apply_tfdp)
        assert str(bound).startswith("(label_field, method='cb-scs', "
                                     "keep_ratio=None, prune_ratio=None")
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
        COCO_SAMPLE, name="tfdp-test-progress-%s" % uuid.uuid4().hex[:8],
        progress=False,
    )
    try:
        # a callable receives FiftyOne's progress bar, through to the end
        bars = []
        tfdp.compute_scores(dataset, "segmentations",
                            progress=bars.append)
        assert bars and all(isinstance(b, fou.ProgressBar) for b in bars)
        assert bars[-1].iteration == bars[-1].total == 128
        capfd.readouterr()

        # True or False force a bar or none; None follows the config
        for progress, config, drawn in ((False, True, False),
                                        (True, False, True),
                                        (None, False, False),
                                        (None, True, True)):
            show = fo.config.show_progress_bars
            fo.config.show_progress_bars = config
            try:
                tfdp.compute_scores(dataset, "segmentations",
                                    progress=progress)
            finally:
                fo.config.show_progress_bars = show
            out, err = capfd.readouterr()
            assert ("/128 [" in out + err) == drawn, (progress, config)
    finally:
        dataset.delete()
