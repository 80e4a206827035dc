"""Vendor the JavaScript the published book loads, so that no page requests another host.

Brings into ``book/_vendor/`` (git-ignored; listed in ``html_static_path``, so Sphinx copies it
to ``_build/html/_static/``):

* ``html-manager/``: the widget manager of ipywidgets (``@jupyter-widgets/html-manager``),
  its AMD bundle ``embed-amd.js`` and the icon fonts its CSS refers to;
* ``require.min.js``: RequireJS, through which the widget manager loads widget front ends;
* ``anywidget/index.js``: anywidget's AMD front end, from the installed ``anywidget`` wheel;
* ``mathjax/``: MathJax 3's loader, TeX input with the extensions it may autoload, and
  CommonHTML output with its fonts (the rest of the package, about 30 MB, is left out).

The npm packages come from the npm registry through ``npm pack`` at the pinned version, and
each tarball's SHA-512 must equal the registry integrity pinned below; the anywidget file must
match its pinned SHA-256. A mismatch stops with an error and leaves nothing half-written: the
folder is assembled next to its destination and renamed into place. When the folder already
holds what the pins describe (``VERSIONS.json``), the script returns at once.

The widget manager falls back to a CDN for a widget module RequireJS cannot load; the script
replaces that CDN base with a local folder that does not exist, so a missing module shows as a
failed local request (which the browser test catches) instead of a request to another host.

Run: ``python scripts/vendor_js.py [DEST]`` (``make book`` does).

For the browser test only (never part of the site): ``python scripts/vendor_js.py --axe`` brings
axe-core, the accessibility engine ``tests/site`` runs in every page, into ``tests/site/_vendor/``
(git-ignored), the same way: ``npm pack`` at the pinned version, the tarball's SHA-512 checked
against the pinned registry integrity, written next to its destination and renamed into place
(``make test-site`` does).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "book" / "_vendor"

# name -> (version, sha512 integrity of the tarball as the npm registry publishes it)
NPM = {
    "@jupyter-widgets/html-manager": (
        "1.0.6",
        "sha512-+Mn+Ra8wyIHrYaUpfmf9A3dsLkt/NuwzPQN8sthdxBD35VV5cOJbpmgMhNR27n/rmP3mKyEe0PWCJrtZrXTXDQ==",
    ),
    "requirejs": (
        "2.3.7",
        "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
    ),
    "mathjax": (
        "3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
    ),
}
# Test-only, kept out of the site: (name, version, sha512 integrity as the registry publishes it).
AXE = ("axe-core", "4.14.1",
       "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==")
AXE_DEST = ROOT / "tests" / "site" / "_vendor"
ANYWIDGET = ("0.11.0", "b257c384632cd992e1758322ccaeeb6de8af7d57c0173efd462fc93041f9f5b6")
CDN_BASE = '"https://cdn.jsdelivr.net/npm/"'
LOCAL_BASE = '"_static/html-manager/npm/"'  # never served: a missing module fails locally


def _integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def _pack(name: str, version: str, integrity: str, workdir: Path) -> tarfile.TarFile:
    spec = f"{name}@{version}"
    try:
        out = subprocess.run(["npm", "pack", "--json", "--pack-destination", str(workdir), spec],
                             check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        sys.exit("vendor_js: npm is not installed (Debian: apt-get install npm); it fetches "
                 f"{spec} from the npm registry")
    except subprocess.CalledProcessError as exc:
        sys.exit(f"vendor_js: npm pack {spec} failed:\n{exc.stderr.strip()[-2000:]}")
    tgz = workdir / json.loads(out)[0]["filename"]
    got = _integrity(tgz)
    if got != integrity:
        sys.exit(f"vendor_js: {spec}: the tarball's integrity is {got}, expected the pinned "
                 f"{integrity}; not vendoring it")
    return tarfile.open(tgz)


def _extract(tar: tarfile.TarFile, keep, dest: Path) -> int:
    """Extract the members whose path (without ``package/``) ``keep`` maps to a relative path."""
    n = 0
    for member in tar.getmembers():
        rel = member.name.removeprefix("package/")
        target = keep(rel) if member.isfile() else None
        if target is None:
            continue
        out = dest / target
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(tar.extractfile(member).read())
        n += 1
    return n


def _html_manager(rel: str) -> str | None:
    if not rel.startswith("dist/") or rel.endswith(".map") or rel.endswith("LICENSE.txt"):
        return None
    name = rel.removeprefix("dist/")
    if name.endswith(".js") and name != "embed-amd.js":  # embed-amd.js is self-contained
        return None
    return f"html-manager/{name}"


MATHJAX_FILES = ("es5/startup.js", "es5/core.js", "es5/input/tex.js", "es5/output/chtml.js", "es5/output/chtml/fonts/tex.js",
                 "es5/output/chtml/fonts/woff-v2/", "es5/input/tex/extensions/")
"""What the book keeps of MathJax: the loader, TeX input (the extensions it autoloads) and
CommonHTML output with its fonts. Not the combined ``tex-chtml.js``: its menu bundles the speech
rule engine, which fetches its data from a CDN when a reader turns speech on."""


def _mathjax(rel: str) -> str | None:
    if rel == "LICENSE":
        return "mathjax/LICENSE"
    if any(rel == k or (k.endswith("/") and rel.startswith(k)) for k in MATHJAX_FILES):
        return "mathjax/" + rel.removeprefix("es5/")
    return None


def _anywidget_js() -> bytes:
    version, sha = ANYWIDGET
    try:
        installed = importlib.metadata.version("anywidget")
    except importlib.metadata.PackageNotFoundError:
        sys.exit(f"vendor_js: anywidget is not installed; pip install anywidget=={version}")
    if installed != version:
        sys.exit(f"vendor_js: anywidget {installed} is installed, expected {version} "
                 "(requirements.txt pins it; re-run make setup)")
    dist = importlib.metadata.distribution("anywidget")
    data = Path(dist.locate_file("anywidget/nbextension/index.js")).read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        sys.exit(f"vendor_js: anywidget/nbextension/index.js has SHA-256 {got}, expected {sha}")
    return data


def pins() -> dict:
    """What the vendored folder holds, as written to its ``VERSIONS.json``."""
    return {"npm": {k: list(v) for k, v in NPM.items()}, "anywidget": list(ANYWIDGET),
            "patch": [CDN_BASE, LOCAL_BASE], "mathjax": list(MATHJAX_FILES)}


def vendor(dest: Path = DEST) -> Path:
    """Fill ``dest`` with the pinned, checked files; return it. Idempotent."""
    stamp = dest / "VERSIONS.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == pins():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".vendor-") as tmp:
        work, out = Path(tmp) / "npm", Path(tmp) / "out"
        work.mkdir()
        out.mkdir()
        for name, (version, integrity) in NPM.items():
            with _pack(name, version, integrity, work) as tar:
                if name == "requirejs":
                    (out / "require.min.js").write_bytes(tar.extractfile("package/require.js").read())
                else:
                    n = _extract(tar, _html_manager if name.endswith("html-manager") else _mathjax, out)
                    if n == 0:
                        sys.exit(f"vendor_js: nothing extracted from {name}@{version}")
        embed = out / "html-manager" / "embed-amd.js"
        text = embed.read_text(encoding="utf-8")
        if text.count(CDN_BASE) != 2:
            sys.exit(f"vendor_js: expected the CDN base {CDN_BASE} twice in embed-amd.js, "
                     f"found it {text.count(CDN_BASE)} times: the pinned bundle changed")
        embed.write_text(text.replace(CDN_BASE, LOCAL_BASE), encoding="utf-8")
        (out / "anywidget").mkdir()
        (out / "anywidget" / "index.js").write_bytes(_anywidget_js())
        (out / "VERSIONS.json").write_text(json.dumps(pins(), indent=1) + "\n")
        old = Path(tmp) / "old"
        if dest.exists():
            os.replace(dest, old)
        os.replace(out, dest)
        shutil.rmtree(old, ignore_errors=True)
    return dest


def vendor_axe(dest: Path = AXE_DEST) -> Path:
    """Fill ``dest`` with ``axe.min.js`` and its licences from the pinned, checked tarball; return
    it. Idempotent (``VERSIONS.json`` records the pin)."""
    name, version, integrity = AXE
    stamp = dest / "VERSIONS.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == {name: [version, integrity]}:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".vendor-") as tmp:
        work, out = Path(tmp) / "npm", Path(tmp) / "out"
        work.mkdir()
        out.mkdir()
        with _pack(name, version, integrity, work) as tar:
            keep = {"axe.min.js": "axe.min.js", "LICENSE": "LICENSE", "LICENSE-3RD-PARTY.txt": "LICENSE-3RD-PARTY.txt"}
            if _extract(tar, keep.get, out) != len(keep):
                sys.exit(f"vendor_js: {name}@{version} lacks one of {sorted(keep)}")
        (out / "VERSIONS.json").write_text(json.dumps({name: [version, integrity]}, indent=1) + "\n")
        old = Path(tmp) / "old"
        if dest.exists():
            os.replace(dest, old)
        os.replace(out, dest)
        shutil.rmtree(old, ignore_errors=True)
    return dest


if __name__ == "__main__":
    if sys.argv[1:2] == ["--axe"]:
        target = vendor_axe(Path(sys.argv[2]) if len(sys.argv) > 2 else AXE_DEST)
        print(f"vendor_js: {target} holds {AXE[0]}@{AXE[1]} (for tests/site only)")
        sys.exit(0)
    target = vendor(Path(sys.argv[1]) if len(sys.argv) > 1 else DEST)
    print(f"vendor_js: {target} holds {', '.join(f'{k}@{v[0]}' for k, v in NPM.items())}, "
          f"anywidget@{ANYWIDGET[0]}")
