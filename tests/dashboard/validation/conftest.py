import pytest

from models_core.models import Ticket, User
from tests.factories import CustomerFactory, TicketFactory, UserFactory


@pytest.fixture
def legacy_rows(organization, other_organization):
    """Rows that break rules but not constraints, as legacy imports leave them (written past validation).

    In `organization`: two tickets with a blank subject, one with an agent of another organization, a user
    with duplicate skills. In `other_organization`: one ticket with a blank subject.
    """
    customer = CustomerFactory(organization=organization)
    blank = [TicketFactory(organization=organization, customer=customer) for _ in range(2)]
    Ticket.objects.filter(pk__in=[t.pk for t in blank]).update(subject="")
    foreign_agent = TicketFactory(organization=organization, customer=customer)
    Ticket.objects.filter(pk=foreign_agent.pk).update(
        assigned_agent=UserFactory(organization=other_organization)
    )
    fine = TicketFactory(organization=organization, customer=customer)
    other_blank = TicketFactory(organization=other_organization)
    Ticket.objects.filter(pk=other_blank.pk).update(subject="  ")
    skills = UserFactory(organization=organization)
    User.objects.filter(pk=skills.pk).update(skills=["sql", "sql"])
    for row in [*blank, foreign_agent, other_blank, skills]:
        row.refresh_from_db()
    return {
        "blank": blank,
        "foreign_agent": foreign_agent,
        "fine": fine,
        "other_blank": other_blank,
        "skills": skills,
    }
