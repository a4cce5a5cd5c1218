"""The spaCy component: tier resolution, provenance, model scores, serialization, embedding."""

from __future__ import annotations

import copy
import pickle
import re
import subprocess
import sys

import pytest
import spacy
import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from themekit.nlp.coding import Coding
from themekit.nlp.component import Outcome
from themekit.nlp.tiers import CodeEvidence, combined_score, resolve
from tests.test_codebook import MINIMAL

MINI_RULES = {
    **MINIMAL,
    "tiers": [
        MINIMAL["tiers"][0],
        {"id": "mood", "type": "exclusive", "default": "flat",
         "codes": [{"id": "up", "definition": "glad", "patterns": ["love"]},
                   {"id": "down", "definition": "sad", "patterns": ["hate"]},
                   {"id": "both", "definition": "both"},
                   {"id": "flat", "definition": "none"}]},
        MINIMAL["tiers"][1],
    ],
    "rules": [
        {"id": "mixed", "type": "co_evidence", "when_all": ["up", "down"], "assign": "both"},
        {"id": "odd", "type": "contradiction", "when": ["down"], "any_of": ["good"],
         "message": "sad but names a benefit"},
    ],
}
MINI_RULES_CODES = [code["id"] for tier in MINI_RULES["tiers"] for code in tier["codes"]]


@pytest.fixture
def mini_nlp(tmp_path):
    path = tmp_path / "mini.yaml"
    srsly.write_yaml(path, MINI_RULES)
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": str(path)})
    return nlp


def test_defaults_when_nothing_fires(mini_nlp):
    coding = mini_nlp("nothing to see here")._.themekit
    assert coding.codes == {"use": "no", "mood": "flat", "topics": []}
    assert coding.provenance["no"]["source"] == "default"
    assert coding.review == []


def test_pattern_evidence_assigns_and_rolls_up(mini_nlp):
    doc = mini_nlp("I use it because it is CHEAP")
    coding = doc._.themekit
    assert coding.codes["use"] == "yes"
    assert coding.codes["topics"] == ["good", "cheap"]  # after_use has no evidence of its own
    assert coding.provenance["cheap"] == {"source": "pattern", "score": 1.0, "threshold": 0.5,
                                          "patterns": ["cheap.tok"]}
    assert coding.provenance["good"]["source"] == "rollup"
    assert coding.provenance["good"]["children"] == ["cheap"]
    assert [(s.label_, s.text) for s in doc.spans["themekit"]] == [("yes", "I use it"),
                                                                   ("cheap", "CHEAP")]
    assert doc.cats["cheap"] == 1.0 and doc.cats["good"] == 1.0 and doc.cats["yes"] == 1.0
    assert set(doc.cats) == set(mini_nlp.get_pipe("themekit").codebook.codes)


def test_evidence_spans_come_in_text_order(mini_nlp):
    doc = mini_nlp("so CHEAP, and I use it")
    assert [(s.label_, s.text) for s in doc.spans["themekit"]] == [("cheap", "CHEAP"),
                                                                   ("yes", "I use it")]
    assert [e["text"] for e in doc._.themekit.evidence] == ["CHEAP", "I use it"]


def test_same_evidence_gives_equal_codings_that_do_not_share_containers(mini_nlp):
    """Rules-only outcomes are cached by evidence; each document still owns its coding."""
    first = mini_nlp("I use it because it is CHEAP")._.themekit
    first.codes["topics"].append("changed")
    first.provenance["cheap"]["patterns"].append("changed")
    first.scores.clear()
    first.review.append("changed")
    second = mini_nlp("it is cheap and I use it")._.themekit
    assert second.codes == {"use": "yes", "mood": "flat", "topics": ["good", "cheap"]}
    assert second.provenance["cheap"]["patterns"] == ["cheap.tok"]
    assert second.scores["cheap"] == 1.0 and second.review == []


def test_codings_that_share_a_cached_outcome_keep_their_own_patterns(mini_nlp):
    """"cheap" alone and "free" + "cheap" both score 1.0 (capped) and resolve alike, but
    provenance names the patterns of each document."""
    only_cheap = mini_nlp("it is cheap")._.themekit
    free_and_cheap = mini_nlp("it is free and cheap")._.themekit
    assert only_cheap.codes == free_and_cheap.codes
    assert only_cheap.provenance["cheap"]["patterns"] == ["cheap.tok"]
    assert free_and_cheap.provenance["cheap"]["patterns"] == ["cheap.1", "cheap.tok"]
    assert only_cheap.provenance["cheap"]["score"] == free_and_cheap.provenance["cheap"]["score"]


