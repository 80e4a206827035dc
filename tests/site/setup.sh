#!/usr/bin/env bash
# Set-up of the browser test of the built site (tests/site), run by `make test-site`. Idempotent.
#  1. A headless Chromium: $CHROMIUM if set, else one found on PATH (chromium, chromium-browser,
#     google-chrome), else Debian's `chromium` package is installed with apt-get (root or sudo).
#  2. MathJax 3 for offline runs: the book loads MathJax from a CDN, which a machine without
#     internet cannot reach; the test then serves MathJax from this local copy instead (the page
#     is not changed). The copy is taken from the wheel of the PyPI package
#     django-static-mathjax==3.2.2.1 (MathJax 3.2.2; `pip download` only, never installed), into
#     $MATHJAX_DIR (default .venv/share/mathjax), like the MNIST route of `make data`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}

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

MATHJAX_DIR=${MATHJAX_DIR:-.venv/share/mathjax}
if [ ! -f "$MATHJAX_DIR/es5/tex-mml-chtml.js" ]; then
  echo "tests/site/setup.sh: provisioning MathJax 3.2.2 into $MATHJAX_DIR (for offline runs)"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  if "$PY" -m pip download --disable-pip-version-check -q --no-deps "django-static-mathjax==3.2.2.1" -d "$tmp"; then
    "$PY" - "$tmp" "$MATHJAX_DIR" <<'PYEOF'
import os, sys, zipfile
from pathlib import Path

wheel = next(Path(sys.argv[1]).glob("*.whl"))
target = Path(sys.argv[2])
partial = target.with_name(target.name + ".partial")
prefix = "mathjax/static/mathjax/es5/"
with zipfile.ZipFile(wheel) as zf:
    for name in zf.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            out = partial / "es5" / name[len(prefix):]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(zf.read(name))
if not (partial / "es5" / "tex-mml-chtml.js").is_file():
    sys.exit(f"{wheel.name} holds no {prefix}tex-mml-chtml.js")
if target.exists():
    import shutil; shutil.rmtree(target)
os.replace(partial, target)
PYEOF
  else
    echo "tests/site/setup.sh: could not fetch MathJax; math is checked only if the CDN is reachable" >&2
  fi
fi
