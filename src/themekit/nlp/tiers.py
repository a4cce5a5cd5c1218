"""Tier resolution: turn per-code evidence and model scores into codes, with provenance.

Order of work, the same for every document:
1. each code gets a combined score from its rule evidence and (if any) its model score,
   following the codebook's `combine` policy;
2. tiers are resolved in codebook order: an exclusive tier takes the code with the largest
   margin over its threshold (its default when none passes), a multi tier takes every code
   over its threshold; a code whose `requires` fails is never taken;
3. rules of stage "assign" run (they may change codes), `requires` is checked again, and
   parents roll up from their children. `dropped` gives the reason for each code a rule
   assigned but `requires` then removed, and for each code the model alone would have
   assigned but a negative-weight pattern vetoed;
4. rules of stage "review" run (they add review reasons, never change codes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from themekit.codebook import Codebook


@dataclass
class Assignment:
    """Why a code was assigned: `source` is pattern, model, default, rollup or rule."""

    code: str
    score: float
    source: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "score": round(self.score, 4), **self.detail}


@dataclass
class Resolution:
    """The coding of one document while and after tiers are resolved."""

    codebook: Codebook
    scores: dict[str, float]
    assigned: dict[str, dict[str, Assignment]]
    dropped: dict[str, str] = field(default_factory=dict)
    review: list[str] = field(default_factory=list)

    def has(self, code_id: str) -> bool:
        return code_id in self.assigned[self.codebook.codes[code_id].tier]

    def assign(self, assignment: Assignment) -> None:
        tier = self.codebook.tier(self.codebook.codes[assignment.code].tier)
        if tier.kind == "exclusive":
            self.assigned[tier.id].clear()
        self.assigned[tier.id][assignment.code] = assignment

    def drop(self, code_id: str, reason: str) -> None:
        tier = self.codebook.tier(self.codebook.codes[code_id].tier)
        self.assigned[tier.id].pop(code_id, None)
        self.dropped[code_id] = reason
        if tier.kind == "exclusive" and not self.assigned[tier.id] and tier.default:
            self.assigned[tier.id][tier.default] = Assignment(
                tier.default, self.scores.get(tier.default, 0.0), "default"
            )

    def requirement_failure(self, code_id: str) -> str | None:
        for tier_id, wanted in self.codebook.codes[code_id].requires.items():
            if wanted not in self.assigned.get(tier_id, {}):
                return f"requires {tier_id}: {wanted}"
        return None

    def codes_json(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        for tier in self.codebook.tiers:
            codes = [c for c in tier.codes if c in self.assigned[tier.id]]
            out[tier.id] = codes[0] if tier.kind == "exclusive" else codes
        return out


@dataclass(frozen=True)
class CodeEvidence:
    """Rule evidence for one code: summed weights of distinct patterns that matched."""

    weight: float = 0.0
    patterns: tuple[str, ...] = ()
    vetoed: bool = False

    @property
    def score(self) -> float:
        """The rule score in [0, 1]. With `vetoed`, all that resolution reads; `patterns`
        only go into provenance."""
        return min(1.0, max(0.0, self.weight))


def combined_score(
    policy: str, rule: CodeEvidence, model: float | None
) -> tuple[float, str]:
    """Score in [0, 1] and the source that decided it, for one code under one policy."""
    rule_score = rule.score
    if model is None or policy == "rules":
        return rule_score, "pattern"
    if policy == "model":
        return model, "model"
    if policy == "model_unless_veto":
        return (0.0, "veto") if rule.vetoed else (model, "model")
    # either: whichever is more confident decides
    return (rule_score, "pattern") if rule_score > model else (model, "model")


def resolve(
    codebook: Codebook,
    evidence: Mapping[str, CodeEvidence],
    model_scores: Mapping[str, float] | None,
    thresholds: Mapping[str, float],
    rules: Sequence[Any],
) -> Resolution:
    """Resolve every tier of `codebook` for one document."""
    scores: dict[str, float] = {}
    sources: dict[str, str] = {}
    # a code with neither evidence nor a model score scores 0 and cannot pass (thresholds > 0);
    # codebook order, so that every run writes scores and provenance in the same order
    model_scored = model_scores or {}
    for code_id in codebook.codes:
        if (code_id not in evidence and code_id not in model_scored) \
                or codebook.children(code_id):
            continue
        model = None if model_scores is None else model_scores.get(code_id)
        scores[code_id], sources[code_id] = combined_score(
            codebook.combine_policy(code_id), evidence.get(code_id, CodeEvidence()), model
        )
    resolution = Resolution(codebook, scores, {t.id: {} for t in codebook.tiers})
    for code_id, source in sources.items():
        model = (model_scores or {}).get(code_id, 0.0)
        if source == "veto" and model >= thresholds.get(code_id, codebook.codes[code_id].threshold):
            # the model alone would have assigned it: say so, or the veto leaves no trace
            resolution.dropped[code_id] = (f"vetoed by a negative-weight pattern "
                                           f"({', '.join(evidence[code_id].patterns)}); "
                                           f"model score {model:.2f}")

    def threshold(code_id: str) -> float:
        if sources[code_id] == "model" and code_id in thresholds:
            return thresholds[code_id]
        return codebook.codes[code_id].threshold

    def assignment(code_id: str) -> Assignment:
        source = sources[code_id]
        detail: dict[str, Any] = {"threshold": threshold(code_id)}
        if source == "pattern":
            detail["patterns"] = list(evidence[code_id].patterns)
        return Assignment(code_id, scores[code_id], source, detail)

    for tier in codebook.tiers:
        passing = [
            c.id
            for c in codebook.leaf_codes(tier.id)
            if c.id in scores and scores[c.id] >= threshold(c.id)
            and resolution.requirement_failure(c.id) is None
        ]
        if tier.kind == "exclusive":
            if passing:
                best = max(passing, key=lambda c: scores[c] - threshold(c))
                resolution.assign(assignment(best))
            elif tier.default:
                resolution.assign(Assignment(tier.default, scores.get(tier.default, 0.0), "default"))
        else:
            for code_id in passing:
                resolution.assign(assignment(code_id))

    for rule in rules:
        if rule.stage == "assign":
            rule.apply(resolution)
    for tier in codebook.tiers:
        for code_id in list(resolution.assigned[tier.id]):
            failure = resolution.requirement_failure(code_id)
            if failure:
                resolution.drop(code_id, failure)
    _roll_up(resolution)
    for rule in rules:
        if rule.stage == "review":
            rule.apply(resolution)
    return resolution


def _roll_up(resolution: Resolution) -> None:
    """A parent takes the highest score of its children and is assigned when any child is."""
    codebook = resolution.codebook
    for parent in codebook.parents_deepest_first():
        children = [c.id for c in codebook.children(parent.id)]
        score = max(resolution.scores.get(c, 0.0) for c in children)
        if score > 0:
            resolution.scores[parent.id] = score
        assigned = [c for c in children if resolution.has(c)]
        if assigned:
            resolution.assign(
                Assignment(parent.id, resolution.scores.get(parent.id, 0.0), "rollup",
                           {"children": assigned})
            )
