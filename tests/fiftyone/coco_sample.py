"""The COCO sample loaded into FiftyOne, and what a run wrote."""

import pytest
from shared_data import COCO_SAMPLE, COCO_SAMPLE_IMAGES


def load_coco_sample(prefix, use_polylines):
    """The COCO sample as a new FiftyOne dataset named ``prefix-<random>``:
    polygons as polylines, or as masks rasterised by FiftyOne."""
    import uuid

    import tfdp

    return tfdp.load_coco_dataset(
        COCO_SAMPLE,
        data_path=COCO_SAMPLE_IMAGES,
        name="%s-%s" % (prefix, uuid.uuid4().hex[:8]),
        use_polylines=use_polylines,
    )


def coco_sample_fixture(name, prefix):
    """A module-scoped fixture ``name``: the COCO sample loaded with
    polylines, then with masks, deleted afterwards."""

    @pytest.fixture(scope="module", params=["polylines", "masks"], name=name)
    def fixture(request):
        dataset = load_coco_sample(prefix, request.param == "polylines")
        yield dataset
        dataset.delete()

    return fixture


def run_values(samples, label_field, run_key):
    """Every value a TFDP run wrote: the four per label, the image score."""
    from tfdp.fo_adapter.fields import label_list_path

    path = label_list_path(samples, label_field)
    return samples.values(
        [
            "%s.%s_%s" % (path, run_key, name)
            for name in ("perimeter", "area", "pixels", "score")
        ]
        + ["%s_score" % run_key]
    )
