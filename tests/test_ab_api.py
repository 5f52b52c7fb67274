"""The templates API and A/B tests: the test's settings on create, its results, state and winner on read."""

import pytest

from templates import ab
from templates.models import MessageTemplate
from tests.ab_support import seed_results
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

TEMPLATES = "/api/v1/sms/templates"
VARIANTS = [{"label": "A", "body": "Oi {name}: {URL}"}, {"label": "B", "body": "{name}, veja {URL}"}]


def create(api, **fields):
    return api.post(TEMPLATES, {"code": "promo", "variants": VARIANTS, **fields}, format="json")


def test_a_template_is_created_with_its_test_and_shows_where_it_stands(api):
    response = create(api, ab_test={"mode": "auto", "goal": "payments", "min_sample": 50, "confidence": 99})
    assert response.status_code == 201, response.content
    test = response.json()["ab_test"]
    assert {k: test[k] for k in ("mode", "goal", "min_sample", "confidence", "state", "state_text", "winner")} == {
        "mode": "auto", "goal": "payments", "min_sample": 50, "confidence": 99.0, "state": "collecting",
        "state_text": "collecting: 0/50 sent for A", "winner": None}
    assert [row["label"] for row in test["results"]] == ["A", "B"]


def test_without_a_test_the_weights_are_fixed(api):
    test = create(api).json()["ab_test"]
    assert (test["mode"], test["goal"], test["min_sample"], test["confidence"], test["state"]) == (
        "fixed", "clicks", 100, 95.0, "fixed")
    assert test["results"] == []  # counted in automatic mode only


def test_listing_fixed_weight_templates_does_not_count_their_messages(api, django_assert_max_num_queries):
    for n in range(5):
        assert create(api, code=f"t{n}").status_code == 201
    with django_assert_max_num_queries(8):  # key, throttle, templates with variants: not 2 per template
        assert len(api.get(TEMPLATES).json()) >= 5


@pytest.mark.parametrize(("ab_test", "field"), [
    ({"confidence": 0}, "confidence"),
    ({"confidence": 100}, "confidence"),
    ({"confidence": 150}, "confidence"),
    ({"confidence": -95}, "confidence"),
    ({"confidence": "95"}, "confidence"),
    ({"confidence": True}, "confidence"),
    ({"confidence": 1e308}, "confidence"),
    ({"min_sample": 0}, "min_sample"),
    ({"min_sample": -1}, "min_sample"),
    ({"min_sample": 1.5}, "min_sample"),
    ({"min_sample": "100"}, "min_sample"),
    ({"min_sample": 10**30}, "min_sample"),
    ({"mode": "always-b"}, "mode"),
    ({"mode": None}, "mode"),
    ({"goal": "revenue"}, "goal"),
    ({"goal": ["clicks"]}, "goal"),
])
def test_hostile_test_settings_are_refused_by_field(api, ab_test, field):
    response = create(api, ab_test=ab_test)
    assert response.status_code == 400, response.content
    assert field in response.json()["ab_test"]
    assert not MessageTemplate.objects.filter(code="promo").exists()


@pytest.mark.parametrize("ab_test", ["auto", ["auto"], 5])
def test_a_test_that_is_not_an_object_is_refused(api, ab_test):
    response = create(api, ab_test=ab_test)
    assert response.status_code == 400 and "ab_test" in response.json()


def test_a_non_finite_confidence_is_refused(api):
    body = '{"code": "promo", "variants": [{"body": "hi"}], "ab_test": {"confidence": NaN}}'
    response = api.post(TEMPLATES, body, content_type="application/json")
    assert response.status_code == 400


def test_the_list_shows_each_variants_results_and_the_winner(api, tenant, other_tenant):
    create(api, ab_test={"mode": "auto", "min_sample": 20})
    template = MessageTemplate.objects.get(tenant=tenant, code="promo")
    seed_results(template, {"A": (40, 4), "B": (40, 24)})
    assert ab.evaluate(template.pk).chosen
    [listed] = [t for t in api.get(TEMPLATES).json() if t["code"] == "promo"]
    test = listed["ab_test"]
    assert test["state"] == "winner" and test["winner"] == "B" and test["winner_confidence"] >= 95
    assert test["winner_chosen_at"] and test["winner_rates"]["B"] == {"sent": 40, "conversions": 24, "rate": 60.0}
    assert test["results"][1] == {"label": "B", "sent": 40, "delivered": 0, "conversions": 24, "rate": 60.0,
                                  "interval": test["results"][1]["interval"]}
    low, high = test["results"][1]["interval"]
    assert 44 < low < 60 < high < 75
    assert "promo" not in [t["code"] for t in client_for(other_tenant).get(TEMPLATES).json()]
