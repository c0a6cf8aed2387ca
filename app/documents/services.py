"""PDF rendering with WeasyPrint, from the Jinja templates of `documents/`.

Documents are built from our own data only: the URL fetcher accepts nothing but inline
``data:`` URLs, so a document can never read a local file (``file://``) nor call another
host, whatever ends up in its HTML. Fonts are named explicitly (DejaVu Sans, installed
with the system packages), in the body and in the page margins (``@page``).

Every document is a tagged PDF (PDF/UA-1): a structure tree that screen readers follow
(headings, tables with their header cells, figures with their text), the document's
language (``<html lang>``, French unless a template says otherwise), its title shown
instead of the file name (``<title>``), and its metadata read from the template's
``<meta>`` (author and creator "Compte Ressources", subject).
"""

from __future__ import annotations

from typing import Any

from flask import render_template
from weasyprint import HTML
from weasyprint.urls import URLFetcher


def url_fetcher() -> URLFetcher:
    """A fetcher that refuses every URL but inline data (``data:image/svg+xml,…``)."""
    return URLFetcher(allowed_protocols=["data"], timeout=1, allow_redirects=False)


def render_html(template: str, **context: Any) -> str:
    return render_template(template, **context)


PDF_VARIANT = "pdf/ua-1"
# Invoices are kept ten years and read by accounting software: PDF/A-3, level A (archival,
# tagged like the others), the variant Factur-X builds on (app/invoices/cii.py).
ARCHIVAL_VARIANT = "pdf/a-3a"


def render_pdf(template: str, *, pdf_variant: str = PDF_VARIANT, **context: Any) -> bytes:
    html = render_html(template, **context)
    document = HTML(string=html, base_url=None, url_fetcher=url_fetcher())
    return bytes(document.write_pdf(pdf_variant=pdf_variant))
