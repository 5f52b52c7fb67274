"""Least-cost routing through the real road: a price list, two loopback carriers, breakers, limits, failover."""

from decimal import Decimal

import pytest

from smsgate.models import CarrierPrice, Message, Routing
from smsgate.pricing import PriceList
from smsgate.sending.resilience import RateLimiter, breaker_for
from smsgate.sending.tasks import sweep_due_messages_task
from tests.fakes.server import Reply
from tests.fakes.smsc import PRICE_PER_PART as SMSC_PRICE
from tests.fakes.websms import PRICE_PER_PART as WEBSMS_PRICE
from tests.sending import submit_one

pytestmark = pytest.mark.django_db

BRAZIL = "+5511987654321"
BELARUS = "+375291234567"


@pytest.fixture
def carriers(tenant, smsc, websms):
    """smsc first in the tenant's chain, websms its fallback; websms is cheaper to Brazil, dearer to Belarus."""
    tenant.primary_provider, tenant.fallback_providers = "smsc", "websms"
    tenant.routing = Routing.CHEAPEST
    tenant.save()
    for provider, prefix, price in [("smsc", "55", "0.05000"), ("websms", "55", "0.03000"),
                                    ("smsc", "375", "0.04000"), ("websms", "375", "0.09000")]:
        CarrierPrice.objects.create(provider=provider, prefix=prefix, price=Decimal(price), currency="USD")
    return smsc, websms


def send(tenant, to: str, body: str = "hello") -> Message:
    message = submit_one(tenant=tenant, to=to, body=body)
    sweep_due_messages_task()
    message.refresh_from_db()
    return message


def test_cheapest_first_sends_each_message_to_its_destinations_cheapest_carrier(tenant, carriers):
    smsc, websms = carriers
    brazil, belarus = send(tenant, BRAZIL), send(tenant, BELARUS)
    assert (brazil.status, brazil.provider) == ("sent", "websms")
    assert (belarus.status, belarus.provider) == ("sent", "smsc")
    assert [m["msisdn"] for m in websms.sent] == ["5511987654321"]
    assert [m["phone"] for m in smsc.sent] == ["375291234567"]
    # The estimate from the price list, and next to it what each carrier reported (in its own currency).
    assert (brazil.estimated_price, brazil.estimated_price_unit) == (Decimal("0.03"), "USD")
    assert (brazil.price, brazil.price_unit) == (Decimal(WEBSMS_PRICE).quantize(Decimal("0.00001")), "BYN")
    assert (belarus.estimated_price, belarus.estimated_price_unit) == (Decimal("0.04"), "USD")
    assert belarus.price == Decimal(SMSC_PRICE)


def test_the_estimate_at_submit_is_the_first_carriers_price_times_segments(tenant, carriers):
    message = submit_one(tenant=tenant, to=BRAZIL, body="x" * 200, send_at=None)  # two GSM-7 segments
    message.refresh_from_db()
    assert message.segments == 2
    assert (message.estimated_price, message.estimated_price_unit) == (Decimal("0.06"), "USD")


def test_in_order_routing_ignores_prices(tenant, carriers):
    tenant.routing = Routing.IN_ORDER
    tenant.save()
    brazil = send(tenant, BRAZIL)
    assert brazil.provider == "smsc"
    assert brazil.estimated_price == Decimal("0.05")  # what the primary charges, not the cheapest


def test_an_open_breaker_on_the_cheapest_fails_over_to_the_next(tenant, carriers, settings):
    settings.SMS_BREAKER_FAILURES = 1
    settings.SMS_BREAKER_COOLDOWN_SECONDS = 3600
    breaker_for("websms:default").record_failure()
    brazil = send(tenant, BRAZIL)
    assert (brazil.provider, brazil.estimated_price) == ("smsc", Decimal("0.05"))
    assert not brazil.events.filter(provider="websms").exists()  # not even tried


def test_a_rate_limited_cheapest_carrier_passes_the_message_to_the_next(tenant, carriers, settings):
    settings.SMS_RATE_LIMIT_PER_MINUTE = 60
    RateLimiter(key=f"{tenant.pk}:websms", per_minute=60).acquire(60)  # its bucket is empty for a second at least
    brazil = send(tenant, BRAZIL)
    assert brazil.provider == "smsc"


def test_a_5xx_from_the_cheapest_fails_over_and_records_both_attempts(tenant, carriers):
    smsc, websms = carriers
    websms.fail_next(Reply(503, "<html>Service Unavailable</html>", {"Content-Type": "text/html"}))
    brazil = send(tenant, BRAZIL)
    assert (brazil.status, brazil.provider) == ("sent", "smsc")
    assert list(brazil.events.filter(kind="attempt").order_by("pk").values_list("provider", "ok")) == [
        ("websms", False), ("smsc", True)]
    assert (brazil.estimated_price, brazil.price) == (Decimal("0.05"), Decimal(SMSC_PRICE))