def test_half_weight_cue_needs_corroboration(mini_nlp):
    assert mini_nlp("it is free")._.themekit.codes["topics"] == []
    assert mini_nlp("it is free and cheap")._.themekit.codes["topics"] == ["good", "cheap"]


def test_requires_drops_code_when_earlier_tier_disagrees(tmp_path):
    data = {**MINIMAL, "rules": []}
    data["tiers"][1]["codes"][2]["patterns"] = ["needs"]
    path = tmp_path / "req.yaml"
    srsly.write_yaml(path, data)
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": str(path)})
    assert "after_use" not in nlp("it needs nothing")._.themekit.codes["topics"]
    assert "after_use" in nlp("i use it, it needs nothing")._.themekit.codes["topics"]


def test_co_evidence_rule_assigns_mixed_and_contradiction_flags(mini_nlp):
    coding = mini_nlp("love it, hate it")._.themekit
    assert coding.codes["mood"] == "both"
    assert coding.provenance["both"]["source"] == "rule"
    assert coding.provenance["both"]["rule"] == "mixed"
    flagged = mini_nlp("I hate that it is cheap")._.themekit
    assert flagged.codes["mood"] == "down"
    assert flagged.review == ["odd: sad but names a benefit"]


def test_contradiction_rule_is_silenced_by_none_of(tmp_path):
    data = {**MINI_RULES, "rules": [
        {"id": "odd", "type": "contradiction", "when": ["down"], "any_of": ["good"],
         "none_of": ["yes"], "message": "sad but names a benefit"}]}
    path = tmp_path / "none_of.yaml"
    srsly.write_yaml(path, data)
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": str(path)})
    assert nlp("I hate that it is cheap")._.themekit.review == ["odd: sad but names a benefit"]
    assert nlp("I use it, I hate that it is cheap")._.themekit.review == []


def test_code_a_rule_assigns_against_its_requires_gives_way_to_the_default(tmp_path):
    data = copy.deepcopy(MINI_RULES)
    data["tiers"][1]["codes"][2]["requires"] = {"use": "yes"}  # "both" needs own use
    path = tmp_path / "req_rule.yaml"
    srsly.write_yaml(path, data)
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": str(path)})
    coding = nlp("love it, hate it")._.themekit
    assert coding.codes["mood"] == "flat"
    assert coding.dropped == {"both": "requires use: yes"}
    assert coding.provenance["flat"]["source"] == "default"
    assert nlp("I use it, love it, hate it")._.themekit.codes["mood"] == "both"


def test_negative_weight_pattern_vetoes_its_code(nlp):
    assert nlp("I vent to it a lot and it helped me")._.themekit.codes["attitude"] == "positive"
    negated = nlp("I vent to it a lot but it never helped me")._.themekit
    assert negated.codes["attitude"] != "positive"
    assert {e["pattern"]: e["assigned"] for e in negated.to_json()["evidence"]}["not_helping"] \
        is False


@pytest.mark.parametrize(
    ("policy", "rule", "model", "expected"),
    [("model_unless_veto", CodeEvidence(-1.0, ("task",), vetoed=True), 0.9, (0.0, "veto")),
     ("model_unless_veto", CodeEvidence(1.0, ("talk",)), 0.2, (0.2, "model")),
     ("either", CodeEvidence(1.0, ("talk",)), 0.2, (1.0, "pattern")),
     ("either", CodeEvidence(0.4, ("talk",)), 0.7, (0.7, "model")),
     ("rules", CodeEvidence(0.4, ("talk",)), 0.9, (0.4, "pattern")),
     ("model", CodeEvidence(1.0, ("talk",)), 0.1, (0.1, "model")),
     ("model", CodeEvidence(2.5, ("a", "b")), None, (1.0, "pattern"))],
)
def test_combine_policies(policy, rule, model, expected):
    assert combined_score(policy, rule, model) == expected


