"""What a campaign costs: estimated from the price list before launch, then its messages' estimates and actual
prices as it sends. Always per currency: no exchange rates are assumed, so USD is never added to RUB."""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q

from campaigns.models import Campaign, Contact
from campaigns.selectors import campaign_messages
from campaigns.services import campaign_bodies
from providers.registry import chain_for
from providers.segments import count_segments
from smsgate.console.stats import costs_per_currency
from smsgate.pricing import PriceList, estimate_many
from smsgate.statuses import Status


@dataclass(frozen=True)
class Costs:
    estimated: dict[str, Decimal]  # currency -> total
    actual: dict[str, Decimal]  # currency -> total the carriers reported
    unpriced: int  # recipients (before launch) or messages with no estimate
    before_launch: bool
    segments: int = 0  # per message, as the text is written (before launch only)


def campaign_costs(campaign: Campaign) -> Costs:
    if campaign.status in Campaign.NOT_STARTED:
        return _before_launch(campaign)
    return _as_written(campaign)


def _as_written(campaign: Campaign) -> Costs:
    """Totals of the messages written so far (cancelled ones cost nothing and count for nothing)."""
    messages = campaign_messages(campaign).exclude(status=Status.CANCELLED).order_by()
    return Costs(estimated=costs_per_currency(messages, amount="estimated_price"),
                 actual=costs_per_currency(messages),
                 unpriced=messages.filter(estimated_price=None).count(), before_launch=False)


def _before_launch(campaign: Campaign) -> Costs:
    """The audience (recipients, and contacts its tags and groups will add) times the text's segments.

    The text is counted as written, variables as their placeholders: the written messages' own estimates
    (their real text) replace this once the campaign starts.
    """
    try:
        bodies = campaign_bodies(template=campaign.template, body=campaign.body, target_url=campaign.target_url)
    except ValidationError:  # a text that cannot be sent yet: nothing to estimate (the form says why)
        return Costs({}, {}, 0, before_launch=True)
    # An MMS is one message whatever its text (smsgate.sending.submit): carriers bill it once.
    segments = 1 if campaign.media_urls else max(
        count_segments(_as_written_text(compiled)).segments for compiled in bodies.values())
    chain = chain_for(campaign.tenant)
    prices = PriceList.load(campaign.tenant, chain)
    totals, unpriced = estimate_many(campaign.tenant, chain, prices, _audience(campaign, prices.longest_prefix),
                                     segments)
    return Costs(totals, {}, unpriced, before_launch=True, segments=segments)


def _as_written_text(compiled) -> str:
    return "".join(literal + (f"{{{name}}}" if name else "") for literal, name in compiled.parts)


def _audience(campaign: Campaign, digits: int) -> dict[str, int]:
    """The campaign's distinct numbers (recipients, and contacts of its tags and groups) counted by their first
    `digits` digits (a price list's longest prefix), in the database: a million-number audience is a few
    hundred rows here."""
    phones = campaign.recipients.values("phone")
    tags, groups = list(campaign.tags.all()), list(campaign.groups.all())
    if tags or groups:
        contacts = Contact.objects.filter(tenant_id=campaign.tenant_id).filter(Q(tags__in=tags) | Q(groups__in=groups))
        phones = phones.union(contacts.values("phone"))  # UNION: a number in both counts once
    sql, params = phones.query.sql_with_params()
    head = 1 + digits  # the "+" and the digits a price can look at
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT LEFT(phone, %s), COUNT(*) FROM ({sql}) AS audience GROUP BY 1",  # noqa: S608
                       [head, *params])
        return dict(cursor.fetchall())
