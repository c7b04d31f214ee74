"""The command's outputs on the real files, byte for byte as release 0.1.0
wrote them: a change to the code's structure changes no number, no order
and no formatting."""

import hashlib

import pytest
from shared_data import DATA, requires_shared_data

from tfdp.cli import main

pytestmark = requires_shared_data

#: sha256 of ``tfdp score FILE -o X.csv`` and of ``tfdp prune FILE -o X.json
#: --keep-ratio 0.5``, per real file
DIGESTS = {
    (
        "coco-panoptic-sample/panoptic_coco_detection_format.json",
        "csv",
    ): "700f48f10a37ed3fed457e111855ce73c2b9bae2e5a0f5f42b7d6983d7967db3",
    (
        "coco-panoptic-sample/panoptic_coco_detection_format.json",
        "json",
    ): "e3bf8c24c66a41583722c26527140fab03fb95d774952120d0d955234159b06d",
    (
        "coco2017-sample/instances.json",
        "csv",
    ): "9038b4e888421d7f8b94c457c0320b62d7ed53ef72ddc64ca346b8e48b9e17d5",
    (
        "coco2017-sample/instances.json",
        "json",
    ): "462fb50c201f3353bf9f928f4e0f72d11d1407b27dd78585ed7a8e1bfc5a6465",
    (
        "lvis-v0.5-val100/lvis_val_100.json",
        "csv",
    ): "cb4c3b5e1d4870a352b3bf3108afc80f9e0d8663298c58e28a37b0239c397ca8",
    (
        "lvis-v0.5-val100/lvis_val_100.json",
        "json",
    ): "727818d38820265cf9f2a87be9ca8daae09628c7eb820d4413752931884aca9b",
    (
        "taco-unofficial/annotations_unofficial.json",
        "csv",
    ): "e5b8e9234c807398d3df95b31f20042f0ba3e42a47c35a8686fba1479c152875",
    (
        "taco-unofficial/annotations_unofficial.json",
        "json",
    ): "35a1a8892664959d72db821ea440a291126925eb32c962cf7ef7238317d5add6",
    (
        "voc2012-instances/instances_train.json",
        "csv",
    ): "486b34e17f10ecbdafa8f5ea37de03f87f45f6a1e2f4ddeb26958c93e5e468eb",
    (
        "voc2012-instances/instances_train.json",
        "json",
    ): "f025361db464d707b4e2cee469078c6e76082bf2dd15653013ba9f79e2330075",
}


@pytest.mark.parametrize("name,kind", sorted(DIGESTS))
def test_outputs_are_byte_identical(tmp_path, name, kind):
    path = "%s/%s" % (DATA, name)
    out = tmp_path / ("out." + kind)
    if kind == "csv":
        argv = ["score", path, "-o", str(out)]
    else:
        argv = ["prune", path, "-o", str(out), "--keep-ratio", "0.5"]
    assert main(argv + ["--workers", "1"]) == 0
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert digest == DIGESTS[name, kind]
