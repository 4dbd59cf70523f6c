#!/usr/bin/env bash
# Makes sure PostgreSQL and RabbitMQ run on this machine: starts them where installed but
# stopped, installs them with apt-get (Debian/Ubuntu) where missing. Idempotent.
# With --browser, also Chromium and its WebDriver (the support console's browser tests).
set -euo pipefail

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: start PostgreSQL (127.0.0.1:5432) and RabbitMQ (127.0.0.1:5672) yourself, run this as root, or use containers: docker compose -f deploy/compose.yaml up"
  SUDO="sudo"
fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port name seconds
  local i
  for ((i = 0; i < $3; i++)); do
    port_open "$1" && return 0
    sleep 1
  done
  die "$2 did not start listening on 127.0.0.1:$1 within $3 s"
}

apt_install() {
  command -v apt-get >/dev/null || die "$* missing and this is not a Debian-like system (no apt-get): install PostgreSQL and RabbitMQ yourself and start them on 127.0.0.1:5432 and :5672, or run the whole stack in containers instead: docker build -t matterhook . && docker compose -f deploy/compose.yaml up"
  say "installing $* with apt-get (first run only)"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

ensure_postgres() {
  if port_open 5432; then
    say "PostgreSQL is running on 127.0.0.1:5432"
    return
  fi
  local installed_now=false
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
    installed_now=true
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  if ! port_open 5432; then
    say "starting PostgreSQL $version"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  wait_port 5432 PostgreSQL 60
  if $installed_now; then
    # A fresh Debian cluster wants a password over TCP; give `postgres` the one our default
    # DATABASE_URL uses. Only on a cluster this script installed.
    as_postgres psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
  fi
  say "PostgreSQL is running on 127.0.0.1:5432"
}

ensure_rabbitmq() {
  if port_open 5672; then
    say "RabbitMQ is running on 127.0.0.1:5672"
    return
  fi
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  if ! port_open 5672; then
    say "starting RabbitMQ"
    $SUDO rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  wait_port 5672 RabbitMQ 120
  # The port opens before the broker accepts work.
  $SUDO rabbitmqctl -q --timeout 60 await_startup >/dev/null 2>&1 || true
  say "RabbitMQ is running on 127.0.0.1:5672"
}

ensure_browser() {
  if command -v chromedriver >/dev/null && [ -x /usr/bin/chromium ]; then
    say "Chromium and chromedriver are installed"
    return
  fi
  apt_install chromium chromium-driver
  say "Chromium and chromedriver are installed"
}

command -v cargo >/dev/null || die "cargo not found: install Rust from https://rustup.rs first"
ensure_postgres
ensure_rabbitmq
if [ "${1:-}" = "--browser" ]; then ensure_browser; fi
