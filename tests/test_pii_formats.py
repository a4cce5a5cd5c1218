"""Personal data in the forms people write it: exact character offsets, the token span that
covers them, and redaction that leaves nothing of them behind. Every example is invented
(555-01xx, 2001:db8::/32, 192.0.2.0/24 and the like are reserved for fiction and docs)."""

from __future__ import annotations

import pytest
import spacy
import srsly

from themekit.plugins import PluginError, registered_detectors
from themekit.nlp.redaction import placeholders, redact_text
from tests.test_codebook import MINIMAL

PHONES = [
    # glued to brackets and punctuation: only characters, not tokens, give these
    ("call (415)555-0132 tonight", "(415)555-0132"),
    ("my phone number is:(425) 882-9090", "(425) 882-9090"),
    ("ring 425.882.9090 after six", "425.882.9090"),
    # a whole number in one token
    ("text +14155550132 please", "+14155550132"),
    ("text 4155550132 please", "4155550132"),
    ("or 415 555 0132 is fine", "415 555 0132"),
    ("us: +1 (415) 555-0132", "+1 (415) 555-0132"),
    # country and trunk prefixes belong to the number
    ("viber +63-917-123-4567 po", "+63-917-123-4567"),
    ("uk office (020) 7946 0018 or", "(020) 7946 0018"),
    ("uk: +44 20 7946 0018", "+44 20 7946 0018"),
    ("whatsapp +90 532 123 45 67 abi", "+90 532 123 45 67"),
    ("appelle +33 1 23 45 67 89 merci", "+33 1 23 45 67 89"),
    ("mob 0412 345 678 mate", "0412 345 678"),
    ("nz 021 123 4567 bro", "021 123 4567"),
]

PHONES_IN_REGIONS = [
    # national numbers of countries outside the default regions, found once configured
    ("CN", "加我 13812345678 谢谢", "13812345678"),
    ("PH", "text me 0917-123-4567 po", "0917-123-4567"),
    ("JP", "denwa 090-1234-5678 desu", "090-1234-5678"),
    ("FR", "appelle 01 23 45 67 89 merci", "01 23 45 67 89"),
]

NOT_PHONES = [
    "200-1000 words", "it took 120-1300 tries", "between 1000-2000 words", "5,000-10,000 people",
    "from 2019-2020 it was fine", "on 2024-01-15", "on 12/05/2023 at 10:30", "15.01.2024",
    "2024-01-15T10:30:00Z", "from 10:30-11:45", "v4.0.1", "v12.3.4567", "GPT-4 and GPT-4o",
    "$1,299.99", "it costs 1299.99 or 1499.99", "1,000,000 views", "3.14159265",
    "1st 2nd 3rd 21st 101st", "in 1999", "in 2023 and 2024", "scored 98/100 and 87/100",
    "order #12345678", "ISBN 978-3-16-148410-0", "iPhone 15 Pro 256GB",
]
NOT_PHONES_HERE = [
    # the films' area code 555, which the default regions' plans do not assign, and a local
    # number without its area code, which cannot be told from a range: neither is flagged
    "call 555-123-4567", "or (555) 123-4567", "text 555-0177 after six",
]

OTHERS = [
    ("pii.email", "write me at jo.doe@example.com.", "jo.doe@example.com"),
    ("pii.email", "mail:first.last+tag@sub.example.co.uk)", "first.last+tag@sub.example.co.uk"),
    ("pii.email", "idn a@xn--d1acufc.xn--p1ai ok", "a@xn--d1acufc.xn--p1ai"),
    ("pii.email", "почта: ана@пример.рф!", "ана@пример.рф"),
    ("pii.email", "(ana@münchen.de)", "ana@münchen.de"),
    ("pii.url", "see https://example.org/post/1, then", "https://example.org/post/1"),
    ("pii.url", "go to www.example.net.", "www.example.net"),
    ("pii.url", "chat:chatgpt.com/share/abc123 lol", "chatgpt.com/share/abc123"),
    ("pii.url", "(see https://en.wikipedia.org/wiki/Foo_(bar)).",
     "https://en.wikipedia.org/wiki/Foo_(bar)"),
    ("pii.url", "this https://example.org/a😂", "https://example.org/a"),
    ("pii.ip", "from 192.0.2.17, again", "192.0.2.17"),
    ("pii.ip", "host 10.0.0.255:8080", "10.0.0.255"),
    ("pii.ip", "ping ::1 now", "::1"),
    ("pii.ip", "it was 2001:db8::ff00:42:8329.", "2001:db8::ff00:42:8329"),
    ("pii.ip", "mapped ::ffff:192.0.2.1 here", "::ffff:192.0.2.1"),
    # a bare dotted quad of valid octets is an address even when it was meant as a version
    ("pii.ip", "version 1.2.3.4 broke it", "1.2.3.4"),
]

NOT_OTHERS = [
    "@jane_doe you need this", "x@y and me@home", "Character.AI and chatgpt.com are apps",
    "and/or", "rated 4.5/5 stars", "e.g./i.e.", "https:// is how links start",
    "999.1.1.1", "v1.2.3.4", "1.2.3", "1.2.3.4.5", "01.02.03.04", "10:30:45", "Foo::Bar",
]


