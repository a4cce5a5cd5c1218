"""`themekit report` on a small coded file made by the real component."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner
from rich.console import Console

from themekit.cli import main
from themekit.errors import InputError, SettingError
from themekit.nlp.redaction import redact_coding, redact_text
from themekit.analysis.report import build_report, excerpt, render_markdown, write_report
from themekit.analysis.html_report import _share_bar
from themekit.analysis.stats import percent_range, share, wilson_interval

TEXTS = [
    "I talk to ChatGPT at 3am when my anxiety spikes and it helps me so much, available any time.",
    "I vent to my replika every night, it listens and I feel less lonely. Email me at jo@example.com",
    "This app is useless, it repeats the same scripted answers and never listens.",
    "My sister uses it for homework.",
    "I worry they sell my data, who reads these chats? Not a replacement for a therapist.",
    "lol",
    "I use Wysa daily and it has helped me with my depression, but I'm getting too attached to it.",
    "I want to die sometimes and the bot just says seek professional help | see https://x.example.org",
]


def write_coded(path, nlp, texts=TEXTS, redact=False):
    """Code `texts` with the real component and write them as `themekit annotate` would."""
    with open(path, "w", encoding="utf-8") as out:
        for i, doc in enumerate(nlp.pipe(texts)):
            coding = doc._.themekit.to_json()
            text = doc.text
            if redact:
                coding = redact_coding(coding)
                text = redact_text(doc.text, coding["risks"])
            out.write(json.dumps({"id": f"c{i}", "text": text, "themekit": coding}) + "\n")
    return path


@pytest.fixture
def coded(tmp_path, nlp):
    return write_coded(tmp_path / "coded.jsonl", nlp)


@pytest.fixture
def codings(nlp):
    return [doc._.themekit for doc in nlp.pipe(TEXTS)]


def test_counts_match_the_codings(coded, codings):
    report = build_report(coded)
    assert report.n == len(TEXTS)
    expected = Counter()
    for coding in codings:
        for value in coding.codes.values():
            expected.update([value] if isinstance(value, str) else value)
    for code in report.codebook.codes:
        assert report.codes[code] == expected[code], code
    assert report.codes["personal_use"] == 3
    assert report.share("personal_use").low == pytest.approx(wilson_interval(3, 8)[0])
    assert report.flags == Counter(f for c in codings for f in c.flags)
    assert report.flags["pii.email"] == 1
    assert report.review == Counter(r for c in codings for r in c.review)


def test_groups_split_by_the_first_exclusive_tier(coded, codings):
    report = build_report(coded)
    assert report.by == "experience"
    assert report.groups == Counter(personal_use=3, no_personal_use=5)
    in_use = [c for c in codings if c.codes["experience"] == "personal_use"]
    positive = sum(c.codes["attitude"] == "positive" for c in in_use)
    assert report.group_share("personal_use", "positive").count == positive
    data = report.to_json()
    assert set(data["groups"]) == {"personal_use", "no_personal_use"}
    assert "experience" not in data["groups"]["personal_use"]["tiers"]
    assert data["groups"]["personal_use"]["tiers"]["attitude"]["positive"]["n"] == 3


def test_an_empty_group_has_no_share_not_zero_percent(tmp_path, nlp):
    coded = write_coded(tmp_path / "coded.jsonl", nlp, texts=["lol", "My sister uses it."])
    report = build_report(coded)
    assert report.groups["personal_use"] == 0
    assert report.to_json()["groups"]["personal_use"]["tiers"]["attitude"]["neutral"]["share"] is None
    section = render_markdown(report).split("## Shares by experience")[1].split("\n## ")[0]
    row = next(line for line in section.splitlines() if line.startswith("| neutral"))
    assert row.startswith("| neutral | n/a (no comments) | 100.0% [")


def test_interval_bounds_read_the_same_in_every_format():
    assert percent_range(*wilson_interval(1, 3000)) == "0.0–0.2%"
    bar = _share_bar("x", share(1, 3000), "red")
    assert bar.title.endswith("(<0.1%, 95% CI 0.0–0.2%)")


def test_group_by_must_be_an_exclusive_tier(coded):
    assert build_report(coded, by="attitude").groups["neutral"] > 0
    with pytest.raises(ValueError, match="multi tier"):
        build_report(coded, by="themes")
    with pytest.raises(SettingError, match=r"by: nope: neither a tier of llm-mental-health@1 "
                       r"\(tiers: experience, attitude, themes\) nor a field of any record"):
        build_report(coded, by="nope")


def with_field(coded, path, name, values):
    """A copy of a coded file with field `name` set per record (None: left out)."""
    rows = [json.loads(line) for line in coded.read_text().splitlines()]
    for row, value in zip(rows, values):
        if value is not None:
            row[name] = value
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_group_by_any_field_of_the_records(coded, tmp_path, codings):
    sources = ["app", "reddit", "app", None, "reddit", "app", 5, "app"]
    by_source = with_field(coded, tmp_path / "s.jsonl", "source", sources)
    report = build_report(by_source, by="source")
    assert report.group_names() == ["app", "reddit", "(missing)", "5"]  # most frequent first
    assert report.groups == Counter({"app": 4, "reddit": 2, "(missing)": 1, "5": 1})
    use = [c.codes["experience"] == "personal_use" for c in codings]
    app = [u for u, s in zip(use, sources) if s == "app"]
    assert report.group_share("app", "personal_use").count == sum(app)
    data = report.to_json()
    assert set(data["groups"]) == {"app", "reddit", "(missing)", "5"}
    assert set(data["groups"]["app"]["tiers"]) == {"experience", "attitude", "themes"}
    assert "Shares by source" in render_markdown(report)
    from themekit.analysis.html_report import render_html

    assert "by source" in render_html(report)


def test_cooccurrence_counts_leaf_pairs(coded, codings):
    report = build_report(coded)
    pairs = report.pairs["themes"]
    theme_sets = [set(c.codes["themes"]) for c in codings]
    assert pairs["privacy", "lack_of_oversight"] == sum(
        {"privacy", "lack_of_oversight"} <= s for s in theme_sets) >= 1
    assert not any("benefit" in pair or "concern" in pair for pair in pairs)


def test_exemplars_are_bounded_and_deterministic(coded):
    first = build_report(coded).exemplars
    assert first == build_report(coded).exemplars
    assert all(1 <= len(items) <= 3 for items in first.values())
    assert len(first["no_personal_use"]) == 3
    # a text under SHORT_TEXT characters comes after every text of useful length
    assert "lol" not in [e.text for e in first["no_personal_use"]]


def test_exemplars_are_the_highest_scored_first(tmp_path, nlp):
    text = "I talk to ChatGPT every night when I can't sleep, it calms me down."
    path = write_coded(tmp_path / "coded.jsonl", nlp, texts=[text] * 4)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record, score in zip(records, [0.6, 0.9, 0.55, 0.75]):
        record["themekit"]["scores"]["personal_use"] = score
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    picked = build_report(path).exemplars["personal_use"]
    assert [(e.line, e.score) for e in picked] == [(2, 0.9), (4, 0.75), (1, 0.6)]


def test_redact_replaces_personal_data_in_quotes(coded):
    plain = build_report(coded).exemplars["emotional_support"]
    assert any("jo@example.com" in e.text for e in plain)
    redacted = build_report(coded, redact=True).exemplars["emotional_support"]
    assert not any("jo@example.com" in e.text for e in redacted)
    assert any("[EMAIL]" in e.text for e in redacted)


def test_redact_leaves_already_redacted_text_intact(tmp_path, nlp):
    path = write_coded(tmp_path / "redacted.jsonl", nlp, redact=True)
    quotes = [e.text for e in build_report(path, redact=True).exemplars["emotional_support"]]
    assert quotes == [e.text for e in build_report(path).exemplars["emotional_support"]]
    assert any("Email me at [EMAIL]" in q for q in quotes)


def test_excerpt_flattens_and_truncates():
    assert excerpt("a\n\n b") == "a b"
    long = excerpt("word " * 100)
    assert len(long) <= 160 and long.endswith("…") and not long.endswith(" …")


def test_markdown_and_json_outputs(coded, tmp_path):
    report = build_report(coded)
    md = render_markdown(report)
    assert "| personal_use | 3 | 37.5% |" in md
    assert "| ↳ privacy |" in md
    assert "help \\| see" in md  # a pipe inside a quote does not break the table
    out = tmp_path / "r.json"
    write_report(report, "json", str(out), Console())
    data = json.loads(out.read_text())
    assert data["n"] == 8 and data["codebook"] == "llm-mental-health@1"
    assert data["tiers"]["experience"]["personal_use"]["count"] == 3
    assert set(data["tiers"]["themes"]) == set(report.codebook.tier("themes").codes)
    assert data["flags"]["pii.phone"]["count"] == 0


def test_cli_report_formats(coded, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["report", str(coded)])
    assert result.exit_code == 0, result.output
    assert "personal_use" in result.output and "Shares by experience" in result.output
    out = tmp_path / "r.md"
    result = runner.invoke(main, ["report", str(coded), "--format", "markdown", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("# Report")
    result = runner.invoke(main, ["report", str(coded), "--format", "json"])
    assert json.loads(result.output)["n"] == 8
    result = runner.invoke(main, ["report", str(coded), "--by", "themes"])
    assert result.exit_code == 2 and "Invalid value for '--by': tier 'themes' is a multi" \
        in result.output


def test_bad_line_names_file_and_line(coded):
    lines = coded.read_text().splitlines()
    lines.insert(2, "{not json")
    coded.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"coded\.jsonl, line 3: invalid JSON"):
        build_report(coded)


def test_unknown_code_and_missing_coding_name_the_field(coded, tmp_path):
    record = json.loads(coded.read_text().splitlines()[0])
    record["themekit"]["codes"]["attitude"] = "ecstatic"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(coded.read_text() + json.dumps(record) + "\n")
    with pytest.raises(InputError, match=r"line 9, field 'themekit.codes.attitude': unknown code"):
        build_report(bad)
    bad.write_text(json.dumps({"id": 1, "text": "x"}) + "\n")
    with pytest.raises(InputError, match=r"line 1, field 'themekit': missing"):
        build_report(bad)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [("review", 5, "field 'themekit.review': expected a list of texts"),
     ("review", "abc", "field 'themekit.review': expected a list of texts"),
     ("scores", ["x"], "field 'themekit.scores': expected an object of scores per code"),
     ("scores", {"positive": "high"}, "field 'themekit.scores': expected an object"),
     ("risks", 5, "field 'themekit.risks': expected a list of objects"),
     ("risks", ["pii.email"], "field 'themekit.risks': expected a list of objects")],
)
def test_wrong_types_in_a_coding_name_the_field(coded, tmp_path, field, value, expected):
    record = json.loads(coded.read_text().splitlines()[0])
    record["themekit"][field] = value
    bad = tmp_path / "bad.jsonl"
    bad.write_text(coded.read_text() + json.dumps(record) + "\n")
    with pytest.raises(InputError, match=f"line 9, {expected}"):
        build_report(bad)


def test_a_file_coded_with_an_unregistered_codebook_asks_for_it(coded, tmp_path):
    record = json.loads(coded.read_text().splitlines()[0])
    record["themekit"]["codebook"] = "my-study@3"
    bad = tmp_path / "mine.jsonl"
    bad.write_text(json.dumps(record) + "\n")
    with pytest.raises(InputError, match="line 1: coded with my-study@3, and no codebook is "
                                         "registered as 'my-study'; give its YAML file"):
        build_report(bad)
    # the library's message names the setting; the command line points to its flag
    result = CliRunner().invoke(main, ["report", str(bad)])
    assert result.exit_code == 1
    assert "give its YAML file (as given to annotate) (see --codebook)" in result.output


def test_mixed_codebooks_are_rejected(coded, tmp_path):
    record = json.loads(coded.read_text().splitlines()[0])
    record["themekit"]["codebook"] = "other@2"
    bad = tmp_path / "mixed.jsonl"
    bad.write_text(coded.read_text() + json.dumps(record) + "\n")
    with pytest.raises(InputError, match="line 9.*'other@2' does not match"):
        build_report(bad)


def calibration_file(path, ref="llm-mental-health@1"):
    """An evaluate-style JSON: personal_use sens 0.5, spec 0.9; other codes perfect."""
    from themekit.codebook import load_codebook

    book = load_codebook("llm-mental-health")
    perfect = {"tp": 10, "fp": 0, "fn": 0, "tn": 10}
    tiers = {t.id: {"codes": {c: dict(perfect) for c in t.codes}} for t in book.tiers}
    tiers["experience"]["codes"]["personal_use"] = {"tp": 20, "fp": 8, "fn": 20, "tn": 72}
    path.write_text(json.dumps({"codebook": ref, "tiers": tiers}))
    return path


def test_calibration_corrects_shares(coded, tmp_path):
    report = build_report(coded, calibration=calibration_file(tmp_path / "eval.json"))
    use = report.corrected["personal_use"]
    assert (use.sensitivity, use.specificity) == (0.5, 0.9)
    assert use.corrected == pytest.approx((3 / 8 + 0.9 - 1) / (0.5 + 0.9 - 1))
    assert report.corrected["positive"].corrected == pytest.approx(report.share("positive").share)
    data = report.to_json()
    assert data["corrected"]["personal_use"]["corrected"] == pytest.approx(use.corrected)
    assert "Shares corrected for classifier error" in render_markdown(report)


def test_calibration_must_match_the_codebook(coded, tmp_path):
    with pytest.raises(InputError, match="evaluated with 'other@1'"):
        build_report(coded, calibration=calibration_file(tmp_path / "e.json", ref="other@1"))
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"codebook": "llm-mental-health@1",
                                  "tiers": {"experience": {"codes": {"personal_use": {}}}}}))
    with pytest.raises(InputError, match="tiers.experience.codes.personal_use"):
        build_report(coded, calibration=broken)
    broken.write_text(json.dumps({"codebook": "llm-mental-health@1", "tiers": {"x": 5}}))
    with pytest.raises(InputError, match="field 'tiers.x.codes': expected an object"):
        build_report(coded, calibration=broken)
    broken.write_text(json.dumps({"systems": []}))
    with pytest.raises(InputError, match="JSON of `evaluate --compare`"):
        build_report(coded, calibration=broken)


def test_cli_report_with_calibration(coded, tmp_path):
    result = CliRunner().invoke(main, ["report", str(coded), "--calibration",
                                       str(calibration_file(tmp_path / "e.json")),
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["corrected"]["personal_use"]["sensitivity"] == 0.5


RULES_ONLY = "the rules of llm-mental-health@1 alone (no model)"


def test_the_report_says_rules_only_coding_and_warns_in_every_format(coded, tmp_path):
    report = build_report(coded)
    assert report.coded_by == Counter({RULES_ONLY: len(TEXTS)})
    assert report.warnings and report.warnings[0].startswith("coded by rules alone")
    data = report.to_json()
    assert data["coded_by"] == [{"system": RULES_ONLY, "model": None, "comments": len(TEXTS),
                                 "accuracy": None}]
    assert "--calibration" in data["warnings"][0]
    markdown = render_markdown(report)
    assert f"- Coded by {RULES_ONLY}: {len(TEXTS)} comments" in markdown
    assert "> **Warning:** coded by rules alone" in markdown
    console = Console(record=True, width=200)
    write_report(report, "table", None, console)
    assert f"coded by {RULES_ONLY}" in console.export_text()
    from themekit.analysis.html_report import render_html

    page = render_html(report)
    assert f"Coded by {RULES_ONLY}" in page and '<p class="warning">' in page
    calibrated = build_report(coded, calibration=calibration_file(tmp_path / "eval.json"))
    assert calibrated.warnings == []  # corrected shares answer the warning


def test_the_report_names_the_shipped_model_with_its_card_accuracy(tmp_path):
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": "llm-mental-health"})
    report = build_report(write_coded(tmp_path / "m.jsonl", nlp, TEXTS[:3]))
    (label, n), = report.coded_by.items()
    assert label.startswith("model llm-mental-health-heads (sha256 ") and n == 3
    assert report.accuracy[label].startswith("cross-validated macro-F1 experience 0.")
    assert report.warnings == []
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text((tmp_path / "m.jsonl").read_text() + write_coded(
        tmp_path / "r.jsonl", spacy_rules_only(), TEXTS[3:]).read_text())
    assert any("coded by 2 different systems" in w for w in build_report(mixed).warnings)


def spacy_rules_only():
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": "llm-mental-health", "rules_only": True})
    return nlp


def test_a_calibration_of_another_system_is_flagged(coded, tmp_path):
    path = calibration_file(tmp_path / "eval.json")
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "coded_by": {"model x (sha256 abc) and the rules": 9}}))
    warnings = build_report(coded, calibration=path).warnings
    assert any("the calibration was measured on records coded by model x" in w for w in warnings)
    path.write_text(json.dumps({**data, "coded_by": {RULES_ONLY: 9}}))
    assert build_report(coded, calibration=path).warnings == []


def test_the_report_warns_when_records_repeat_an_id(coded, tmp_path):
    copies = tmp_path / "copies.jsonl"
    copies.write_text(coded.read_text() * 3, encoding="utf-8")
    report = build_report(copies)
    assert report.n == 3 * len(TEXTS) and report.repeated_ids == 2 * len(TEXTS)
    assert any(f"({len(TEXTS)} distinct comments)" in w and "too narrow" in w
               for w in report.warnings)
    assert report.to_json()["repeated_ids"] == 2 * len(TEXTS)
    assert not any("repeat" in w for w in build_report(coded).warnings)


def test_group_by_the_month_of_a_date_field(coded, tmp_path):
    dates = ["2024-03-09T10:00:00Z", "2024-01-31", "2024-03-01", None, "March 2024",
             "2023-12-24 08:00", "2024-01-02", "2024-03-15"]
    dated = with_field(coded, tmp_path / "d.jsonl", "created", dates)
    report = build_report(dated, by="created:month")
    assert report.group_names() == ["2023-12", "2024-01", "2024-03", "(missing)",
                                    "(not a date)"]  # in time order, then the rest
    assert report.groups["2024-03"] == 3 and report.groups["2024-01"] == 2
    assert build_report(dated, by="created:year").group_names() == [
        "2023", "2024", "(missing)", "(not a date)"]
    with pytest.raises(SettingError, match="by: updated:month: neither a tier"):
        build_report(dated, by="updated:month")