@Language.component("fake_textcat")
def fake_textcat(doc):
    """Stands in for a trained categorizer: scores set before the themekit component."""
    doc.cats = {"yes": 0.9, "no": 0.1, "cheap": 0.7, "after_use": 0.2, "up": 0.1, "down": 0.8}
    return doc


def test_model_scores_combine_with_rules(tmp_path):
    data = {**MINI_RULES}
    path = tmp_path / "m.yaml"
    srsly.write_yaml(path, data)
    nlp = spacy.blank("en")
    nlp.add_pipe("fake_textcat")
    nlp.add_pipe("themekit", config={"codebook": str(path), "thresholds": {"after_use": 0.15}})
    coding = nlp("nothing matches here")._.themekit
    assert coding.codes["use"] == "yes"
    assert coding.provenance["yes"]["source"] == "model"
    assert coding.codes["topics"] == ["good", "cheap", "after_use"]
    assert coding.provenance["after_use"]["threshold"] == 0.15
    # rule evidence stronger than the model decides under "either"
    assert nlp("love")._.themekit.codes["mood"] == "both"


def test_a_veto_of_a_confident_model_score_is_listed_in_dropped(tmp_path):
    data = copy.deepcopy(MINI_RULES)
    data["tiers"][2]["combine"] = "model_unless_veto"
    data["tiers"][2]["codes"][1]["patterns"].append({"id": "pricey", "phrase": "pricey",
                                                     "weight": -1.0})
    path = tmp_path / "veto.yaml"
    srsly.write_yaml(path, data)
    nlp = spacy.blank("en")
    nlp.add_pipe("fake_textcat")  # cheap: 0.7, after_use: 0.2
    nlp.add_pipe("themekit", config={"codebook": str(path)})
    assert "cheap" in nlp("nothing matches here")._.themekit.codes["topics"]
    coding = nlp("it is pricey")._.themekit
    assert "cheap" not in coding.codes["topics"]
    assert coding.dropped == {
        "cheap": "vetoed by a negative-weight pattern (pricey); model score 0.70"}
    assert [(e["pattern"], e["assigned"]) for e in coding.evidence] == [("pricey", False)]


def test_evidence_says_whether_its_match_led_to_a_code_or_was_outweighed(mini_nlp):
    evidence = mini_nlp("I use it, it is CHEAP")._.themekit.evidence
    assert [(e["code"], e["assigned"]) for e in evidence] == [("yes", True), ("cheap", True)]
    coding = mini_nlp("I love it and I hate it")._.themekit
    assert coding.codes["mood"] == "both"  # the co_evidence rule outweighs up and down
    assert [(e["code"], e["assigned"]) for e in coding.evidence] == [("up", False),
                                                                     ("down", False)]


def test_disk_round_trip_keeps_codebook(mini_nlp, tmp_path):
    mini_nlp.to_disk(tmp_path / "pipe")
    (tmp_path / "mini.yaml").unlink()  # the saved pipeline must not need the original file
    loaded = spacy.load(tmp_path / "pipe")
    assert loaded("I use it, cheap")._.themekit.codes == mini_nlp("I use it, cheap")._.themekit.codes
    assert loaded.get_pipe("themekit").codebook.ref == "mini@2"


def test_bytes_round_trip_keeps_codebook(mini_nlp, tmp_path):
    data = mini_nlp.to_bytes()
    (tmp_path / "mini.yaml").unlink()
    other = spacy.blank("en")
    other.add_pipe("themekit")  # the default codebook, until the bytes replace it
    other.from_bytes(data)
    assert other.get_pipe("themekit").codebook.ref == "mini@2"
    assert other("I use it, cheap")._.themekit.codes == mini_nlp("I use it, cheap")._.themekit.codes


def test_serialization_honours_exclude(mini_nlp, tmp_path):
    mini_nlp.get_pipe("themekit").to_disk(tmp_path / "part", exclude=["codebook"])
    assert not (tmp_path / "part" / "codebook.yaml").exists()
    mini_nlp.to_disk(tmp_path / "whole")
    assert (tmp_path / "whole" / "themekit" / "codebook.yaml").is_file()
    other = spacy.blank("en")
    component = other.add_pipe("themekit", config={"rules_only": True})
    component.from_disk(tmp_path / "whole" / "themekit", exclude=["codebook"])
    assert component.codebook.name == "llm-mental-health"  # kept its own
    component.from_bytes(mini_nlp.get_pipe("themekit").to_bytes(), exclude=["codebook"])
    assert component.codebook.name == "llm-mental-health"
    component.from_bytes(mini_nlp.get_pipe("themekit").to_bytes())
    assert component.codebook.ref == "mini@2"


