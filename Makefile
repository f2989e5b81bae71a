# The two commands of the README. Each creates .venv when it is missing and installs
# cnnzoo (editable) with what the target needs; re-installs when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo check test test-backends parity lint format docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test,dev,docs]"
	touch $@ $(VENV)/.installed-demo $(VENV)/.installed-docs

$(VENV)/.installed-docs: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(PY) -m cnnzoo.demo

# The edit-test loop: ruff, then every test not marked slow (under 5 minutes on 2 cores).
check: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n 2 --dist worksteal -m "not slow" -q

# Everything, slow tests included (what CI runs). Slow tests start first and worksteal
# rebalances the two workers, so that no long test runs alone at the end.
test: $(VENV)/.installed-test
	$(PY) -m pytest -n 2 --dist worksteal --durations=15

# torchvision's models for tests/test_equivalence.py, installed with --no-deps so that it
# keeps the CPU build of torch.
$(VENV)/.installed-backends: pyproject.toml $(VENV)/.installed-test
	$(PY) -m pip install --quiet -e ".[test,dev,backends]" "torch==2.13.0"
	$(PY) -m pip install --quiet --no-deps "torchvision==0.28.0"
	touch $@

# tests/test_portable.py (models, custom layers, training and fine-tuning runs),
# tests/test_distributed.py (two training processes on 127.0.0.1 on JAX) and
# tests/test_run_state.py (the backup, the NaN check in Keras' threads) on JAX and
# PyTorch; `make test` runs it on TensorFlow. Then every port against its reference on the
# default backend: torchvision's (tests/test_equivalence.py) and keras.applications' with
# the deeper ResNets that `make test` leaves to this run (tests/test_keras_parity.py).
test-backends: $(VENV)/.installed-backends
	KERAS_BACKEND=jax $(PY) -m pytest -n 2 tests/test_portable.py tests/test_distributed.py tests/test_run_state.py
	KERAS_BACKEND=torch $(PY) -m pytest -n 2 tests/test_portable.py tests/test_distributed.py tests/test_run_state.py
	$(PY) -m pytest -n 2 --dist worksteal tests/test_equivalence.py tests/test_keras_parity.py

# The parity table of the Pretrained weights guide: every port against its reference on the
# same weights (tests/test_equivalence.py, tests/test_keras_parity.py, slow ones included),
# written to docs/snippets/parity.md. Check it in: tests/test_parity_table.py reads it.
parity: $(VENV)/.installed-backends
	CNNZOO_PARITY_TABLE=$(CURDIR)/docs/snippets/parity.md $(PY) -m pytest -n 2 \
		--dist worksteal -q tests/test_equivalence.py tests/test_keras_parity.py

# The documentation site, into site/ (tests/test_docs.py builds it too).
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache *.egg-info
