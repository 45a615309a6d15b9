"""One session per request, the declarative ``Base``, and the tenant wall (the engine and its
per-database settings are ``portal.engine``).

The tenant wall is one mechanism for the whole application: a ``do_orm_execute`` listener adds
``with_loader_criteria(Model, Model.visible_to(principal))`` to every ORM SELECT, UPDATE and
DELETE for every model that declares a visibility rule, and a ``before_flush`` listener stamps
and checks the organisation of new rows. A session with no principal sees no tenant rows at all
(fail closed); code that must see everything says so with ``with unscoped(session):``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask import Flask, abort, current_app, g, has_app_context
from sqlalchemy import (
    DateTime,
    ForeignKey,
    MetaData,
    event,
    false,
    inspect,
    select,
    text,
    true,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    RelationshipProperty,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from portal.engine import make_engine

if TYPE_CHECKING:
    from portal.tenancy import Principal

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every database (SQLite has no time zones, so it stores naive UTC).

    Naive datetimes are refused: a time without a zone is a bug waiting for a DST change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use portal.clock.utcnow() or an aware value")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


# Tables that carry no organisation id, each with the reason. A test fails for any table that is
# neither tenant-owned (an ``org_id`` foreign key to organizations) nor listed here.
GLOBAL_TABLES: dict[str, str] = {}

# Database objects that migrations create and no model describes (a full-text index: SQLite FTS5
# tables with their shadow tables, a PostgreSQL expression index). ``db check`` leaves them out.
UNMODELLED_OBJECTS: set[str] = set()


def global_table(reason: str):
    """Class decorator: declare a model's table global (not owned by one organisation)."""

    def mark(cls):
        GLOBAL_TABLES[cls.__tablename__] = reason
        return cls

    return mark


class TenantOwned:
    """Mixin for every row that belongs to one organisation.

    ``visible_to`` is the model's visibility rule; override it where a model is seen by more than
    its owner (leads offered to partners, cases of managed customers). It must return a SQL
    expression built from plain values: it becomes a bound-parameter criterion on every query.
    """

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )

    @classmethod
    def visible_to(cls, principal: Principal) -> ColumnElement[bool]:
        if principal.is_vendor_staff:
            return true()
        return cls.org_id == principal.org_id

    @classmethod
    def creatable_by(cls, principal: Principal, org_id: int) -> bool:
        """May ``principal`` create a row of this model owned by ``org_id``?"""
        return principal.is_vendor_staff or org_id == principal.org_id


class VendorOnly:
    """Mixin: rows only vendor staff read (figures, analytics, the vendor's own configuration),
    whoever owns them. Put it before ``TenantOwned`` so that its rule is the one used."""

    @classmethod
    def visible_to(cls, principal: Principal) -> ColumnElement[bool]:
        return true() if principal.is_vendor_staff else false()


class TenantViolation(RuntimeError):
    """Code tried to write a row into an organisation its principal may not write to."""


_UNSCOPED = "tenant_unscoped"
# While a read_across block is open, its savepoint would undo what the shared session flushes.
_READING_ACROSS = "tenant_reading_across"
_PRINCIPAL = "tenant_principal"


_scoped_models_cache: tuple[int, list[type]] = (0, [])


def scoped_models() -> list[type]:
    """Every mapped class that declares a visibility rule (cached: this runs on every query)."""
    global _scoped_models_cache
    mappers = Base.registry.mappers
    if _scoped_models_cache[0] != len(mappers):
        models = [m.class_ for m in mappers if hasattr(m.class_, "visible_to")]
        _scoped_models_cache = (len(mappers), models)
    return _scoped_models_cache[1]


@contextmanager
def unscoped(session: Session | None = None) -> Iterator[Session]:
    """Let ``session`` see and write every organisation's rows for the duration of the block.

    For migrations, CLI commands, jobs and the few identity lookups that happen before anyone is
    signed in. Every use is a place to review. What the block added is flushed before it ends.
    """
    session = session if session is not None else db.session
    # What the caller added before the block is checked by the wall now, not waved through by an
    # autoflush inside the block.
    session.flush()
    previous = session.info.get(_UNSCOPED, False)
    session.info[_UNSCOPED] = True
    try:
        yield session
        # Rows added inside the block are written inside it: after it, the wall would refuse them.
        session.flush()
    finally:
        session.info[_UNSCOPED] = previous


