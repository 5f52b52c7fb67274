"""Filling a campaign's recipient list: from contacts by tag or group, or from an uploaded CSV.

Rows are inserted in batches with one INSERT each; a number already in the
campaign is skipped (the first occurrence wins) and counted as a duplicate.

An uploaded CSV is read as UTF-8 (with or without a BOM), UTF-16 with a BOM,
or else Windows-1252, the "CSV" Excel writes on Western Windows (it reads
Latin-1 text the same). Text with control characters (NUL, ...) is refused
as not text. Lines may end in CRLF, LF or CR alone; the delimiter is the one
of `,` `;` and tab found most often in the header line. A file that cannot
be read this way is refused whole (UnreadableCsv): nothing is imported.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.db import transaction
from django.db.models import Q

from campaigns.models import Campaign, Contact, Recipient
from smsgate.consents import record_marketing_consents
from smsgate.phones import InvalidPhoneNumber, normalize_phone

BATCH = 2000
PHONE_COLUMNS = ("phone", "telephone", "numero", "number", "mobile")
DELIMITERS = (",", ";", "\t")
EXPORT_ADVICE = 'Save it again as "CSV UTF-8" (in Excel: Save As, CSV UTF-8).'
# Control characters but tab, LF and CR; and unpaired surrogates, which only a str handed in by code can hold.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LINE_END = re.compile("\r\n|\r|\n")


class UnreadableCsv(ValueError):
    """The upload cannot be read as a CSV of recipients; the message says why, for the person uploading it."""


@dataclass
class ImportResult:
    rows: int = 0
    added: int = 0
    duplicates: int = 0  # numbers already in the campaign, or earlier in the file
    refused: int = 0  # rows with a bad number
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


def decode_csv(data: bytes) -> str:
    """The text of an uploaded CSV file; raises UnreadableCsv if no encoding we read fits it.

    Binary files that happen to decode are refused by check_csv (control characters).
    """
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableCsv(f"The file is neither UTF-8 nor Windows-1252 (Latin-1) text. {EXPORT_ADVICE}")


def check_csv(text: str) -> set[str]:
    """The variables the CSV gives each recipient (its columns but the phone); UnreadableCsv if import_csv could
    not read this text (no phone column, a malformed line) or it has no rows."""
    reader, phone_column = _open_csv(text)
    if not sum(1 for _ in _rows(reader)):  # every row is read: a malformed one anywhere is refused
        raise UnreadableCsv("The file has a header line but no rows.")
    return {name.strip() for name in reader.fieldnames if name and name != phone_column}


def import_csv(campaign: Campaign, text: str, *, consent_source: str = "") -> ImportResult:
    """Add recipients from CSV text: a phone column (phone/telephone/numero/...), other columns are variables.

    Rows with a bad number are skipped with their reason; a text that cannot be
    read as CSV imports nothing and says why. With `consent_source` (the
    operator attests the file's numbers agreed to marketing), each number's
    marketing consent is recorded with that source.
    """
    status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).first()
    if status not in Campaign.NOT_STARTED:
        return ImportResult(errors=[f"a {status} campaign takes no more recipients"])
    try:
        reader, phone_column = _open_csv(text)
    except UnreadableCsv as exc:
        return ImportResult(errors=[str(exc)])
    result = ImportResult()
    region = campaign.tenant.default_region
    phones = []

    def recipients() -> Iterator[Recipient]:
        for row in _rows(reader):
            result.rows += 1
            try:
                phone = normalize_phone(row.get(phone_column) or "", region)
            except InvalidPhoneNumber as exc:
                result.refused += 1
                if len(result.errors) < 100:
                    result.errors.append(f"line {reader.line_num}: {exc}")
                continue
            variables = {k.strip(): (v or "").strip() for k, v in row.items() if k and k != phone_column}
            phones.append(phone)
            yield Recipient(campaign=campaign, phone=phone, variables=variables)

    try:
        with transaction.atomic():
            result.added = _insert(campaign, recipients())
            if consent_source:
                record_marketing_consents(tenant=campaign.tenant, phones=phones, source=consent_source)
    except UnreadableCsv as exc:  # the transaction is rolled back: nothing imported
        return ImportResult(rows=result.rows, errors=[f"{exc}; nothing was imported"])
    result.duplicates = result.rows - result.refused - result.added
    return result


def _open_csv(text: str) -> tuple[csv.DictReader, str]:
    """A reader of the rows, and the name of the phone column; UnreadableCsv if there is none, or it is not text."""
    text = text.lstrip("\ufeff")
    not_text = _NOT_TEXT.search(text)
    if not_text:
        line = len(_LINE_END.split(text[:not_text.start()]))
        raise UnreadableCsv(f"This is not a text CSV: line {line} holds the character U+{ord(not_text.group()):04X}. "
                            f"{EXPORT_ADVICE}")
    header = _LINE_END.split(text, maxsplit=1)[0]
    delimiter = max(DELIMITERS, key=header.count)  # "," when the header has none (a single column)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        phone_column = _phone_column(reader.fieldnames or [])
    except csv.Error as exc:
        raise UnreadableCsv(f"line 1: {exc}") from None
    if phone_column is None:
        raise UnreadableCsv(f"line 1: no phone column (one of {', '.join(PHONE_COLUMNS)})")
    return reader, phone_column


def _rows(reader: csv.DictReader) -> Iterator[dict]:
    try:
        yield from reader
    except csv.Error as exc:  # NUL, a field longer than csv.field_size_limit(), ...
        raise UnreadableCsv(f"line {reader.line_num}: {exc}") from None


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
