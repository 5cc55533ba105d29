# The two commands a new user needs: `make demo` and `make test`.
# Each creates .venv when missing and installs steepest with its dev extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEV    := $(VENV)/.installed-dev
BENCH  := $(VENV)/.installed-bench

.PHONY: demo test bench lint references clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

$(BENCH): pyproject.toml $(DEV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	touch $@

demo: $(DEV)
	$(BIN)/steepest demo

test: $(DEV)
	$(BIN)/python -m pytest -q

bench: $(BENCH)
	$(BIN)/python bench/optim_step.py
	$(BIN)/python bench/mlp_epoch.py
	$(BIN)/python bench/linear_models.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/cnn_epoch.py
	$(BIN)/python bench/dask_fit.py
	$(BIN)/python bench/stream.py
	$(BIN)/python bench/sparse_text.py
	$(BIN)/python bench/mf.py
	$(BIN)/python bench/meta.py
	$(BIN)/python bench/federated.py
	$(BIN)/python bench/diagnosis_zoo.py

lint: $(DEV)
	$(BIN)/ruff check steepest tests bench scripts

# Regenerate the torch.optim reference trajectories stored under tests/data.
references: $(BENCH)
	$(BIN)/python scripts/make_optim_references.py
	$(BIN)/python scripts/make_schedule_references.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache steepest-demo
