"""PDF rendering with WeasyPrint, from the Jinja templates of `documents/`.

Documents are built from our own data only: the URL fetcher accepts nothing but inline
``data:`` URLs and the font files of the DSFR (``file://…/static/dsfr/fonts/*.woff``,
see :func:`font_url`), so a document can never read another local file nor call another
host, whatever ends up in its HTML. Fonts are named explicitly, in the body and in the
page margins (``@page``): DejaVu Sans (installed with the system packages), or Marianne,
the State's typeface shipped with the DSFR, which the monthly report embeds.

Every document is a tagged PDF (PDF/UA-1): a structure tree that screen readers follow
(headings, tables with their header cells, figures with their text), the document's
language (``<html lang>``, French unless a template says otherwise), its title shown
instead of the file name (``<title>``), and its metadata read from the template's
``<meta>`` (author and creator "Compte Ressources", subject).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from flask import render_template
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# The fonts of the DSFR, copied into the static files by the set-up (npm package).
FONTS = Path(__file__).resolve().parent.parent / "static" / "dsfr" / "fonts"


class _Fetcher(URLFetcher):
    """Inline data, and the DSFR's WOFF fonts by their ``file://`` URL: nothing else."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.lower().startswith("file:"):
            path = Path(url2pathname(urlsplit(url).path)).resolve()
            if path.parent != FONTS or path.suffix != ".woff":
                raise ValueError(f"URI not allowed in a document: {url}")
        return super().fetch(url, headers)


def url_fetcher() -> URLFetcher:
    """A fetcher that refuses every URL but inline data (``data:image/svg+xml,…``) and
    the DSFR's fonts (:func:`font_url`)."""
    return _Fetcher(allowed_protocols=["data", "file"], timeout=1, allow_redirects=False)


def font_url(name: str) -> str:
    """The ``file://`` URL of a font of the DSFR (``Marianne-Regular.woff``), for an
    ``@font-face`` of a document."""
    return (FONTS / name).as_uri()


def render_html(template: str, **context: Any) -> str:
    return render_template(template, font_url=font_url, **context)


PDF_VARIANT = "pdf/ua-1"
# Invoices are kept ten years and read by accounting software: PDF/A-3, level A (archival,
# tagged like the others), the variant Factur-X builds on (app/invoices/cii.py).
ARCHIVAL_VARIANT = "pdf/a-3a"


def render_pdf(template: str, *, pdf_variant: str = PDF_VARIANT, **context: Any) -> bytes:
    html = render_html(template, **context)
    document = HTML(string=html, base_url=None, url_fetcher=url_fetcher())
    return bytes(document.write_pdf(pdf_variant=pdf_variant))
