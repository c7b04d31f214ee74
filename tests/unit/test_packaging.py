"""What installs the project agrees with itself: pyproject.toml,
requirements.txt (the FiftyOne way) and fiftyone.yml."""

import importlib.metadata
import re

import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from shared_data import ROOT

import tfdp


def _read(name):
    with open("%s/%s" % (ROOT, name), encoding="utf-8") as f:
        return f.read()


def _requirements(lines):
    return sorted(str(Requirement(line)) for line in lines)


def test_requirements_txt_is_the_package_dependencies():
    project = tomllib.loads(_read("pyproject.toml"))["project"]
    listed = [
        line.strip()
        for line in _read("requirements.txt").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert listed
    assert _requirements(listed) == _requirements(project["dependencies"])


def test_the_plugin_version_is_the_package_version():
    manifest = yaml.safe_load(_read("fiftyone.yml"))
    assert manifest["version"] == tfdp.__version__
    # pyproject.toml takes it from the package, not a copy
    assert tomllib.loads(_read("pyproject.toml"))["tool"]["setuptools"][
        "dynamic"
    ]["version"] == {"attr": "tfdp._version.__version__"}
    assert re.fullmatch(
        r"https://github\.com/[\w.-]+/[\w.-]+", manifest["url"]
    )


def test_the_fiftyone_range_is_the_tested_one():
    manifest = yaml.safe_load(_read("fiftyone.yml"))
    tested = SpecifierSet(manifest["fiftyone"]["version"])
    # the FiftyOne these tests run on is inside the range the plugin claims
    assert importlib.metadata.version("fiftyone") in tested
    extra = tomllib.loads(_read("pyproject.toml"))["project"][
        "optional-dependencies"
    ]["fiftyone"]
    assert [Requirement(r).specifier for r in extra] == [tested]
