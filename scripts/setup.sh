#!/usr/bin/env bash
# Shared by scripts/demo and scripts/test: make sure Python 3.11+ with venv exists, create
# .venv and install the package into it. Safe to run again; it only does what is missing.
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; return 1; fi
}

may_install() {
  # Root, or sudo that does not ask for a password: installing a package will not stop to ask.
  [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }
}

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || { echo "no apt-get: install $* by hand" >&2; return 1; }
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_python() {
  if ! python3 -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "installing python3 and python3-venv from Debian ..." >&2
    apt_install python3 python3-venv python3-pip
  fi
}

ensure_venv() {
  ensure_python
  local extras="${1:-}"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  local stamp=".venv/.installed${extras:+-$extras}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "installing jullix-logger into .venv ..." >&2
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    # pip and setuptools talk a lot (setuptools warns about every editable install): their
    # output is shown only when the install fails.
    local log
    if ! log=$(.venv/bin/python -m pip install -q -e ".${extras:+[$extras]}" 2>&1); then
      echo "$log" >&2
      return 1
    fi
    .venv/bin/python -c 'import logger' && touch "$stamp"
  fi
}

ensure_influxd() {
  if ! command -v influxd >/dev/null 2>&1; then
    echo "installing Debian's influxdb (the tests start private influxd servers) ..." >&2
    apt_install influxdb || return 1
  fi
}

ensure_mosquitto() {
  if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
    echo "installing Debian's mosquitto (the MQTT tests start private brokers) ..." >&2
    apt_install mosquitto || return 1
  fi
}

ensure_faketime() {
  if ! ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1; then
    echo "installing Debian's faketime (the clock-jump fault scenario runs the logger under it) ..." >&2
    apt_install faketime || return 1
  fi
}

ensure_lint_venv() {
  # import-linter in a venv of its own: it brings click, which makes httpx import its CLI
  # (about 6 MB more RSS in every process of the test venv). It reads the source tree, so the
  # package need not be installed here.
  if [ ! -x .venv-lint/bin/lint-imports ] || [ pyproject.toml -nt .venv-lint/.installed ]; then
    echo "installing import-linter into .venv-lint ..." >&2
    [ -x .venv-lint/bin/python ] || python3 -m venv .venv-lint
    .venv-lint/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    local log
    if ! log=$(.venv-lint/bin/python -m pip install -q "import-linter>=2.1" 2>&1); then
      echo "$log" >&2
      return 1
    fi
    touch .venv-lint/.installed
  fi
}
