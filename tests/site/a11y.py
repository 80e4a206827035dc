"""axe-core in the browser test: every page, 390 px and 1280 px, light and dark.

``AXE_OPTIONS`` runs every WCAG 2.0/2.1/2.2 level A and AA rule, plus
``label-content-name-mismatch`` (WCAG 2.5.3, which axe leaves off by default). A serious or
critical violation fails the page. Moderate and minor findings are printed at the end of the
run (``pytest_terminal_summary`` in conftest.py) and compared with ``axe-snapshot.json``: a
rule a page did not have, or more elements than recorded, fails; fewer is reported so the
snapshot can be tightened. Rewrite the snapshot with ``CNNCOURSE_AXE_SNAPSHOT=update``.
axe-core itself is vendored for the test (``scripts/vendor_js.py --axe``), never shipped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "_vendor" / "axe.min.js"
SNAPSHOT = HERE / "axe-snapshot.json"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": TAGS},
               "rules": {"label-content-name-mismatch": {"enabled": True}},
               "resultTypes": ["violations"]}
BLOCKING = ("serious", "critical")
FINDINGS: list[str] = []  # moderate/minor, printed at the end of the run

RUN = """async (options) => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const r = await axe.run(document, options);
  const ran = [...r.violations, ...r.passes, ...r.incomplete, ...r.inapplicable].map(x => x.id);
  return {ran, violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 160),
                              summary: (n.failureSummary || "").split("\\n").slice(0, 3).join(" ")}))}))};
}"""


def run_axe(page) -> dict:
    """Inject axe-core into the page and run it; the result's violations and the rules run."""
    if not AXE_JS.is_file():
        raise AssertionError(f"no {AXE_JS}: run `make test-site` (it vendors axe-core)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(RUN, AXE_OPTIONS)


def _load_snapshot() -> dict:
    return json.loads(SNAPSHOT.read_text()) if SNAPSHOT.is_file() else {}


def check(page, page_path: str, view: str, scheme: str) -> list[str]:
    """Problems of one page in one setting: every serious/critical violation, and every
    moderate/minor finding beyond the snapshot."""
    result = run_axe(page)
    assert "label-content-name-mismatch" in result["ran"], "axe did not run label-content-name-mismatch"
    problems, counts = [], {}
    for v in result["violations"]:
        if v["impact"] in BLOCKING:
            for n in v["nodes"][:8]:
                problems.append(f"axe {v['impact']} {v['id']} ({v['help']}): {n['target']}: {n['summary']}")
            if len(v["nodes"]) > 8:
                problems.append(f"axe {v['id']}: ... {len(v['nodes']) - 8} more element(s)")
        else:
            counts[v["id"]] = len(v["nodes"])
            FINDINGS.append(f"{page_path} {view} {scheme}: {v['impact']} {v['id']} x{len(v['nodes'])} "
                            f"({v['help']}), e.g. {v['nodes'][0]['target']}")
    key = f"{view} {scheme}"
    snapshot = _load_snapshot()
    if os.environ.get("CNNCOURSE_AXE_SNAPSHOT") == "update":
        entry = snapshot.setdefault(page_path, {})
        if counts:
            entry[key] = dict(sorted(counts.items()))
        else:
            entry.pop(key, None)
        if not entry:
            snapshot.pop(page_path)
        SNAPSHOT.write_text(json.dumps(dict(sorted(snapshot.items())), indent=1, sort_keys=True) + "\n")
        return problems
    known = snapshot.get(page_path, {}).get(key, {})
    for rule, n in sorted(counts.items()):
        if n > known.get(rule, 0):
            problems.append(f"axe {rule}: {n} element(s), the snapshot {SNAPSHOT.name} has {known.get(rule, 0)} "
                            "(fix it, or if it must stay: CNNCOURSE_AXE_SNAPSHOT=update make test-site)")
    for rule, n in sorted(known.items()):
        if counts.get(rule, 0) < n:
            FINDINGS.append(f"{page_path} {view} {scheme}: {rule} is down to {counts.get(rule, 0)} from {n}: "
                            "tighten the snapshot (CNNCOURSE_AXE_SNAPSHOT=update)")
    return problems
