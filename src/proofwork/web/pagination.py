"""Cursor pagination over (created_at, id), newest first: stable while rows are added."""

from __future__ import annotations

import base64
import datetime as dt
import functools
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import BindParameter, Select, and_, bindparam, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from proofwork.store.database import columns
from proofwork.web.errors import ApiError

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, and the cursor that fetches the next one."""

    items: list[T]
    next_cursor: str | None = None


def _encode(created_at: dt.datetime, row_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{row_id}".encode()).decode()


def _decode(cursor: str) -> tuple[dt.datetime, str]:
    try:
        stamp, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return dt.datetime.fromisoformat(stamp), row_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            422, "bad cursor: pass next_cursor from the previous page as it was"
        ) from exc


def keyset(
    query: Select[*tuple[Any, ...]],
    created_at: InstrumentedAttribute[dt.datetime],
    row_id: InstrumentedAttribute[str],
    *,
    after: bool,
) -> Select[*tuple[Any, ...]]:
    """The query newest first, one row more than bind parameter `page_limit`; with `after`,
    only rows older than bind parameters `after_at` and `after_id` (a cursor). Build it once
    and execute it with `page_of`: a statement built once is not compiled again."""
    if after:
        stamp: BindParameter[Any] = bindparam("after_at")
        last_id: BindParameter[Any] = bindparam("after_id")
        query = query.where(or_(created_at < stamp, and_(created_at == stamp, row_id < last_id)))
    return query.order_by(created_at.desc(), row_id.desc()).limit(bindparam("page_limit"))


@functools.lru_cache(maxsize=256)
def _of_one_entity(statement: Select[*tuple[Any, ...]]) -> bool:
    # Keyed on the statement object: a statement built once (the runs listing's) is looked
    # at once; one `page` builds per call only misses, and the cache stays bounded.
    return len(statement.column_descriptions) == 1


def page_of(
    session: Session,
    statement: Select[*tuple[Any, ...]],
    params: dict[str, Any],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """One page of a `keyset` statement's objects (or rows) and the cursor of the next page
    (None at the end); the rows have `created_at` and `id`."""
    values = {**params, "page_limit": limit + 1}
    if cursor:
        values["after_at"], values["after_id"] = _decode(cursor)
    # A query of one entity pages its objects; a query of columns pages its rows.
    if _of_one_entity(statement):
        rows = list(session.execute(statement, values).scalars().all())
    else:
        rows = list(columns(session, statement, values).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], _encode(last.created_at, last.id)


def page(
    session: Session,
    query: Select[Any],
    created_at: InstrumentedAttribute[dt.datetime],
    row_id: InstrumentedAttribute[str],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    """One page of the query's objects (or rows) and the cursor of the next page (None at the
    end); the rows have `created_at` and `id`."""
    statement = keyset(query, created_at, row_id, after=bool(cursor))
    return page_of(session, statement, {}, cursor=cursor, limit=limit)
