"""What is left to translate, out to JSON and back (after `make translations`).

    .venv/bin/python translations/todo.py status              counts per language
    .venv/bin/python translations/todo.py dump de todo.json   untranslated and fuzzy messages
    .venv/bin/python translations/todo.py merge de todo.json done.json

``dump`` writes a list of ``{"n", "msgid", "msgid_plural", "context", "suggestion", "where"}``
(``suggestion``: a fuzzy entry's near-match translation, to be checked). ``done.json`` is an
object from each ``n`` (as a string) to its translation, a list of the singular and plural forms
for a plural message. ``merge`` refuses a translation whose ``%(name)s`` placeholders differ
from the msgid's, and clears the fuzzy flag of what it merges.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[sd]")


def placeholders(text: str) -> set[str]:
    """The ``%(name)s`` (and bare ``%s``) placeholders of a message."""
    return set(PLACEHOLDER.findall(text))


def catalog_path(language: str) -> Path:
    return HERE / language / "LC_MESSAGES" / "messages.po"


def load(language: str):
    with catalog_path(language).open("rb") as file:
        return read_po(file, locale=language)


def save(language: str, catalog) -> None:
    with catalog_path(language).open("wb") as file:
        write_po(file, catalog, width=0, sort_by_file=True, ignore_obsolete=True)


def open_messages(catalog):
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            yield message


def status() -> None:
    for po in sorted(HERE.glob("*/LC_MESSAGES/messages.po")):
        language = po.parent.parent.name
        catalog = load(language)
        total = sum(1 for m in catalog if m.id)
        left = list(open_messages(catalog))
        fuzzy = sum(1 for m in left if m.fuzzy)
        print(
            f"{language}: {total - len(left)} of {total} translated, "
            f"{len(left) - fuzzy} untranslated, {fuzzy} fuzzy"
        )


def dump(language: str, out: str) -> None:
    entries = []
    for n, message in enumerate(open_messages(load(language)), 1):
        single, plural = (message.id if isinstance(message.id, tuple) else (message.id, None))[:2]
        entries.append(
            {
                "n": n,
                "msgid": single,
                "msgid_plural": plural,
                "context": message.context,
                "suggestion": message.string if message.fuzzy else None,
                "where": [f"{path}:{line}" for path, line in message.locations[:2]],
            }
        )
    Path(out).write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(entries)} messages to translate in {out}")


def merge(language: str, todo: str, done: str) -> None:
    entries = {str(e["n"]): e for e in json.loads(Path(todo).read_text(encoding="utf-8"))}
    translations = json.loads(Path(done).read_text(encoding="utf-8"))
    catalog = load(language)
    merged, refused = 0, []
    for n, text in translations.items():
        entry = entries[n]
        key = (entry["msgid"], entry["msgid_plural"]) if entry["msgid_plural"] else entry["msgid"]
        message = catalog.get(key, context=entry["context"])
        if message is None:
            refused.append(f"{n}: no longer in the catalogue")
            continue
        forms = tuple(text) if entry["msgid_plural"] else (text,)
        sources = [entry["msgid"]] + ([entry["msgid_plural"]] if entry["msgid_plural"] else [])
        if (
            len(forms) != len(sources)
            or not all(forms)
            or not all(
                placeholders(f) == placeholders(s) for f, s in zip(forms, sources, strict=True)
            )
        ):
            refused.append(f"{n}: {entry['msgid']!r} -> {text!r}")
            continue
        message.string = forms if entry["msgid_plural"] else forms[0]
        message.flags.discard("fuzzy")
        merged += 1
    save(language, catalog)
    print(f"{merged} merged, {len(refused)} refused")
    for line in refused:
        print("  refused", line)


if __name__ == "__main__":
    command, *args = sys.argv[1:] or ["status"]
    {"status": status, "dump": dump, "merge": merge}[command](*args)