def test_the_codebook_can_come_in_initialize(tmp_path):
    """As spaCy's SpanRuler takes its patterns: in [initialize.components.themekit]."""
    path = tmp_path / "mini.yaml"
    srsly.write_yaml(path, MINI_RULES)
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"rules_only": True})
    nlp.config["initialize"]["components"]["themekit"] = {"codebook": str(path)}
    nlp.initialize()
    assert nlp.get_pipe("themekit").codebook.ref == "mini@2"
    assert nlp("I use it, cheap")._.themekit.codes["use"] == "yes"


def test_two_components_keep_their_own_span_groups(tmp_path):
    path = tmp_path / "mini.yaml"
    srsly.write_yaml(path, MINI_RULES)
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", name="mental_health", config={"rules_only": True})
    nlp.add_pipe("themekit", name="mini", config={"codebook": str(path), "spans_key": "mini"})
    doc = nlp("I vent to chatgpt every night, I use it, mail a@b.com")
    assert [s.label_ for s in doc.spans["themekit"]][:1] == ["personal_use"]
    assert [s.label_ for s in doc.spans["mini"]] == ["yes"]
    assert [s.label_ for s in doc.spans["themekit_risks"]] == ["pii.email"]
    assert [s.label_ for s in doc.spans["mini_risks"]] == ["pii.email"]


def test_coding_survives_doc_bytes_and_docbin(mini_nlp, tmp_path):
    doc = mini_nlp("I use it, cheap, mail a@b.com")
    back = Doc(mini_nlp.vocab).from_bytes(doc.to_bytes())
    assert isinstance(back._.themekit, Coding) and back._.themekit == doc._.themekit
    DocBin(store_user_data=True, docs=[doc]).to_disk(tmp_path / "docs.spacy")
    # a fresh interpreter that never imports themekit gets a Coding back (srsly entry points)
    script = (
        "import sys, spacy\n"
        "from spacy.tokens import DocBin\n"
        f"docs = DocBin().from_disk({str(tmp_path / 'docs.spacy')!r}).get_docs(spacy.blank('en').vocab)\n"
        "coding = next(docs)._.themekit\n"
        "print(type(coding).__name__, coding.codes['use'], coding.flags, coding.evidence[0]['text'])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Coding", "yes", "['pii.email']", "I", "use", "it"]


def test_coding_a_doc_twice_changes_nothing(mini_nlp, nlp):
    for pipeline, text in [(mini_nlp, "I use it, cheap"), (nlp, "I vent to it every night")]:
        doc = pipeline(text)
        first = doc._.themekit.to_json()
        again = pipeline(doc)
        assert again._.themekit.to_json() == first
        assert "model" not in {p["source"] for p in first["provenance"].values()}


def test_multiprocessing_and_pickling_give_the_same_codings(mini_nlp):
    texts = ["I use it, cheap", "nothing here", "I hate it and love it"]
    expected = [mini_nlp(t)._.themekit for t in texts]  # after the first document too
    assert [d._.themekit for d in mini_nlp.pipe(texts, n_process=2, batch_size=1)] == expected
    assert [pickle.loads(pickle.dumps(mini_nlp))(t)._.themekit for t in texts] == expected


def test_nlp_evaluate_scores_the_codes_assigned_not_the_raw_scores(mini_nlp):
    """A tier default has no score of its own (doc.cats 0.0) and a code may pass a threshold
    under 0.5: evaluation must count what the component assigned."""
    examples = [Example.from_dict(mini_nlp.make_doc(text), {"cats": cats}) for text, cats in [
        ("nothing to see here", {"no": 1, "yes": 0, "flat": 1, "up": 0}),
        ("I use it and love it", {"no": 0, "yes": 1, "flat": 0, "up": 1}),
    ]]
    per_code = mini_nlp.evaluate(examples)["cats_f_per_type"]
    assert {code: per_code[code]["f"] for code in ("no", "yes", "flat", "up")} == dict.fromkeys(
        ("no", "yes", "flat", "up"), 1.0)


