"""The codebook data model: loading, look-ups, and one precise error per invalid variant."""

from __future__ import annotations

import copy

import pytest
import srsly
from click.testing import CliRunner

from themekit.cli import main
from themekit.errors import CodebookError
from themekit.codebook import load_codebook, parse_codebook

MINIMAL = {
    "name": "mini",
    "version": "2",
    "tiers": [
        {"id": "use", "type": "exclusive", "default": "no",
         "codes": [{"id": "yes", "definition": "uses it", "patterns": ["i use it"]},
                   {"id": "no", "definition": "does not"}]},
        {"id": "topics", "type": "multi",
         "codes": [{"id": "good", "definition": "benefits"},
                   {"id": "cheap", "parent": "good", "definition": "costs little",
                    "patterns": [{"phrase": "free", "weight": 0.4},
                                 {"id": "cheap.tok", "tokens": [{"LOWER": "cheap"}]}]},
                   {"id": "after_use", "definition": "needs use", "requires": {"use": "yes"}}]},
    ],
    "rules": [{"id": "r1", "type": "contradiction", "when": ["no"], "any_of": ["good"],
               "message": "benefit without use"}],
    "detectors": ["pii.email"],
}


def variant(**changes):
    data = copy.deepcopy(MINIMAL)
    for dotted, value in changes.items():
        target = data
        *path, last = dotted.split("__")
        for key in path:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is KeyError:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return data


def problems_of(data) -> str:
    with pytest.raises(CodebookError) as info:
        parse_codebook(data, source="test.yaml")
    return str(info.value)


def test_minimal_codebook_loads_with_lookups():
    book = parse_codebook(MINIMAL, source="test.yaml")
    assert book.ref == "mini@2"
    assert [t.id for t in book.tiers] == ["use", "topics"]
    assert [c.id for c in book.leaf_codes("topics")] == ["cheap", "after_use"]
    assert book.codes["cheap"].patterns[0].weight == 0.4
    assert book.codes["cheap"].patterns[1].id == "cheap.tok"
    assert book.codes["yes"].patterns[0].id == "yes.1"
    assert book.combine_policy("cheap") == "either"


