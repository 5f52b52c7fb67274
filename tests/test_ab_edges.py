"""A/B tests at their edges: deleted or silenced winners, ties, nothing converting, one variant, fixed weights,
resets, two workers deciding at once, and hostile settings from the console, the API and the database."""

import contextlib
import threading
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from templates import ab
from templates.models import MessageTemplate, TemplateVariant
from templates.services import pick_variant
from templates.tasks import evaluate_ab_tests_task
from tests.ab_support import auto_template, seed_results
from tests.test_templates_admin import AB_FIXED

pytestmark = pytest.mark.django_db

CLEAR_WIN = {"A": (40, 4), "B": (40, 24)}
PHONES = [f"+5511988{n:06d}" for n in range(200)]


def picks(template: MessageTemplate) -> set[str]:
    template.refresh_from_db()
    return {pick_variant(template, phone).label for phone in PHONES}


def state(template: MessageTemplate) -> ab.TestState:
    template.refresh_from_db()
    return ab.state(template, ab.results(template))


def test_collecting_then_undecided_then_decided(tenant):
    template = auto_template(tenant, ab_min_sample=40)
    seed_results(template, {"A": (40, 4), "B": (37, 9)})
    assert state(template).text == "collecting: 37/40 sent for B"
    assert not ab.evaluate(template.pk).chosen and picks(template) == {"A", "B"}
    seed_results(template, {"B": (3, 0)})
    undecided = state(template)
    assert undecided.code == "undecided" and undecided.text.endswith("now; this look needs 97.50 %")
    assert 80 < undecided.confidence < 95  # 4/40 against 9/40
    seed_results(template, CLEAR_WIN)
    evaluation = ab.evaluate(template.pk)
    assert evaluation.chosen and evaluation.state.code == "winner" and picks(template) == {"B"}


def test_undelivered_messages_are_not_in_the_sample(tenant):
    template = auto_template(tenant)
    seed_results(template, {"A": (30, 0), "B": (30, 0)}, status="undelivered")
    assert [(row.label, row.messages, row.sent) for row in ab.results(template)] == [("A", 30, 0), ("B", 30, 0)]


@pytest.mark.parametrize("results", [
    {"A": (50, 10), "B": (50, 10)},  # a tie
    {"A": (50, 0), "B": (50, 0)},  # nothing converts
])
def test_no_winner_without_a_difference(tenant, results):
    template = auto_template(tenant)
    seed_results(template, results)
    evaluation = ab.evaluate(template.pk)
    assert not evaluation.chosen and evaluation.state.text == (
        "no significant difference yet: 0.0 % now; next look at 100 sent per variant, needing 98.75 %")
    assert picks(template) == {"A", "B"}


def test_a_single_variant_is_never_a_test(tenant):
    template = auto_template(tenant, bodies={"A": "Oi {name}: {URL}"})
    seed_results(template, {"A": (100, 50)})
    assert ab.evaluate(template.pk).state.text == "a single variant can be sent: nothing to test"
    TemplateVariant.objects.create(template=template, label="B", body="B {URL}", weight=0)
    assert state(template).code == "single"  # weight 0: not sent, so not tested


def test_fixed_weights_never_pick_a_winner(tenant):
    template = auto_template(tenant, ab_mode="fixed")
    seed_results(template, CLEAR_WIN)
    assert ab.evaluate_all() == 0 and not ab.evaluate(template.pk).chosen
    assert state(template).text == "fixed weights: no automatic winner" and picks(template) == {"A", "B"}


def test_a_deleted_winner_gives_back_the_weights_and_the_test_goes_on(tenant):
    template = auto_template(tenant, bodies={"A": "A {URL}", "B": "B {URL}", "C": "C {URL}"})
    seed_results(template, {**CLEAR_WIN, "C": (40, 4)})
    assert ab.evaluate(template.pk).chosen and picks(template) == {"B"}
    template.variants.get(label="B").delete()
    assert picks(template) == {"A", "C"}
    assert state(template).text == ("the winner was deleted, testing the others again; no significant difference "
                                    "yet: 0.0 % now; next look at 80 sent per variant, needing 98.75 %")


