"""Notifications are written in each recipient's language (``portal.notify.services.notify``
renders lazy strings under ``force_locale`` per recipient). A title or body translated eagerly
with ``_()`` where the notification is made comes out in the language of whoever caused it: this
reads the code and fails on any such call, so it cannot come back.

Checked: the arguments of ``tell(...)``, ``notify(...)`` and the features' own ``tell_*`` /
``_tell_*`` helpers, and the values those arguments name when they are local variables assigned
in the same function; inside a lazy ``_l(...)``, its parameters too (``state=_(status)`` would
fix the nested word in the causer's language)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "partners", "selfservice", "feedback")
EAGER = {"_", "gettext", "ngettext", "pgettext"}
LAZY = {"_l", "lazy_gettext", "lazy_ngettext", "lazy_pgettext"}


def source_files(root: Path = ROOT) -> list[Path]:
    return sorted(p for package in PACKAGES for p in (root / package).rglob("*.py"))


def called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def is_teller(call: ast.Call) -> bool:
    name = called_name(call)
    return name in {"tell", "notify"} or name.startswith(("tell_", "_tell_"))


def rendered_now(node: ast.AST) -> bool:
    """A lazy string's parameter turned into text at once: ``str(label)``, or a date or amount
    formatted by ``portal.formatting`` (``notify.lazy(formatting.date, day)`` waits)."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "str") or (
        isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "formatting"
    )


def eager_calls(node: ast.AST, assigned: dict[str, list[ast.AST]], seen=frozenset()):
    """The eager translation calls in ``node`` (and the parameters ``rendered_now`` of the lazy
    strings in it): itself, in a lazy string's parameters, in either
    text of a conditional, in a ``+`` or ``%``, in a table of texts it picks from, and in what a
    local name it uses was assigned (``=``, ``+=``) in the same function."""
    if isinstance(node, ast.Call):
        name = called_name(node)
        if name in EAGER:
            yield node
        elif name in LAZY:
            for keyword in node.keywords:
                if rendered_now(keyword.value):
                    yield keyword.value
                yield from eager_calls(keyword.value, assigned, seen)
    elif isinstance(node, ast.IfExp):
        yield from eager_calls(node.body, assigned, seen)
        yield from eager_calls(node.orelse, assigned, seen)
    elif isinstance(node, ast.BinOp):
        yield from eager_calls(node.left, assigned, seen)
        yield from eager_calls(node.right, assigned, seen)
    elif isinstance(node, ast.Subscript):
        yield from eager_calls(node.value, assigned, seen)
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from eager_calls(value, assigned, seen)
    elif isinstance(node, ast.Name) and node.id not in seen:
        for value in assigned.get(node.id, []):
            yield from eager_calls(value, assigned, seen | {node.id})


def eager_notifications(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    scopes = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for scope in scopes:
        assigned: dict[str, list[ast.AST]] = {}
        for node in ast.walk(scope):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
            elif (
                isinstance(node, ast.AugAssign | ast.AnnAssign)
                and node.value is not None
                and isinstance(node.target, ast.Name)
            ):
                assigned.setdefault(node.target.id, []).append(node.value)
        for node in ast.walk(scope):
            if not (isinstance(node, ast.Call) and is_teller(node)):
                continue
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                found.extend(
                    f"{path.relative_to(root)}:{call.lineno}"
                    for call in eager_calls(argument, assigned)
                )
    return sorted(set(found))


def test_no_notification_is_translated_where_it_is_made():
    found = [hit for path in source_files() for hit in eager_notifications(path)]
    assert found == [], "use _l(...) (lazy) for a notification's title and body: " + ", ".join(
        found
    )


def test_the_static_check_finds_each_form(tmp_path):
    package = tmp_path / "portal"
    package.mkdir()
    (package / "example.py").write_text(
        "def direct(deal):\n"
        "    notify.tell('x', None, 'k', _('Deal %(n)s', n=deal.number))\n"  # 2
        "def nested(idea):\n"
        "    notify.notify([], 'k', _l('Now %(s)s', s=_(idea.status)))\n"  # 4
        "def named(offer):\n"
        "    body = _('The reason')\n"  # 6
        "    tell_partner(offer, _l('Fine'), body)\n"
        "def keyword(quote):\n"
        "    tell_owner(quote, _l('Fine'), body=_('Declined'))\n"  # 9
        "def table(case, target):\n"
        "    label = {'first': _('first response')}[target]\n"  # 11
        "    body = case.subject\n"
        "    body += _('Due at %(when)s.', when=1)\n"  # 13
        "    tell_of([], case, 'k', _l('SLA on %(t)s', t=label), body=body)\n"
        "def formatted(quote):\n"
        "    notify.notify([], 'k', _l('Until %(d)s', d=formatting.date(quote.day)))\n"  # 16
        "def fine(quote):\n"
        "    title = _l('Quote %(label)s', label=quote.label)\n"
        "    notify.notify([], 'k', title, body=_l('Valid'))\n"
        "    tell_owner(quote, _l('Until %(d)s', d=notify.lazy(formatting.date, quote.day)))\n"
    )
    assert eager_notifications(package / "example.py", tmp_path) == [
        "portal/example.py:11",
        "portal/example.py:13",
        "portal/example.py:16",
        "portal/example.py:2",
        "portal/example.py:4",
        "portal/example.py:6",
        "portal/example.py:9",
    ]