def test_default_codebook_implements_the_shared_definition():
    book = load_codebook("llm-mental-health")
    assert [t.id for t in book.tiers] == ["experience", "attitude", "themes"]
    assert book.tier("experience").default == "no_personal_use"
    assert book.tier("attitude").default == "neutral"
    assert set(book.tier("attitude").codes) == {"positive", "negative", "mixed", "neutral"}
    assert {c.id for c in book.children("benefit")} == {
        "accessibility", "emotional_support", "therapeutic_value"}
    assert {c.id for c in book.children("concern")} == {
        "privacy", "generic_responses", "lack_of_oversight", "dependency"}
    assert set(book.detectors) == {"pii.email", "pii.phone", "pii.url", "pii.ip", "pii.handle",
                                   "sensitive.health_disclosure", "risk.crisis"}
    for code in book.codes.values():
        if not book.children(code.id) and code.id != "neutral":
            assert code.patterns, f"{code.id} has no keyword patterns"
        # a comma inside an unquoted flow list splits one example in two
        assert all(example.count('"') % 2 == 0 for example in code.examples), code.examples


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"tiers__1__codes__1__parent": "nothing"}, "code 'cheap': unknown parent 'nothing'"),
        ({"tiers__1__codes__1__id": "yes"}, "code 'yes': duplicate id"),
        ({"tiers__1__codes__0__parent": "cheap"}, "parent chain forms a cycle"),
        ({"tiers__0__codes__0__requires": {"topics": "good"}},
         "requires may only point to an earlier tier"),
        ({"tiers__1__codes__2__requires": {"nope": "yes"}}, "requires unknown tier 'nope'"),
        ({"tiers__1__codes__2__requires": {"use": "maybe"}}, "'maybe' is not a code of tier 'use'"),
        ({"tiers__0__default": KeyError}, "an exclusive tier needs a 'default'"),
        ({"tiers__0__default": "cheap"}, "default 'cheap' is not a code of this tier"),
        ({"tiers__0__type": "several"}, "type must be 'exclusive'"),
        ({"tiers__1__codes__1__patterns": [{"tokens": [{"LOWERR": "x"}]}]},
         "invalid token pattern: unknown token key 'LOWERR'; did you mean 'LOWER'?"),
        ({"tiers__1__codes__1__patterns": [{"tokens": [{"LOWER": "x", "OPP": "?"}]}]},
         "unknown token key 'OPP'; did you mean 'OP'?"),
        ({"tiers__1__codes__1__patterns": [{"tokens": [{"LOWER": {"REGEX": "(unclosed"}}]}]},
         "code 'cheap' pattern 'cheap.1': invalid token pattern: missing ), unterminated"),
        ({"tiers__1__codes__1__patterns": [{"phrase": "a", "tokens": []}]}, "give either a phrase"),
        ({"tiers__1__codes__1__patterns": [{"phrase": "a", "weight": 0}]}, "weight must be a non-zero"),
        ({"detectors": ["pii.fax"]}, "detector 'pii.fax' is not registered"),
        ({"detectors": [{"pii.email": {"regions": ["US"]}}]},
         "detector 'pii.email': unknown option(s) regions (it takes: none)"),
        ({"detectors": [{"pii.phone": {"region": ["US"]}}]},
         "detector 'pii.phone': unknown option(s) region (it takes: regions)"),
        ({"detectors": [{"pii.phone": ["US"]}]},
         "detectors[0]: the options of 'pii.phone' must be a mapping, got list"),
        ({"detectors": [["pii.phone"]]}, "detectors[0]: each entry is a detector's name"),
        ({"detectors": ["pii.email", {"pii.email": {}}]}, "detector 'pii.email' is listed twice"),
        ({"rules": [{"type": "telepathy"}]}, "unknown rule type 'telepathy'"),
        ({"rules": [{"type": "contradiction", "when": ["ghost"], "message": "m"}]},
         "names unknown code(s): ghost"),
        ({"rules": [{"type": "contradiction", "when": ["no"]}]}, "'message' must say"),
        ({"rules": [{"type": "co_evidence", "when_all": ["yes"], "assign": "no"}]},
         "'when_all' needs at least two codes"),
        ({"rules": [{"type": "co_evidence", "when_all": ["yes", "cheap"], "assign": "no"}]},
         "must be codes of one exclusive tier"),
        ({"tiers__1__codes__1__definition": KeyError}, "code 'cheap': missing 'definition'"),
        ({"name": KeyError}, "missing required key 'name'"),
        ({"tiers__0__combine": "vote"}, "combine must be one of"),
        ({"tiers__1__codes__1__patterns": [{"id": "yes.1", "phrase": "x"}]},
         "pattern id 'yes.1' is already used"),
        ({"tiers__1__codes__1__treshold": 0.8},
         "code 'cheap': unknown key 'treshold'; did you mean 'threshold'?"),
        ({"tiers__1__codes__1__patterns": [{"phrase": "x", "wieght": 0.4}]},
         "code 'cheap' patterns[0]: unknown key 'wieght'; did you mean 'weight'?"),
        ({"tiers__0__defualt": "no"}, "tier 'use': unknown key 'defualt'; did you mean 'default'?"),
        ({"detector": ["pii.email"]}, "codebook: unknown key 'detector'; did you mean 'detectors'?"),
        ({"colour": "blue"}, "codebook: unknown key 'colour'; known: name, version"),
        ({"tiers__1__codes__0__patterns": ["worth it"]},
         "code 'good': a parent code takes no patterns"),
        ({"tiers__1__codes__1__examples": 5}, "code 'cheap': examples must be a list of texts"),
        ({"tiers__1__codes__1__examples": "one"}, "code 'cheap': examples must be a list"),
        ({"tiers__1__codes__1__parent": ["good"]}, "code 'cheap': parent must be one code id"),
        ({"tiers__1__codes__1__definition": None}, "code 'cheap': definition must be non-empty"),
        ({"tiers__1__codes__1__label": {"en": "x"}}, "code 'cheap': label must be non-empty"),
        ({"tiers__1__codes__1__threshold": True}, "threshold must be a number in (0, 1]"),
        ({"tiers__1__codes__1__patterns": [{"phrase": "a", "weight": float("nan")}]},
         "weight must be a non-zero number"),
        ({"name": ""}, "'name' must be non-empty text"),
        ({"version": 1.1}, "'version' must be text or a whole number"),
        ({"rules": [{"type": "co_evidence", "when_all": [["yes"], "no"], "assign": "no"}]},
         "'when_all' must be a list of code ids"),
        ({"rules": [{"type": "co_evidence", "when_all": ["yes", "no"], "assign": ["no"]}]},
         "'assign' must name a code"),
        ({"tiers__1__codes__2__id": "use"},
         "code 'use': the id is also a tier's id, so an export would have two columns"),
        ({"tiers__1__codes__2__id": "pii.email"}, "code 'pii.email': the id is also a flag"),
        ({"tiers__1__codes__2__id": "text"}, "code 'text': the id is a field of every coding "
                                             "sheet (id, text, flags, coder, themekit)"),
        ({"tiers__1__id": "flags"}, "tier 'flags': the id is a field of every coding sheet"),
    ],
)
def test_each_invalid_variant_gets_a_precise_error(changes, expected):
    message = problems_of(variant(**changes))
    assert message.startswith("test.yaml:")
    assert expected in message


