"""The codebook: the one data model that rules, model, reports and evaluation all read.

A codebook is a YAML file (see docs/codebook.md). `load_codebook` reads it, validates every
part and returns an immutable `Codebook`; nothing else in themekit keeps its own list of codes.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import srsly

from themekit.errors import CodebookError, SettingError

if TYPE_CHECKING:
    from themekit.plugins.types import Detector, TierRuleType

TierKind = Literal["exclusive", "multi"]
COMBINE_POLICIES = ("rules", "model", "either", "model_unless_veto")
"""How model scores and rule evidence combine for a code (see docs/model.md)."""

# the keys each level of a codebook file may hold (docs/codebook.md)
CODEBOOK_KEYS = ("name", "version", "description", "tiers", "rules", "detectors")
TIER_KEYS = ("id", "label", "description", "type", "default", "combine", "codes")
CODE_KEYS = ("id", "label", "definition", "parent", "requires", "examples", "patterns",
             "threshold", "combine")
PATTERN_KEYS = ("id", "phrase", "tokens", "weight")
RESERVED_NAMES = ("id", "text", "flags", "coder", "themekit")
"""Fields of a coding sheet and a coded record beside the tiers: no tier or code may take
one of these names, nor may a code share a tier's or a flag's (the export's columns)."""
CONTROL_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""Invisible control characters (C0 but tab and line ends, DEL, C1 such as a terminal's CSI)
and what XML 1.0 cannot hold (lone surrogates, U+FFFE, U+FFFF)."""


@dataclass(frozen=True)
class Pattern:
    """One piece of keyword evidence for a code: a phrase or a spaCy Matcher token pattern."""

    id: str
    code: str
    phrase: str | None = None
    tokens: tuple[dict[str, Any], ...] | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class Code:
    id: str
    tier: str
    label: str
    definition: str
    parent: str | None = None
    requires: Mapping[str, str] = field(default_factory=dict)
    examples: tuple[str, ...] = ()
    patterns: tuple[Pattern, ...] = ()
    combine: str | None = None
    threshold: float = 0.5


@dataclass(frozen=True)
class Tier:
    id: str
    label: str
    kind: TierKind
    description: str = ""
    default: str | None = None
    combine: str = "either"
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSpec:
    """A tier rule as written in the codebook; its `type` names a registered rule type."""

    type: str
    id: str
    config: Mapping[str, Any]


@dataclass(frozen=True)
class Codebook:
    name: str
    version: str
    description: str
    tiers: tuple[Tier, ...]
    codes: Mapping[str, Code]
    rules: tuple[RuleSpec, ...]
    detectors: tuple[str, ...]
    source: str
    raw: Mapping[str, Any]
    detector_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per detector, the options the codebook sets (`- pii.phone: {regions: [US]}`)."""

    @property
    def ref(self) -> str:
        """`name@version`, written into every coded record."""
        return f"{self.name}@{self.version}"

    def tier_ids(self) -> list[str]:
        return [t.id for t in self.tiers]

    def tier(self, tier_id: str) -> Tier:
        try:
            return self._tiers_by_id[tier_id]
        except KeyError:
            raise KeyError(f"codebook {self.name!r} has no tier {tier_id!r}") from None

    def codes_in(self, tier_id: str) -> list[Code]:
        return [self.codes[c] for c in self.tier(tier_id).codes]

    def children(self, code_id: str) -> list[Code]:
        return self._children.get(code_id, [])

    def leaf_codes(self, tier_id: str) -> list[Code]:
        """Codes a coder assigns directly (parents follow from their children)."""
        return self._leaves[tier_id]

    def parents_deepest_first(self) -> list[Code]:
        """Codes with children, deepest first, so a roll-up reaches grandparents last."""
        return self._parents_deepest_first

    # Look-ups built once: tier resolution asks them for every document.
    @cached_property
    def _tiers_by_id(self) -> dict[str, Tier]:
        return {tier.id: tier for tier in self.tiers}

    @cached_property
    def _parents_deepest_first(self) -> list[Code]:
        def depth(code: Code) -> int:
            return 0 if code.parent is None else 1 + depth(self.codes[code.parent])

        return sorted((self.codes[p] for p in self._children), key=depth, reverse=True)

    @cached_property
    def _policies(self) -> dict[str, str]:
        return {c.id: c.combine or self._tiers_by_id[c.tier].combine for c in self.codes.values()}

    @cached_property
    def _children(self) -> dict[str, list[Code]]:
        children: dict[str, list[Code]] = {}
        for code in self.codes.values():
            if code.parent is not None:
                children.setdefault(code.parent, []).append(code)
        return children

    @cached_property
    def _leaves(self) -> dict[str, list[Code]]:
        return {t.id: [c for c in self.codes_in(t.id) if c.id not in self._children]
                for t in self.tiers}

    def with_ancestors(self, code_ids: Iterable[str]) -> set[str]:
        """The codes plus every parent they imply (a child implies its parent)."""
        out: set[str] = set()
        for code_id in code_ids:
            while code_id is not None and code_id not in out:
                out.add(code_id)
                code_id = self.codes[code_id].parent
        return out

    def patterns(self) -> Iterator[Pattern]:
        for code in self.codes.values():
            yield from code.patterns

    def combine_policy(self, code_id: str) -> str:
        return self._policies[code_id]

    def with_combine(self, policy: str) -> Codebook:
        """A copy in which every code follows `policy` (annotate --combine, comparisons)."""
        if policy not in COMBINE_POLICIES:
            raise SettingError("combine", f"must be one of {', '.join(COMBINE_POLICIES)}, "
                                          f"got {policy!r}")
        return replace(self, tiers=tuple(replace(t, combine=policy) for t in self.tiers),
                       codes={k: replace(c, combine=None) for k, c in self.codes.items()})


def find_codebook_path(name_or_path: str | Path) -> Path:
    """Resolve a codebook given by path or by a name registered through plugins."""
    from themekit.plugins import registered_codebooks

    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        if not candidate.is_file():
            raise CodebookError(str(candidate), ["file not found"])
        return candidate
    known = registered_codebooks()
    if str(name_or_path) in known:
        return known[str(name_or_path)].path
    names = ", ".join(sorted(known)) or "none"
    raise CodebookError(
        str(name_or_path),
        [f"no codebook file or registered codebook by that name (registered: {names})"],
    )


def load_codebook(name_or_path: str | Path) -> Codebook:
    """Load and validate a codebook by registered name or file path."""
    path = find_codebook_path(name_or_path)
    try:
        data = srsly.read_yaml(path)
    except Exception as exc:  # ruamel raises several unrelated types
        raise CodebookError(str(path), [f"not valid YAML: {exc}"]) from exc
    return parse_codebook(data, source=str(path))


def parse_codebook(
    data: Any, source: str = "<codebook>", *,
    known_detectors: Mapping[str, Detector] | None = None,
    rule_types: Mapping[str, TierRuleType] | None = None,
) -> Codebook:
    """Build a `Codebook` from parsed YAML, collecting every problem before raising.
    `known_detectors` and `rule_types` are the ones a codebook may name (by default, what
    the installed plugins registered)."""
    if known_detectors is None or rule_types is None:
        from themekit.plugins import registered_detectors, registered_tier_rules

        known_detectors = registered_detectors() if known_detectors is None else known_detectors
        rule_types = registered_tier_rules() if rule_types is None else rule_types
    problems: list[str] = []
    if not isinstance(data, dict):
        raise CodebookError(source, ["top level must be a mapping with name, version and tiers"])
    for key in ("name", "version", "tiers"):
        if key not in data:
            problems.append(f"missing required key '{key}'")
    if problems:
        raise CodebookError(source, problems)
    _check_keys(data, CODEBOOK_KEYS, "codebook", problems)
    _check_characters(data, "", problems)
    if not isinstance(data["name"], str) or not data["name"].strip():
        problems.append("'name' must be non-empty text")
    if isinstance(data["version"], float) or not isinstance(data["version"], (str, int)):
        problems.append(f"'version' must be text or a whole number, got {data['version']!r}; "
                        "quote it (version: \"1.10\") so YAML keeps it as written")

    tiers: list[Tier] = []
    codes: dict[str, Code] = {}
    tier_order: dict[str, int] = {}
    for t_index, raw_tier in enumerate(_as_list(data["tiers"], "tiers", problems)):
        tier = _parse_tier(raw_tier, t_index, codes, problems)
        if tier is None:
            continue
        if tier.id in tier_order:
            problems.append(f"tier '{tier.id}': duplicate tier id; rename one of them")
            continue
        tier_order[tier.id] = t_index
        tiers.append(tier)

    _check_references(codes, tiers, tier_order, problems)
    _check_pattern_ids(codes, problems)
    detector_options = _parse_detectors(data.get("detectors", []), problems)
    detectors = tuple(detector_options)
    _check_detectors(detector_options, known_detectors, problems)
    _check_names(codes, tiers, detectors, problems)
    rules = tuple(_parse_rules(data.get("rules", []), problems))
    if problems:
        raise CodebookError(source, problems)
    codebook = Codebook(
        name=str(data["name"]),
        version=str(data["version"]),
        description=str(data.get("description", "")).strip(),
        tiers=tuple(tiers),
        codes=codes,
        rules=rules,
        detectors=detectors,
        source=source,
        raw=data,
        detector_options={k: v for k, v in detector_options.items() if v},
    )
    _check_rules(codebook, rule_types, problems)
    if problems:
        raise CodebookError(source, problems)
    return codebook


def _check_keys(raw: dict[str, Any], known: tuple[str, ...], where: str,
                problems: list[str]) -> None:
    """A misspelled key (`treshold:`) would otherwise be ignored and its default used."""
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(known)}"
            problems.append(f"{where}: unknown key '{key}'; {hint}")


def _check_characters(value: Any, where: str, problems: list[str]) -> None:
    """Text may not hold control characters or lone surrogates (as a double-quoted YAML
    escape such as "\\x01", "\\x9b" or "\\ud83d" produces): they are invisible in an
    editor, can drive a terminal, and make the `.qdc` export invalid XML."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_characters(item, f"{where}.{key}" if where else str(key), problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_characters(item, f"{where}[{index}]", problems)
    elif isinstance(value, str) and (found := CONTROL_CHARACTERS.search(value)):
        problems.append(f"{where}: holds the invisible character U+{ord(found[0]):04X} at "
                        f"position {found.start()}; delete it")


def is_number(value: Any) -> bool:
    """An int or float, but not a bool (YAML reads `yes` and `true` as True, an int)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_list(value: Any, where: str, problems: list[str]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"'{where}' must be a list, got {type(value).__name__}")
        return []
    return value


def _parse_tier(raw: Any, index: int, codes: dict[str, Code], problems: list[str]) -> Tier | None:
    if not isinstance(raw, dict) or "id" not in raw:
        problems.append(f"tiers[{index}]: each tier needs an 'id' (and 'type', 'codes')")
        return None
    tier_id = str(raw["id"])
    _check_keys(raw, TIER_KEYS, f"tier '{tier_id}'", problems)
    kind = raw.get("type")
    if kind not in ("exclusive", "multi"):
        problems.append(
            f"tier '{tier_id}': type must be 'exclusive' (exactly one code) or 'multi' "
            f"(zero or more), got {kind!r}"
        )
        kind = "multi"
    combine = str(raw.get("combine", "either"))
    if combine not in COMBINE_POLICIES:
        problems.append(
            f"tier '{tier_id}': combine must be one of {', '.join(COMBINE_POLICIES)}, got {combine!r}"
        )
    code_ids: list[str] = []
    for c_index, raw_code in enumerate(_as_list(raw.get("codes"), f"{tier_id}.codes", problems)):
        code = _parse_code(raw_code, tier_id, c_index, problems)
        if code is None:
            continue
        if code.id in codes:
            problems.append(
                f"code '{code.id}': duplicate id (in tiers '{codes[code.id].tier}' and "
                f"'{tier_id}'); code ids must be unique across the codebook"
            )
            continue
        codes[code.id] = code
        code_ids.append(code.id)
    if not code_ids:
        problems.append(f"tier '{tier_id}': has no codes; add at least one under 'codes'")
    default = raw.get("default")
    if kind == "exclusive":
        if default is None:
            problems.append(
                f"tier '{tier_id}': an exclusive tier needs a 'default' code, assigned when "
                "nothing fires"
            )
        elif default not in code_ids:
            problems.append(
                f"tier '{tier_id}': default {default!r} is not a code of this tier "
                f"(codes: {', '.join(code_ids)})"
            )
    elif default is not None:
        problems.append(f"tier '{tier_id}': a multi tier takes no 'default'; remove it")
    return Tier(
        id=tier_id,
        label=str(raw.get("label", tier_id)),
        kind=kind,
        description=str(raw.get("description", "")).strip(),
        default=default,
        combine=combine,
        codes=tuple(code_ids),
    )


def _parse_code(raw: Any, tier_id: str, index: int, problems: list[str]) -> Code | None:
    if not isinstance(raw, dict) or "id" not in raw:
        problems.append(f"tier '{tier_id}' codes[{index}]: each code needs an 'id'")
        return None
    code_id = str(raw["id"])
    _check_keys(raw, CODE_KEYS, f"code '{code_id}'", problems)
    requires = raw.get("requires") or {}
    if not isinstance(requires, dict):
        problems.append(f"code '{code_id}': requires must map a tier id to a code, e.g. "
                        "{experience: personal_use}")
        requires = {}
    combine = raw.get("combine")
    if combine is not None and combine not in COMBINE_POLICIES:
        problems.append(
            f"code '{code_id}': combine must be one of {', '.join(COMBINE_POLICIES)}, got {combine!r}"
        )
    threshold = raw.get("threshold", 0.5)
    if not is_number(threshold) or not 0 < threshold <= 1:
        problems.append(f"code '{code_id}': threshold must be a number in (0, 1], got {threshold!r}")
        threshold = 0.5
    parent = raw.get("parent")
    if parent is not None and not isinstance(parent, str):
        problems.append(f"code '{code_id}': parent must be one code id, got {parent!r}")
        parent = None
    examples = raw.get("examples") or []
    if not isinstance(examples, list) or not all(isinstance(e, str) for e in examples):
        problems.append(f"code '{code_id}': examples must be a list of texts")
        examples = []
    for key in ("label", "definition"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key].strip()):
            problems.append(f"code '{code_id}': {key} must be non-empty text")
    patterns = [
        p
        for i, raw_pattern in enumerate(_as_list(raw.get("patterns"), f"{code_id}.patterns", problems))
        if (p := _parse_pattern(raw_pattern, code_id, i, problems)) is not None
    ]
    if "definition" not in raw:
        problems.append(f"code '{code_id}': missing 'definition'; coders and reports need it")
    return Code(
        id=code_id,
        tier=tier_id,
        label=str(raw.get("label", code_id)),
        definition=str(raw.get("definition", "")).strip(),
        parent=parent,
        requires={str(k): str(v) for k, v in requires.items()},
        examples=tuple(examples),
        patterns=tuple(patterns),
        combine=combine,
        threshold=float(threshold),
    )


