"""Accessibility fixes for HTML that the course's dependencies write, each the smallest
override that lasts, each with its upstream cause (issue #34: WCAG 2.2 AA, checked by axe-core
in tests/site).

* Bibliography entries (sphinxcontrib-bibtex's citations, written by docutils' HTML writer,
  ``docutils/writers/_html_base.py`` ``visit_citation``, docutils 0.21): each entry is a
  ``<div role="doc-biblioentry">`` inside ``<div role="list" class="citation-list">``. DPUB-ARIA
  1.1 deprecated ``doc-biblioentry`` because it may not be a child of a list
  (w3c/dpub-aria#22, w3c/dpub-aria#70; axe-core reports it, dequelabs/axe-core#2759), so the
  list has no list items: axe's ``aria-deprecated-role`` on every entry and
  ``aria-required-children`` (critical) on the list. Here each entry gets ``role="listitem"``,
  what DPUB-ARIA 1.1 recommends instead (pandoc's HTML had the same defect, reported as
  jgm/pandoc#8354). sphinxcontrib-bibtex only makes the citation nodes; docutils, whose tracker
  is on SourceForge, writes the roles. Remove this when docutils writes list items (Sphinx 7.4
  pins docutils < 0.22).
* MyST-NB 1.4 writes every hidden code cell (tag ``hide-input``) as ``<details><summary
  aria-label="Toggle hidden content">`` around the visible "Show code cell source": the name
  does not contain the visible label (WCAG 2.5.3, axe-core ``label-content-name-mismatch``,
  serious; ``myst_nb/sphinx_.py`` ``visit_HideCellInput``). Here the same summary without the
  aria-label, so its name is what it shows. No upstream issue found (searched MyST-NB's and
  sphinx-togglebutton's; the latter has the same string).
* The theme's search button and colour-mode button (pydata-sphinx-theme 0.17.1, in
  sphinx-book-theme 1.3's sidebar and header): overridden by ``book/_templates/``, see there.
"""

from __future__ import annotations

from html import escape

from sphinx.writers.html5 import HTML5Translator

ENTRY_ROLE = "listitem"


def visit_citation(self, node) -> None:
    """docutils' ``visit_citation`` with ``role="listitem"`` instead of the deprecated
    ``doc-biblioentry`` (``depart_citation`` closes both divs as before)."""
    if not isinstance(node.previous_sibling(), type(node)):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role=ENTRY_ROLE))


def visit_hidden_input(self, node) -> None:
    """MyST-NB's ``visit_HideCellInput`` without ``aria-label`` on the summary."""
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n')
    self.body.append("<summary>\n")
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def _override_hidden_input(app) -> None:
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput

    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_input, depart_HideCellInput))


def setup(app):
    # Sphinx's HTML5Translator is the base of every HTML translator of this build (the
    # pydata-sphinx-theme mixes its own into it at builder-inited).
    HTML5Translator.visit_citation = visit_citation
    app.connect("builder-inited", _override_hidden_input)  # after MyST-NB registered its own
    return {"parallel_read_safe": True, "parallel_write_safe": True}
