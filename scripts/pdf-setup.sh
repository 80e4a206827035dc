#!/usr/bin/env bash
# Set-up of `make pdf`: the LaTeX tools Jupyter Book's PDF builder runs (xelatex, latexmk,
# xindy) and the fonts the book prints with. Idempotent: when xelatex, latexmk and xindy are
# on PATH nothing is installed. Otherwise Debian's packages are installed with apt-get (as root
# or through sudo); measured here: about 420 MB and 2 minutes. On another system, install a
# TeX distribution with XeLaTeX, latexmk and xindy (TeX Live or MacTeX) and run `make pdf` again.
set -euo pipefail
PACKAGES="texlive-latex-extra texlive-xetex latexmk texlive-latex-recommended
  texlive-fonts-recommended fonts-freefont-otf tex-gyre xindy"
have_all() { command -v xelatex && command -v latexmk && command -v xindy; } >/dev/null 2>&1
if have_all; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "scripts/pdf-setup.sh: xelatex, latexmk or xindy is missing and this is not a Debian" \
       "system; install TeX Live (with XeLaTeX, latexmk, xindy), then run make pdf again" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "scripts/pdf-setup.sh: installing Debian's LaTeX packages (about 420 MB, a few minutes)"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null
have_all || { echo "scripts/pdf-setup.sh: the install did not provide xelatex, latexmk and xindy" >&2; exit 1; }
