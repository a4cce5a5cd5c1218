"""Plugin discovery: throwaway plugins, entry points, the allow-list, errors named by plugin."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
import spacy
import srsly
import click
from click.testing import CliRunner

from themekit import hookimpl
from themekit.errors import PluginError
from themekit.cli import main
from themekit.plugins.types import CharSpan, Detector, EvidenceSource
from themekit.plugins import REGISTRY, registered_detectors, registered_tier_rules
from tests.test_codebook import MINIMAL


class ShoutDetector:
    """A throwaway plugin: flags words written in capitals."""

    @hookimpl
    def register_detectors(self, register):
        def build(nlp):
            return lambda doc: [doc[t.i:t.i + 1] for t in doc if t.is_upper and len(t) > 2]

        register(Detector("style.shouting", build, "WORDS IN CAPITALS"))


class SecretDetector:
    """A throwaway plugin that reports character offsets inside tokens, as the built-in
    personal-data detectors do: the letters "ECRE" of SECRET, and a plain (start, end) pair
    for its "S"; or offsets past the text's end, for a text that says "overflow"."""

    @hookimpl
    def register_detectors(self, register):
        def find(doc):
            if "overflow" in doc.text:
                return [CharSpan(0, len(doc.text) + 1)]
            at = doc.text.find("SECRET")
            return [] if at < 0 else [CharSpan(at + 1, at + 5), (at, at + 1)]

        register(Detector("test.secret", lambda nlp: find, "SECRET's letters", redact_as="#"))


class BrokenPlugin:
    @hookimpl
    def register_tier_rules(self, register):
        raise RuntimeError("boom")


def test_builtins_register_through_the_public_hooks():
    names = {name for name, _ in REGISTRY.manager.list_name_plugin()}
    assert {"default.patterns", "default.privacy", "default.tier_rules",
            "default.codebooks"} <= names
    assert {"co_evidence", "contradiction"} <= set(registered_tier_rules())


def test_throwaway_detector_is_usable_from_a_codebook(register_plugin, tmp_path):
    register_plugin(ShoutDetector(), "shout")
    assert "style.shouting" in registered_detectors()
    path = tmp_path / "shout.yaml"
    srsly.write_yaml(path, {**MINIMAL, "rules": [], "detectors": ["style.shouting"]})
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": str(path)})
    assert nlp("this is REALLY bad")._.themekit.flags == ["style.shouting"]


def test_a_detector_may_report_character_offsets(register_plugin, tmp_path):
    """The token span covers the characters; the coding and redaction keep them exactly."""
    from themekit.nlp.redaction import redact_text

    register_plugin(SecretDetector(), "secret")
    path = tmp_path / "secret.yaml"
    srsly.write_yaml(path, {**MINIMAL, "rules": [], "detectors": ["test.secret"]})
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": str(path)})
    text = "the word xxSECRETxx here"
    doc = nlp(text)
    assert [(r["text"], r["start"], r["end"]) for r in doc._.themekit.risks] == [
        ("S", 11, 12), ("ECRE", 12, 16)]
    assert [(s.label_, s.text) for s in doc.spans["themekit_risks"]] == [
        ("test.secret", "xxSECRETxx")] * 2
    assert redact_text(text, doc._.themekit.to_json()["risks"]) == "the word xx##Txx here"
    with pytest.raises(PluginError, match=r"detector 'test.secret' \(plugin 'secret'\) failed "
                                          r"on a document: ValueError: character offsets"):
        nlp("overflow")


def test_exception_inside_a_plugin_names_the_plugin(register_plugin):
    register_plugin(BrokenPlugin(), "broken-one")
    with pytest.raises(PluginError, match="plugin 'broken-one' raised in register_tier_rules: boom"):
        registered_tier_rules()


def test_duplicate_registration_names_both_plugins(register_plugin):
    register_plugin(ShoutDetector(), "shout-a")
    register_plugin(ShoutDetector(), "shout-b")
    with pytest.raises(PluginError, match="plugin 'shout-b' registers 'style.shouting' in "
                       "register_detectors, which plugin 'shout-a' already registered"):
        registered_detectors()


def test_a_plugin_that_takes_a_builtin_name_is_the_one_blamed(register_plugin):
    class EmailAgain:
        @hookimpl
        def register_detectors(self, register):
            register(Detector("pii.email", lambda nlp: lambda doc: [], "again"))

    register_plugin(EmailAgain(), "email-again")
    with pytest.raises(PluginError, match="plugin 'email-again' registers 'pii.email'.*"
                       "plugin 'default.privacy' already registered"):
        registered_detectors()


