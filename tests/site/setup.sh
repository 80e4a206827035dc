#!/usr/bin/env bash
# Set-up of the browser test of the built site (tests/site), run by `make test-site`. Idempotent.
#  1. A headless Chromium: $CHROMIUM if set, else one found on PATH (chromium, chromium-browser,
#     google-chrome), else Debian's `chromium` package is installed with apt-get (root or sudo).
# The site carries its own MathJax (scripts/vendor_js.py); Playwright uses this browser through
# executable_path, so `playwright install` is never run.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}

# make test runs the site and JupyterLab tests in parallel lanes: one apt-get at a time.
if command -v flock >/dev/null 2>&1; then
  exec 9>"${TMPDIR:-/tmp}/cnncourse-browser-setup.$(id -u).lock"  # one per user: no one else's to open
  flock 9
fi

find_browser() {
  if [ -n "${CHROMIUM:-}" ] && [ -x "$CHROMIUM" ]; then echo "$CHROMIUM"; return; fi
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  done
}

if [ -z "$(find_browser)" ]; then
  echo "tests/site/setup.sh: no Chromium found; installing Debian's chromium package"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
echo "tests/site/setup.sh: browser $(find_browser)"

# Screenshots show emoji (the build report's status column) only with an emoji font.
if command -v fc-list >/dev/null 2>&1 && ! fc-list | grep -qi emoji && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends fonts-noto-color-emoji >/dev/null \
    || echo "tests/site/setup.sh: no emoji font (screenshots show boxes for emoji)" >&2
fi
