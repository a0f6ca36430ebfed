# The two commands of the README's quick start, each doing its own set-up.
PY ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: serve demo test lint bench constraints container-test clean

# constraints.txt pins every package the tests run on but torch and torchvision
# (see .ci/freeze-constraints).
$(STAMP): pyproject.toml constraints.txt
	@echo "installing the project and PyTorch into $(VENV): the first time, several GB and minutes (see the README's Quick start)"
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)  ## the REST service on 127.0.0.1:8000, data in ./deepclsmote-data
	$(VENV)/bin/deepclsmote serve

demo: $(STAMP)  ## balance an imbalanced digits set; writes demo_out/grid.png
	$(VENV)/bin/deepclsmote demo --out demo_out

test: $(STAMP)  ## the test suite (CPU, two workers, about 21 min on 2 cores; see README)
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(VENV)/bin/ruff check deepclsmote app tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/python .ci/freeze-constraints --check

constraints:  ## after changing dependencies: resolve them in .venv, then pin what it holds
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -e '.[dev]'
	$(VENV)/bin/python .ci/freeze-constraints > constraints.txt
	touch $(STAMP)

container-test:  ## build the image on a stand-in base and test it (root, buildah; see README)
	.ci/container-test

bench: $(STAMP)  ## training/generation throughput as JSON (see docs/benchmarks.md)
	$(VENV)/bin/python bench/bench_training.py

clean:
	rm -rf $(VENV) demo_out deepclsmote-data .pytest_cache .mypy_cache .ruff_cache
