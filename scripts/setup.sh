#!/usr/bin/env bash
# Set-up behind `make site` and `make test` (with --browser). Idempotent: running it again
# repairs an interrupted or broken set-up. Settings (environment variables, all optional):
#   PYTHON         interpreter for .venv (default: the first Python 3.11-3.13 on PATH)
#   TORCH_BACKEND  auto (default) | cpu | cuda | pypi   which torch build to install
#   TORCH_INDEX_URL  where CPU wheels come from (default: PyTorch's CPU index)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=site
[ "${1:-}" = "--browser" ] && mode=test
CPU_INDEX=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
PIP=(.venv/bin/python -m pip --disable-pip-version-check)

say() { printf 'setup: %s\n' "$*"; }
die() { printf '\nsetup: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

check_platform() {  # PyTorch publishes wheels for these; say what to do everywhere else
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64 | Linux/aarch64 | Darwin/arm64) ;;
    Darwin/x86_64) die "macOS on Intel is not supported: PyTorch publishes no wheels for it since 2.3. Use Colab, a Mac with Apple silicon, or Linux." ;;
    MINGW* | MSYS* | CYGWIN*) die "native Windows is not supported: install WSL2 with Ubuntu (wsl --install), clone the course there and run make site." ;;
    *) die "unsupported platform $(uname -s)/$(uname -m): PyTorch has wheels for Linux x86_64/aarch64 and macOS arm64. Use one of those, or Colab." ;;
  esac
}

supported() { "$1" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; }

choose_python() {  # sets $py and $pyver
  if [ -n "${PYTHON:-}" ]; then
    command -v "$PYTHON" >/dev/null || die "PYTHON=$PYTHON: no such interpreter on PATH."
    supported "$PYTHON" || die "PYTHON=$PYTHON is $("$PYTHON" --version 2>&1): the course supports Python 3.11, 3.12 and 3.13. Name another one, e.g. PYTHON=python3.12 make site."
    py=$PYTHON
  else
    py=""
    for c in python3 python3.13 python3.12 python3.11; do
      if command -v "$c" >/dev/null && supported "$c"; then py=$c; break; fi
    done
    [ -n "$py" ] || die "no Python 3.11, 3.12 or 3.13 found (python3 is $(python3 --version 2>&1 || echo missing)). Install one (Debian/Ubuntu: apt-get install python3 python3-venv; macOS: brew install python@3.12) and re-run, or name it: PYTHON=/path/to/python3.12 make site."
  fi
  pyver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
}

venv_ok() {  # a complete venv of the chosen Python, with pip
  [ -f .venv/pyvenv.cfg ] && [ -x .venv/bin/python ] \
    && .venv/bin/python -c "import sys, pip; sys.exit('%d.%d' % sys.version_info[:2] != '$pyver')" 2>/dev/null
}

make_venv() {
  venv_ok && return 0
  [ -e .venv ] && say "rebuilding .venv (half-made, broken, or made with another Python than $py $pyver)"
  rm -rf .venv
  if ! "$py" -m venv .venv >/dev/null 2>.venv-error.log || ! venv_ok; then
    rm -rf .venv
    die "'$py -m venv .venv' failed ($(tail -n1 .venv-error.log 2>/dev/null)). On Debian/Ubuntu install the venv module (sudo apt-get install python$pyver-venv) and re-run."
  fi
  rm -f .venv-error.log
}

has_gpu() { nvidia-smi -L >/dev/null 2>&1 || /usr/lib/wsl/lib/nvidia-smi -L >/dev/null 2>&1; }

torch_backend() {  # the build to install: cpu, cuda or pypi
  local b=${TORCH_BACKEND:-auto}
  case "$b" in
    auto) if [ "$(uname -s)" = Darwin ]; then b=pypi; elif has_gpu; then b=cuda; else b=cpu; fi ;;
    cpu | cuda | pypi) ;;
    *) die "TORCH_BACKEND=$b: use auto, cpu, cuda or pypi (README, Installing)." ;;
  esac
  if [ "$(uname -s)" = Darwin ]; then b=pypi; fi  # macOS wheels on PyPI are the CPU/MPS build
  echo "$b"
}

install_torch() {  # $1: cpu | cuda | pypi
  local pin
  pin=$(grep -E '^torch==' requirements-torch.txt) || die "requirements-torch.txt has no torch== line."
  case "$1" in
    cpu)
      # A CPU wheel that pip's own configuration offers (a wheelhouse in find-links) comes first;
      # then PyTorch's CPU index. Either way, no CUDA libraries are downloaded.
      if "${PIP[@]}" install -q --no-index "$pin+cpu" >/dev/null 2>&1; then return 0; fi
      say "downloading $pin+cpu (about 200 MB) from $CPU_INDEX ..."
      "${PIP[@]}" install -q --timeout 30 --retries 2 --index-url "$CPU_INDEX" "$pin+cpu" \
        || die "could not install $pin+cpu from $CPU_INDEX. If that index is unreachable, point TORCH_INDEX_URL at a mirror of it, or take PyPI's CUDA build (about 4 GB, also runs without a GPU): TORCH_BACKEND=cuda make site."
      ;;
    cuda | pypi)
      [ "$(uname -s)" = Linux ] && say "installing $pin from PyPI with its CUDA libraries (about 4 GB) ..."
      "${PIP[@]}" install -q "$pin" \
        || die "could not install $pin from the package index (see above); check the network or PIP_INDEX_URL and re-run."
      ;;
  esac
}

