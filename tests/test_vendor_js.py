"""scripts/vendor_js.py: which files of the pinned packages the site keeps, and its checks."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("vendor_js", Path(__file__).parents[1] / "scripts" / "vendor_js.py")
vendor_js = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(vendor_js)


def test_mathjax_keeps_loader_tex_chtml_and_fonts_only():
    keep = vendor_js._mathjax
    assert keep("es5/startup.js") == "mathjax/startup.js" and keep("es5/core.js") == "mathjax/core.js"
    assert keep("es5/input/tex/extensions/ams.js") == "mathjax/input/tex/extensions/ams.js"
    assert keep("es5/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff").endswith("MathJax_Main-Regular.woff")
    for dropped in ("es5/tex-chtml.js", "es5/ui/menu.js", "es5/sre/mathmaps/en.json", "es5/output/svg.js",
                    "es5/input/tex-full.js", "es5/a11y/explorer.js"):
        assert keep(dropped) is None, dropped


def test_html_manager_keeps_the_amd_bundle_and_fonts():
    keep = vendor_js._html_manager
    assert keep("dist/embed-amd.js") == "html-manager/embed-amd.js"
    assert keep("dist/1551f4f60c37af51121f.woff2") == "html-manager/1551f4f60c37af51121f.woff2"
    for dropped in ("dist/embed-amd.js.map", "dist/embed.js", "dist/libembed-amd.js", "dist/106.embed.js",
                    "src/index.ts", "package.json"):
        assert keep(dropped) is None, dropped


def test_integrity_is_the_npm_registry_format(tmp_path):
    f = tmp_path / "x.tgz"
    f.write_bytes(b"abc")
    assert vendor_js._integrity(f) == "sha512-" + base64.b64encode(hashlib.sha512(b"abc").digest()).decode()


def test_a_complete_folder_is_left_alone(tmp_path):
    (tmp_path / "VERSIONS.json").write_text(json.dumps(vendor_js.pins()))
    assert vendor_js.vendor(tmp_path) == tmp_path  # returns without npm or network
    assert sorted(p.name for p in tmp_path.iterdir()) == ["VERSIONS.json"]


def test_a_tampered_tarball_is_refused(tmp_path, monkeypatch):
    def fake_run(cmd, **kwargs):
        (tmp_path / "pkg.tgz").write_bytes(b"not the pinned tarball")

        class Done:
            stdout = json.dumps([{"filename": "pkg.tgz"}])
        return Done()

    monkeypatch.setattr(vendor_js.subprocess, "run", fake_run)
    with pytest.raises(SystemExit, match="integrity"):
        vendor_js._pack("requirejs", "2.3.7", vendor_js.NPM["requirejs"][1], tmp_path)


def test_axe_is_pinned_and_kept_out_of_the_site(tmp_path):
    name, version, integrity = vendor_js.AXE
    assert name == "axe-core" and version.count(".") == 2 and integrity.startswith("sha512-")
    assert "tests" in vendor_js.AXE_DEST.parts and "book" not in vendor_js.AXE_DEST.parts
    (tmp_path / "VERSIONS.json").write_text(json.dumps({name: [version, integrity]}))
    assert vendor_js.vendor_axe(tmp_path) == tmp_path  # a complete folder: no npm, no network
    assert sorted(p.name for p in tmp_path.iterdir()) == ["VERSIONS.json"]
