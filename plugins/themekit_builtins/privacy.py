"""Privacy-risk detectors: personal data in the text (e-mail, phone, link, @handle) and
sensitive content a research team must handle with care (health disclosures, crisis talk).

They lean on spaCy's own lexical attributes (`like_email`, `like_url`, token shapes) and
Matcher patterns rather than hand-written regexes over the raw text.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy

from spacy.attrs import LIKE_EMAIL, LIKE_URL, PREFIX
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from themekit import hookimpl
from themekit.extensions import Detector
from themekit.matching import AnchoredMatcher, ShapeGate, columns

CONDITIONS = [
    "depression", "anxiety", "bipolar", "ptsd", "cptsd", "c-ptsd", "adhd", "ocd", "bpd",
    "autism", "schizophrenia", "insomnia", "anorexia", "bulimia", "gad", "mdd", "pmdd",
    "dissociation", "psychosis", "agoraphobia", "disorder", "attacks", "depressive",
    "trauma", "spectrum", "alcoholism", "sobriety", "miscarriage", "pain",
    "illness", "fibromyalgia", "cancer", "chemo", "chemotherapy", "dialysis", "diabetes",
    "epilepsy", "hiv", "me/cfs", "cfs", "diagnosis", "condition",
]
CONDITION_MODIFIERS = [
    "severe", "chronic", "clinical", "major", "social", "panic", "eating", "personality",
    "generalized", "general", "mood", "bad", "diagnosed", "high", "functioning", "borderline",
    "a", "an", "the", "complex", "postpartum", "post", "partum", "autism", "mental",
    "history", "of",
]
IDENTITY_CONDITIONS = [
    "bipolar", "autistic", "schizophrenic", "anorexic", "bulimic", "adhd", "deaf", "blind",
    "hiv", "diabetic", "epileptic", "disabled", "housebound", "sober", "neurodivergent",
]
# "as someone with complex PTSD", "living with ptsd", "diagnosed with GAD"
WITH_CONDITION = ["someone", "living", "diagnosed", "struggling", "dealing", "suffering", "person"]
MEDICATIONS = [
    "sertraline", "zoloft", "prozac", "fluoxetine", "lexapro", "escitalopram", "citalopram",
    "celexa", "wellbutrin", "bupropion", "effexor", "venlafaxine", "cymbalta", "duloxetine",
    "paxil", "paroxetine", "lithium", "lamictal", "lamotrigine", "seroquel", "quetiapine",
    "abilify", "aripiprazole", "adderall", "vyvanse", "ritalin", "xanax", "klonopin",
    "ativan", "trazodone", "mirtazapine", "remeron", "antidepressants", "antidepressant",
    "meds", "medication", "medications", "ssris", "ssri", "antipsychotics",
]
FIRST_PERSON_BE = ["'m", "am", "m", "’m"]


def _phrase(*words: str) -> list[dict]:
    return [{"LOWER": w} for w in words]


HEALTH_PATTERNS = [
    # "my depression", "my social anxiety", "my adhd meds"
    [{"LOWER": "my"}, {"LOWER": {"IN": CONDITION_MODIFIERS}, "OP": "{,3}"},
     {"LOWER": {"IN": CONDITIONS}}],
    # "I have bipolar", "I've got severe anxiety", "i have been diagnosed with ptsd"
    [{"LOWER": {"IN": ["i", "ive", "i've"]}},
     {"LOWER": {"IN": ["have", "'ve", "’ve", "had", "got", "been", "was", "suffer", "struggle",
                       "deal", "live", "am", "'m", "’m", "m"]}, "OP": "{1,3}"},
     {"LOWER": {"IN": ["diagnosed", "from", "with"]}, "OP": "{,2}"},
     {"LOWER": {"IN": CONDITION_MODIFIERS}, "OP": "{,3}"},
     {"LOWER": {"IN": CONDITIONS}}],
    # "I'm bipolar", "i am autistic", "i'm on the autism spectrum"
    [{"LOWER": {"IN": ["i", "im", "i'm"]}}, {"LOWER": {"IN": FIRST_PERSON_BE}, "OP": "?"},
     {"LOWER": {"IN": IDENTITY_CONDITIONS}}],
    [{"LOWER": {"IN": ["i", "im", "i'm"]}}, {"LOWER": {"IN": FIRST_PERSON_BE}, "OP": "?"},
     {"LOWER": "on"}, {"LOWER": "the"}, {"LOWER": {"IN": ["autism", "autistic"]}, "OP": "?"},
     {"LOWER": "spectrum"}],
    # "I'm on sertraline", "i take lexapro", "my meds"
    [{"LOWER": {"IN": ["i", "im", "i'm"]}},
     {"LOWER": {"IN": [*FIRST_PERSON_BE, "take", "started", "was", "been", "stopped", "quit"]},
      "OP": "{,3}"},
     {"LOWER": {"IN": ["on", "taking"]}, "OP": "?"}, {"LOWER": {"IN": MEDICATIONS}}],
    [{"LOWER": "my"}, {"LOWER": {"IN": MEDICATIONS}}],
    [{"LOWER": {"IN": WITH_CONDITION}}, {"LOWER": "with"},
     {"LOWER": {"IN": CONDITION_MODIFIERS}, "OP": "{,3}"}, {"LOWER": {"IN": CONDITIONS}}],
]

NOT_WANTING_TO = [
    {"LOWER": {"IN": ["n't", "not", "nt", "never", "no"]}},
    {"LOWER": {"IN": ["want", "wanting", "wanna", "longer"]}},
    {"LOWER": {"IN": ["to", "want"]}, "OP": "?"}, {"LOWER": "to", "OP": "?"},
]
CRISIS_PATTERNS = [
    _phrase("kill", "myself"), _phrase("killing", "myself"), _phrase("killed", "myself"),
    _phrase("end", "my", "life"), _phrase("ending", "my", "life"), _phrase("end", "it", "all"),
    _phrase("take", "my", "own", "life"), _phrase("better", "off", "dead"),
    _phrase("hurt", "myself"), _phrase("hurting", "myself"), _phrase("cut", "myself"),
    _phrase("cutting", "myself"), _phrase("self", "-", "harm"), _phrase("self", "harm"),
    [{"LOWER": {"IN": ["suicidal", "suicide", "selfharm", "self-harm", "kms", "unalive",
                       "overdose", "overdosed"]}}],
    [{"LOWER": {"IN": ["want", "wanted", "wanting", "wanna", "wish"]}},
     {"LOWER": {"IN": ["to", "i"]}, "OP": "?"}, {"LOWER": {"IN": ["die", "dead", "disappear"]}}],
    # "don't want to live", "not wanting to be alive", "no longer want to exist"
    [*NOT_WANTING_TO, {"LOWER": {"IN": ["live", "exist"]}}],
    [*NOT_WANTING_TO, {"LOWER": "be"}, {"LOWER": {"IN": ["alive", "here", "anymore"]}}],
]

# Every token is tested on its shape (punctuation is its own shape), so the patterns
# compile to one expression each (see themekit.matching).
PHONE_PATTERNS = [
    [{"SHAPE": "ddd"}, {"SHAPE": {"IN": ["-", "."]}}, {"SHAPE": "ddd"},
     {"SHAPE": {"IN": ["-", "."]}}, {"SHAPE": "dddd"}],
    [{"SHAPE": "("}, {"SHAPE": "ddd"}, {"SHAPE": ")"}, {"SHAPE": "ddd"},
     {"SHAPE": {"IN": ["-", "."]}, "OP": "?"}, {"SHAPE": "dddd"}],
    [{"SHAPE": {"IN": ["+d", "+dd", "+ddd"]}}, {"SHAPE": {"IN": ["d", "dd", "ddd", "dddd"]}, "OP": "{2,4}"}],
    # a number the tokenizer kept whole: 555-123-4567, 555.123.4567, +1-555-123-4567
    [{"SHAPE": {"IN": ["ddd-ddd-dddd", "ddd.ddd.dddd", "+d-ddd-ddd-dddd", "d-ddd-ddd-dddd"]}}],
    [{"SHAPE": {"IN": ["dddd", "ddddd"]}}, {"SHAPE": "ddd"}, {"SHAPE": {"IN": ["ddd", "dddd"]}}],
    # a local number without area code: 555-0177
    [{"SHAPE": "ddd"}, {"SHAPE": "-"}, {"SHAPE": "dddd"}],
    [{"SHAPE": "ddd-dddd"}],
]



def _matcher_finder(
    label: str, patterns: list[list[dict]], accept: Callable[[Span], bool] = lambda span: True
) -> Callable[[Language], Callable]:
    """A detector from Matcher patterns; `accept` vets each candidate span."""

    def build(nlp: Language):
        matcher = AnchoredMatcher(nlp.vocab)
        for pattern in patterns:
            matcher.add(label, pattern, greedy="LONGEST")

        def find(doc: Doc) -> list[Span]:
            matches = matcher(doc)
            if not matches:
                return []
            spans = [Span(doc, start, end, label=label) for _, start, end in matches]
            return [span for span in filter_spans(spans) if accept(span)]

        return find

    return build


def _token_finder(
    label: str,
    attr: int,
    value: str | bool,
    shape_test: Callable[[str], bool],
    accept: Callable[[Span], bool] = lambda span: True,
    end_of: Callable[[Doc, int], int] = lambda doc, i: i + 1,
) -> Callable[[Language], Callable]:
    """A detector for single tokens with a lexical attribute (`like_email`, a prefix...),
    read from the document's shared attribute columns instead of a Python loop over tokens.
    `shape_test` must hold for the shape of every token the attribute can pick out: it
    lets most documents pass without reading the attribute at all. `end_of(doc, i)` is
    where a span found at token i ends (the next token, unless it says otherwise)."""

    def build(nlp: Language):
        wanted = nlp.vocab.strings.add(value) if isinstance(value, str) else int(value)
        gate = ShapeGate(nlp.vocab, shape_test)

        def find(doc: Doc) -> list[Span]:
            cols = columns(doc)
            if not gate(cols) or wanted not in cols.present(attr):
                return []
            hits = numpy.flatnonzero(cols.array(attr) == wanted)
            spans = [Span(doc, int(i), end_of(doc, int(i)), label=label) for i in hits]
            return [span for span in spans if accept(span)]

        return find

    return build


def _may_be_url(shape: str) -> bool:
    """spaCy's `like_url` needs a scheme (`://`) or a dot inside the token."""
    return "://" in shape or "." in shape.strip(".")