def test_a_destination_without_prices_keeps_the_chain_order_and_has_no_estimate(tenant, carriers):
    message = send(tenant, "+4915112345678")  # Germany: nobody priced it
    assert message.provider == "smsc"
    assert (message.estimated_price, message.estimated_price_unit) == (None, "")


def test_a_tenants_own_price_replaces_the_platforms(tenant, other_tenant, carriers):
    CarrierPrice.objects.create(tenant=tenant, provider="smsc", prefix="55", price=Decimal("0.01"), currency="USD")
    assert send(tenant, BRAZIL).provider == "smsc"
    other_tenant.primary_provider, other_tenant.fallback_providers = "smsc", "websms"
    other_tenant.routing = Routing.CHEAPEST
    other_tenant.save()
    assert send(other_tenant, "+5511987654322").provider == "websms"  # the platform's list still applies to it


# The lookup itself.

def price_list(*rows) -> PriceList:
    return PriceList([(tenant, provider, prefix, Decimal(price), currency)
                      for tenant, provider, prefix, price, currency in rows])


def test_the_longest_prefix_wins():
    prices = price_list((None, "a", "55", "0.05", "USD"), (None, "a", "5511", "0.02", "USD"))
    assert prices.price("a", "+5511987654321").amount == Decimal("0.02")
    assert prices.price("a", "+5521987654321").amount == Decimal("0.05")
    assert prices.price("a", "+14155550100") is None
    assert prices.price("b", "+5511987654321") is None


def test_unpriced_carriers_follow_priced_ones_and_ties_keep_chain_order():
    prices = price_list((None, "b", "55", "0.05", "USD"), (None, "c", "55", "0.05", "USD"),
                        (None, "d", "55", "0.01", "USD"))
    assert prices.cheapest_first(["a", "b", "c", "d"], BRAZIL) == ["d", "b", "c", "a"]


def test_prices_in_different_currencies_are_never_compared():
    prices = price_list((None, "a", "55", "9.00", "RUB"), (None, "b", "55", "0.05", "USD"),
                        (None, "c", "55", "1.00", "RUB"))
    # RUB is the currency of the chain's first priced carrier; b's USD price ranks with the unpriced.
    assert prices.cheapest_first(["a", "b", "c"], BRAZIL) == ["c", "a", "b"]


def test_a_tenant_row_replaces_the_platform_row_whatever_the_order_loaded():
    prices = price_list((7, "a", "55", "0.01", "USD"), (None, "a", "55", "0.05", "USD"))
    assert prices.price("a", BRAZIL).amount == Decimal("0.01")


# The API.

def test_the_message_json_shows_the_estimate_next_to_the_carriers_price(tenant, carriers, api):
    answer = api.post("/api/v1/sms/send", {"phone": BRAZIL, "message": "hello"}, format="json")
    assert answer.status_code == 202
    assert (answer.json()["estimated_price"], answer.json()["estimated_price_unit"]) == ("0.03000", "USD")
    sweep_due_messages_task()
    log = api.get(f"/api/v1/sms/logs/{answer.json()['id']}").json()
    assert (log["provider"], log["estimated_price"], log["estimated_price_unit"]) == ("websms", "0.03000", "USD")
    assert (Decimal(log["price"]), log["price_unit"]) == (Decimal(WEBSMS_PRICE).quantize(Decimal("0.00001")), "BYN")
    listed = api.get("/api/v1/sms/logs").json()["results"][0]
    assert listed["estimated_price"] == "0.03000"


def test_the_prices_api_shows_the_effective_list_and_a_numbers_route(tenant, other_tenant, carriers, api):
    CarrierPrice.objects.create(tenant=tenant, provider="smsc", prefix="55", price=Decimal("0.01"), currency="USD")
    CarrierPrice.objects.create(tenant=other_tenant, provider="smsc", prefix="1", price=Decimal("9"), currency="USD")
    answer = api.get("/api/v1/sms/prices", {"phone": "11 98765-4321"})  # national, in the tenant's region (BR)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["routing"], body["chain"], body["phone"]) == ("cheapest", ["smsc", "websms"], BRAZIL)
    rows = {(row["provider"], row["prefix"]): (row["price"], row["source"]) for row in body["prices"]}
    assert rows == {("smsc", "55"): ("0.01000", "tenant"), ("websms", "55"): ("0.03000", "platform"),
                    ("smsc", "375"): ("0.04000", "platform"), ("websms", "375"): ("0.09000", "platform")}
    assert body["route"] == [{"provider": "smsc", "price": "0.01000", "currency": "USD"},
                             {"provider": "websms", "price": "0.03000", "currency": "USD"}]
    only = api.get("/api/v1/sms/prices", {"provider": "websms"}).json()
    assert {row["provider"] for row in only["prices"]} == {"websms"} and "route" not in only


