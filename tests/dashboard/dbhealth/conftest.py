import pytest

from dashboard.dbhealth.models import ConstraintViolation
from dashboard.dbhealth.nodes import side_connection


def _delete_recorded_violations() -> None:
    # Records are committed by the recorder's own connection, outside the test's transaction.
    with side_connection() as conn:
        conn.execute(f'DELETE FROM "{ConstraintViolation._meta.db_table}"')


@pytest.fixture
def clean_violations(db):
    _delete_recorded_violations()
    yield
    _delete_recorded_violations()