def test_labels_of_another_component_stay_in_doc_cats(mini_nlp):
    doc = mini_nlp.make_doc("I use it")
    doc.cats = {"toxic": 0.9}
    doc = mini_nlp.get_pipe("themekit")(doc)
    assert doc.cats["toxic"] == 0.9 and doc.cats["yes"] == 1.0


def test_labels_are_known_and_bad_config_fails_when_the_pipe_is_added(tmp_path):
    path = tmp_path / "mini.yaml"
    srsly.write_yaml(path, MINI_RULES)
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": str(path)})
    assert set(nlp.pipe_labels["themekit"]) == set(MINI_RULES_CODES)
    for config, said in [({"combine": "modle"}, "combine: must be one of"),
                         ({"thresholds": {"nope": 0.5}}, "does not have: nope"),
                         ({"thresholds": {"up": 5}}, "thresholds: up must be a number in (0, 1]")]:
        with pytest.raises(ValueError, match=re.escape(said)):
            spacy.blank("en").add_pipe("themekit", config={"codebook": str(path), **config})


@pytest.mark.parametrize(
    ("text", "experience", "evidence"),
    [("", "no_personal_use", 0), ("   ", "no_personal_use", 0),
     ("😂😂😂 I talk to my replika every night 💜", "personal_use", 2),
     ("أنا أتحدث مع الذكاء الاصطناعي كل ليلة I talk to it every night", "personal_use", 1),
     ("x" * 100_000, "no_personal_use", 0),
     # every repetition is found, to the end of the text: two cues in each
     ("I vent to ChatGPT. " * 5000, "personal_use", 10_000)],
)
def test_hard_texts_are_coded(nlp, text, experience, evidence):
    coding = nlp(text)._.themekit
    assert set(coding.codes) == {"experience", "attitude", "themes"}
    assert coding.codes["experience"] == experience
    assert len(coding.evidence) == evidence
    for span in coding.evidence:
        assert text[span["start"]:span["end"]] == span["text"]


def test_default_codebook_on_clear_cases(nlp):
    cases = {
        "I talk to ChatGPT whenever i need to when my anxiety spikes, it listens better than "
        "my therapist":
            ("personal_use", "positive", {"benefit", "accessibility", "emotional_support",
                                          "therapeutic_value"}),
        "my sister uses replika, whatever": ("no_personal_use", "neutral", set()),
        "Every reply is scripted and repetitive. Useless.":
            ("no_personal_use", "negative", {"concern", "generic_responses"}),
        "who reads these chats? they sell your data to third parties":
            ("no_personal_use", "neutral", {"concern", "privacy"}),
    }
    for text, (experience, attitude, themes) in cases.items():
        codes = nlp(text)._.themekit.codes
        assert (codes["experience"], codes["attitude"], set(codes["themes"])) == (
            experience, attitude, themes), text


def test_factory_works_in_a_fresh_interpreter_without_importing_themekit():
    # the script never imports themekit: spaCy finds the factory through the entry point
    script = (
        "import spacy\n"
        "nlp = spacy.blank('en')\n"
        "nlp.add_pipe('themekit', config={'codebook': 'llm-mental-health'})\n"
        "doc = nlp('I vent to my replika every night and it listens')\n"
        "print(doc._.themekit.codes['experience'], sorted(doc.spans), round(doc.cats['personal_use']))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["personal_use", "['themekit',", "'themekit_risks']", "1"]


def test_scores_and_provenance_follow_codebook_order(nlp):
    """Not the order of a set of code ids, which changes with every process's hash seed:
    two runs on the same input must write the same bytes."""
    codebook = nlp.get_pipe("themekit").codebook
    leaves = [c.id for c in codebook.leaf_codes("themes")]
    evidence = {code: CodeEvidence(1.0, (f"{code}.p",)) for code in reversed(leaves)}
    resolution = resolve(codebook, evidence, None, {}, [])
    assert [c for c in resolution.scores if c in leaves] == leaves
    assert [c for c in Outcome.of(resolution).provenance if c in leaves] == leaves
