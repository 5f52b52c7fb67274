# Index definitions are compared exactly as Postgres prints them, on one line each.
# ruff: noqa: E501
"""Migrations that change indexes of big tables give the schema Django's own operations would.

smsgate 0005 and 0008 and webhooks 0003 run hand-written CREATE/DROP INDEX CONCURRENTLY on Postgres
(smsgate.migration_operations). These definitions are what Django's
operations produced before and after it; the test migrates a scratch
database forwards, backwards and forwards again, as a deploy and a rollback
would.
"""

import os
import subprocess
import sys

import psycopg
import pytest
from django.conf import settings

from smsgate.migration_operations import ConcurrentlyOnPostgres
from tests.chaos.harness import database_url

BEFORE_0005 = [
    ('message_pending_due',
     "CREATE INDEX message_pending_due ON smsgate_message USING btree (due_at) WHERE ((status)::text = ANY ((ARRAY['scheduled'::character varying, 'queued'::character varying])::text[]))"),
    ('message_source',
     'CREATE INDEX message_source ON smsgate_message USING btree (source_type, source_id)'),
    ('message_tenant_created',
     'CREATE INDEX message_tenant_created ON smsgate_message USING btree (tenant_id, created_at)'),
    ('smsgate_message_created_at_4a333d55',
     'CREATE INDEX smsgate_message_created_at_4a333d55 ON smsgate_message USING btree (created_at)'),
    ('smsgate_message_due_at_0e26a565',
     'CREATE INDEX smsgate_message_due_at_0e26a565 ON smsgate_message USING btree (due_at)'),
    ('smsgate_message_pkey',
     'CREATE UNIQUE INDEX smsgate_message_pkey ON smsgate_message USING btree (id)'),
    ('smsgate_message_provider_message_id_2d453bd1',
     'CREATE INDEX smsgate_message_provider_message_id_2d453bd1 ON smsgate_message USING btree (provider_message_id)'),
    ('smsgate_message_provider_message_id_2d453bd1_like',
     'CREATE INDEX smsgate_message_provider_message_id_2d453bd1_like ON smsgate_message USING btree (provider_message_id varchar_pattern_ops)'),
    ('smsgate_message_status_af79b2d0',
     'CREATE INDEX smsgate_message_status_af79b2d0 ON smsgate_message USING btree (status)'),
    ('smsgate_message_status_af79b2d0_like',
     'CREATE INDEX smsgate_message_status_af79b2d0_like ON smsgate_message USING btree (status varchar_pattern_ops)'),
    ('smsgate_message_tenant_id_7acfa369',
     'CREATE INDEX smsgate_message_tenant_id_7acfa369 ON smsgate_message USING btree (tenant_id)'),
    ('smsgate_message_variant_id_98f3d246',
     'CREATE INDEX smsgate_message_variant_id_98f3d246 ON smsgate_message USING btree (variant_id)'),
    ('unique_idempotency_key_per_tenant',
     'CREATE UNIQUE INDEX unique_idempotency_key_per_tenant ON smsgate_message USING btree (tenant_id, idempotency_key) WHERE (idempotency_key IS NOT NULL)'),
]
AFTER_0005 = [
    ('message_failed_created',
     "CREATE INDEX message_failed_created ON smsgate_message USING btree (created_at) WHERE ((status)::text = ANY ((ARRAY['failed'::character varying, 'undelivered'::character varying])::text[]))"),
    ('message_pending_due',
     "CREATE INDEX message_pending_due ON smsgate_message USING btree (due_at) WHERE ((status)::text = ANY ((ARRAY['scheduled'::character varying, 'queued'::character varying])::text[]))"),
    ('message_provider_id',
     "CREATE INDEX message_provider_id ON smsgate_message USING btree (provider_message_id) WHERE (NOT ((provider_message_id)::text = ''::text))"),
    ('message_sending_claimed',
     "CREATE INDEX message_sending_claimed ON smsgate_message USING btree (claimed_at) WHERE ((status)::text = 'sending'::text)"),
    ('message_sent',
     "CREATE INDEX message_sent ON smsgate_message USING btree (provider, sent_at) WHERE ((status)::text = 'sent'::text)"),
    ('message_source',
     'CREATE INDEX message_source ON smsgate_message USING btree (source_type, source_id, custom_id)'),
    ('message_tenant_created',
     'CREATE INDEX message_tenant_created ON smsgate_message USING btree (tenant_id, created_at)'),
    ('message_variant',
     'CREATE INDEX message_variant ON smsgate_message USING btree (variant_id) WHERE (variant_id IS NOT NULL)'),
    ('smsgate_message_created_at_4a333d55',
     'CREATE INDEX smsgate_message_created_at_4a333d55 ON smsgate_message USING btree (created_at)'),
    ('smsgate_message_pkey',
     'CREATE UNIQUE INDEX smsgate_message_pkey ON smsgate_message USING btree (id)'),
    ('unique_idempotency_key_per_tenant',
     'CREATE UNIQUE INDEX unique_idempotency_key_per_tenant ON smsgate_message USING btree (tenant_id, idempotency_key) WHERE (idempotency_key IS NOT NULL)'),
]
# smsgate 0008 (the dashboard's indexes), also built concurrently.
SEND_AT_INDEX = (
    "message_send_at",
    "CREATE INDEX message_send_at ON smsgate_message USING btree (send_at) WHERE (send_at IS NOT NULL)",
)
ATTEMPT_INDEX = (
    "event_attempt_created",
    "CREATE INDEX event_attempt_created ON smsgate_messageevent USING btree (created_at) WHERE ((kind)::text = 'attempt'::text)",
)
AFTER_0008 = sorted([*AFTER_0005, SEND_AT_INDEX])
# smsgate 0011 (delivery SLOs): messages by when a carrier accepted them.
SENT_AT_INDEX = (
    "message_sent_at",
    "CREATE INDEX message_sent_at ON smsgate_message USING btree (sent_at) WHERE (sent_at IS NOT NULL)",
)
AFTER_0011 = sorted([*AFTER_0008, SENT_AT_INDEX])
# smsgate 0012 (MMS): the console's MMS filter, over the few messages with media.
MMS_INDEX = (
    "message_mms_created",
    "CREATE INDEX message_mms_created ON smsgate_message USING btree (created_at) "
    "WHERE (NOT (media_urls = '{}'::character varying(2000)[]))",
)
AFTER_0012 = sorted([*AFTER_0011, MMS_INDEX])
LATEST = AFTER_0012
WEBHOOK_EVENT_TENANT_INDEX = (
    "webhooks_webhookevent_tenant_id_2052c19f",
    "CREATE INDEX webhooks_webhookevent_tenant_id_2052c19f ON webhooks_webhookevent USING btree (tenant_id)",
)


