"""`themekit report --html`: escaping, self-contained, every code shown."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from themekit.cli import main
from themekit.analysis.html_report import render_html, write_html
from themekit.analysis.report import build_report
from tests.test_report import TEXTS, calibration_file, write_coded

HOSTILE = [
    "I talk to ChatGPT <script>alert('x')</script> every night and it helps me",
    'it listens <img src="https://evil.example/x.png" onerror="alert(1)"> better than anyone',
    "my replika keeps me company & I feel heard, write me at jo@example.com",
]


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture
def coded(tmp_path, nlp):
    path = write_coded(tmp_path / "coded.jsonl", nlp, TEXTS + HOSTILE)
    lines = path.read_text().splitlines()
    record = json.loads(lines[0])
    record["id"] = "<b>id</b>\ud800"
    record["text"] = "broken \ud800 surrogate \x00 and <script>x</script> " + record["text"]
    lines[0] = json.dumps(record)  # json.dumps escapes the lone surrogate as \ud800
    path.write_text("\n".join(lines) + "\n")
    return path


def parse(html: str) -> TagCollector:
    collector = TagCollector()
    collector.feed(html)
    collector.close()
    return collector


def test_comment_text_is_escaped(coded, tmp_path):
    out = tmp_path / "r.html"
    write_html(build_report(coded), str(out))
    html = out.read_bytes().decode("utf-8")  # strict: no lone surrogate reached the file
    page = parse(html)
    tags = {tag for tag, _ in page.tags}
    assert "script" not in tags and "img" not in tags and "b" in tags  # <b> from the template
    assert not [a for _, attrs in page.tags for a, _ in attrs if a.startswith("on")]
    text = "".join(page.text)
    assert "<script>alert('x')</script>" in text  # shown as text, not run
    assert 'onerror="alert(1)"' in text
    assert "\ufffd" in text and "\ud800" not in html
    assert "&lt;b&gt;id&lt;/b&gt;" in html


def test_html_is_self_contained(coded, tmp_path):
    report = build_report(coded, calibration=calibration_file(tmp_path / "e.json"))
    page = parse(render_html(report, {"name": "mh", "url": "https://example.org/card"}))
    for tag, attrs in page.tags:
        for name, value in attrs:
            if name in {"src", "href", "xlink:href", "action", "srcset", "data"}:
                assert tag == "a" and name == "href" and value.startswith("#"), (tag, name, value)
        assert tag not in {"script", "link", "iframe", "object", "embed", "img"}
    assert sum(tag == "svg" for tag, _ in page.tags) >= 6  # tiers, groups, heatmap, flags


def test_every_code_and_definition_appears(coded):
    report = build_report(coded)
    html = render_html(report)
    text = "".join(parse(html).text)
    for code in report.codebook.codes.values():
        assert code.id in text
        assert " ".join(code.definition.split()) in " ".join(text.split())
    for flag in report.codebook.detectors:
        assert flag in text
    for tier in report.codebook.tiers:
        assert tier.label in text


def test_redact_applies_to_quotes(coded):
    plain = render_html(build_report(coded))
    assert "jo@example.com" in plain
    redacted = render_html(build_report(coded, redact=True))
    assert "jo@example.com" not in redacted and "[EMAIL]" in redacted


def test_model_card_is_shown_escaped(coded, tmp_path):
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"base_model": "<i>minilm</i>", "seed": 13,
                                "dev": {"macro_f1": 0.71234}, "labels": ["a", "b"]}))
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", str(coded), "--html", str(out),
                                       "--model-card", str(card)])
    assert result.exit_code == 0, result.output
    assert "personal_use" not in result.output  # --html alone prints no tables
    html = out.read_text()
    assert "Model card" in html and "&lt;i&gt;minilm&lt;/i&gt;" in html and "0.7123" in html
    result = CliRunner().invoke(main, ["report", str(coded), "--model-card", str(card)])
    assert result.exit_code == 2 and "--html" in result.output
    card.write_text("[1, 2]")
    result = CliRunner().invoke(main, ["report", str(coded), "--html", str(out),
                                       "--model-card", str(card)])
    assert result.exit_code == 1 and "must be a JSON object" in result.output
