"""Create the Postgres database DATABASE_URL names, if it does not exist yet (`make run` runs it first)."""

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql


class Command(BaseCommand):
    help = "Create the database DATABASE_URL names on its Postgres server if it is missing."
    requires_system_checks = []  # the database may not exist yet

    def handle(self, *args, **options):
        database = settings.DATABASES["default"]
        name = database["NAME"]
        server = {"host": database.get("HOST") or None, "port": database.get("PORT") or None,
                  "user": database.get("USER") or None, "password": database.get("PASSWORD") or None}
        try:
            with psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=10, **server) as connection:
                if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                    return
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.OperationalError as exc:
            raise CommandError(f"Cannot reach PostgreSQL at {server['host']}:{server['port'] or 5432} "
                               f"(DATABASE_URL): {exc}. `scripts/ensure-services` starts a local one.") from None
        self.stdout.write(f"Created database {name}.")
