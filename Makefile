# Nexus CRM: the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help deps build run stop test test-contracts test-acl test-deploy test-setup bench microbench chaos cluster-test clean

help:
	@echo "make run    build, start Redis + every service under .run/, load a demo tenant"
	@echo "make stop   stop what make run started"
	@echo "make test   install what is missing, build, run every test against a real redis-server (the pages in headless Chromium too)"
	@echo "make bench  measure the speed targets of DESIGN §5 beside redis-benchmark"
	@echo "make cluster-test  the Redis Cluster suites alone (6 local nodes, a resharding, a failover)"
	@echo "make microbench  time the per-message hot paths in-process (no Redis)"
	@echo "make chaos  5 seeds of the fault-injection suite (SIGKILL, SIGSTOP, Redis crash) with invariants"
	@echo "make test-setup  a clean clone: make run, audit tail, make stop, nothing left running"

deps:
	@scripts/install-deps.sh

build: deps
	swift build

run: deps
	@scripts/run.sh

stop:
	@scripts/stop.sh

test-contracts: deps
	python3 scripts/validate_contracts.py

test-acl: deps
	@bash deploy/check-acl.sh > .build/check-acl.log 2>&1 || { cat .build/check-acl.log; exit 1; }
	@tail -n 1 .build/check-acl.log

# Kubernetes, compose and systemd files against their schemas, and the Redis Cluster example.
test-deploy: deps
	@python3 scripts/check_deploy.py > .build/check-deploy.log 2>&1 || { cat .build/check-deploy.log; exit 1; }
	@tail -n 1 .build/check-deploy.log

# The Redis Cluster suites (six redis-servers, the services and a failover) and the browser test
# (headless Chromium) run on their own after the rest, so their load does not slow the
# timing-sensitive service tests that run in parallel.
test: deps
	swift build --build-tests
	@$(MAKE) --no-print-directory test-acl test-deploy
	swift test --skip-build --skip BrowserTests --skip Cluster
	swift test --skip-build --filter Cluster
	swift test --skip-build --filter BrowserTests

test-setup: deps
	@scripts/try-as-new-user.sh

bench: deps
	@scripts/bench.sh

microbench: deps
	swift build -c release --product crm-microbench
	$$(swift build -c release --show-bin-path)/crm-microbench

# The long form of the chaos suite; `make test` runs one small seed of it.
chaos: deps
	swift build --build-tests
	CRM_CHAOS_SEEDS=$${CRM_CHAOS_SEEDS:-5} CRM_CHAOS_LEADS=$${CRM_CHAOS_LEADS:-200} swift test --skip-build --filter ChaosTests

# The Redis Cluster suites alone (3+3 local redis-server nodes); `make test` runs them too.
cluster-test: deps
	swift build --build-tests
	swift test --skip-build --filter 'Cluster'

clean:
	rm -rf .build .run
