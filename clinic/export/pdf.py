"""Render a Jinja template to PDF with WeasyPrint, fetching nothing from outside."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup


def _fetcher():
    from weasyprint.urls import URLFetcher

    # Stylesheets and charts are inline; only data: URIs may be loaded (no network, no files).
    return URLFetcher(allowed_protocols={"data"})


def render_pdf(template: str, **context) -> bytes:
    """The PDF of `template` (a tagged PDF/UA document, fonts from the machine)."""
    import weasyprint

    html = render_template(template, **context)
    document = weasyprint.HTML(string=html, base_url="data:,", url_fetcher=_fetcher())
    return document.write_pdf(pdf_variant="pdf/ua-1")


def mark_words(sentence: str, words: str) -> Markup:
    """The sentence with its triggering words in <mark>, HTML-escaped."""
    from markupsafe import escape

    at = sentence.find(words) if words else -1
    if at < 0:
        return escape(sentence)
    return Markup(
        f"{escape(sentence[:at])}<mark>{escape(words)}</mark>{escape(sentence[at + len(words) :])}"
    )
