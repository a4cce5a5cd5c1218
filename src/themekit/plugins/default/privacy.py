"""Privacy-risk detectors: personal data in the text (e-mail, phone, link, IP address,
@handle) and sensitive content a research team must handle with care (health disclosures,
crisis talk).

Personal data is found in the text's characters, not in spaCy's tokens, whose boundaries
it does not keep to (`is:(425) 882-9090`, `+14155550132`): phone numbers with
`phonenumbers` (Google's libphonenumber, as Microsoft Presidio uses it), e-mails, links and
IP addresses with expressions vetted by spaCy's `like_url` and the standard `ipaddress`
module. Each reports exact character offsets, which redaction replaces. Handles and the
sensitive-content detectors are token patterns (spaCy's Matcher and lexical attributes).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator

import numpy
import phonenumbers
from spacy.attrs import PREFIX
from spacy.lang.lex_attrs import like_url
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from themekit import hookimpl
from themekit.plugins.types import CharSpan, Detector
from themekit.nlp.matching import AnchoredMatcher, ShapeGate, columns

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


def _is_handle(span: Span) -> bool:
    return len(span.text) > 2 and span.text[1:].replace("_", "").replace(".", "").isalnum()


def _handle_end(doc: Doc, i: int) -> int:
    """spaCy splits trailing underscores off a handle (`@lena_` is `@lena` and `_`); they
    belong to it, or redaction would leave them behind."""
    end = i + 1
    while end < len(doc) and not doc[end - 1].whitespace_ and set(doc[end].text) == {"_"}:
        end += 1
    return end


def _may_be_handle(shape: str) -> bool:
    return shape.startswith("@")


DEFAULT_PHONE_REGIONS = ("US", "CA", "GB", "IE", "AU", "NZ")
"""Where a number written without its country code (`(415) 555-0132`, `020 7946 0018`) is
read as a national number: the common English-speaking countries. A number with its
country code (`+63 917 123 4567`) is found whatever the regions."""
# Seven digits with at most four of libphonenumber's separators between any two (its own
# limit; "x" and "ー" are among them): no number it finds has fewer, and the many comments
# with no such run (most have no digits at all) never reach its matcher
PHONE_GATE = re.compile(r"\d(?:[\W_xー]{0,4}\d){6}")


def _phone_finder(nlp: Language, regions: Iterable[str] = DEFAULT_PHONE_REGIONS
                  ) -> Callable[[Doc], list[CharSpan]]:
    """Phone numbers by libphonenumber's matcher at its VALID leniency: a number must be
    one that a region's numbering plan assigns, not just have a plausible length, which is
    what keeps ranges (`200-1000`), dates, times, prices and IDs out (POSSIBLE takes them
    all). Overlapping matches (one number read in two regions) are joined."""
    regions = _phone_regions(regions)

    def find(doc: Doc) -> list[CharSpan]:
        text = columns(doc).text
        if not PHONE_GATE.search(text):
            return []
        found = {(match.start, match.end)
                 for region in regions
                 for match in phonenumbers.PhoneNumberMatcher(
                     text, region, leniency=phonenumbers.Leniency.VALID)}
        return list(_joined(found))

    return find


def _phone_regions(regions: Iterable[str]) -> tuple[str, ...]:
    """The regions as libphonenumber's codes; ValueError names any it does not know."""
    if isinstance(regions, str) or not isinstance(regions, Iterable):
        raise ValueError(f"regions must be a list of region codes such as [US, GB], "
                         f"got {regions!r}")
    codes = tuple(str(region).upper() for region in regions)
    unknown = [code for code in codes if code not in phonenumbers.SUPPORTED_REGIONS]
    if unknown or not codes:
        raise ValueError(f"unknown phone region(s) {', '.join(unknown) or '(none given)'}: "
                         "use two-letter ISO 3166 codes such as US, GB, PH, IN")
    return codes


def _joined(spans: Iterable[tuple[int, int]]) -> Iterator[CharSpan]:
    """Character spans with the overlapping ones joined, in text order."""
    current: list[int] | None = None
    for start, end in sorted(spans):
        if current is not None and start < current[1]:
            current[1] = max(current[1], end)
            continue
        if current is not None:
            yield CharSpan(*current)
        current = [start, end]
    if current is not None:
        yield CharSpan(*current)


