# runbooks.rollback — the two commands are `make demo` and `make test`.
# Every target installs what it needs and is idempotent.  Run `make help`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
WORK := $(CURDIR)/.work
STAMP := $(VENV)/.installed

# Options (environment or make variables):
#   RB_BASE_IMAGE  base image; local/... is built with debootstrap, anything else is pulled
#   RB_HOST_IMAGE  the production-host image built from images/prod-host
#   RB_SYSTEMD_IMAGE the systemd host image built from images/systemd-host
#   RB_CA_BUNDLE   CA bundle mounted into containers for pip/npm (behind a TLS proxy)
#   RB_TEST_JOBS   molecule scenarios `make test` runs at once (default 2; 1 streams their output)
export RB_BASE_IMAGE ?= local/debian:bookworm
export RB_HOST_IMAGE ?= local/runbooks-prod-host:bookworm
export RB_SYSTEMD_IMAGE ?= local/runbooks-systemd-host:bookworm
export RB_CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
export RB_WORK := $(WORK)
export ANSIBLE_COLLECTIONS_PATH := $(WORK)/collections
export ANSIBLE_HOME := $(WORK)/ansible-home
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0
export NO_COLOR := 1
export PATH := $(VENV)/bin:$(PATH)

.PHONY: help demo demo-destroy test host-deps venv collections docker images lint sanity units \
        molecule build bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

demo: images ## Build a demo production host, break it with a bad deployment, roll it back, print the outcome
	python3 tools/demo.py

demo-destroy: venv ## Remove the demo host
	molecule destroy -s default

test: images ## Run every test: lint, sanity, unit tests, molecule scenarios; prints each stage's time
	$(VENV)/bin/python tools/test_stages.py

host-deps: ## Install missing host packages (python3-venv, PostgreSQL 15 binaries, git, redis, chromium)
	$(PYTHON) tools/host_deps.py $(PYTHON)

$(STAMP): requirements.txt | host-deps
	[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(STAMP) collections ## Create the project virtualenv and install the collections

collections: $(STAMP)
	$(VENV)/bin/python tools/install_collections.py
	@# molecule's docker connection and testinfra call `docker`; use Debian's client
	@[ ! -x /usr/bin/docker ] || ln -sf /usr/bin/docker $(VENV)/bin/docker

docker: venv ## Install and start the docker engine when absent
	$(VENV)/bin/python tools/dockerhost.py engine
	@ln -sf /usr/bin/docker $(VENV)/bin/docker

images: docker ## Build (or reuse) the base, production-host and systemd-host images
	$(VENV)/bin/python tools/dockerhost.py base
	$(VENV)/bin/python tools/dockerhost.py host
	$(VENV)/bin/python tools/dockerhost.py systemd-host

lint: venv ## yamllint and ansible-lint (production profile)
	yamllint -s .
	ansible-lint

sanity: venv ## ansible-test sanity on a copy under ansible_collections/runbooks/rollback
	$(VENV)/bin/python tools/ansible_test.py sanity

units: venv ## Unit tests against a real, throw-away PostgreSQL cluster
	$(VENV)/bin/python -m pytest

molecule: images ## molecule test for every scenario (real docker hosts)
	molecule test --all

bench: venv ## Benchmarks against the runbook's own way, as ratios (bench/README.md); not part of make test
	$(VENV)/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
	$(VENV)/bin/python bench/data_loss_vs_orm.py
	$(VENV)/bin/python bench/export_vs_dumpdata.py
	$(VENV)/bin/python bench/export_memory.py
	$(VENV)/bin/python bench/restore_strategies.py --size-mb 1024

build: venv ## Build the collection tarball and check it ships no local state
	$(VENV)/bin/python tools/check_build.py

clean: ## Remove the virtualenv and work directory (images are kept: docker rmi them by hand)
	-molecule destroy --all
	rm -rf $(VENV) $(WORK)