@contextmanager
def walled(session: Session | None = None) -> Iterator[Session]:
    """The tenant wall back up for the block, inside an ``unscoped()`` one: what runs here (the
    subscribers of an event published by a reviewed cross-organisation write) sees and writes
    only what the session's principal may. A no-op where the wall is already up."""
    session = session if session is not None else db.session
    previous = session.info.get(_UNSCOPED, False)
    if not previous:
        yield session
        return
    session.flush()  # what the unscoped caller wrote, written as it was allowed to
    session.info[_UNSCOPED] = False
    try:
        yield session
        session.flush()  # what the block added is checked by the wall
    finally:
        session.info[_UNSCOPED] = previous


@contextmanager
def read_across(session: Session | None = None) -> Iterator[Session]:
    """A short-lived session that sees every organisation, for what must be read past the wall
    (whom to tell, a reviewed lookup). It shares the shared session's connection and transaction,
    so it sees rows written moments ago, but has an identity map of its own: nothing read here
    is ever handed out later by the request's scoped session. Take plain values out of it, not
    objects (they are detached when the block ends). Its work is undone at the end (a savepoint
    rolled back): it is for reading."""
    shared = session if session is not None else db.session
    shared.flush()  # what the caller wrote so far is seen (and not undone with the savepoint)
    reader = Session(
        bind=shared.connection(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )
    reader.info[_UNSCOPED] = True
    shared.info[_READING_ACROSS] = shared.info.get(_READING_ACROSS, 0) + 1
    try:
        yield reader
    finally:
        shared.info[_READING_ACROSS] -= 1
        reader.close()


def set_principal(session: Session, principal: Principal | None) -> None:
    """Bind the session to one principal. A session never switches from one principal to another,
    because its identity map would hand out objects loaded for the previous one."""
    current = session.info.get(_PRINCIPAL)
    if current is not None and current != principal:
        raise TenantViolation("a session cannot switch principal; open a new session")
    session.info[_PRINCIPAL] = principal


def session_principal(session: Session) -> Principal | None:
    return session.info.get(_PRINCIPAL)


# PostgreSQL row-level security, the second wall: the policies (migration 0002) read two
# transaction-local settings that follow the session's scope. ``all`` is an unscoped session or
# vendor staff, ``org`` one organisation, ``none`` nobody (an anonymous session).


def _database_scope(session: Session) -> tuple[str, str]:
    if session.info.get(_UNSCOPED):
        return ("all", "")
    principal = session.info.get(_PRINCIPAL)
    if principal is None:
        return ("none", "")
    return ("all" if principal.is_vendor_staff else "org", str(principal.org_id))


def _sync_database_scope(session: Session, connection=None) -> None:
    connection = connection if connection is not None else session.connection()
    if connection.dialect.name != "postgresql":
        return
    wanted = _database_scope(session)
    if connection.info.get("tenant_scope") == wanted:
        return
    connection.execute(
        text("SELECT set_config('app.scope', :scope, true), set_config('app.org_id', :org, true)"),
        {"scope": wanted[0], "org": wanted[1]},
    )
    connection.info["tenant_scope"] = wanted


@event.listens_for(Session, "after_begin")
def _scope_new_transaction(session: Session, transaction, connection) -> None:
    connection.info.pop("tenant_scope", None)  # set_config(..., true) ended with the last one
    _sync_database_scope(session, connection)


@event.listens_for(Session, "do_orm_execute")
def _apply_tenant_wall(state) -> None:
    _sync_database_scope(state.session)
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.session.info.get(_UNSCOPED):
        return
    principal = state.session.info.get(_PRINCIPAL)
    wall = _wall_for(principal)
    options = wall.options_for(_touched_mappers(state.statement))
    if options:
        state.statement = state.statement.options(*options)


# The wall's criteria, built once per principal and reused. ``with_loader_criteria`` applies to
# an entity wherever it appears in the statement (its FROM list, joins, subqueries, the joined
# eager loads of its relationships); an option for an entity that does not appear changes
# nothing. So each statement gets the options of the entities it touches only: the mappers of
# the tables it names, those of its loader options' paths, those its joined eager loads reach,
# and, closing over them, those the added criteria name themselves (a rule's subquery). Lazy and
# selectin loads are statements of their own and pass through this hook again.


class _Wall:
    """The loader criteria of one principal (None: a visitor), built on first use per model."""

    __slots__ = ("principal", "built")

    def __init__(self, principal: Principal | None) -> None:
        self.principal = principal
        self.built: dict[type, tuple[object, frozenset]] = {}

    def _build(self, model: type) -> tuple[object, frozenset]:
        principal = self.principal
        rule = model.visible_to(principal) if principal is not None else _anonymous_rule(model)
        option = with_loader_criteria(model, rule, include_aliases=True)
        entry = (option, frozenset(_mappers_named_in(rule)))
        self.built[model] = entry
        return entry

    def options_for(self, mappers: set) -> list:
        scoped = _scoped_by_mapper()
        options, seen, todo = [], set(), list(mappers)
        while todo:
            mapper = todo.pop()
            if mapper in seen:
                continue
            seen.add(mapper)
            todo.extend(_joined_targets(mapper))
            model = scoped.get(mapper)
            if model is None:
                continue
            option, named = self.built.get(model) or self._build(model)
            options.append(option)
            todo.extend(named)
        return options


_WALLS: OrderedDict[tuple, _Wall] = OrderedDict()
_WALLS_MAX = 512  # principals kept per process; the least recently used one is dropped


def _wall_for(principal: Principal | None) -> _Wall:
    key = (_mapper_count(), principal.wall_key if principal is not None else None)
    wall = _WALLS.get(key)
    if wall is None:
        wall = _WALLS[key] = _Wall(principal)
        while len(_WALLS) > _WALLS_MAX:
            _WALLS.popitem(last=False)
    else:
        with suppress(KeyError):  # another thread may have dropped it meanwhile
            _WALLS.move_to_end(key)
    return wall


_mapper_maps: tuple[int, dict, dict, dict] = (0, {}, {}, {})


def _mapper_count() -> int:
    """How many classes are mapped (cheap: ``registry.mappers`` builds a set on every read)."""
    return len(Base.registry._managers)


def _maps() -> tuple[int, dict, dict, dict]:
    """(mapper count, table -> mappers, mapper -> scoped model, mapper -> joined targets)."""
    global _mapper_maps
    if _mapper_maps[0] != _mapper_count():
        mappers = Base.registry.mappers
        by_table: dict = {}
        for mapper in mappers:
            for table in mapper.tables:
                by_table.setdefault(table, []).append(mapper)
        scoped = {m: m.class_ for m in mappers if hasattr(m.class_, "visible_to")}
        joined = {
            m: tuple(r.mapper for r in m.relationships if r.lazy == "joined") for m in mappers
        }
        _mapper_maps = (_mapper_count(), by_table, scoped, joined)
    return _mapper_maps


def _scoped_by_mapper() -> dict:
    return _maps()[2]


def _joined_targets(mapper) -> tuple:
    return _maps()[3].get(mapper, ())


def _mappers_named_in(element) -> set:
    """The mappers whose tables (or annotated entities) appear anywhere in ``element``:
    FROM lists, joins (also through a relationship), WHERE subqueries, columns."""
    by_table = _maps()[1]
    found: set = set()
    tables: set = set()
    for node in visitors.iterate(element):
        annotations = getattr(node, "_annotations", None)
        if annotations:
            mapper = annotations.get("parentmapper")
            if mapper is not None:
                found.add(mapper)
        visit = node.__visit_name__
        if visit == "table":
            tables.add(node)
        elif visit == "column":
            table = node.table
            if table is not None and table.__visit_name__ == "table":
                tables.add(table)
    for table in tables:
        found.update(by_table.get(table, ()))
    return found


def _touched_mappers(statement) -> set:
    found = _mappers_named_in(statement)
    for join in getattr(statement, "_setup_joins", ()):
        for part in join[:3]:  # target, onclause, from: a relationship or an of_type() entity
            prop = getattr(part, "property", None)
            if isinstance(prop, RelationshipProperty):
                found.add(prop.mapper)
            entity = getattr(part, "_of_type", None)
            if entity is not None:
                found.add(inspect(entity).mapper)
    for option in getattr(statement, "_with_options", ()):
        for load in getattr(option, "context", ()):  # loader options: joinedload(A.b) ...
            for element in getattr(load, "path", ()):
                mapper = getattr(element, "mapper", None)
                if mapper is not None:
                    found.add(mapper)
    return found


def _anonymous_rule(model: type) -> ColumnElement[bool]:
    """Nothing, unless a model says what a visitor who is not signed in may see (published
    public help-centre articles): ``visible_to_anonymous()``."""
    rule = getattr(model, "visible_to_anonymous", None)
    return rule() if rule is not None else false()


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, flush_context, instances) -> None:
    if session.info.get(_READING_ACROSS) and (session.new or session.dirty or session.deleted):
        raise TenantViolation("write after the read_across block: its savepoint would undo it")
    _sync_database_scope(session)
    unscoped_session = session.info.get(_UNSCOPED)
    principal = session.info.get(_PRINCIPAL)
    for obj in session.new:
        if not isinstance(obj, TenantOwned):
            continue
        if obj.org_id is None and principal is not None:
            obj.org_id = principal.org_id
        if unscoped_session:
            continue
        if principal is None or not type(obj).creatable_by(principal, obj.org_id):
            raise TenantViolation(
                f"{type(obj).__name__} for organisation {obj.org_id} refused for {principal}"
            )