def _parse_pattern(raw: Any, code_id: str, index: int, problems: list[str]) -> Pattern | None:
    default_id = f"{code_id}.{index + 1}"
    if isinstance(raw, str):
        raw = {"phrase": raw}
    if not isinstance(raw, dict) or ("phrase" in raw) == ("tokens" in raw):
        problems.append(
            f"code '{code_id}' patterns[{index}]: give either a phrase (a string, or "
            "{phrase: ...}) or {tokens: [...]} with spaCy Matcher token patterns"
        )
        return None
    _check_keys(raw, PATTERN_KEYS, f"code '{code_id}' patterns[{index}]", problems)
    weight = raw.get("weight", 1.0)
    if not is_number(weight) or weight == 0 or not math.isfinite(weight):
        problems.append(f"code '{code_id}' patterns[{index}]: weight must be a non-zero number")
        return None
    pattern_id = str(raw.get("id", default_id))
    if "phrase" in raw:
        phrase = raw["phrase"]
        if not isinstance(phrase, str) or not phrase.strip():
            problems.append(f"code '{code_id}' pattern '{pattern_id}': phrase must be non-empty text")
            return None
        return Pattern(id=pattern_id, code=code_id, phrase=phrase.strip(), weight=float(weight))
    tokens = raw["tokens"]
    error = _token_pattern_error(tokens)
    if error:
        problems.append(f"code '{code_id}' pattern '{pattern_id}': invalid token pattern: {error}")
        return None
    return Pattern(id=pattern_id, code=code_id, tokens=tuple(tokens), weight=float(weight))