@pytest.mark.parametrize("escape, code", [("\\x01", "0001"), ("\\x7f", "007F"),
                                          ("\\x9b", "009B"), ("\\ud83d", "D83D")])
def test_a_control_character_in_text_is_a_problem_naming_where(tmp_path, escape, code):
    path = tmp_path / "ctrl.yaml"
    srsly.write_yaml(path, MINIMAL)
    path.write_text(path.read_text().replace("definition: costs little",
                                             f'definition: "costs{escape} little"'))
    with pytest.raises(CodebookError) as info:
        load_codebook(path)
    assert info.value.problems == [
        f"tiers[1].codes[1].definition: holds the invisible character U+{code} at position 5; "
        "delete it"]


def test_all_problems_are_reported_at_once():
    data = variant(tiers__0__default="cheap", detectors=["pii.fax"])
    err = pytest.raises(CodebookError, parse_codebook, data, "x.yaml").value
    assert len(err.problems) == 2


def test_unknown_name_lists_registered_codebooks():
    with pytest.raises(CodebookError, match="registered: .*llm-mental-health"):
        load_codebook("no-such-codebook")


def test_cli_check_ok_and_failing(tmp_path):
    good = tmp_path / "good.yaml"
    srsly.write_yaml(good, MINIMAL)
    result = CliRunner().invoke(main, ["codebook", "check", str(good)])
    assert result.exit_code == 0, result.output
    assert "mini@2" in result.output

    bad = tmp_path / "bad.yaml"
    srsly.write_yaml(bad, variant(tiers__1__codes__1__parent="nothing"))
    result = CliRunner().invoke(main, ["codebook", "check", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml" in result.output and "unknown parent 'nothing'" in result.output


def test_cli_check_reports_invalid_yaml(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    result = CliRunner().invoke(main, ["codebook", "check", str(broken)])
    assert result.exit_code == 1
    assert "not valid YAML" in result.output


def test_cli_show_draws_every_code():
    result = CliRunner().invoke(main, ["codebook", "show", "llm-mental-health"],
                                env={"COLUMNS": "1000"})
    assert result.exit_code == 0
    for code in load_codebook("llm-mental-health").codes.values():
        assert code.id in result.output
        for example in code.examples:
            assert f"e.g. {example}" in result.output


def test_cli_show_prints_brackets_in_labels_and_definitions_as_written(tmp_path):
    data = variant(tiers__0__codes__0__definition="uses it [daily] or more",
                   tiers__0__codes__0__examples=["[sic] i use it"],
                   tiers__0__label="Use [/] of AI", tiers__1__label="Topics [i.e. themes]",
                   tiers__0__codes__0__label="Yes [bold]")
    path = tmp_path / "brackets.yaml"
    srsly.write_yaml(path, data)
    result = CliRunner().invoke(main, ["codebook", "show", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    for written in ["uses it [daily] or more", "e.g. [sic] i use it", "(Use [/] of AI:",
                    "(Topics [i.e. themes]:", "Yes [bold]:"]:
        assert written in result.output


def test_the_parser_takes_the_detectors_and_rule_types_it_may_name():
    """Given explicitly, only these count: the parser reads no plugin state."""
    data = {**MINIMAL, "detectors": ["pii.email"]}
    assert parse_codebook(data).detectors == ("pii.email",)
    with pytest.raises(CodebookError, match="detector 'pii.email' is not registered"):
        parse_codebook(data, known_detectors={}, rule_types={})
