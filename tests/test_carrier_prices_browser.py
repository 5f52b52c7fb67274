"""The carrier price list in a real headless Chromium at 1366x768: it fits, and its prices are edited in place."""

from decimal import Decimal

import pytest
from django.urls import reverse

from smsgate.models import CarrierPrice
from tests.browser import keep_screenshot, needs_chromium, open_page

pytestmark = needs_chromium


@pytest.fixture
def price_list(tenant):
    rows = [(None, "twilio", "1", "0.0079", "USD"), (None, "twilio", "55", "0.0500", "USD"),
            (None, "smsc", "55", "0.0400", "USD"), (None, "smsc", "7", "2.9000", "RUB"),
            (None, "websms", "375", "0.0700", "BYN"), (None, "chunghwa", "886", "0.9500", "TWD"),
            (tenant, "twilio", "5511", "0.0300", "USD")]
    return [CarrierPrice.objects.create(tenant=t, provider=p, prefix=prefix, price=Decimal(price), currency=c)
            for t, p, prefix, price, c in rows]


def test_the_price_list_fits_and_shows_editable_prices(live_server, admin_user, price_list, tmp_path):
    shot = tmp_path / "carrier-prices.png"
    page = open_page(live_server, admin_user, reverse("admin:smsgate_carrierprice_changelist"), tmp_path,
                     screenshot=shot, expect=["th.column-destination", "td.field-countries", "#changelist-filter",
                                              "#searchbar", 'input[name="form-0-price"]',
                                              'input[name="form-0-currency"]', 'input[name="_save"]'])
    assert page.missing == []
    page.assert_fits()
    assert "tenant acme" in page.dom and "TW" in page.dom
    keep_screenshot(shot, min_bytes=20_000)
