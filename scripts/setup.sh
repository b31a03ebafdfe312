#!/usr/bin/env bash
# One-time (and idempotent) set-up: system packages, .venv, npm assets. Usage: setup.sh [--browser]
set -euo pipefail
cd "$(dirname "$0")/.."
want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

die() { printf '\nsetup: %s\n' "$*" >&2; exit 1; }
need_deb() {  # need_deb CHECK-COMMAND PACKAGE...: install Debian packages when CHECK fails
  local check=$1; shift
  if eval "$check" >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: $*"
    [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -n1)" ] || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; } \
      || die "could not install $*; install them yourself (sudo apt-get install $*) and re-run."
  else
    die "missing $*: install with 'sudo apt-get install $*' (or your OS's equivalent) and re-run."
  fi
}

command -v python3 >/dev/null || die "python3 not found: install Python 3.11 and re-run."
python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "Python 3.11 is required (torch==2.13.0 is pinned for it); found $(python3 --version)."
command -v npm >/dev/null || die "Node.js/npm not found: the site serves its own widget JS and MathJax from npm packages. Install them with 'apt-get install nodejs npm' (Node >= 18) and re-run."
need_deb "fc-list :lang=zh | grep -q ." fonts-noto-cjk
[ "$want_browser" = 1 ] && need_deb "command -v chromium" chromium

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv (torch==2.13.0 CPU build) ..."
  # requirements.txt pins the complete set, so --no-deps: pip's resolver would otherwise add
  # rfc3987-syntax (a jsonschema extra that nbgrader's stack asks for), which spends 2.7 s building
  # a grammar on every nbformat import, i.e. in every nbval run.
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -r requirements.txt \
    || die "pip install -r requirements.txt failed (see above)."
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . \
    || die "installing the coursekit tooling failed (see above)."
  touch "$stamp"
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages (widget JS, requirejs, MathJax) ..."
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error || die "npm ci failed (see above)."
fi
.venv/bin/python -m coursekit assets
