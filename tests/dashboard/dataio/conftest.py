"""Helpers for the import and export tests: files in each format, and a tenant with one row of each model."""

import csv
import io
import json

import pytest
import tablib

from dashboard import formats
from tests.factories import (
    CustomerFactory,
    KnowledgeBaseArticleFactory,
    TicketCommentFactory,
    TicketFactory,
    UserFactory,
)


def csv_bytes(headers: list[str], rows: list[list]) -> bytes:
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(headers)
    writer.writerows(rows)
    return stream.getvalue().encode()


def xlsx_bytes(headers: list[str], rows: list[list]) -> bytes:
    return formats.XLSX().export_data(tablib.Dataset(*rows, headers=headers))


def json_bytes(records: list[dict]) -> bytes:
    return json.dumps(records).encode()


def dataset_of(data: bytes | str, file_format=formats.CSV) -> tablib.Dataset:
    from dashboard.dataio.services import import_dataset_parse

    return import_dataset_parse(data.encode() if isinstance(data, str) else data, file_format)


@pytest.fixture
def tenant(organization):
    """Acme's agent and customer, a ticket with a comment, and an article."""
    agent = UserFactory(organization=organization, username="agent.smith")
    customer = CustomerFactory(organization=organization, username="cust.jones")
    ticket = TicketFactory(
        organization=organization, customer=customer, assigned_agent=agent, tags=["printer", "fire"]
    )
    comment = TicketCommentFactory(ticket=ticket, author=agent)
    article = KnowledgeBaseArticleFactory(organization=organization, author=agent, slug="printer-fires")
    return {
        "organization": organization,
        "agent": agent,
        "customer": customer,
        "ticket": ticket,
        "comment": comment,
        "article": article,
    }
