"""The platform's rules, read from the code (docs/architecture.md): statuses change only through
``portal.workflow.transition``; role names live in ``portal/access.py``; services know no request;
nothing is imported for its side effect; every ``unscoped()`` says why, and there are few."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from portal import access

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "partners", "selfservice", "feedback")
ROLE_NAMES = set(access.ROLES)
# 28: a person's erasure reaches every organisation's copies (portal.identity.personal_data).
MAX_UNSCOPED = 28


def source_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{node.lineno}"


def status_assignments(path: Path, tree: ast.Module, attributes: set[str]) -> list[str]:
    """``x.status = ...``, ``x.status, y = ...``, ``setattr(x, "status", ...)``,
    ``.values(status=...)`` and ``.values({Model.status: ...})``. A class that sets its own
    ``self.status`` in ``__init__`` is no record (an HTTP problem's status code)."""
    found = []
    constructors = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
        for inner in ast.walk(node)
    }

    def targets(node):
        if isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                yield from targets(element)
        else:
            yield node

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            for target in targets(node.targets[0] if isinstance(node, ast.Assign) else node.target):
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr in attributes
                    and not (id(node) in constructors and getattr(target.value, "id", "") == "self")
                ):
                    found.append(where(path, node))
            if isinstance(node, ast.Assign):
                for target in node.targets[1:]:
                    if isinstance(target, ast.Attribute) and target.attr in attributes:
                        found.append(where(path, node))
        elif isinstance(node, ast.Call):
            name = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if (
                name == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value in attributes
            ):
                found.append(where(path, node))
            if name == "values":
                if any(k.arg in attributes for k in node.keywords):
                    found.append(where(path, node))
                for arg in node.args:
                    if isinstance(arg, ast.Dict) and any(
                        isinstance(k, ast.Attribute) and k.attr in attributes for k in arg.keys
                    ):
                        found.append(where(path, node))
    return found


def test_no_status_is_assigned_outside_the_transition_function(app):
    from portal.workflow import stateful_models, workflow_of

    attributes = {workflow_of(model).attribute for model in stateful_models()}
    assert attributes, "no model declares a workflow"
    found = []
    for path in source_files():
        if path == ROOT / "portal" / "workflow.py":
            continue
        found += status_assignments(path, parsed(path), attributes)
    assert found == [], "statuses assigned outside portal.workflow.transition:\n" + "\n".join(found)


def test_the_static_check_finds_each_form_of_assignment(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "deal.status = 'won'\n"
        "deal.status, deal.closed_at = 'won', now\n"
        "setattr(deal, 'status', 'won')\n"
        "update(Deal).values(status='won')\n"
        "update(Deal).values({Deal.status: 'won'})\n"
        "deal.other = 1\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert len(status_assignments(sample, parsed(sample), {"status"})) == 5
    finally:
        ROOT = saved


def test_role_names_appear_only_in_the_access_table():
    found = []
    for path in source_files():
        if path == ROOT / "portal" / "access.py":
            continue
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Constant) and node.value in ROLE_NAMES:
                found.append(f"{where(path, node)} {node.value!r}")
    assert found == [], "role names outside portal/access.py:\n" + "\n".join(found)


def service_modules() -> list[Path]:
    return [
        p
        for p in source_files()
        if p.name == "services.py" or p.parent.name == "services" or p.name == "tick.py"
    ]


def test_services_know_no_request():
    found = []
    for path in service_modules():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.ImportFrom) and node.module == "flask":
                bad = {a.name for a in node.names} & {"request", "url_for", "session", "g"}
                if bad:
                    found.append(f"{where(path, node)} imports {sorted(bad)} from flask")
    assert found == [], "\n".join(found)


def test_services_and_jobs_take_no_session_argument():
    found = []
    for path in service_modules():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.FunctionDef):
                names = [a.arg for a in node.args.args + node.args.kwonlyargs]
                if "session" in names:
                    found.append(f"{where(path, node)} {node.name}(session ...)")
    assert found == [], "services share db.session:\n" + "\n".join(found)


def test_nothing_is_imported_for_its_side_effect():
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in source_files()
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"noqa:[^#]*F401", line)
    ]
    assert found == [], "imports kept for their side effect:\n" + "\n".join(found)


def unscoped_uses() -> list[tuple[str, str]]:
    uses = []
    for path in source_files():
        lines = path.read_text().splitlines()
        for node in ast.walk(parsed(path)):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "unscoped"
            ):
                uses.append((where(path, node), lines[node.lineno - 1]))
    return uses


def test_every_unscoped_block_says_why_and_they_are_few():
    uses = unscoped_uses()
    silent = [f"{at}: {line.strip()}" for at, line in uses if "# reason:" not in line]
    assert silent == [], "unscoped() without '# reason: ...' on its line:\n" + "\n".join(silent)
    assert len(uses) <= MAX_UNSCOPED, f"{len(uses)} unscoped() blocks (at most {MAX_UNSCOPED})"


@pytest.mark.parametrize("package", ["partners", "selfservice", "feedback"])
def test_each_feature_package_registers_in_one_init_app(package):
    import importlib

    module = importlib.import_module(package)
    assert callable(getattr(module, "init_app", None))
