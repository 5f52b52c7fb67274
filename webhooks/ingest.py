"""Storing TriboPay postbacks durably and fast: concurrent requests share one INSERT and one commit.

A postback is answered 200 only once its row is committed, so an accepted
postback is never lost. Committing every request on its own costs a round
trip and a WAL flush each; under load that was most of the ingest time. Here
the requests of one web process that arrive while a write is under way wait
for it, and the next write takes all of them at once (group commit, as
databases do for their own log). There is no background thread: the first
request to find no write under way does the write in its own thread, with
its own database connection and transaction, so a lone request (and every
test) simply writes its own row. In gunicorn's gevent workers the threads,
locks and events here are greenlets and gevent's (monkey-patched), so
waiting costs a switch within the process.

Postbacks are validated before they join a batch (webhooks.tribopay), so a
batch should not fail on its content. If one still does (Postgres refuses a
value: DataError), its halves are written apart, down to the single row that
fails: that request alone gets MalformedPostback (400), the others are
stored. Any other failure (the database is away) fails every request of the
batch: none of them is answered 200, and TriboPay sends them again.

On Postgres a batch is one statement; other databases (SQLite in development)
insert its rows one by one, still in one transaction.
"""

import contextlib
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import DataError, connection, transaction
from django.utils import timezone

from smsgate.models import Tenant
from webhooks.models import WebhookEvent
from webhooks.tribopay import MalformedPostback, Postback

logger = logging.getLogger(__name__)

MAX_BATCH = 500
WAIT_SECONDS = 30  # a follower gives up (500, TriboPay retries) if no write finishes by then

# One statement, and so one round trip and one commit, for any batch size: the
# rows travel as one JSON array (a single parameter: encoding it is one C call,
# where arrays of text were quoted element by element); the tenant is found by
# its slug in the same statement.
_INSERT = """
INSERT INTO {table} (tenant_id, tribopay_id, status, method, payload, source_ip,
                     received_at, attempts, outcome, detail)
SELECT tenant.id, row.tribopay_id, row.status, row.method, row.payload, row.source_ip,
       row.received_at, 0, '', ''
FROM jsonb_to_recordset(%s::jsonb)
         AS row(position int, tribopay_id text, status text, method text, payload jsonb, source_ip inet,
                received_at timestamptz)
     CROSS JOIN (SELECT id FROM {tenant_table} WHERE slug = %s) AS tenant
ORDER BY row.position
ON CONFLICT (tenant_id, tribopay_id, status) DO NOTHING
RETURNING tribopay_id, status, id
"""


@dataclass(eq=False)
class _Entry:
    postback: Postback
    payload: dict
    source_ip: str | None
    received_at: datetime
    woken: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # this entry's thread writes the next batch
    finished: bool = False
    event_id: int | None = None
    duplicate: bool = False
    error: BaseException | None = None


