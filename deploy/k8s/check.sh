#!/usr/bin/env bash
# Validates the Kubernetes and KEDA manifests (no cluster needed): installs the pinned validator
# into target/k8s-venv on first use, then runs deploy/k8s/validate.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/k8s-venv
if [ ! -x "$venv/bin/python" ] || ! cmp -s deploy/k8s/requirements.txt "$venv/requirements.txt"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r deploy/k8s/requirements.txt
  cp deploy/k8s/requirements.txt "$venv/requirements.txt"
fi
"$venv/bin/python" deploy/k8s/validate.py
