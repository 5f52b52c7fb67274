"""Filling a campaign's recipient list: from contacts by tag or group, or from an uploaded CSV.

Rows are inserted in batches with one INSERT each; a number already in the
campaign is skipped (the first occurrence wins).
"""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.db import transaction
from django.db.models import Q

from campaigns.models import Campaign, Contact, Recipient
from smsgate.phones import InvalidPhoneNumber, normalize_phone

BATCH = 2000
PHONE_COLUMNS = ("phone", "telephone", "numero", "number", "mobile")


@dataclass
class ImportResult:
    rows: int = 0
    added: int = 0
    errors: list[str] = field(default_factory=list)  # "line N: why", the first 100


def add_contacts(campaign: Campaign) -> int:
    """Add every contact with one of the campaign's tags or in one of its groups."""
    tag_ids = list(campaign.tags.values_list("pk", flat=True))
    group_ids = list(campaign.groups.values_list("pk", flat=True))
    if not tag_ids and not group_ids:
        return 0
    contacts = (
        Contact.objects.filter(tenant_id=campaign.tenant_id)
        .filter(Q(tags__in=tag_ids) | Q(groups__in=group_ids))
        .distinct()
        .order_by("pk")
        .values_list("phone", "name", "variables")
    )
    rows = (
        Recipient(campaign=campaign, phone=phone, variables={"name": name, **(variables or {})})
        for phone, name, variables in contacts.iterator(chunk_size=BATCH)
    )
    return _insert(campaign, rows)


def import_csv(campaign: Campaign, text: str) -> ImportResult:
    """Add recipients from CSV text: a phone column (phone/telephone/numero/...), other columns are variables."""
    status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
    if status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
        return ImportResult(errors=[f"a {status} campaign takes no more recipients"])
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    phone_column = _phone_column(reader.fieldnames or [])
    result = ImportResult()
    if phone_column is None:
        result.errors.append(f"line 1: no phone column (one of {', '.join(PHONE_COLUMNS)})")
        return result
    region = campaign.tenant.default_region

    def recipients() -> Iterator[Recipient]:
        for row in reader:
            result.rows += 1
            try:
                phone = normalize_phone(row.get(phone_column) or "", region)
            except InvalidPhoneNumber as exc:
                if len(result.errors) < 100:
                    result.errors.append(f"line {reader.line_num}: {exc}")
                continue
            variables = {k.strip(): (v or "").strip() for k, v in row.items() if k and k != phone_column}
            yield Recipient(campaign=campaign, phone=phone, variables=variables)

    result.added = _insert(campaign, recipients())
    return result


def _phone_column(names: list[str]) -> str | None:
    for name in names:
        if name and name.strip().lower() in PHONE_COLUMNS:
            return name
    return None


def _insert(campaign: Campaign, rows: Iterable[Recipient]) -> int:
    """Insert in batches, skipping numbers already there; returns how many rows are new.

    Holds the campaign row's lock, like each enqueue chunk does: the enqueuer resumes
    after the last recipient id it processed, so a recipient must never commit with
    an id below one the enqueuer has already passed.
    """
    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=campaign.pk).exists()
        before = Recipient.objects.filter(campaign=campaign).count()
        iterator = iter(rows)
        while batch := list(islice(iterator, BATCH)):
            Recipient.objects.bulk_create(batch, ignore_conflicts=True)
        return Recipient.objects.filter(campaign=campaign).count() - before
