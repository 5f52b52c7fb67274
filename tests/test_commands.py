from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from smsgate.models import ApiKey, Tenant

pytestmark = pytest.mark.django_db


def test_create_api_key_prints_a_working_key_as_the_last_line():
    out = StringIO()
    call_command("create_api_key", "--tenant", "shop", "--create-tenant", stdout=out, stderr=StringIO())
    raw_key = out.getvalue().strip().splitlines()[-1]
    assert Tenant.objects.filter(slug="shop").exists()
    assert not ApiKey.objects.filter(key_hash=raw_key).exists()  # only the hash is stored
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert client.get("/api/v1/sms/logs").status_code == 200


def test_create_api_key_refuses_an_unknown_tenant_without_create():
    with pytest.raises(CommandError, match="--create-tenant"):
        call_command("create_api_key", "--tenant", "nobody", stdout=StringIO(), stderr=StringIO())


def test_setup_periodic_tasks_declares_the_sweeper_and_is_idempotent():
    from django_celery_beat.models import PeriodicTask

    call_command("setup_periodic_tasks", stdout=StringIO())
    PeriodicTask.objects.filter(task="smsgate.sweep_due_messages").update(enabled=False)
    call_command("setup_periodic_tasks", stdout=StringIO())
    task = PeriodicTask.objects.get(task="smsgate.sweep_due_messages")
    assert task.interval.every == 5
    assert task.enabled is False  # an operator's choice survives a deploy
