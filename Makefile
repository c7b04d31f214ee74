# Two commands do all the setting up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tfdp-installed

# FiftyOne's databases live in the project, never in ~/.fiftyone, each in a
# mongod of its own (scripts/database.py); the tests start theirs themselves
export FIFTYONE_DO_NOT_TRACK := true
# the bundled mongod 6.0 is supported; skip FiftyOne's notice about it
export FIFTYONE_DATABASE_VALIDATION := false
DEMO_DB := $(CURDIR)/.fiftyone/demo-db
TEST_DB := $(CURDIR)/.fiftyone/test-db

PLUGINS := $(CURDIR)/.fiftyone/plugins
WITH_DEMO_DB := $(PY) scripts/database.py $(DEMO_DB) --

.PHONY: setup demo app shell lint test test-unit bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup_database.py scripts/database.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	FIFTYONE_DATABASE_DIR=$(TEST_DB) $(PY) scripts/setup_database.py
	touch $@

demo: setup
	$(WITH_DEMO_DB) $(PY) scripts/demo.py $(ARGS)

# The App on the demo's database, with this repository as a plugin, and a
# worker that runs the operations scheduled from the App ("Schedule" in the
# execute menu), stopped with the App. make passes SIGTERM to its recipe's
# process only: `exec` makes that the database's wrapper, which stops bash
# and then the database. The worker and the App run each in a session of
# its own, ended whole by bash on SIGTERM, Ctrl-C or the App's exit; bash
# waits in the background, as a trap does not run while a foreground
# command does
app: setup
	mkdir -p $(PLUGINS) && ln -sfn $(CURDIR) $(PLUGINS)/tfdp
	exec env FIFTYONE_PLUGINS_DIR=$(PLUGINS) \
	FIFTYONE_ALLOW_LEGACY_ORCHESTRATORS=true $(WITH_DEMO_DB) bash -c '\
	stop() { trap - EXIT INT TERM; kill -TERM -- -$$worker -$$app 2>/dev/null; \
		wait; }; \
	trap stop EXIT INT TERM; \
	setsid $(VENV)/bin/fiftyone delegated launch > $(DEMO_DB)-delegated.log 2>&1 & \
	worker=$$!; \
	echo "delegated operations: worker $$worker, log $(DEMO_DB)-delegated.log"; \
	setsid $(VENV)/bin/fiftyone app launch tfdp-demo --remote --address 127.0.0.1 --port $(or $(PORT),5151) --wait -1 & \
	app=$$!; \
	wait $$app'

# Python on the demo's database, with the demo's dataset loaded
shell: setup
	$(WITH_DEMO_DB) $(PY) -i -c "import fiftyone as fo, tfdp; \
		dataset = fo.load_dataset('tfdp-demo'); \
		print(dataset); print(); print('dataset, fo and tfdp are loaded')"

# ruff: the lint and the format that .ci/run checks before the tests
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# every tier (tests/README.md); the browser tier needs Debian's chromium
test: setup
	scripts/setup_browser.sh
	$(PY) -m pytest $(ARGS)

# the fast tier: no database, no shared data
test-unit: setup
	$(PY) -m pytest tests/unit $(ARGS)

bench: setup
	$(PY) benchmarks/bench_taco.py
	$(PY) benchmarks/bench_coco_scale.py
	$(PY) benchmarks/bench_fiftyone.py
	$(PY) benchmarks/bench_fiftyone_workflow.py
	$(PY) benchmarks/bench_update.py
	$(PY) benchmarks/bench_scale.py
	scripts/setup_browser.sh
	$(WITH_DEMO_DB) $(PY) benchmarks/bench_panel.py

clean:
	rm -rf $(VENV) .fiftyone out *.egg-info