class GroupCommit:
    """Batches the postbacks of concurrent requests in one process into shared transactions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Entry] = []
        self._writing = False

    def store(self, postback: Postback, payload: dict, source_ip: str | None = None) -> tuple[int, bool]:
        """Store one postback for the default tenant; returns (event id, duplicate) once it is committed."""
        entry = _Entry(postback, payload, source_ip, timezone.now())
        with self._lock:
            self._pending.append(entry)
            entry.lead = not self._writing
            self._writing = True
        if not entry.lead:
            self._wait(entry)
        if entry.lead:
            while not entry.finished:
                self._write_batch()
            self._hand_over()
        if entry.error:
            raise entry.error
        return entry.event_id, entry.duplicate

    def _wait(self, entry: _Entry) -> None:
        """Wait until the entry is written, or its thread is asked to write the next batch."""
        if entry.woken.wait(WAIT_SECONDS):
            return
        with self._lock:
            if not (entry.lead or entry.finished):
                self._pending.remove(entry)
                raise TimeoutError("no postback write finished in time")

    def _write_batch(self) -> None:
        with self._lock:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        _insert_isolating_bad_rows(batch)
        for entry in batch:
            entry.finished = True
            entry.woken.set()

    def _hand_over(self) -> None:
        """Ask the first waiting request to write the next batch, or record that nobody is writing."""
        with self._lock:
            if self._pending:
                self._pending[0].lead = True
                self._pending[0].woken.set()
            else:
                self._writing = False


def _insert_isolating_bad_rows(batch: list[_Entry]) -> None:
    """Write the batch; sets `error` on the entries that could not be stored.

    A row Postgres refuses (DataError) fails only itself: the batch is written
    again in halves until the failing row stands alone, about 2 log2(n) more
    statements for one bad row among n.
    """
    try:
        with _savepoint_if_in_transaction():
            _insert(batch)
    except DataError as exc:
        if len(batch) > 1:
            middle = len(batch) // 2
            _insert_isolating_bad_rows(batch[:middle])
            _insert_isolating_bad_rows(batch[middle:])
            return
        logger.warning("Postgres refused TriboPay postback %r: %s", batch[0].postback.tribopay_id, exc)
        batch[0].error = MalformedPostback({"non_field_errors": ["The postback holds a value that cannot be stored."]})
    except Exception as exc:  # not the rows' fault: every request of the batch fails with it
        for entry in batch:
            entry.error = exc


def _savepoint_if_in_transaction():
    """Outside a transaction (as in the web server) a failed statement leaves nothing to undo; inside one
    (a caller's atomic block, a test) a failed statement must be rolled back to a savepoint to write again."""
    return transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()


def _insert(batch: list[_Entry]) -> None:
    """Write the batch in one transaction; fills in each entry's event id and duplicate flag.

    If the default tenant was deleted, the writing request recreates it: the
    waiting ones never touch the database, because a request holding a pooled
    connection while it waits could leave the writer none (DATABASE_POOL_SIZE).
    """
    try:
        _insert_in_one_statement(batch)
    except Tenant.DoesNotExist:  # postbacks must still be accepted
        default_tenant()
        _insert_in_one_statement(batch)


def default_tenant() -> Tenant:
    """The tenant TriboPay postbacks belong to (created by a migration; recreated if it was deleted)."""
    tenant, _ = Tenant.objects.get_or_create(
        slug=Tenant.DEFAULT_SLUG, defaults={"name": "Default", "default_region": settings.SMS_DEFAULT_REGION}
    )
    return tenant


def _insert_in_one_statement(batch: list[_Entry]) -> None:
    rows = json.dumps([
        {"position": position, "tribopay_id": e.postback.tribopay_id, "status": e.postback.status,
         "method": e.postback.method, "payload": e.payload, "source_ip": e.source_ip,
         "received_at": e.received_at.isoformat()}
        for position, e in enumerate(batch)
    ])
    sql = _INSERT.format(table=WebhookEvent._meta.db_table, tenant_table=Tenant._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, [rows, Tenant.DEFAULT_SLUG])
        inserted = {(tribopay_id, status): pk for tribopay_id, status, pk in cursor.fetchall()}
    for entry in batch:
        key = (entry.postback.tribopay_id, entry.postback.status)
        entry.event_id = inserted.pop(key, None)
        entry.duplicate = entry.event_id is None
        if entry.duplicate:  # stored before (a retry), or twice in this batch
            entry.event_id = _stored_event_id(*key)


def _stored_event_id(tribopay_id: str, status: str) -> int:
    """The id of an event stored before; Tenant.DoesNotExist when it is the default tenant that is missing."""
    found = WebhookEvent.objects.filter(tenant__slug=Tenant.DEFAULT_SLUG, tribopay_id=tribopay_id, status=status)
    event_id = found.values_list("pk", flat=True).first()
    if event_id is None:
        raise Tenant.DoesNotExist(f"no tenant {Tenant.DEFAULT_SLUG!r}")
    return event_id


group_commit = GroupCommit()
