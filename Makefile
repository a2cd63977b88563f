# The two commands a new user needs:
#   make demo   - install, then run a real CGCNN campaign (ASHA + random search) on local Ray
#   make test   - install, then run the test suite
# And the images: make images [IMAGE_PREFIX=registry/team] [IMAGE_TAG=x.y.z] [TORCH=cpu], make push-images
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

IMAGE_PREFIX ?= localhost/hpo-operator
IMAGE_TAG    ?=
TORCH        ?= cuda
IMAGE_ENV     = IMAGE_PREFIX='$(IMAGE_PREFIX)' IMAGE_TAG='$(IMAGE_TAG)' TORCH='$(TORCH)'

.PHONY: install demo test crd clean images push-images

install: $(STAMP)

# torch is installed first and pinned: the CPU build on disk, never a multi-GB CUDA download.
$(STAMP): pyproject.toml scripts/install.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash scripts/install.sh
	touch $@

demo: install
	$(BIN)/hpo run examples/cgcnn-asha.yaml --status-file runs/cgcnn-asha.status.json

test: install
	bash scripts/test.sh

# The Dockerfile's operator and trainer images, with docker or else buildah (scripts/build-images.sh).
# TORCH=cpu: a test build with this machine's CPU wheel of torch; the shipped trainer has CUDA's.
images:
	$(IMAGE_ENV) bash scripts/build-images.sh build

push-images:
	$(IMAGE_ENV) bash scripts/build-images.sh push

# Regenerates the CRD from the spec model (a test fails when they drift).
crd: install
	$(BIN)/python -m hpo_operator.kuberay.crd > crds/hpocampaigns.hpo.dev.yaml
	cp crds/hpocampaigns.hpo.dev.yaml charts/hpo-operator/crds/

clean:
	rm -rf $(VENV) runs .pytest_cache
