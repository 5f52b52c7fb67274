"""The price list in the console: operators add and edit prices per carrier and destination; bad values are refused."""

from decimal import Decimal

import pytest
from django.urls import reverse

from smsgate.models import CarrierPrice, Message, Routing
from smsgate.sending.tasks import sweep_due_messages_task
from tests.sending import submit_one

pytestmark = pytest.mark.django_db
ADD = reverse("admin:smsgate_carrierprice_add")
LIST = reverse("admin:smsgate_carrierprice_changelist")


def add(client, **values):
    form = {"tenant": "", "provider": "smsc", "prefix": "55", "price": "0.05", "currency": "USD", **values}
    return client.post(ADD, form)


def errors(response) -> dict:
    assert response.status_code == 200, "the form again, with its errors"
    return response.context["adminform"].form.errors


def test_a_country_is_saved_as_its_calling_code(admin_client):
    assert add(admin_client, prefix="BR").status_code == 302
    assert add(admin_client, prefix="by", provider="websms", currency="usd").status_code == 302
    assert list(CarrierPrice.objects.order_by("prefix").values_list("provider", "prefix", "currency")) == [
        ("websms", "375", "USD"), ("smsc", "55", "USD")]


def test_a_prefix_may_be_written_with_a_plus(admin_client):
    assert add(admin_client, prefix="+5511").status_code == 302
    assert CarrierPrice.objects.get().prefix == "5511"


@pytest.mark.parametrize(("field", "value", "says"), [
    ("price", "-0.01", "greater than or equal to 0"),
    ("price", "0.000000000001", "no more than 10 digits"),
    ("price", "0.123456", "no more than 5 decimal places"),
    ("price", "1e400", ""),
    ("price", "abc", "Enter a number"),
    ("prefix", "55a", "first 1 to 15 digits"),
    ("prefix", "1" * 20, "first 1 to 15 digits"),
    ("prefix", "055", "first 1 to 15 digits"),
    ("prefix", "", "required"),
    ("prefix", "XX", "Unknown country 'XX'"),
    ("prefix", "五五", "first 1 to 15 digits"),
    ("currency", "US$", "ISO 4217"),
    ("currency", "DOLLARS", "at most 3 characters"),
    ("currency", "", "required"),
    ("provider", "twillio", "not one of the available choices"),
])
def test_hostile_values_are_refused_with_a_reason(admin_client, field, value, says):
    found = errors(add(admin_client, **{field: value}))
    assert field in found and says in " ".join(found[field])
    assert not CarrierPrice.objects.exists()


def test_a_duplicate_row_is_refused_but_a_tenant_may_override_the_platform(admin_client, tenant):
    assert add(admin_client, prefix="55").status_code == 302
    assert "already has a price" in str(errors(add(admin_client, prefix="BR")))
    assert add(admin_client, prefix="55", tenant=tenant.pk, price="0.01").status_code == 302
    assert "already has a price" in str(errors(add(admin_client, prefix="+55", tenant=tenant.pk)))
    assert CarrierPrice.objects.count() == 2


def test_the_list_shows_countries_and_whose_price_it_is_and_edits_in_place(admin_client, tenant):
    platform = CarrierPrice.objects.create(provider="smsc", prefix="55", price=Decimal("0.05"), currency="USD")
    CarrierPrice.objects.create(tenant=tenant, provider="websms", prefix="375", price=Decimal("0.09"), currency="EUR")
    page = admin_client.get(LIST).content.decode()
    assert "+55" in page and "BR" in page and "platform" in page and "tenant acme" in page
    assert "BY" in admin_client.get(LIST, {"q": "375"}).content.decode()
    assert "+55" not in admin_client.get(LIST, {"provider__exact": "websms"}).content.decode()
    assert 'field-whose">tenant acme' not in admin_client.get(LIST, {"list": "platform"}).content.decode()
    assert "+55" not in admin_client.get(LIST, {"list": str(tenant.pk)}).content.decode()
    assert admin_client.get(LIST, {"list": "x' OR 1=1"}).status_code == 200  # ignored, not a 500
    form = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": platform.pk,
            "form-0-price": "0.04500", "form-0-currency": "brl", "_save": "Save"}
    assert admin_client.post(LIST + "?provider__exact=smsc", form).status_code == 302
    platform.refresh_from_db()
    assert (platform.price, platform.currency) == (Decimal("0.045"), "BRL")
    form.update({"form-0-price": "-1", "form-0-currency": "US$"})
    response = admin_client.post(LIST + "?provider__exact=smsc", form)
    assert response.status_code == 200 and "errornote" in response.content.decode()
    platform.refresh_from_db()
    assert platform.price == Decimal("0.045")


def test_the_message_page_shows_the_estimated_and_the_carriers_cost(admin_client, tenant, websms):
    tenant.primary_provider, tenant.routing = "websms", Routing.CHEAPEST
    tenant.save()
    CarrierPrice.objects.create(provider="websms", prefix="55", price=Decimal("0.03"), currency="USD")
    message = submit_one(tenant=tenant, to="+5511987654321", body="hello")
    sweep_due_messages_task()
    message = Message.objects.get(pk=message.pk)
    page = admin_client.get(reverse("admin:smsgate_message_change", args=[message.pk])).content.decode()
    assert "Estimated cost" in page and "0.03 USD" in page
    assert f"{message.price.normalize()} BYN" in page


def test_the_tenant_page_sets_the_routing_and_refuses_an_unknown_one(admin_client, tenant):
    from tests.test_admin import tenant_form

    url = reverse("admin:smsgate_tenant_change", args=[tenant.pk])
    response = admin_client.post(url, tenant_form(tenant, routing="cheapest"))
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.routing == Routing.CHEAPEST
    response = admin_client.post(url, tenant_form(tenant, routing="random"))
    assert response.status_code == 200 and "routing" in response.context["adminform"].form.errors
    assert "cheapest first" in admin_client.get(reverse("admin:smsgate_tenant_changelist")).content.decode()
