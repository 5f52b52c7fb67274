"""A migration operation for changing the indexes of big tables on Postgres without blocking writes.

Django builds an index with a plain CREATE INDEX, which blocks every write to
the table while it is built, and it drops and re-adds a foreign key to change
its index, checking every row under a lock. On the message table that is an
outage of sending. `ConcurrentlyOnPostgres` keeps the migration's state
operations as Django wrote them, and runs hand-written statements instead
(CREATE/DROP INDEX CONCURRENTLY; the migration must be `atomic = False`).
smsgate runs on Postgres only, in development too.
"""

from django.db import migrations


def build_index(table: str, name: str, definition: str) -> list[str]:
    """Statements that (re)build an index concurrently; a build that failed earlier left an invalid one to drop."""
    return [drop_index(name), f'CREATE INDEX CONCURRENTLY "{name}" ON "{table}" {definition}']


def drop_index(name: str) -> str:
    return f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"'


class ConcurrentlyOnPostgres(migrations.operations.base.Operation):
    reversible = True
    reduces_to_sql = True

    def __init__(self, operations, postgres_forwards, postgres_backwards):
        self.operations = operations
        self.postgres_forwards = postgres_forwards
        self.postgres_backwards = postgres_backwards

    def deconstruct(self):
        return self.__class__.__qualname__, [self.operations, self.postgres_forwards, self.postgres_backwards], {}

    def state_forwards(self, app_label, state):
        for operation in self.operations:
            operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._execute(schema_editor, self.postgres_forwards)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._execute(schema_editor, self.postgres_backwards)

    @staticmethod
    def _execute(schema_editor, statements):
        if schema_editor.connection.in_atomic_block:
            raise RuntimeError("ConcurrentlyOnPostgres needs a migration with atomic = False")
        for statement in statements:
            schema_editor.execute(statement)

    def describe(self):
        return "Change indexes concurrently: " + "; ".join(op.describe() for op in self.operations)
