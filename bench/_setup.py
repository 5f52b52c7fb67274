"""Shared set-up for benchmarks: a fresh Postgres database, migrated, with Django ready.

Benchmarks never touch the development or test databases: they create
`smsgate_bench` (or BENCH_DATABASE) on the server in BENCH_POSTGRES_URL.
"""

import os
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_DATABASE", "smsgate_bench")


def fresh_database() -> str:
    """Drop and create the bench database, point Django at it, migrate. Returns its URL."""
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    url = f"{SERVER}/{DATABASE}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsgate.settings")
    os.environ.setdefault("PUBLIC_BASE_URL", "https://sms.example.com")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url
