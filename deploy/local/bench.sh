#!/usr/bin/env bash
# `make bench`: the figures the issues ask for, printed and written under target/bench/.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p target/bench
echo "No benchmark is defined yet: the Ingest issue adds the receiver and broker figures."