def _token_pattern_error(tokens: Any) -> str | None:
    """Let spaCy's own Matcher schema judge a token pattern, so the rules stay spaCy's."""
    from spacy.matcher import Matcher
    from spacy.vocab import Vocab

    if not isinstance(tokens, list) or not tokens:
        return "expected a non-empty list of token dicts"
    for token in tokens:
        for key in token if isinstance(token, dict) else ():
            hint = _token_key_hint(key)
            if hint:
                return hint
    try:
        Matcher(Vocab(), validate=True).add("check", [tokens])
    except (ValueError, TypeError, KeyError, re.error) as exc:  # re.error: a bad REGEX value
        return " ".join(str(exc).split())
    return None


def _token_key_hint(key: Any) -> str | None:
    """`unknown token key 'LOWR'; did you mean 'LOWER'?` for a key spaCy's Matcher does not
    know (its own message says only "Extra inputs are not permitted")."""
    from spacy.schemas import TokenPattern

    known = [field.upper() for field in TokenPattern.model_fields] + ["_"]
    if not isinstance(key, str) or key.upper() in known:
        return None
    close = difflib.get_close_matches(key.upper(), known, n=1)
    return (f"unknown token key '{key}'; " + (f"did you mean '{close[0]}'?" if close
                                                else f"known: {', '.join(known)}"))


