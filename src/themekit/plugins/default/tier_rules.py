"""Built-in tier-rule types that codebooks use under `rules:`.

- `co_evidence` (stage assign): when every code in `when_all` passes its threshold, assign
  `assign` in that exclusive tier (e.g. positive and negative evidence together make `mixed`).
- `contradiction` (stage review): flag a coding for human review when it holds codes that
  do not fit together, without changing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from themekit import hookimpl
from themekit.codebook import Codebook, RuleSpec
from themekit.nlp.tiers import Assignment, Resolution


def _code_list(config: Mapping[str, Any], key: str, codebook: Codebook) -> tuple[str, ...]:
    value = config.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ValueError(f"'{key}' must be a list of code ids")
    unknown = [c for c in value if c not in codebook.codes]
    if unknown:
        raise ValueError(f"'{key}' names unknown code(s): {', '.join(map(str, unknown))}")
    return tuple(value)


@dataclass(frozen=True)
class CoEvidenceRule:
    type = "co_evidence"
    description = "When all of `when_all` pass their thresholds, assign `assign` instead."
    stage = "assign"

    rule_id: str
    when_all: tuple[str, ...]
    assign: str

    @classmethod
    def from_config(cls, spec: RuleSpec, codebook: Codebook) -> CoEvidenceRule:
        when_all = _code_list(spec.config, "when_all", codebook)
        assign = spec.config.get("assign")
        if len(when_all) < 2:
            raise ValueError("'when_all' needs at least two codes")
        if not isinstance(assign, str) or assign not in codebook.codes:
            raise ValueError(f"'assign' must name a code, got {assign!r}")
        tiers = {codebook.codes[c].tier for c in (*when_all, assign)}
        if len(tiers) != 1 or codebook.tier(tiers.pop()).kind != "exclusive":
            raise ValueError("'when_all' and 'assign' must be codes of one exclusive tier")
        return cls(spec.id, when_all, assign)

    def apply(self, resolution: Resolution) -> None:
        codes = resolution.codebook.codes
        if all(resolution.scores.get(c, 0.0) >= codes[c].threshold for c in self.when_all):
            score = min(resolution.scores[c] for c in self.when_all)
            resolution.scores[self.assign] = max(resolution.scores.get(self.assign, 0.0), score)
            resolution.assign(
                Assignment(self.assign, score, "rule", {"rule": self.rule_id,
                                                        "because": list(self.when_all)})
            )


@dataclass(frozen=True)
class ContradictionRule:
    type = "contradiction"
    description = ("Flag for review when all of `when` hold, any of `any_of` is assigned and "
                   "none of `none_of` is.")
    stage = "review"

    rule_id: str
    when: tuple[str, ...]
    any_of: tuple[str, ...]
    none_of: tuple[str, ...]
    message: str

    @classmethod
    def from_config(cls, spec: RuleSpec, codebook: Codebook) -> ContradictionRule:
        when = _code_list(spec.config, "when", codebook)
        any_of = _code_list(spec.config, "any_of", codebook)
        none_of = _code_list(spec.config, "none_of", codebook)
        if not (when or any_of):
            raise ValueError("give at least 'when' or 'any_of'")
        message = spec.config.get("message")
        if not isinstance(message, str) or not message.strip():
            raise ValueError("'message' must say, for the reviewer, what does not fit")
        return cls(spec.id, when, any_of, none_of, message.strip())

    def apply(self, resolution: Resolution) -> None:
        if (
            all(resolution.has(c) for c in self.when)
            and (not self.any_of or any(resolution.has(c) for c in self.any_of))
            and not any(resolution.has(c) for c in self.none_of)
        ):
            resolution.review.append(f"{self.rule_id}: {self.message}")


@hookimpl
def register_tier_rules(register):
    register(CoEvidenceRule)
    register(ContradictionRule)
