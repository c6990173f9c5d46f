import psycopg
import pytest
from django.db import connection

from dashboard.dbhealth.models import ConstraintViolation


def _delete_recorded_violations() -> None:
    # Records are committed by the recorder's own connection, outside the test's transaction.
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(f'DELETE FROM "{ConstraintViolation._meta.db_table}"')


@pytest.fixture
def clean_violations(db):
    _delete_recorded_violations()
    yield
    _delete_recorded_violations()