def _check_references(
    codes: dict[str, Code], tiers: list[Tier], tier_order: dict[str, int], problems: list[str]
) -> None:
    for code in codes.values():
        if code.parent is not None:
            parent = codes.get(code.parent)
            if parent is None:
                problems.append(f"code '{code.id}': unknown parent '{code.parent}'; declare it first")
            elif parent.tier != code.tier:
                problems.append(
                    f"code '{code.id}': parent '{code.parent}' is in tier '{parent.tier}', not "
                    f"'{code.tier}'; a parent must sit in the same tier"
                )
        for req_tier, req_code in code.requires.items():
            if req_tier not in tier_order:
                problems.append(f"code '{code.id}': requires unknown tier '{req_tier}'")
            elif tier_order[req_tier] >= tier_order.get(code.tier, 0):
                problems.append(
                    f"code '{code.id}': requires tier '{req_tier}', which does not come before "
                    f"'{code.tier}'; requires may only point to an earlier tier"
                )
            elif codes.get(req_code) is None or codes[req_code].tier != req_tier:
                problems.append(
                    f"code '{code.id}': requires {req_tier}: {req_code}, but '{req_code}' is not a "
                    f"code of tier '{req_tier}'"
                )
    for code in codes.values():
        seen = {code.id}
        parent = code.parent
        while parent is not None and parent in codes:
            if parent in seen:
                problems.append(f"code '{code.id}': parent chain forms a cycle through '{parent}'")
                break
            seen.add(parent)
            parent = codes[parent].parent
    parents = {code.parent for code in codes.values() if code.parent in codes}
    for parent_id in sorted(parents):
        if codes[parent_id].patterns:
            problems.append(
                f"code '{parent_id}': a parent code takes no patterns (it is assigned from its "
                "children, so they would never count); move them to a child code"
            )
    for tier in tiers:
        if tier.kind == "exclusive":
            nested = [c for c in tier.codes if codes[c].parent is not None]
            if nested:
                problems.append(
                    f"tier '{tier.id}': an exclusive tier cannot have child codes "
                    f"({', '.join(nested)}); use a multi tier for hierarchies"
                )


