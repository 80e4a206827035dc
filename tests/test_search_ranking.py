"""The site search lists a lesson that teaches a word before an API entry of the same name.

A two-page Sphinx site (a lesson that mentions "pooling", an API page that documents a
function ``pooling``) is built with the book's ``search_ranking`` extension; the scorer that
lands in the built ``language_data.js`` is then run by Node.js on the scores Sphinx's
``searchtools.js`` gives the two results (Sphinx 7's defaults).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[1] / "book" / "_ext"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    sphinx_app = pytest.importorskip("sphinx.application")
    src = tmp_path_factory.mktemp("src")
    (src / "conf.py").write_text("extensions = ['search_ranking']\n")
    (src / "index.rst").write_text("Book\n====\n\n.. toctree::\n\n   lessons/pool\n   api\n")
    (src / "lessons").mkdir()
    (src / "lessons" / "pool.rst").write_text("Downsampling\n============\n\nMax pooling keeps the "
                                               "largest value of each window.\n")
    (src / "api.rst").write_text("API\n===\n\n.. py:function:: pooling(x)\n\n   Pool x.\n")
    out = tmp_path_factory.mktemp("html")
    sys.path.insert(0, str(EXT))
    try:
        app = sphinx_app.Sphinx(str(src), str(src), str(out), str(out / ".doctrees"), "html",
                                status=None, warning=None, freshenv=True)
        app.build()
    finally:
        sys.path.remove(str(EXT))
    return out


def test_the_scorer_is_in_the_built_site(site):
    assert "lessonBoost" in (site / "_static" / "language_data.js").read_text()


def test_the_index_finds_both_results(site):
    text = (site / "searchindex.js").read_text()
    index = json.loads(text[text.index("(") + 1:text.rindex(")")])
    lesson = index["docnames"].index("lessons/pool")
    assert lesson in (index["terms"]["pool"] if isinstance(index["terms"]["pool"], list)
                      else [index["terms"]["pool"]])
    assert "pooling" in json.dumps(index["objects"])


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the scorer")
def test_a_lesson_outranks_an_exact_api_match(site):
    script = (site / "_static" / "language_data.js").read_text() + """
    const api = ["api", "pooling", "#pooling", "Python function",
                 Scorer.objNameMatch + Scorer.objPrio[1], "api.rst"];
    const lesson = ["lessons/pool", "Downsampling", "", null, Scorer.term, "lessons/pool.rst"];
    const other = ["index", "Book", "", null, Scorer.term, "index.rst"];
    console.log(JSON.stringify([Scorer.score(lesson), Scorer.score(api), Scorer.score(other)]));
    """
    lesson, api, other = json.loads(subprocess.run(["node", "-e", script], capture_output=True,
                                                   text=True, check=True).stdout)
    assert lesson > api > other