@pytest.fixture
def scratch_database_url():
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the concurrent index changes are Postgres-only")
    server, test_database = database_url().rsplit("/", 1)
    name = f"{test_database}_migrations"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str, *target: str) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", *target, "-v0"], check=True, cwd=settings.BASE_DIR,
                   env={**os.environ, "DATABASE_URL": url})


def indexes(url: str, table: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        invalid = conn.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid").fetchall()
        assert invalid == []
        return conn.execute(
            "SELECT indexname, replace(indexdef, 'public.', '') FROM pg_indexes WHERE tablename = %s ORDER BY indexname",
            [table],
        ).fetchall()


def message_indexes(url: str) -> list[tuple[str, str]]:
    return indexes(url, "smsgate_message")


def has_webhook_event_tenant_index(url: str) -> bool:
    return WEBHOOK_EVENT_TENANT_INDEX in indexes(url, "webhooks_webhookevent")


def test_indexes_forwards_backwards_and_forwards_again(scratch_database_url):
    migrate(scratch_database_url)
    assert message_indexes(scratch_database_url) == LATEST
    for _ in range(2):
        migrate(scratch_database_url, "smsgate", "0004")  # also takes webhooks back before 0003
        assert message_indexes(scratch_database_url) == BEFORE_0005
        assert has_webhook_event_tenant_index(scratch_database_url)
        migrate(scratch_database_url)
        assert message_indexes(scratch_database_url) == LATEST
        assert not has_webhook_event_tenant_index(scratch_database_url)


def test_dashboard_indexes_forwards_and_backwards(scratch_database_url):
    migrate(scratch_database_url)
    assert ATTEMPT_INDEX in indexes(scratch_database_url, "smsgate_messageevent")
    migrate(scratch_database_url, "smsgate", "0007")
    assert message_indexes(scratch_database_url) == AFTER_0005
    assert ATTEMPT_INDEX not in indexes(scratch_database_url, "smsgate_messageevent")
    migrate(scratch_database_url)
    assert message_indexes(scratch_database_url) == LATEST
    assert ATTEMPT_INDEX in indexes(scratch_database_url, "smsgate_messageevent")


def test_delivery_slo_index_forwards_and_backwards(scratch_database_url):
    migrate(scratch_database_url)
    migrate(scratch_database_url, "smsgate", "0010")
    assert message_indexes(scratch_database_url) == AFTER_0008
    migrate(scratch_database_url)
    assert message_indexes(scratch_database_url) == LATEST


def test_mms_index_forwards_and_backwards(scratch_database_url):
    migrate(scratch_database_url)
    migrate(scratch_database_url, "smsgate", "0011")
    assert message_indexes(scratch_database_url) == AFTER_0011
    migrate(scratch_database_url)
    assert message_indexes(scratch_database_url) == AFTER_0012


def test_concurrent_index_changes_refuse_to_run_in_a_transaction(db):
    from django.db import connection

    operation = ConcurrentlyOnPostgres([], ['CREATE INDEX CONCURRENTLY "x" ON "smsgate_message" ("body")'], [])
    with connection.schema_editor(atomic=True) as editor, pytest.raises(RuntimeError, match="atomic = False"):
        operation.database_forwards("smsgate", editor, None, None)
