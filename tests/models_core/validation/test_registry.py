"""The registry (filled once, agreeing with the constraints) and the mixin (field-keyed errors in forms)."""

import pytest
from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import CheckConstraint, Q

from models_core.helpdesk_rules import validator_setup
from models_core.models import Organization, SLAPolicy, Ticket, User
from models_core.validation import RequiredValidationRule, validator
from models_core.validation.registry import CentralizedValidator
from tests.factories import (
    CustomerFactory,
    OrganizationFactory,
    TicketAttachmentFactory,
    TicketCommentFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def all_core_models():
    return list(apps.get_app_config("models_core").get_models())


def test_every_constraint_has_a_twin_rule_or_is_database_only():
    for model in all_core_models():
        twinned = validator.twinned_constraints(model)
        database_only = validator.database_only(model)
        for constraint in model._meta.constraints:
            assert (constraint.name in twinned) != (constraint.name in database_only), constraint.name


def test_twin_rules_agree_with_their_check_constraint():
    """For each twin, the rule and the constraint's condition judge the same in-memory rows alike."""
    samples = {
        User: [
            UserFactory.build(
                role=role, customer_tier=tier, availability_status=avail, max_concurrent_tickets=n
            )
            for role in ("admin", "customer", "nobody")
            for tier in ("basic", "premium", "gold")
            for avail in ("offline", "busy", "napping")
            for n in (0, 1, 100, 101)
        ],
        Ticket: [
            TicketFactory.build(status=s, priority=p, customer_satisfaction_score=score)
            for s in ("open", "lost")
            for p in ("low", "never")
            for score in (None, 0, 1, 5, 6)
        ],
        SLAPolicy: [
            SLAPolicy(priority="low", first_response_minutes=a, resolution_minutes=b)
            for a in (-1, 0, 1, 60)
            for b in (0, 1, 30, 60, 90)
        ],
    }
    for model, rows in samples.items():
        constraints = {c.name: c for c in model._meta.constraints if isinstance(c, CheckConstraint)}
        for rule in validator.rules_for(model):
            if not rule.constraint:
                continue
            condition = constraints[rule.constraint].condition
            against = None
            for row in rows:
                against = row._get_field_expression_map(meta=model._meta)
                names = {f for f in rule.fields}
                if not names <= {f.name for f in model._meta.concrete_fields}:
                    continue
                constraint_ok = Q(condition).check(against)
                # A constraint over several fields may have several twins: the rows it refuses are the rows
                # one of its twins refuses.
                twins = [r for r in validator.rules_for(model) if r.constraint == rule.constraint]
                assert constraint_ok == all(r.check(row) for r in twins), (rule.name, vars(row))


def test_setup_registers_once():
    before = [id(r) for m in validator.models() for r in validator.rules_for(m)]
    validator_setup()
    validator_setup()
    assert [id(r) for m in validator.models() for r in validator.rules_for(m)] == before


def test_registration_refuses_mistakes():
    local = CentralizedValidator()
    local.add_model_rules(Ticket, [RequiredValidationRule("subject")])
    with pytest.raises(ValueError, match="already has a rule"):
        local.add_model_rules(Ticket, [RequiredValidationRule("subject")])
    with pytest.raises(ValueError, match="no field"):
        local.add_model_rules(Ticket, [RequiredValidationRule("nope")])
    with pytest.raises(ValueError, match="no constraint"):
        local.add_model_rules(Ticket, [RequiredValidationRule("description", constraint="nope")])
    with pytest.raises(ValueError, match="no constraints"):
        local.mark_database_only(Ticket, ["nope"], "why")


def test_clean_errors_are_field_keyed():
    ticket = TicketFactory()
    ticket.subject, ticket.status, ticket.resolved_at = "  ", "resolved", None
    with pytest.raises(ValidationError) as excinfo:
        ticket.full_clean()
    errors = excinfo.value.message_dict
    assert errors["subject"] == ["Subject is required."]
    assert errors["resolved_at"] == ["A resolved or closed ticket needs its resolution time."]


def test_constraint_twin_message_appears_once_next_to_its_field():
    user = UserFactory.build(role="agent", customer_tier="premium")
    with pytest.raises(ValidationError) as excinfo:
        user.full_clean()
    errors = excinfo.value.message_dict
    assert errors["customer_tier"] == ["Only customers can have a customer tier other than basic."]
    assert "__all__" not in errors


def test_helpers_is_valid_get_validation_errors_validate_field():
    ticket = TicketFactory()
    ticket.subject, ticket.tags = "", ["a", "a"]
    assert not ticket.is_valid()
    errors = ticket.get_validation_errors()
    assert set(errors) >= {"subject", "tags"}
    with pytest.raises(ValidationError) as excinfo:
        ticket.validate_field("tags")
    assert list(excinfo.value.message_dict) == ["tags"]
    ticket.validate_field("description")  # no rule fails there
    good = TicketFactory()
    assert good.is_valid() and good.get_validation_errors() == {}


def test_a_rule_over_an_excluded_field_is_skipped():
    ticket = TicketFactory()
    ticket.subject = ""
    with pytest.raises(ValidationError):
        ticket.full_clean()
    ticket.full_clean(exclude=["subject"])  # e.g. a form without the subject


def test_attachment_comment_of_another_ticket_keeps_its_message_and_code():
    attachment = TicketAttachmentFactory.build(comment=TicketCommentFactory())
    with pytest.raises(ValidationError) as excinfo:
        attachment.full_clean()
    error = excinfo.value.error_dict["comment"][0]
    assert error.messages == ["The comment belongs to another ticket."]
    assert error.code == "wrong_ticket"


def test_internal_note_by_a_customer_is_refused():
    comment = TicketCommentFactory.build(comment_type="internal", author=CustomerFactory())
    with pytest.raises(ValidationError) as excinfo:
        comment.full_clean()
    assert "comment_type" in excinfo.value.message_dict


class UserForm(forms.ModelForm):
    class Meta:
        model = User
        fields = [
            "username",
            "email",
            "role",
            "customer_tier",
            "availability_status",
            "max_concurrent_tickets",
        ]


def test_model_form_shows_rule_errors_next_to_their_fields_once():
    user = UserFactory()
    form = UserForm(
        instance=user,
        data={
            "username": user.username,
            "email": "ana@localhost",  # Django's field accepts it; the rule wants a domain with a dot
            "role": "agent",
            "customer_tier": "premium",
            "availability_status": "available",
            "max_concurrent_tickets": 5,
        },
    )
    assert not form.is_valid()
    assert form.errors["email"] == ["Email address is not a valid email address."]
    assert form.errors["customer_tier"] == ["Only customers can have a customer tier other than basic."]
    assert "__all__" not in form.errors


class OrganizationNameForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name"]


def test_model_form_without_the_failing_field_does_not_crash():
    """A rule on a field the form does not edit must not reach add_error (ValueError, a 500)."""
    organization = OrganizationFactory()
    Organization.objects.filter(pk=organization.pk).update(settings={"retention_days": "soon"})
    organization.refresh_from_db()
    form = OrganizationNameForm(instance=organization, data={"name": "Renamed"})
    assert form.is_valid(), form.errors
    with pytest.raises(ValidationError) as excinfo:
        organization.full_clean()
    assert "retention_days must be an object" in " ".join(excinfo.value.message_dict["settings"])