report_torch() {  # import torch; print version, build and device. Fails on a half-installed torch.
  .venv/bin/python - <<'EOF'
import platform
import torch
build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU build"
if torch.cuda.is_available():
    device = f"cuda ({torch.cuda.get_device_name(0)})"
elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
    device = "mps"
else:
    device = "cpu"
print(f"setup: torch {torch.__version__} ({build}) | device: {device} | "
      f"Python {platform.python_version()} | {platform.system()} {platform.machine()}")
EOF
}

install_python_packages() {  # uses $backend
  local fingerprint stamp=.venv/.installed
  fingerprint="python $pyver | torch $backend | $(cat requirements.txt requirements-torch.txt pyproject.toml | cksum)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ] && report_torch 2>/dev/null; then
    return 0
  fi
  rm -f "$stamp"
  say "installing the locked Python packages into .venv (Python $pyver) ..."
  # First the locked pip itself: older ones (Debian's, pyenv's 23.x) reject hashed extras.
  awk '/^pip==/{p=1} p{print} p&&!/\\$/{exit}' requirements.txt >.venv/pip-lock.txt
  "${PIP[@]}" install -q --require-hashes -r .venv/pip-lock.txt \
    || die "could not update pip in .venv (see above); check the network or PIP_INDEX_URL and re-run."
  "${PIP[@]}" install -q --require-hashes -r requirements.txt \
    || die "pip could not install requirements.txt (see above). If the package index is unreachable, check the network or PIP_INDEX_URL and re-run: finished downloads are cached."
  install_torch "$backend"
  "${PIP[@]}" install -q --no-deps --no-build-isolation -e . >.venv/coursekit-install.log 2>&1 \
    || { cat .venv/coursekit-install.log; die "installing the coursekit tooling failed (see above)."; }
  "${PIP[@]}" check >/dev/null || { "${PIP[@]}" check; die "pip check found missing or conflicting packages (above); re-run, and report it if it persists."; }
  if ! report_torch; then
    say "torch does not import (above): reinstalling it once"
    "${PIP[@]}" uninstall -q -y torch >/dev/null 2>&1 || true
    install_torch "$backend"
    report_torch || die "torch is installed but does not import (above). Try another build: TORCH_BACKEND=cpu or TORCH_BACKEND=cuda, then re-run."
  fi
  echo "$fingerprint" >"$stamp"
}

apt_install() {  # apt_install PACKAGE...: as root; false when that is not possible
  is_root && command -v apt-get >/dev/null || return 1
  say "installing Debian packages: $*"
  [ -n "$(find /var/lib/apt/lists -name '*Packages*' 2>/dev/null | head -n1)" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

has_cjk_font() {
  [ "$(uname -s)" = Darwin ] && return 0  # macOS ships PingFang SC
  command -v fc-list >/dev/null && fc-list :lang=zh 2>/dev/null | grep -q .
}

user_font() {  # without root: unpack Debian's fonts-noto-cjk into the user's font folder
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || return 1
  local tmp dest=${XDG_DATA_HOME:-$HOME/.local/share}/fonts/noto-cjk
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq fonts-noto-cjk >/dev/null 2>&1) || { rm -rf "$tmp"; return 1; }
  mkdir -p "$dest" && dpkg-deb -x "$tmp"/fonts-noto-cjk_*.deb "$tmp/x" \
    && find "$tmp/x" -name 'NotoSansCJK-Regular.ttc' -exec cp {} "$dest/" \;
  rm -rf "$tmp"
  command -v fc-cache >/dev/null && fc-cache -f "$dest" >/dev/null 2>&1
  has_cjk_font
}

cjk_font() {
  has_cjk_font && return 0
  apt_install fonts-noto-cjk && return 0
  user_font && { say "installed Noto Sans CJK into ${XDG_DATA_HOME:-$HOME/.local/share}/fonts"; return 0; }
  local hint="no CJK font: figures in the Chinese edition will have English-only labels. Install one (sudo apt-get install fonts-noto-cjk, or any Noto Sans CJK / Source Han Sans font) and re-run."
  [ "$mode" = test ] && die "$hint The tests check Chinese figure labels, so make test needs it."
  say "hint: $hint"
}

browser() {
  command -v chromium >/dev/null && return 0
  apt_install chromium && return 0
  die "the browser tests need Debian's chromium: sudo apt-get install chromium, then re-run make test."
}

compat_widgets() {  # ipywidgets 7.7.1 beside .venv, for the test of the explorer's Colab path
  local dest=.venv/compat/ipywidgets7 stamp=.venv/compat/.installed fingerprint
  fingerprint=$(cksum <requirements-compat.txt)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ] && return 0
  rm -rf "$dest" && mkdir -p "$dest"
  "${PIP[@]}" install -q --no-deps --require-hashes --target "$dest" -r requirements-compat.txt \
    || die "could not install requirements-compat.txt (ipywidgets 7 for one test, see above); check the network or PIP_INDEX_URL and re-run."
  echo "$fingerprint" >"$stamp"
}

npm_assets() {
  command -v npm >/dev/null || die "Node.js/npm not found: the site serves its own widget JS and MathJax from npm packages. Install Node.js 18 or newer with npm (Debian/Ubuntu: apt-get install nodejs npm; macOS: brew install node) and re-run."
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (widget JS, requirejs, MathJax) ..."
    npm ci --no-audit --no-fund --ignore-scripts --loglevel=error \
      || die "npm ci failed (see above); check the network or npm's registry setting and re-run."
  fi
}

check_platform
choose_python
backend=$(torch_backend) || exit 1
command -v npm >/dev/null || npm_assets  # fail early, before any download
cjk_font
[ "$mode" = test ] && browser
make_venv
install_python_packages
[ "$mode" = test ] && compat_widgets
npm_assets
.venv/bin/python -m coursekit assets