@pytest.mark.parametrize("query", [{"phone": "not a number"}, {"phone": "+1" + "2" * 60}, {"provider": "twillio"},
                                   {"phone": "\x00"}, {"phone": "+999123"}])
def test_the_prices_api_refuses_bad_queries_with_400(api, query):
    answer = api.get("/api/v1/sms/prices", query)
    assert answer.status_code == 400 and set(answer.json()) <= {"phone", "provider"}


def test_tenants_cannot_edit_prices_by_api(api):
    answer = api.post("/api/v1/sms/prices", {"provider": "smsc", "prefix": "55", "price": "0"}, format="json")
    assert answer.status_code == 405
    assert not CarrierPrice.objects.exists()


# Campaigns.

def test_a_campaign_shows_its_estimate_before_launch_then_estimated_and_actual_totals(tenant, carriers,
                                                                                       admin_client):
    from django.urls import reverse

    from campaigns.costs import campaign_costs
    from campaigns.models import Campaign, Recipient
    from campaigns.services import campaign_schedule
    from campaigns.tasks import start_due_campaigns_task

    campaign = Campaign.objects.create(tenant=tenant, name="Promo", body="Oi {name}", message_type="transactional")
    for phone in (BRAZIL, "+5511987654322", BELARUS, "+4915112345678"):
        Recipient.objects.create(campaign=campaign, phone=phone, variables={"name": "Ana"})
    before = campaign_costs(campaign)
    assert (before.before_launch, before.estimated, before.unpriced, before.segments) == (
        True, {"USD": Decimal("0.10")}, 1, 1)  # 2 x 0.03 to Brazil by websms, 0.04 to Belarus by smsc; Germany?
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "Estimated before launch: <b>0.1 USD</b>" in page and "1 number(s) without a price" in page

    campaign_schedule(campaign)
    start_due_campaigns_task()
    sweep_due_messages_task()
    campaign.refresh_from_db()
    after = campaign_costs(campaign)
    assert not after.before_launch and after.estimated == {"USD": Decimal("0.10")} and after.unpriced == 1
    websms_cost = 2 * Decimal(WEBSMS_PRICE).quantize(Decimal("0.00001"))
    assert after.actual == {"BYN": websms_cost, "RUB": 2 * Decimal(SMSC_PRICE)}  # SMSC: the account's currency
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "Estimated: <b>0.1 USD</b>" in page
    assert f"carriers reported: <b>{websms_cost.normalize():f} BYN + 2.8 RUB</b>" in page or \
        f"carriers reported: <b>2.8 RUB + {websms_cost.normalize():f} BYN</b>" in page


def test_prices_are_read_once_per_chunk_not_per_message(tenant, other_tenant, carriers):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    other_tenant.primary_provider, other_tenant.routing = "smsc", Routing.CHEAPEST
    other_tenant.save()
    for n in range(6):
        submit_one(tenant=tenant if n % 2 else other_tenant, to=f"+55119876543{n:02d}", body=f"hello {n}")
    with CaptureQueriesContext(connection) as queries:
        sweep_due_messages_task()
    assert Message.objects.filter(status="sent").count() == 6
    price_queries = [q["sql"] for q in queries.captured_queries if "smsgate_carrierprice" in q["sql"]]
    assert len(price_queries) == 2  # one per tenant of the chunk


def test_an_audience_is_priced_by_number_groups_with_its_longest_prefixes_and_each_number_once(tenant, carriers,
                                                                                               django_assert_max_num_queries):
    from campaigns.costs import campaign_costs
    from campaigns.models import Campaign, Contact, Recipient, Tag

    CarrierPrice.objects.create(provider="websms", prefix="55119", price=Decimal("0.01"), currency="USD")
    campaign = Campaign.objects.create(tenant=tenant, name="Promo", body="Oi", message_type="transactional")
    Recipient.objects.create(campaign=campaign, phone=BRAZIL)  # 55119...: 0.01 by websms
    Recipient.objects.create(campaign=campaign, phone="+5521987654321")  # 55 only: 0.03 by websms
    tag = Tag.objects.create(tenant=tenant, name="vip")
    for phone in (BRAZIL, "+5511887654321", "+4915112345678"):  # BRAZIL again: counted once
        Contact.objects.create(tenant=tenant, phone=phone).tags.add(tag)
    campaign.tags.add(tag)
    with django_assert_max_num_queries(8):  # grouped in the database, not a query or a row per number
        costs = campaign_costs(campaign)
    # 0.01 (BRAZIL) + 0.03 (Rio) + 0.03 (+55118...: 5511 is not 55119) ; Germany has no price
    assert (costs.estimated, costs.unpriced) == ({"USD": Decimal("0.07")}, 1)
