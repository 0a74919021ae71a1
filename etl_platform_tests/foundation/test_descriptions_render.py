"""Descriptions render as Markdown in the Dagster UI: a placeholder such as `<jobId>` must
still be there in the text a person reads. Markdown passes `<jobId>` through as an HTML
tag, which the browser does not show (pipeline A's read `.../output//.ndjson`). Rendered
here by CommonMark (markdown-it-py), then reduced to the text a browser would show."""

import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt

PLACEHOLDER = re.compile(r"<[A-Za-z][\w.-]*>")


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


def visible_text(markdown: str) -> str:
    parser = _VisibleText()
    parser.feed(MarkdownIt("commonmark").render(markdown))
    return "".join(parser.parts)


def test_the_renderer_hides_a_bare_placeholder_and_keeps_a_quoted_one():
    """The check below can fail: what a bare tag renders to, and what a code span keeps."""
    assert visible_text("at s3://b/output/<jobId>/<name>.ndjson") == "at s3://b/output//.ndjson\n"
    assert visible_text("at `s3://b/output/<jobId>/<name>.ndjson`") == "at s3://b/output/<jobId>/<name>.ndjson\n"


def test_every_asset_description_shows_its_placeholders():
    from etl_platform.definitions import defs

    described = {spec.key.to_user_string(): spec.description for spec in defs.resolve_all_asset_specs()
                 if spec.description}
    assert "parquet_to_json" in described and "parquet_uploads" in described
    lost = {name: [p for p in PLACEHOLDER.findall(text) if p not in visible_text(text)]
            for name, text in described.items()}
    assert {name: gone for name, gone in lost.items() if gone} == {}
    assert "/output/<jobId>/<name>.ndjson" in visible_text(described["parquet_to_json"])
