"""Routes declared in a module and added to a blueprint when a package registers.

Where one blueprint's routes live in several modules (the API's, one module per feature; the
identity pages and their administration), each module declares a ``Routes`` table and the
package's ``init_app`` adds it to the blueprint: no module is imported for the side effect of
decorating someone else's blueprint, and the order is the one ``init_app`` writes down.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint


class Routes:
    """A table of routes, used like a blueprint's decorators (``@routes.get("/x")``)."""

    def __init__(self) -> None:
        self._rules: list[tuple[str, str | None, Callable, dict]] = []
        self._added_to: set[int] = set()

    def route(self, rule: str, endpoint: str | None = None, **options) -> Callable:
        def record(view: Callable) -> Callable:
            self._rules.append((rule, endpoint, view, options))
            return view

        return record

    def get(self, rule: str, **options) -> Callable:
        return self.route(rule, methods=["GET"], **options)

    def post(self, rule: str, **options) -> Callable:
        return self.route(rule, methods=["POST"], **options)

    def put(self, rule: str, **options) -> Callable:
        return self.route(rule, methods=["PUT"], **options)

    def patch(self, rule: str, **options) -> Callable:
        return self.route(rule, methods=["PATCH"], **options)

    def delete(self, rule: str, **options) -> Callable:
        return self.route(rule, methods=["DELETE"], **options)

    def add_to(self, blueprint: Blueprint) -> None:
        """Add every route to ``blueprint``, once (a blueprint outlives one app in tests)."""
        if id(blueprint) in self._added_to:
            return
        self._added_to.add(id(blueprint))
        for rule, endpoint, view, options in self._rules:
            blueprint.add_url_rule(rule, endpoint or view.__name__, view, **dict(options))
