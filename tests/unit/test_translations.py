"""The German catalogue covers every marked string of the code and the templates.

The strings are extracted afresh from the sources here (Babel's API, in this process, with
``babel.cfg`` and the keywords ``make translations`` passes), so a string marked since the last
``make translations`` fails this test until it is translated: run ``make translations``, then
translate what ``translations/todo.py dump de todo.json`` lists.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from portal import i18n
from portal.config import PROJECT_ROOT

PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[sd]")


def keywords() -> dict:
    """Babel's default keywords and those the Makefile's ``translations`` rule adds."""
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    rule = makefile[makefile.index("\ntranslations:") :]
    added = re.findall(r"-k (\S+)", rule.split("\n\n")[0])
    assert "_l" in added, "the Makefile's translations rule no longer extracts _l(...)"
    found = dict(DEFAULT_KEYWORDS)
    for keyword in added:
        name, _, spec = keyword.partition(":")
        found[name] = tuple(int(n) for n in spec.split(",")) if spec else None
    return found


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    with (PROJECT_ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PROJECT_ROOT), method_map, options_map, keywords=keywords()
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


@pytest.fixture(scope="module")
def german() -> Catalog:
    with (i18n.TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale="de")


def _where(message) -> str:
    return ", ".join(f"{path}:{line}" for path, line in message.locations[:2])


def test_the_templates_and_the_code_are_extracted(extracted):
    paths = {path for message in extracted for path, _ in message.locations}
    assert any(p.startswith("templates/") for p in paths), "no template strings extracted"
    for package in ("portal/", "partners/", "selfservice/", "feedback/"):
        assert any(p.startswith(package) for p in paths), f"nothing extracted from {package}"
    assert extracted.get("Sign out") is not None  # {{ _("Sign out") }} in templates/base.html
    assert len(extracted) > 1500


def test_every_marked_string_has_a_german_translation(extracted, german):
    missing, untranslated, fuzzy, placeholders = [], [], [], []
    for message in extracted:
        if not message.id:
            continue
        found = german.get(message.id, context=message.context)
        single = message.id[0] if isinstance(message.id, tuple) else message.id
        if found is None:
            missing.append(f"{single!r} ({_where(message)})")
            continue
        forms = found.string if isinstance(found.string, tuple) else (found.string,)
        if not all(forms):
            untranslated.append(f"{single!r} ({_where(message)})")
        elif found.fuzzy:
            fuzzy.append(f"{single!r} ({_where(message)})")
        else:
            sources = message.id if isinstance(message.id, tuple) else (message.id,)
            # German has two forms, like English: each keeps its source's placeholders.
            for form, source in zip(forms, sources, strict=True):
                if set(PLACEHOLDER.findall(form)) != set(PLACEHOLDER.findall(source)):
                    placeholders.append(f"{source!r} -> {form!r}")
    problems = {
        "not in the catalogue (run make translations)": missing,
        "untranslated": untranslated,
        "fuzzy (check and clear the flag)": fuzzy,
        "placeholders differ": placeholders,
    }
    report = "\n".join(
        f"{len(items)} {what}:\n  " + "\n  ".join(items[:30])
        for what, items in problems.items()
        if items
    )
    assert not report, "German catalogue incomplete (fill it with translations/todo.py):\n" + report


def test_the_catalogue_compiles_and_speaks_german(tmp_path, german):
    target = tmp_path / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    po = i18n.TRANSLATIONS / "de" / "LC_MESSAGES" / "messages.po"
    (target / "messages.po").write_bytes(po.read_bytes())
    assert i18n.compile_catalogues(tmp_path) == [target / "messages.mo"]
    assert i18n.compile_catalogues(tmp_path) == []  # up to date: left alone
    from babel.support import Translations

    translations = Translations.load(str(tmp_path), ["de"])
    assert translations.gettext("Sign out") == german.get("Sign out").string != "Sign out"


def test_supported_languages():
    assert i18n.supported("de") == "de"
    assert i18n.supported("de-AT") == "de"
    assert i18n.supported("en_GB") == "en"
    assert i18n.supported("fr") is None
    assert i18n.supported(None) is None