def risks_of(nlp, text: str) -> list[tuple[str, int, int]]:
    return [(r["flag"], r["start"], r["end"]) for r in nlp(text)._.themekit.risks]


def where(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def phone_pipeline(regions: list[str], tmp_path) -> spacy.Language:
    """A rules-only pipeline whose codebook reads national numbers of `regions`."""
    path = tmp_path / f"phones-{'-'.join(regions)}.yaml"
    srsly.write_yaml(path, {**MINIMAL, "rules": [],
                            "detectors": [{"pii.phone": {"regions": regions}}]})
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": str(path), "rules_only": True})
    return nlp


def assert_redacted_whole(nlp, text: str, part: str, flag: str) -> None:
    """Redaction writes the placeholder over exactly `part`; the covering token span holds
    it; for a phone, no digit of the text is left (the examples have no other digits)."""
    doc = nlp(text)
    (span,) = [s for s in doc.spans["themekit_risks"] if s.label_ == flag]
    start, end = where(text, part)
    assert span.start_char <= start and end <= span.end_char
    redacted = redact_text(text, doc._.themekit.to_json()["risks"])
    assert redacted == text[:start] + placeholders()[flag] + text[end:]
    if flag == "pii.phone":
        assert not any(c.isdigit() for c in redacted), redacted


@pytest.mark.parametrize(("text", "part"), PHONES)
def test_phone_numbers_are_found_to_the_character(nlp, text, part):
    assert risks_of(nlp, text) == [("pii.phone", *where(text, part))]
    assert_redacted_whole(nlp, text, part, "pii.phone")


@pytest.mark.parametrize(("region", "text", "part"), PHONES_IN_REGIONS)
def test_national_numbers_of_configured_regions(region, text, part, tmp_path):
    nlp = phone_pipeline([region], tmp_path)
    assert risks_of(nlp, text) == [("pii.phone", *where(text, part))]
    assert_redacted_whole(nlp, text, part, "pii.phone")


def test_a_national_number_of_another_region_needs_that_region(nlp):
    """A Chinese mobile without +86 is no number in the default (English-speaking) regions;
    with its country code it is found whatever the regions."""
    assert risks_of(nlp, "加我 13812345678") == []
    assert risks_of(nlp, "加我 +86 138 1234 5678") == [("pii.phone", 3, 20)]


@pytest.mark.parametrize("text", NOT_PHONES)
def test_ranges_dates_times_versions_prices_and_ids_are_not_phones(nlp, text, tmp_path):
    assert [r for r in risks_of(nlp, text) if r[0] == "pii.phone"] == []
    wide = phone_pipeline(["US", "GB", "AU", "PH", "JP", "CN", "FR", "IN", "TR", "DE"], tmp_path)
    assert risks_of(wide, text) == []


@pytest.mark.parametrize("text", NOT_PHONES_HERE)
def test_unassigned_and_local_numbers_are_not_phones_in_the_default_regions(nlp, text):
    assert risks_of(nlp, text) == []


@pytest.mark.parametrize(("flag", "text", "part"), OTHERS)
def test_emails_links_and_addresses_are_found_to_the_character(nlp, flag, text, part):
    assert risks_of(nlp, text) == [(flag, *where(text, part))]
    assert_redacted_whole(nlp, text, part, flag)


def test_an_address_inside_a_link_is_redacted_with_it(nlp):
    text = "see http://[2001:db8::1]/path."
    assert risks_of(nlp, text) == [("pii.url", 4, 29), ("pii.ip", 12, 23)]
    assert redact_text(text, nlp(text)._.themekit.to_json()["risks"]) == "see [URL]."


@pytest.mark.parametrize("text", NOT_OTHERS)
def test_handles_products_fractions_and_malformed_addresses_are_no_links(nlp, text):
    assert [r for r in risks_of(nlp, text) if r[0] in ("pii.email", "pii.url", "pii.ip")] == []


def test_phone_regions_are_checked(tmp_path):
    with pytest.raises(PluginError, match=r"detector 'pii.phone'.*could not be built.*"
                                          r"unknown phone region\(s\) XX"):
        phone_pipeline(["US", "XX"], tmp_path)("call 415-555-0132")
    with pytest.raises(ValueError, match="regions must be a list"):
        registered_detectors()["pii.phone"].build(spacy.blank("en"), regions="US")


def test_annotate_redact_leaves_no_digit_of_a_phone_number(tmp_path):
    """The command a researcher runs before sharing: the record's text, its risks and its
    evidence keep no digit of the numbers (the text has no other digits)."""
    import json

    from click.testing import CliRunner

    from themekit.cli import main

    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    text = "my phone number is:(425) 882-9090 or +63-917-123-4567, i talk to chatgpt daily"
    src.write_text(json.dumps({"id": "p", "text": text}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["annotate", str(src), "-o", str(out), "--rules-only",
                                       "--redact"])
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text(encoding="utf-8"))
    assert record["text"] == "my phone number is:[PHONE] or [PHONE], i talk to chatgpt daily"
    assert [r["text"] for r in record["themekit"]["risks"]] == ["[PHONE]", "[PHONE]"]
    assert not any(c.isdigit() for c in record["text"])
