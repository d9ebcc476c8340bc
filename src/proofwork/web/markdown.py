"""Markdown from packs (briefs) to HTML that is safe to put in a page.

Raw HTML in the source is escaped, never passed through, and links keep only safe schemes
(markdown-it's own link check refuses javascript:, vbscript:, file: and data: URLs)."""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(text: str) -> Markup:
    """The text as HTML; any HTML it contains shows as text."""
    return Markup(_parser().render(text))  # noqa: S704  # the parser escapes raw HTML (html=False)