def test_a_winner_set_to_weight_0_is_not_sent_and_the_others_split_by_weight(tenant):
    template = auto_template(tenant, bodies={"A": "A {URL}", "B": "B {URL}", "C": "C {URL}"})
    seed_results(template, {**CLEAR_WIN, "C": (40, 4)})
    assert ab.evaluate(template.pk).chosen
    TemplateVariant.objects.filter(template=template, label="B").update(weight=0)
    assert picks(template) == {"A", "C"}
    assert state(template).text.startswith("winner B has weight 0, weights apply; ")
    assert ab.evaluate_all() == 0  # the winner stays recorded until the operator resets the test


def test_a_reset_forgets_the_winner_and_counts_only_new_messages(tenant):
    template = auto_template(tenant)
    seed_results(template, CLEAR_WIN)
    assert ab.evaluate(template.pk).chosen
    ab.reset(template.pk)
    template.refresh_from_db()
    assert template.winner is None and template.winner_rates == {} and template.ab_started_at is not None
    assert picks(template) == {"A", "B"}
    assert state(template).text == "collecting: 0/20 sent for A"


def test_a_winner_is_chosen_by_the_goal_of_the_test(tenant):
    """Clicks do not count for a payments test: its messages are recovery SMS, and none was paid."""
    template = auto_template(tenant, ab_goal="payments")
    seed_results(template, CLEAR_WIN)
    assert state(template).text == "collecting: 0/20 sent for A"


