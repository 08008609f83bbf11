# Developer and CI entry points. `make test` is what CI runs (through .ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

SWIFT ?= swift
STORES := scripts/stores.sh

.PHONY: deps build test test-cluster browser-test run bench fmt lint stores-start stores-stop clean-data

## Install missing system packages (hiredis, zlib, pkg-config, PostgreSQL, Redis).
deps:
	$(STORES) deps

## Build everything, tests included, in the one debug configuration the other targets reuse.
build: deps
	$(SWIFT) build --build-tests

## Build, start the local stores, run all tests against them; stops the stores afterwards unless they were
## already running, and exits with the test command's status.
##
## Two test processes, one after the other: the unit and integration tests, then the end-to-end tests. In one
## process all their suites start at once on Swift's cooperative pool (two threads on two cores): the CPU-bound work
## of the debug-built unit tests then held both threads for half a minute while ~15 end-to-end servers started beside
## them, and the timed waits of the process (a server's readiness, a deadline) overran although the servers were
## ready. The unit process alone still starts with a ~20 s burst; its timed waits allow for that.
test: build
	@was_running=0; $(STORES) status >/dev/null 2>&1 && was_running=1; \
	$(STORES) start; \
	eval "$$($(STORES) env)"; \
	export OPSIGHT_BIN="$$($(SWIFT) build --show-bin-path)/opsight"; \
	status=0; \
	$(SWIFT) test --skip-build --skip '^EndToEndTests\.' || status=$$?; \
	$(SWIFT) test --skip-build --filter '^EndToEndTests\.' || status=$$?; \
	$(MAKE) --no-print-directory browser-test || status=$$?; \
	if [ $$was_running = 0 ]; then $(STORES) stop || true; fi; \
	exit $$status

## Issue 16's scale-out tests (Tests/EndToEndTests/Cluster): each starts a 3-master, 3-replica Redis Cluster in a
## temporary directory, and the E2E ones three collectors behind haproxy on the local PostgreSQL. Bounded: the
## run is killed after 5 minutes. Stops the stores afterwards unless they were already running.
test-cluster: build
	@was_running=0; $(STORES) status >/dev/null 2>&1 && was_running=1; \
	$(STORES) start; \
	eval "$$($(STORES) env)"; \
	export OPSIGHT_BIN="$$($(SWIFT) build --show-bin-path)/opsight" OPSIGHT_TEST_CLUSTER=1; \
	status=0; start=$$(date +%s); \
	timeout --signal=KILL 300 $(SWIFT) test --skip-build --filter 'RedisClusterClientTests|ClusterEndToEndTests' \
		|| status=$$?; \
	echo "test-cluster: $$(( $$(date +%s) - start )) s, status $$status"; \
	if [ $$was_running = 0 ]; then $(STORES) stop || true; fi; \
	exit $$status

## The console in a real headless Chromium (Tests/Browser, Selenium from PyPI); needs the stores' environment and
## OPSIGHT_BIN, as `make test` sets them. Screenshots and the page-load figure go to test-output/browser/.
browser-test:
	python3 -c 'import selenium' 2>/dev/null || python3 -m pip install --quiet selenium \
		|| python3 -m pip install --quiet --break-system-packages selenium \
		|| { echo "browser-test: no selenium for python3: pip install selenium (or apt-get install python3-selenium)" >&2; exit 1; }
	status=0; python3 Tests/Browser/console_test.py || status=$$?; \
	python3 Tests/Browser/dashboards_test.py || status=$$?; exit $$status

## Start the local stores and run the server with the example configuration (prints the URL and a dev token).
run: deps
	bash scripts/run.sh

## Run the benchmarks: ingest and ship vs mtail (run.sh), query latency at 10 000 series (query_bench.sh),
## ingest with three funnels vs none (funnel_bench.sh), then the emit-call cost (emit_bench.sh) and the PromQL
## evaluation CPU per query shape (promql_bench.sh).
bench:
	Benchmarks/run.sh
	Benchmarks/query_bench.sh
	Benchmarks/funnel_bench.sh
	Benchmarks/emit_bench.sh
	Benchmarks/promql_bench.sh

## Format sources in place with the toolchain's swift-format and .swift-format.
fmt:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

## Report formatting problems.
lint:
	$(SWIFT) format lint --recursive Sources Tests

stores-start:
	$(STORES) start

stores-stop:
	$(STORES) stop

## Stop the stores and delete their data under .local/stores.
clean-data:
	$(STORES) clean
