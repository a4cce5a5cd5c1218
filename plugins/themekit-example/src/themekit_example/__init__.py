"""An example themekit plugin: a promo-code detector and a small app-review codebook.

Installed, it is found through the `themekit` entry-point group (see pyproject.toml);
`themekit plugins` then lists it, codebooks can name `spam.promo_code` under `detectors:`,
`--codebook app-reviews` works anywhere, and `themekit promo-codes CODED` is a command.
"""

from __future__ import annotations

from pathlib import Path

import click
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from themekit import hookimpl
from themekit.plugins.types import Detector, RegisteredCodebook

PROMO_PATTERNS = [
    # "use code SAVE20", "promo code: FREEMONTH", "referral code abc123"
    [{"LOWER": {"IN": ["promo", "referral", "discount", "coupon", "use"]}},
     {"LOWER": "code"}, {"ORTH": ":", "OP": "?"},
     {"TEXT": {"REGEX": r"^[A-Za-z0-9]{4,16}$"}}],
]


def build_promo_finder(nlp: Language):
    matcher = Matcher(nlp.vocab)
    matcher.add("spam.promo_code", PROMO_PATTERNS)

    def find(doc: Doc) -> list[Span]:
        return list(matcher(doc, as_spans=True))

    return find


@hookimpl
def register_detectors(register):
    register(Detector("spam.promo_code", build_promo_finder,
                      "A promotional or referral code (comment spam).", redact_as="[CODE]"))


@hookimpl
def register_codebooks(register):
    register(RegisteredCodebook("app-reviews", Path(__file__).with_name("app-reviews.yaml"),
                                "Verdict and issues in app-store reviews."))


@hookimpl
def register_commands(cli):
    @cli.command(name="promo-codes")
    @click.argument("coded", type=click.Path(exists=True, dir_okay=False))
    def promo_codes(coded):
        """Count the coded comments that carry a promo code (the spam.promo_code flag).

        \b
        Example:
          themekit annotate reviews.jsonl -o coded.jsonl --codebook app-reviews
          themekit promo-codes coded.jsonl
        """
        from themekit.io.coded import coded_codebook, read_coded

        total = flagged = 0
        for record in read_coded(coded, coded_codebook(coded)):
            total += 1
            flagged += "spam.promo_code" in (record.labels.flags or ())
        click.echo(f"{flagged} of {total} coded comments carry a promo code")