NOTHING = type("Nothing", (), {})()  # a plugin that implements no hook


def fake_entry_points(monkeypatch, *eps):
    monkeypatch.setattr("themekit.plugins.entry_points", lambda group: list(eps))
    REGISTRY.reset()


@pytest.fixture
def fresh_manager(monkeypatch):
    """Entry-point plugins load as outside the tests (every installed one), then the
    registry starts afresh."""
    monkeypatch.delenv("THEMEKIT_LOAD_PLUGINS")
    yield
    REGISTRY.reset()


def test_entry_point_plugins_load_and_the_allow_list_limits_them(monkeypatch, fresh_manager):
    ep = EntryPoint("shouty", "tests.test_plugins:SHOUT_PLUGIN", "themekit")
    fake_entry_points(monkeypatch, ep)
    assert "style.shouting" in registered_detectors()

    monkeypatch.setenv("THEMEKIT_LOAD_PLUGINS", "someone-else")
    fake_entry_points(monkeypatch, ep, EntryPoint("someone-else", "tests.test_plugins:NOTHING",
                                                  "themekit"))
    assert "style.shouting" not in registered_detectors()
    assert "pii.email" in registered_detectors()  # built-ins always load

    monkeypatch.setenv("THEMEKIT_LOAD_PLUGINS", "shouty,shoutty")
    fake_entry_points(monkeypatch, ep)
    with pytest.raises(PluginError, match="THEMEKIT_LOAD_PLUGINS names 'shoutty', which no "
                                          r"installed plugin provides \(installed: shouty\)"):
        REGISTRY.manager


def test_entry_point_that_fails_to_import_is_named(monkeypatch, fresh_manager):
    fake_entry_points(monkeypatch, EntryPoint("ghost", "no_such_module_xyz", "themekit"))
    with pytest.raises(PluginError, match="plugin 'ghost' .* failed to load"):
        REGISTRY.manager


class MisspelledHook:
    @hookimpl
    def register_detector(self, register):  # the hook is register_detectors
        pass


MISSPELLED_PLUGIN = MisspelledHook()


def test_misspelled_hook_is_a_clear_error_naming_the_plugin(monkeypatch, fresh_manager):
    fake_entry_points(monkeypatch,
                      EntryPoint("typo", "tests.test_plugins:MISSPELLED_PLUGIN", "themekit"))
    with pytest.raises(PluginError) as raised:
        REGISTRY.manager
    assert str(raised.value) == ("plugin 'typo': unknown hook 'register_detector'; did you mean "
                                 "'register_detectors'?")
    result = CliRunner().invoke(main, ["plugins"])
    assert result.exit_code == 1
    assert result.output.startswith("error: plugin 'typo'")


class WrongArguments:
    @hookimpl
    def register_detectors(self, reg):
        pass


WRONG_ARGUMENTS_PLUGIN = WrongArguments()


def test_a_hook_with_the_wrong_arguments_is_one_line_naming_the_plugin(monkeypatch,
                                                                        fresh_manager):
    fake_entry_points(monkeypatch, EntryPoint("badargs", "tests.test_plugins:WRONG_ARGUMENTS_PLUGIN",
                                              "themekit"))
    with pytest.raises(PluginError) as raised:
        REGISTRY.manager
    message = str(raised.value)
    assert message.startswith("plugin 'badargs' (tests.test_plugins:WRONG_ARGUMENTS_PLUGIN): "
                              "for hook 'register_detectors'")
    assert "\n" not in message and "{'reg'}" in message


def test_cli_lists_plugins_with_hooks(register_plugin):
    register_plugin(ShoutDetector(), "shout")
    result = CliRunner().invoke(main, ["plugins"], terminal_width=200)
    assert result.exit_code == 0
    assert "shout" in result.output and "register_detectors" in result.output
    assert "default.privacy (built-in)" in result.output
    registered = [line.split("│")[1:3] for line in result.output.splitlines()
                  if line.count("│") == 4]
    registered = {(kind.strip(), name.strip()) for kind, name in registered}
    assert {("detector", "style.shouting"), ("detector", "pii.email"),
            ("codebook", "llm-mental-health"), ("tier rule", "co_evidence"),
            ("evidence source", "patterns")} <= registered


SHOUT_PLUGIN = ShoutDetector()