# local part, @, dot-separated labels (any script, so IDN as typed), then a top-level
# domain of letters or its punycode form (xn--p1ai); possessive, so no backtracking blow-up
EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]++@(?:[^\W_][\w-]*+\.)+(?:xn--[a-z0-9-]+|[^\W\d_]{2,})"
                   r"(?![\w-])", re.IGNORECASE)
# a scheme or www. takes everything up to a space (an IPv6 host in brackets included);
# a bare domain needs a path, and spaCy's like_url to accept it (Character.AI is no link)
URL = re.compile(r"(?<![\w@.-])(?:(?:(?:https?|ftp)://|www\.)(\S+)|[\w-]+(?:\.[\w-]+)+/\S*)",
                 re.IGNORECASE)
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f.]*", re.IGNORECASE)
URL_GATE = re.compile(r"/|www\.", re.IGNORECASE)
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_URL_END = "/#=&%~+-_$@*"


def _email_finder(nlp: Language) -> Callable[[Doc], list[CharSpan]]:
    def find(doc: Doc) -> list[CharSpan]:
        text = columns(doc).text
        if "@" not in text:
            return []
        return [CharSpan(*m.span()) for m in EMAIL.finditer(text)]

    return find


def _url_finder(nlp: Language) -> Callable[[Doc], list[CharSpan]]:
    def find(doc: Doc) -> list[CharSpan]:
        text = columns(doc).text
        if not URL_GATE.search(text):
            return []
        out = []
        for m in URL.finditer(text):
            start, end = m.start(), _url_end(text, m.start(), m.end())
            if m.group(1) is None and not like_url(text[start:end]):
                continue
            if m.group(1) is None or end > m.start(1):  # a scheme needs something after it
                out.append(CharSpan(start, end))
        return out

    return find


def _url_end(text: str, start: int, end: int) -> int:
    """Where a link ends once the punctuation of the sentence around it is cut off: a
    final `.`, `,`, `!`, an emoji, a `)` the link did not open."""
    while end > start:
        last = text[end - 1]
        if last in _CLOSERS:
            if text.count(_CLOSERS[last], start, end) >= text.count(last, start, end):
                break
        elif last.isalnum() or last in _URL_END:
            break
        end -= 1
    return end


def _ip_finder(nlp: Language) -> Callable[[Doc], list[CharSpan]]:
    """IPv4 and IPv6 addresses, each candidate checked by `ipaddress` (no octet over 255,
    no leading zeros, a well-formed IPv6). A dotted quad of valid octets is an address
    even when it names a version (`1.2.3.4`); one glued to a word (`v1.2.3.4`) is not."""

    def find(doc: Doc) -> list[CharSpan]:
        text = columns(doc).text
        out = []
        if "." in text:
            out += [CharSpan(*m.span()) for m in IPV4.finditer(text)
                    if _is_address(m.group(), ipaddress.IPv4Address)]
        if ":" in text:
            for m in IPV6.finditer(text):
                candidate = m.group().rstrip(".")
                if any(c.isalnum() for c in candidate) \
                        and _is_address(candidate, ipaddress.IPv6Address):
                    out.append(CharSpan(m.start(), m.start() + len(candidate)))
        return list(_joined(out))  # ::ffff:192.0.2.1 holds a dotted quad

    return find


def _is_address(text: str, kind: type) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


@hookimpl
def register_detectors(register: Callable[[Detector], None]) -> None:
    register(Detector("pii.email", _email_finder,
                      "An e-mail address (internationalised domains included).",
                      redact_as="[EMAIL]"))
    register(Detector("pii.phone", _phone_finder,
                      "A phone number: with its country code, or national in one of the "
                      f"`regions` (default {', '.join(DEFAULT_PHONE_REGIONS)}).",
                      redact_as="[PHONE]", options=("regions",)))
    register(Detector("pii.url", _url_finder,
                      "A link (with a scheme, www. or a path).", redact_as="[URL]"))
    register(Detector("pii.ip", _ip_finder, "An IPv4 or IPv6 address.", redact_as="[IP]"))
    register(Detector("pii.handle",
                      _token_finder("pii.handle", PREFIX, "@", _may_be_handle, _is_handle,
                                    _handle_end),
                      "An @username.", redact_as="[@USER]"))
    register(Detector("sensitive.health_disclosure",
                      _matcher_finder("sensitive.health_disclosure", HEALTH_PATTERNS),
                      "A first-person disclosure of a diagnosis, condition or medication."))
    register(Detector("risk.crisis", _matcher_finder("risk.crisis", CRISIS_PATTERNS),
                      "Self-harm or suicidal language, for the ethics protocol."))
