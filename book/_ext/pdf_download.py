"""Offer the PDF of the whole book in the download menu of every page.

`make pdf` (and `make book`) writes the PDF into the site as ``cnncourse.pdf`` at its root. The
theme's menu has a ".pdf" entry that only prints the current page (``window.print()``); this
extension relabels that entry "print page" and adds a link to the book's PDF above it.
"""

from __future__ import annotations

PDF_NAME = "cnncourse.pdf"


def _add_pdf(app, pagename, templatename, context, doctree):
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        buttons = group["buttons"]
        if any(b.get("label") == "download-book-pdf-button" for b in buttons):
            return
        for button in buttons:
            if button.get("label") == "download-pdf-button":
                button["text"] = "print page"
        buttons.append({
            "type": "link",
            "url": context["pathto"](PDF_NAME, 1),
            "text": "book .pdf",
            "tooltip": "Download the whole book as a PDF",
            "icon": "fas fa-book",
            "label": "download-book-pdf-button",
        })


def setup(app):
    # The theme builds its header buttons at priority 501 on the same event.
    app.connect("html-page-context", _add_pdf, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