class FailingFinders:
    """A throwaway plugin whose detectors fail: one when built, one on every document."""

    @hookimpl
    def register_detectors(self, register):
        def fail(*_):
            raise RuntimeError("boom")

        register(Detector("broken.build", fail))
        register(Detector("broken.find", lambda nlp: fail))


@pytest.mark.parametrize(("detector", "said"), [("broken.build", "could not be built"),
                                                ("broken.find", "failed on a document")])
def test_a_detector_that_raises_names_itself_and_its_plugin(register_plugin, tmp_path,
                                                            detector, said):
    register_plugin(FailingFinders(), "failing")
    path = tmp_path / "cb.yaml"
    srsly.write_yaml(path, {**MINIMAL, "rules": [], "detectors": [detector]})
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit", config={"codebook": str(path)})
    with pytest.raises(PluginError) as raised:
        nlp("any text")
    assert str(raised.value) == f"detector '{detector}' (plugin 'failing') {said}: RuntimeError: boom"
    assert isinstance(raised.value.__cause__, RuntimeError)


class StrayEvidence:
    """A throwaway evidence source that labels spans with something that is not a code."""

    @hookimpl
    def register_evidence_sources(self, register):
        register(EvidenceSource("stray", lambda nlp, codebook: lambda doc: [doc[0:1]]))


def test_evidence_labelled_with_a_non_code_is_an_error_naming_the_source(register_plugin):
    register_plugin(StrayEvidence(), "stray-plugin")
    nlp = spacy.blank("en")
    nlp.add_pipe("themekit")
    with pytest.raises(PluginError, match="evidence source 'stray' \\(plugin 'stray-plugin'\\) "
                                          "failed on a document: ValueError: a span labelled ''"):
        nlp("any text")


class FailingRules:
    """A throwaway rule type: 'bad_config' fails reading its rule, 'bad_apply' on documents."""

    @hookimpl
    def register_tier_rules(self, register):
        class Rule:
            stage = "review"

            def apply(self, resolution):
                raise KeyError("no such tier")

        class RuleType:
            description = ""

            def __init__(self, name):
                self.type = name

            def from_config(self, spec, codebook):
                if self.type == "bad_config":
                    raise AttributeError("'RuleSpec' object has no attribute 'get'")
                return Rule()

        register(RuleType("bad_config"))
        register(RuleType("bad_apply"))


@pytest.mark.parametrize(("rule_type", "said"), [
    ("bad_config", "failed reading rule 'r1': AttributeError: 'RuleSpec' object has no "
                   "attribute 'get'"),
    ("bad_apply", "failed on a document in rule 'r1': KeyError: 'no such tier'")])
def test_a_rule_type_that_raises_names_itself_and_its_plugin(register_plugin, tmp_path,
                                                             rule_type, said):
    register_plugin(FailingRules(), "rules-plugin")
    path = tmp_path / "cb.yaml"
    srsly.write_yaml(path, {**MINIMAL, "rules": [{"id": "r1", "type": rule_type}]})
    with pytest.raises(PluginError) as raised:
        nlp = spacy.blank("en")
        nlp.add_pipe("themekit", config={"codebook": str(path)})
        nlp("any text")
    assert str(raised.value) == f"rule type '{rule_type}' (plugin 'rules-plugin') {said}"
    result = CliRunner().invoke(main, ["annotate", "-", "-o", "-", "-c", str(path)],
                                input='{"text": "hi"}\n')
    assert result.exit_code == 1
    assert result.output.strip().endswith(said)


class Commands:
    @hookimpl
    def register_commands(self, cli):
        @cli.command(name="hello")
        def hello():
            """Say hello."""
            click.echo("hello from a plugin")


class Takeover:
    @hookimpl
    def register_commands(self, cli):
        @cli.command(name="annotate")
        def annotate():
            """Not the real annotate."""


def test_a_plugin_adds_a_command_and_may_not_replace_one(register_plugin):
    register_plugin(Commands(), "greeter")
    runner = CliRunner()
    result = runner.invoke(main, ["hello"])
    assert result.exit_code == 0 and result.output == "hello from a plugin\n"
    assert "hello" in runner.invoke(main, ["--help"]).output
    register_plugin(Takeover(), "takeover")
    result = runner.invoke(main, ["nothing-such"])
    assert result.exit_code == 1
    assert "plugin 'takeover' registers command(s) annotate, which themekit already has" \
        in result.output
    assert "Code every comment" in runner.invoke(main, ["annotate", "--help"]).output
