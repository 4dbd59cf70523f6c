# matterhook: the commands the README names. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /usr/bin/env bash

.PHONY: help run test lint fmt bench fuzz chaos services migrate sim

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: ## Start the stack against the Clio simulator with a demo firm (Ctrl-C stops it)
	@deploy/local/run.sh

test: ## Run every test against real PostgreSQL and RabbitMQ (starts or installs them)
	@deploy/local/test.sh

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

bench: ## Print the benchmark figures the issues ask for
	@deploy/local/bench.sh

chaos: ## Kill and restart every part under load, then count what was lost or doubled (about 15 min)
	@deploy/local/chaos.sh

fuzz: ## Fuzz what parses outside input (nightly; FUZZ_SECONDS per target, default 300)
	@deploy/local/fuzz.sh

services: ## Make sure PostgreSQL and RabbitMQ run (installs them on Debian if missing)
	@deploy/local/ensure-services.sh

migrate: services ## Create the database and apply migrations
	cargo run --locked --quiet --bin matterhook -- migrate

sim: ## Run only the Clio simulator, with the demo firm
	cargo run --locked --quiet --bin clio-sim -- --seed-demo