def _check_pattern_ids(codes: dict[str, Code], problems: list[str]) -> None:
    owner: dict[str, str] = {}
    for code in codes.values():
        for pattern in code.patterns:
            if pattern.id in owner:
                problems.append(
                    f"code '{code.id}': pattern id '{pattern.id}' is already used by code "
                    f"'{owner[pattern.id]}'; pattern ids must be unique"
                )
            owner[pattern.id] = code.id


def _check_names(codes: dict[str, Code], tiers: list[Tier], detectors: tuple[str, ...],
                 problems: list[str]) -> None:
    tier_ids = {tier.id for tier in tiers}
    for tier_id in sorted(tier_ids & set(RESERVED_NAMES)):
        problems.append(f"tier '{tier_id}': the id is a field of every coding sheet "
                        f"({', '.join(RESERVED_NAMES)}); rename the tier")
    for code_id in codes:
        if code_id in RESERVED_NAMES:
            problems.append(f"code '{code_id}': the id is a field of every coding sheet "
                            f"({', '.join(RESERVED_NAMES)}); rename the code")
        elif code_id in tier_ids or code_id in detectors:
            other = "a tier's id" if code_id in tier_ids else "a flag (detector)"
            problems.append(f"code '{code_id}': the id is also {other}, so an export would "
                            "have two columns of that name; rename the code")


