"""Who else is after the same customer: normalised web domains and company names compared
fuzzily, legal suffixes (Inc, GmbH, Ltd...) ignored.

tldextract and rapidfuzz are imported where first used: a web worker that never compares two
registrations does not carry them (4 MB of its memory, issue 18)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import idna
from cleanco.clean import custom_basename, prepare_default_terms

if TYPE_CHECKING:
    import tldextract

# A close name match: the worst-matching word of the two normalised names, by rapidfuzz's ratio
# (0-100). Chosen on the fixtures in tests/data: distinct companies stay below it (the closest,
# "Fernandez Hermanos" / "Hernandez Hermanos", score 89) and the same company written
# differently reaches it (the lowest, "Aarhus" / "Arhus", 91).
NAME_THRESHOLD = 90

# Letters that NFKD leaves whole (casefold() already turns "ß" into "ss").
_FOLD = str.maketrans(
    {"ł": "l", "ø": "o", "ı": "i", "đ": "d", "ð": "d", "þ": "th", "ħ": "h", "æ": "ae", "œ": "oe"}
)
# Spelled-out legal forms that cleanco does not know, beside all those it does.
_EXTRA_TERMS = ("kabushiki kaisha", "kabushiki gaisha", "godo kaisha", "yugen kaisha")
_TERMS = sorted(
    prepare_default_terms() + [(len(t.split()), t.split()) for t in _EXTRA_TERMS],
    key=lambda term: (-term[0], term[1]),
)
# "The", and "and" in the languages partners write in: "&" becomes one of them.
_STOPWORDS = frozenset({"the", "and", "und", "en", "et", "y", "e", "og", "och"})
_ABBREVIATIONS = {"st": "saint"}  # "St. Clair" = "Saint Clair"


@cache
def _extractor() -> tldextract.TLDExtract:
    import tldextract

    # The public suffix list that ships with the package: never fetched from the network. Its
    # private part too: acme.github.io and globex.github.io are two customers, not github.io.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


# Mailbox providers say nothing about who the customer is: every registration giving one would
# "conflict" with every other.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "libero.it",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
    }
)


def normalise_domain(text: str) -> str | None:
    """``https://www.Shop.Acme.co.uk/x``, ``acme.co.uk`` or ``sales@acme.co.uk`` -> ``acme.co.uk``;
    None if there is no registrable domain in it, or only a mailbox provider's."""
    text = (text or "").strip().lower()
    if "@" in text and "/" not in text:
        text = text.rpartition("@")[2]
    parts = _extractor()(text)
    if not parts.domain or not parts.suffix:
        return None
    try:  # one spelling of an IDN: xn--bckerei-mller-bfb28a.de is bäckerei-müller.de
        domain = idna.decode(idna.encode(f"{parts.domain}.{parts.suffix}", uts46=True))
    except idna.IDNAError:
        return None
    return None if domain in FREE_MAIL_DOMAINS else domain


def name_key(name: str) -> str:
    """A company name with its legal forms, accents, punctuation, case, "the" and "and" taken
    off."""
    text = unicodedata.normalize("NFKD", (name or "").casefold())
    text = "".join(c for c in text if not unicodedata.combining(c)).translate(_FOLD)
    text = re.sub("['\u2018\u2019`\u00b4]", "", text)  # O'Brien = OBrien, McKenna's = McKennas
    text = re.sub(r"[()\[\]]", " ", text)  # "(Pty) Ltd"
    text = re.sub(r"\b(\w)\.\s+(?=\w\.)", r"\1.", text)  # "s. r. o." = "s.r.o."
    previous = None
    while text != previous:  # "GmbH & Co. KG", "Co., Ltd.": one legal form after another
        previous, text = text, custom_basename(text, _TERMS)
    words = re.sub(r"[^\w\s]", " ", text).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words if w not in _STOPWORDS)


def name_score(key_a: str, key_b: str) -> int:
    """The worst word: the two names' words paired off best pair first, each pair scored by
    rapidfuzz's ratio; 0 if one name has more words. A one-letter change in a short word is
    another company ("Summit Health" / "Summit Wealth"), not a spelling. Names equal but for
    spaces ("BlueRidge" / "Blue Ridge") score 100."""
    from rapidfuzz import fuzz

    if key_a.replace(" ", "") == key_b.replace(" ", ""):
        return 100
    words_a, words_b = key_a.split(), key_b.split()
    if not words_a or len(words_a) != len(words_b):
        return 0
    pairs = sorted(
        ((fuzz.ratio(a, b), i, j) for i, a in enumerate(words_a) for j, b in enumerate(words_b)),
        reverse=True,
    )
    worst, used_a, used_b = 100.0, set(), set()
    for score, i, j in pairs:
        if i not in used_a and j not in used_b:
            worst = min(worst, score)
            used_a.add(i)
            used_b.add(j)
    return int(round(worst))


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
