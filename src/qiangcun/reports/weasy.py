"""HTML into PDF with WeasyPrint, offline and deterministic.

- Nothing is fetched: the URL fetcher accepts only ``data:`` URLs (a figure is a data: URI), so a
  stored string can never make the server read a file or call the network.
- The same HTML gives the same bytes: no creation date is written and the file identifier is a
  hash of the content (pydyf); the font subsets are named from their content.
- Text goes in through :func:`esc`, which drops what XML cannot hold and escapes markup.

WeasyPrint (and Pango under it) is imported inside the function, so the app starts without them."""

from __future__ import annotations

import html

from .xlsx import writable


def esc(text: object) -> str:
    """``text`` as HTML text: unwritable characters replaced, ``<>&"'`` escaped."""
    return html.escape(writable(str(text)), quote=True)


def html_to_pdf(document: str) -> bytes:
    """The PDF of ``document`` (a whole HTML page), fetching nothing but data: URLs."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",), allow_redirects=False)
    pdf = HTML(string=document, base_url=None, url_fetcher=fetcher).write_pdf(pdf_identifier=False)
    assert isinstance(pdf, bytes)
    return pdf
