# The two commands a new user needs:
#   make demo   - install, then run a real CGCNN campaign (ASHA + random search) on local Ray
#   make test   - install, then run the test suite
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: install demo test crd clean

install: $(STAMP)

# torch is installed first and pinned: the CPU build on disk, never a multi-GB CUDA download.
$(STAMP): pyproject.toml scripts/install.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/install.sh
	touch $@

demo: install
	$(BIN)/hpo run examples/cgcnn-asha.yaml --status-file runs/cgcnn-asha.status.json

test: install
	bash scripts/test.sh

# Regenerates the CRD from the spec model (a test fails when they drift).
crd: install
	$(BIN)/python -m hpo_operator.kuberay.crd > crds/hpocampaigns.hpo.dev.yaml
	cp crds/hpocampaigns.hpo.dev.yaml charts/hpo-operator/crds/

clean:
	rm -rf $(VENV) runs .pytest_cache
