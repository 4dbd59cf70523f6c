#!/usr/bin/env bash
# For a machine that reaches Debian's mirror and crates.io but not Docker Hub: builds local
# stand-ins for the two base images the Dockerfile names, with debootstrap, so that
# `docker build -t matterhook .` works unchanged.
#   debian:bookworm-slim     Debian bookworm, minbase
#   rust:1.95-slim-bookworm  the same with gcc and this machine's Rust toolchain (rustup's stable)
# and, for deploy/compose.yaml, stand-ins built from Debian's packages on the first:
#   postgres:16              Debian's PostgreSQL 15, the official image's environment and paths
#   rabbitmq:3.13-management Debian's RabbitMQ 3.10 with the management plugin
# The machine's own certificate authorities (/usr/local/share/ca-certificates, such as an egress
# proxy's) are trusted in the Rust image too, so that cargo reaches crates.io as the host does.
# Needs root, debootstrap and a running Docker engine. Idempotent: skips images that exist.
set -euo pipefail
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=${WORK_DIR:-/tmp/matterhook-rootfs}
toolchain=${RUST_TOOLCHAIN_DIR:-$HOME/.rustup/toolchains/stable-x86_64-unknown-linux-gnu}

have() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have debian:bookworm-slim; then
  say "debian:bookworm-slim from $mirror"
  [ -d "$work/slim/usr" ] || debootstrap --variant=minbase bookworm "$work/slim" "$mirror"
  tar -C "$work/slim" -c . | docker import - debian:bookworm-slim
fi

if ! have rust:1.95-slim-bookworm; then
  say "rust:1.95-slim-bookworm: gcc and the toolchain in $toolchain"
  [ -d "$work/build/usr" ] || debootstrap --variant=minbase \
    --include=ca-certificates,gcc,libc6-dev,pkg-config,make bookworm "$work/build" "$mirror"
  if compgen -G "${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}/*.crt" >/dev/null; then
    cp "${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"/*.crt "$work/build/usr/local/share/ca-certificates/"
    chroot "$work/build" update-ca-certificates >/dev/null
  fi
  rm -rf "$work/build/usr/local/rust"
  cp -a "$(readlink -f "$toolchain")" "$work/build/usr/local/rust"
  tar -C "$work/build" -c . | docker import \
    -c 'ENV PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV CARGO_HOME=/usr/local/cargo' \
    - rust:1.95-slim-bookworm
fi
here=$(cd "$(dirname "$0")" && pwd)
if ! have postgres:16; then
  say "postgres:16 (a stand-in: Debian's PostgreSQL 15)"
  docker build -q -t postgres:16 "$here/standins/postgres"
fi
if ! have rabbitmq:3.13-management; then
  say "rabbitmq:3.13-management (a stand-in: Debian's RabbitMQ 3.10 with the management plugin)"
  docker build -q -t rabbitmq:3.13-management "$here/standins/rabbitmq"
fi
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^(debian|rust|postgres|rabbitmq):'
