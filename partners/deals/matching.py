"""Who else is after the same customer: normalised web domains and company names compared
fuzzily, legal suffixes (Inc, GmbH, Ltd...) ignored."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

import tldextract
from cleanco import basename
from rapidfuzz import fuzz

# A close name match, by rapidfuzz's token-sort ratio (0-100) of the normalised names. Chosen on
# the fixture of real-looking company names in tests/data: distinct companies stay below it.
NAME_THRESHOLD = 90


@cache
def _extractor() -> tldextract.TLDExtract:
    # The public suffix list that ships with the package: never fetched from the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def normalise_domain(text: str) -> str | None:
    """``https://www.Shop.Acme.co.uk/x``, ``acme.co.uk`` or ``sales@acme.co.uk`` -> ``acme.co.uk``;
    None if there is no registrable domain in it."""
    text = (text or "").strip().lower()
    if "@" in text and "/" not in text:
        text = text.rpartition("@")[2]
    parts = _extractor()(text)
    if not parts.domain or not parts.suffix:
        return None
    return f"{parts.domain}.{parts.suffix}"


def name_key(name: str) -> str:
    """A company name with its legal form, accents, punctuation and case taken off."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = basename(text.replace("&", " and "))
    text = re.sub(r"[^\w\s]", " ", text.lower())
    words = [w for w in text.split() if w not in {"the"}]
    return " ".join(words)


def name_score(key_a: str, key_b: str) -> int:
    return int(round(fuzz.token_sort_ratio(key_a, key_b)))


@dataclass(frozen=True)
class Candidate:
    """Something already claimed: an open registration or a direct deal."""

    kind: str  # "registration" | "direct"
    id: int
    name_key: str
    domain: str | None


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    reason: str  # "domain" | "name"
    score: int


def find_matches(name: str, domain: str | None, candidates: list[Candidate]) -> list[Match]:
    """The candidates that look like the same customer: same domain, or a close name."""
    key = name_key(name)
    matches = []
    for candidate in candidates:
        if domain and candidate.domain == domain:
            matches.append(Match(candidate, "domain", 100))
            continue
        score = name_score(key, candidate.name_key)
        if score >= NAME_THRESHOLD:
            matches.append(Match(candidate, "name", score))
    return matches
