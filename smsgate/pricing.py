"""Carrier prices per destination: the lookup behind least-cost routing and the cost estimates.

A `PriceList` holds the rows (smsgate.models.CarrierPrice) that can apply to
some numbers for one tenant: the platform's rows, replaced by the tenant's
own for the same carrier and prefix. The price of a carrier for a number is
the row with the longest prefix of that number. Lists are loaded once per
dispatch chunk or submit (one query per tenant), never per message.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from providers.registry import chain_for
from smsgate.models import CarrierPrice, Message, Routing, Tenant

# Only our own table name is interpolated into SQL; every value is a parameter.
_TABLE = connection.ops.quote_name(CarrierPrice._meta.db_table)
MAX_PREFIX = 15  # digits of an E.164 number
# Up to this many numbers the query asks for their prefixes only; past it, for every row of the chain's carriers
# (a price list has hundreds of rows; a campaign's numbers would make a parameter of a million prefixes).
FILTER_BY_PREFIX_UP_TO = 50


@dataclass(frozen=True)
class Price:
    """Per segment, in `currency` (ISO 4217)."""

    amount: Decimal
    currency: str

    def times(self, segments: int) -> Decimal:
        return self.amount * max(segments, 1)


class PriceList:
    """Prices of carriers per prefix for one tenant: {provider: {prefix: Price}}."""

    def __init__(self, rows: Iterable[tuple[int | None, str, str, Decimal, str]] = ()):
        self._prices: dict[str, dict[str, Price]] = {}
        # The platform's rows first, so that the tenant's replace them.
        for _tenant, provider, prefix, amount, currency in sorted(rows, key=lambda row: row[0] is not None):
            self._prices.setdefault(provider, {})[prefix] = Price(amount, currency)

    @classmethod
    def load(cls, tenant: Tenant, providers: Sequence[str], phones: Sequence[str] | None = None) -> "PriceList":
        """The rows of `providers` that may price `phones` (E.164; None: any number) for `tenant`; one query.

        Plain SQL: the dispatcher loads a list per chunk, and the ORM's compiling costs more than the query.
        """
        if not providers or phones == []:
            return cls()
        sql = (f"SELECT tenant_id, provider, prefix, price, currency FROM {_TABLE} "  # noqa: S608
               "WHERE (tenant_id IS NULL OR tenant_id = %s) AND provider = ANY(%s)")
        params = [tenant.pk, list(providers)]
        if phones is not None and len(phones) <= FILTER_BY_PREFIX_UP_TO:
            sql += " AND prefix = ANY(%s)"
            params.append(sorted({prefix for phone in phones for prefix in _prefixes(phone)}))
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cls(cursor.fetchall())

    @property
    def longest_prefix(self) -> int:
        """The most digits any of these prices looks at: numbers that share that many leading digits share every
        price, so an audience can be priced by groups of them."""
        return max((len(prefix) for prices in self._prices.values() for prefix in prices), default=0)

    def price(self, provider: str, phone: str) -> Price | None:
        """The price of `provider` for `phone` (E.164): the row of the longest matching prefix, or None."""
        prices = self._prices.get(provider)
        if not prices:
            return None
        for prefix in _prefixes(phone):
            if (found := prices.get(prefix)) is not None:
                return found
        return None

    def cheapest_first(self, chain: Sequence[str], phone: str) -> list[str]:
        """`chain` ordered by price for `phone`: priced carriers by price, then the others in chain order.

        Prices in different currencies are never compared: the currency of the first priced carrier in chain
        order is the one compared; carriers priced in another currency go with the unpriced ones. A tie keeps
        chain order (the sort is stable).
        """
        prices = [self.price(name, phone) for name in chain]
        currency = next((price.currency for price in prices if price is not None), None)
        comparable = {name: price.amount for name, price in zip(chain, prices, strict=True)
                      if price is not None and price.currency == currency}
        return sorted(chain, key=lambda name: (name not in comparable, comparable.get(name, 0)))

    def estimate(self, provider: str, phone: str, segments: int) -> tuple[Decimal | None, str]:
        """(price of `segments` segments, currency) to `phone` through `provider`; (None, "") when unpriced."""
        price = self.price(provider, phone)
        return (price.times(segments), price.currency) if price else (None, "")


def _prefixes(phone: str) -> list[str]:
    """The prefixes of an E.164 number's digits, longest first."""
    digits = phone.lstrip("+")[:MAX_PREFIX]
    return [digits[:length] for length in range(len(digits), 0, -1)]


def ordered_chain(tenant: Tenant, chain: Sequence[str], prices: PriceList, phone: str) -> list[str]:
    """The tenant's chain for one message: as configured, or cheapest first when the tenant chose it."""
    if tenant.routing == Routing.CHEAPEST:
        return prices.cheapest_first(chain, phone)
    return list(chain)


def price_lists(messages: Sequence[Message]) -> dict[int, PriceList]:
    """{tenant id: PriceList} for the numbers of `messages` (each with its tenant loaded); one query per tenant."""
    phones: dict[int, list[str]] = {}
    tenants: dict[int, Tenant] = {}
    for message in messages:
        phones.setdefault(message.tenant_id, []).append(message.to)
        tenants[message.tenant_id] = message.tenant
    return {pk: PriceList.load(tenant, chain_for(tenant), phones[pk]) for pk, tenant in tenants.items()}


def estimate_many(tenant: Tenant, chain: Sequence[str], prices: PriceList, heads: dict[str, int],
                  segments: int) -> tuple[dict[str, Decimal], int]:
    """({currency: total}, how many numbers have no price) for `segments`-segment messages to the numbers counted
    in `heads` ({E.164 number, or its first `prices.longest_prefix` digits: how many numbers}), each through the
    carrier of `chain` it would go to first. Totals are per currency: no exchange rates are assumed."""
    totals: dict[str, Decimal] = {}
    unpriced = 0
    for head, count in heads.items():
        first = ordered_chain(tenant, chain, prices, head)[:1]
        amount, currency = prices.estimate(first[0], head, segments) if first else (None, "")
        if amount is None:
            unpriced += count
        else:
            totals[currency] = totals.get(currency, Decimal(0)) + amount * count
    return totals, unpriced


def effective_prices(tenant: Tenant) -> list[dict]:
    """The tenant's price list as it applies: its own rows and the platform's it does not replace."""
    rows = CarrierPrice.objects.filter(Q(tenant__isnull=True) | Q(tenant=tenant)).order_by("provider", "prefix")
    effective: dict[tuple[str, str], CarrierPrice] = {}
    for row in sorted(rows, key=lambda row: row.tenant_id is not None):
        effective[(row.provider, row.prefix)] = row
    return [{"provider": row.provider, "prefix": row.prefix, "price": row.price, "currency": row.currency,
             "source": "tenant" if row.tenant_id else "platform", "updated_at": row.updated_at}
            for row in sorted(effective.values(), key=lambda row: (row.provider, row.prefix))]


def route_prices(tenant: Tenant, phone: str) -> list[dict]:
    """The tenant's carriers in the order a message to `phone` (E.164) would try them, with their price."""
    chain = chain_for(tenant)
    prices = PriceList.load(tenant, chain, [phone])
    steps = []
    for name in ordered_chain(tenant, chain, prices, phone):
        price = prices.price(name, phone)
        steps.append({"provider": name, "price": price.amount if price else None,
                      "currency": price.currency if price else ""})
    return steps
