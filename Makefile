# Two commands do all the setting up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tfdp-installed

# FiftyOne's database lives in the project, never in ~/.fiftyone
export FIFTYONE_DO_NOT_TRACK := true
# the bundled mongod 6.0 is supported; skip FiftyOne's notice about it
export FIFTYONE_DATABASE_VALIDATION := false
DEMO_DB := $(CURDIR)/.fiftyone/demo-db
TEST_DB := $(CURDIR)/.fiftyone/test-db

PLUGINS := $(CURDIR)/.fiftyone/plugins

.PHONY: setup demo app test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_database.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	FIFTYONE_DATABASE_DIR=$(TEST_DB) $(PY) scripts/setup_database.py
	touch $@

demo: setup
	FIFTYONE_DATABASE_DIR=$(DEMO_DB) $(PY) scripts/demo.py $(ARGS)

# The App on the demo's database, with this repository as a plugin
app: setup
	mkdir -p $(PLUGINS) && ln -sfn $(CURDIR) $(PLUGINS)/tfdp
	FIFTYONE_DATABASE_DIR=$(DEMO_DB) FIFTYONE_PLUGINS_DIR=$(PLUGINS) \
		$(VENV)/bin/fiftyone app launch tfdp-demo --remote --port $(or $(PORT),5151) --wait -1

test: setup
	scripts/setup_browser.sh
	FIFTYONE_DATABASE_DIR=$(TEST_DB) $(PY) -m pytest $(ARGS)

bench: setup
	$(PY) benchmarks/bench_taco.py
	$(PY) benchmarks/bench_coco_scale.py
	$(PY) benchmarks/bench_fiftyone.py

clean:
	rm -rf $(VENV) .fiftyone out *.egg-info