def _parse_rules(raw_rules: Any, problems: list[str]) -> Iterator[RuleSpec]:
    for index, raw in enumerate(_as_list(raw_rules, "rules", problems)):
        if not isinstance(raw, dict) or "type" not in raw:
            problems.append(f"rules[{index}]: each rule needs a 'type'")
            continue
        rule_id = str(raw.get("id", f"rule{index + 1}"))
        config = {k: v for k, v in raw.items() if k not in ("type", "id")}
        yield RuleSpec(type=str(raw["type"]), id=rule_id, config=config)


def _parse_detectors(raw: Any, problems: list[str]) -> dict[str, dict[str, Any]]:
    """Detector name -> the options set for it: each entry is a name, or a mapping of one
    name to its options (`- pii.phone: {regions: [US, PH]}`)."""
    out: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(_as_list(raw, "detectors", problems)):
        if isinstance(entry, dict) and len(entry) == 1:
            ((name, options),) = entry.items()
            if not isinstance(options, dict):
                problems.append(f"detectors[{index}]: the options of '{name}' must be a "
                                f"mapping, got {type(options).__name__}")
                options = {}
        elif isinstance(entry, (str, int)) and not isinstance(entry, bool):
            name, options = entry, {}
        else:
            problems.append(f"detectors[{index}]: each entry is a detector's name, or one "
                            "name with its options ('- pii.phone: {regions: [US]}')")
            continue
        if str(name) in out:
            problems.append(f"detector '{name}' is listed twice; keep one")
        out[str(name)] = {str(k): v for k, v in options.items()}
    return out


def _check_detectors(options: dict[str, dict[str, Any]], detectors: Mapping[str, Detector],
                     problems: list[str]) -> None:
    """Detectors come from plugins: each one the codebook names must be registered, and
    take the options set for it."""
    for name, set_options in options.items():
        if name not in detectors:
            problems.append(
                f"detector '{name}' is not registered (known: {', '.join(sorted(detectors))}); "
                "install the plugin that provides it or remove it"
            )
            continue
        unknown = sorted(set(set_options) - set(detectors[name].options))
        if unknown:
            known = ", ".join(detectors[name].options) or "none"
            problems.append(f"detector '{name}': unknown option(s) {', '.join(unknown)} "
                            f"(it takes: {known})")


def _check_rules(codebook: Codebook, rule_types: Mapping[str, TierRuleType],
                 problems: list[str]) -> None:
    """Rule types come from plugins: each rule must name one and satisfy its checks."""
    from themekit.plugins import plugin_error
    for spec in codebook.rules:
        rule_type = rule_types.get(spec.type)
        if rule_type is None:
            problems.append(
                f"rule '{spec.id}': unknown rule type '{spec.type}' "
                f"(known: {', '.join(sorted(rule_types))})"
            )
            continue
        try:
            rule_type.from_config(spec, codebook)
        except ValueError as exc:  # the rule type's own verdict on a malformed rule
            problems.append(f"rule '{spec.id}': {exc}")
        except Exception as exc:  # a bug in the plugin, not in the codebook
            raise plugin_error("rule type", spec.type, exc,
                               f"failed reading rule '{spec.id}'") from exc