class Database:
    """The engine and session factory of one app; ``db.session`` is this context's session."""

    def init_app(self, app: Flask) -> None:
        engine = make_engine(app.config["DATABASE_URL"], role=app.config.get("DATABASE_ROLE"))
        app.extensions["db"] = _AppDatabase(
            engine, sessionmaker(bind=engine, expire_on_commit=False)
        )
        app.teardown_appcontext(self._close_session)
        from portal import replica  # DATABASE_REPLICA_URL: dashboards and exports read there

        replica.init_app(app)

    @staticmethod
    def state() -> _AppDatabase:
        return current_app.extensions["db"]

    @property
    def engine(self) -> Engine:
        return self.state().engine

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            state = self.state()
            chosen = state.replica_session() if state.replica_session else None  # portal.replica
            g.db_session = chosen or state.session_factory()
        return g.db_session

    def new_session(self) -> Session:
        """A session outside the request's, for jobs and CLI commands (close it yourself)."""
        return self.state().session_factory()

    @staticmethod
    def _close_session(exc: BaseException | None) -> None:
        session = g.pop("db_session", None) if has_app_context() else None
        if session is not None:
            session.close()


class _AppDatabase:
    def __init__(self, engine: Engine, session_factory: sessionmaker) -> None:
        self.engine = engine
        self.session_factory = session_factory
        self.replica_session = None  # portal.replica: a replica session for this request, or None


db = Database()


def get_or_404(model: type, object_id: int):
    """Load one row through the tenant wall; a row that is not visible is a 404, like a missing one.

    Always a SELECT (never the identity map's shortcut), so the visibility rule applies.
    """
    obj = db.session.scalars(select(model).where(model.id == object_id)).one_or_none()
    if obj is None:
        abort(404)
    return obj


def lock_row(record) -> None:
    """Hold ``record``'s row until the transaction ends and read it afresh, so that a change
    that must not fail because another request changed the row a moment before (two replies on
    one case) waits its turn instead of raising StaleDataError. PostgreSQL: SELECT ... FOR
    UPDATE; SQLite leaves the clause out, and a writing request holds its one write lock
    already."""
    db.session.refresh(record, with_for_update=True)