def _is_link(span: Span) -> bool:
    """A real link, not a product name such as Character.AI: needs a scheme, www. or a path."""
    text = span.text.lower()
    return "/" in text or text.startswith("www.")


def _is_handle(span: Span) -> bool:
    return len(span.text) > 2 and span.text[1:].replace("_", "").replace(".", "").isalnum()


def _handle_end(doc: Doc, i: int) -> int:
    """spaCy splits trailing underscores off a handle (`@lena_` is `@lena` and `_`); they
    belong to it, or redaction would leave them behind."""
    end = i + 1
    while end < len(doc) and not doc[end - 1].whitespace_ and set(doc[end].text) == {"_"}:
        end += 1
    return end


def _may_be_email(shape: str) -> bool:
    return "@" in shape


def _may_be_handle(shape: str) -> bool:
    return shape.startswith("@")


@hookimpl
def register_detectors(register):
    register(Detector("pii.email", _token_finder("pii.email", LIKE_EMAIL, True, _may_be_email),
                      "An e-mail address.", redact_as="[EMAIL]"))
    register(Detector("pii.phone", _matcher_finder("pii.phone", PHONE_PATTERNS),
                      "A phone number (North-American and international forms).",
                      redact_as="[PHONE]"))
    register(Detector("pii.url",
                      _token_finder("pii.url", LIKE_URL, True, _may_be_url, _is_link),
                      "A link (with a scheme, www. or a path).", redact_as="[URL]"))
    register(Detector("pii.handle",
                      _token_finder("pii.handle", PREFIX, "@", _may_be_handle, _is_handle,
                                    _handle_end),
                      "An @username.", redact_as="[@USER]"))
    register(Detector("sensitive.health_disclosure",
                      _matcher_finder("sensitive.health_disclosure", HEALTH_PATTERNS),
                      "A first-person disclosure of a diagnosis, condition or medication."))
    register(Detector("risk.crisis", _matcher_finder("risk.crisis", CRISIS_PATTERNS),
                      "Self-harm or suicidal language, for the ethics protocol."))
