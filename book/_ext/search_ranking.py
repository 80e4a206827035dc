"""Rank lesson pages above API entries in the site search.

Sphinx's default scorer puts an object whose name matches the query (an API entry such as
``cnncourse.pooling.max_pool2d``, 26 points or more) above any page that merely contains the
word (5 points), so a search for "pooling" would list functions before the lesson that teaches
pooling. ``search_scorer.js``, next to this file, adds a boost to lesson pages and a smaller one
to the glossary. Sphinx reads ``html_search_scorer`` relative to the working directory of the
build, so this extension sets it to the file's absolute path.
"""

from __future__ import annotations

from pathlib import Path

SCORER = Path(__file__).with_name("search_scorer.js")


def _use_scorer(app, config) -> None:
    if not config.html_search_scorer:
        config.html_search_scorer = str(SCORER)


def setup(app):
    app.connect("config-inited", _use_scorer)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