@pytest.mark.django_db(transaction=True)
def test_two_workers_evaluating_at_once_record_one_winner(tenant, monkeypatch):
    """Each worker, having counted, waits (up to 3 s) for the other to have counted too: without the row lock both
    would then decide; with it the second counts only once the first has committed its winner."""
    template = auto_template(tenant)
    seed_results(template, CLEAR_WIN)
    counted, chosen = threading.Barrier(2), []
    count = ab.results

    def count_then_wait(*args, **kwargs):
        rows = count(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            counted.wait(timeout=3)
        return rows

    monkeypatch.setattr(ab, "results", count_then_wait)

    def evaluate():
        try:
            chosen.append(ab.evaluate(template.pk).chosen)
        finally:
            connection.close()

    workers = [threading.Thread(target=evaluate) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(chosen) == [False, True]
    template.refresh_from_db()
    assert template.winner.label == "B"


@pytest.mark.parametrize(("field", "value"), [("ab_confidence", 0), ("ab_confidence", 100), ("ab_confidence", 150),
                                              ("ab_min_sample", 0)])
def test_the_database_refuses_settings_out_of_range(tenant, field, value):
    template = auto_template(tenant)
    with pytest.raises(IntegrityError), transaction.atomic():
        MessageTemplate.objects.filter(pk=template.pk).update(**{field: value})


# --- the console ------------------------------------------------------------------------------------------

def change_form(template: MessageTemplate, **ab_settings) -> dict:
    variants = list(template.variants.all())
    data = {"tenant": template.tenant_id, "code": template.code, "name": template.name, "is_active": "on",
            **AB_FIXED, **ab_settings, "variants-TOTAL_FORMS": str(len(variants)),
            "variants-INITIAL_FORMS": str(len(variants))}
    for index, variant in enumerate(variants):
        data.update({f"variants-{index}-id": variant.pk, f"variants-{index}-template": template.pk,
                     f"variants-{index}-label": variant.label, f"variants-{index}-body": variant.body,
                     f"variants-{index}-weight": variant.weight})
    return data


@pytest.mark.parametrize(("field", "value", "error"), [
    ("ab_confidence", "0", "greater than or equal to 50"),
    ("ab_confidence", "100", "less than or equal to 99.9"),
    ("ab_confidence", "150", "less than or equal to 99.9"),
    ("ab_confidence", "nan", "Enter a number"),
    ("ab_confidence", "", "required"),
    ("ab_min_sample", "0", "greater than or equal to 1"),
    ("ab_min_sample", "-5", "greater than or equal to"),
    ("ab_min_sample", "99999999999999999999", "less than or equal to 1000000"),
    ("ab_mode", "always-b", "Select a valid choice"),
    ("ab_goal", "revenue", "Select a valid choice"),
])
def test_the_console_refuses_hostile_settings(admin_client, tenant, field, value, error):
    template = auto_template(tenant)
    url = reverse("admin:templates_messagetemplate_change", args=[template.pk])
    response = admin_client.post(url, change_form(template, **{field: value}))
    assert response.status_code == 200
    assert error in str(response.context["adminform"].form.errors[field])
    template.refresh_from_db()
    assert template.ab_confidence == 95 and template.ab_min_sample == 20


def test_the_console_turns_a_test_on_and_shows_it(admin_client, tenant):
    template = auto_template(tenant, ab_mode="fixed")
    seed_results(template, {"A": (25, 2), "B": (12, 6)})
    url = reverse("admin:templates_messagetemplate_change", args=[template.pk])
    response = admin_client.post(url, change_form(template, ab_mode="auto", ab_min_sample="25", ab_confidence="97.5"))
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.ab_mode, template.ab_min_sample, template.ab_confidence) == ("auto", 25, 97.5)
    page = admin_client.get(url).content.decode()
    assert "collecting: 12/25 sent for B" in page
    assert ('<tr data-variant="B"><td>B</td><td>1</td><td>12</td><td>0</td><td>6</td><td>50.0 %</td>'
            "<td>25.4 – 74.6 %</td></tr>") in page
    assert 'id="ab-evaluate"' in page and 'id="ab-reset"' in page


def test_evaluate_now_and_reset_from_the_template_page(admin_client, tenant):
    template = auto_template(tenant)
    seed_results(template, CLEAR_WIN)
    url = reverse("admin:templates_messagetemplate_change", args=[template.pk])
    evaluate = reverse("admin:templates_messagetemplate_ab", args=[template.pk, "evaluate"])
    assert admin_client.get(evaluate).status_code == 405
    response = admin_client.post(evaluate, follow=True)
    assert response.redirect_chain == [(url, 302)]
    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("promo: winner B chosen ") and "% confidence" in message
    page = response.content.decode()
    assert 'data-state="winner"' in page and "At the decision: A 4/40 = 10.0 %, B 24/40 = 60.0 %." in page
    listing = admin_client.get(reverse("admin:templates_messagetemplate_changelist")).content.decode()
    assert "winner B (" in listing

    response = admin_client.post(reverse("admin:templates_messagetemplate_ab", args=[template.pk, "reset"]),
                                 follow=True)
    assert 'data-state="collecting"' in response.content.decode()
    template.refresh_from_db()
    assert template.winner is None
    assert admin_client.post(reverse("admin:templates_messagetemplate_ab", args=[template.pk, "nuke"])
                             ).status_code == 403
    assert admin_client.post(reverse("admin:templates_messagetemplate_ab", args=[999999, "reset"])
                             ).status_code == 404


def test_the_list_action_evaluates_the_selected_templates(admin_client, tenant):
    template = auto_template(tenant)
    seed_results(template, CLEAR_WIN)
    response = admin_client.post(reverse("admin:templates_messagetemplate_changelist"),
                                 {"action": "evaluate_now", "_selected_action": [template.pk]}, follow=True)
    assert any(str(m).startswith("promo: winner B chosen") for m in response.context["messages"])


def test_staff_who_may_only_view_cannot_evaluate(client, tenant, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_messagetemplate"))
    client.force_login(viewer)
    template = auto_template(tenant)
    seed_results(template, CLEAR_WIN)
    url = reverse("admin:templates_messagetemplate_ab", args=[template.pk, "evaluate"])
    assert client.post(url).status_code == 403
    template.refresh_from_db()
    assert template.winner is None


def test_beat_evaluates_the_tests_every_five_minutes(tenant):
    call_command("setup_periodic_tasks", stdout=StringIO())
    assert PeriodicTask.objects.get(task="templates.evaluate_ab_tests").interval.every == 300
    template = auto_template(tenant)
    seed_results(template, CLEAR_WIN)
    assert evaluate_ab_tests_task.delay().get() == 1  # through Celery (eager in tests)
    assert picks(template) == {"B"}


def test_changing_the_goal_of_a_decided_test_says_to_reset_it(admin_client, tenant):
    template = auto_template(tenant)
    seed_results(template, CLEAR_WIN)
    assert ab.evaluate(template.pk).chosen
    url = reverse("admin:templates_messagetemplate_change", args=[template.pk])
    response = admin_client.post(url, change_form(template, ab_mode="auto", ab_goal="payments", ab_min_sample="20"),
                                 follow=True)
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert "The winner B was chosen for another goal: reset the test to choose again for this one." in warnings
