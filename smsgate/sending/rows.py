"""Model instances from plain SQL rows, and values sent to Postgres as one JSON parameter.

The dispatcher runs a few statements per message; the ORM's compiling and
RawQuerySet's column matching cost more than running them. These helpers
build instances straight from a cursor's rows with the fields' converters,
and write many rows as one JSON document (one json.dumps in C instead of
psycopg quoting every value in Python).
"""

import functools
import json
import uuid
from datetime import datetime
from decimal import Decimal

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model


class Columns:
    """The concrete columns of `model` under a table alias, and how to turn a row of them into an instance."""

    def __init__(self, model: type[Model], alias: str):
        fields = model._meta.concrete_fields
        self.model = model
        self.count = len(fields)
        self.sql = ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields)
        self._attnames = [f.attname for f in fields]
        self._converters = [
            (index, converters, f.cached_col) for index, f in enumerate(fields)
            if (converters := f.get_db_converters(connection) + connection.ops.get_db_converters(f.cached_col))
        ]

    def instance(self, values) -> Model:
        if self._converters:
            values = list(values)
            for index, converters, expression in self._converters:
                for converter in converters:
                    values[index] = converter(values[index], expression, connection)
        return self.model.from_db(DEFAULT_DB_ALIAS, self._attnames, values)


@functools.cache
def columns(model: type[Model], alias: str) -> Columns:
    return Columns(model, alias)


def as_json(value) -> str:
    """`value` as JSON that Postgres reads back into each column's type (jsonb_populate_record and the like)."""
    return json.dumps(value, default=_json_value)


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()  # full precision, with its offset
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to the database as JSON")
