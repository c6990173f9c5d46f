"""Shared test factories: every test builds its rows through these."""

import factory
from django.contrib.auth.hashers import make_password

from models_core.models import Organization, User

DEFAULT_PASSWORD = "correct-horse-battery"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    organization = factory.SubFactory(OrganizationFactory)
    role = User.Role.AGENT
    password = factory.LazyFunction(lambda: make_password(DEFAULT_PASSWORD))
