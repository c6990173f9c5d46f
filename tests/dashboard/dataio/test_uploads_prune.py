"""Pruning pending import uploads: files past the TTL go; newer ones and uploads being confirmed stay."""

import hashlib
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from dashboard.dataio.services import import_uploads_prune
from dashboard.dataio.tmp_storage import UPLOAD_FOLDER, SharedMediaStorage, upload_storage
from tests.conditions import backend_pid, wait_until_locks_released

pytestmark = pytest.mark.django_db


@pytest.fixture
def file_storage(settings, tmp_path):
    """A real folder, so files have real modification times to backdate."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    return upload_storage()


def upload(storage, name: str, hours_old: float) -> str:
    path = storage.save(f"{UPLOAD_FOLDER}/{name}", ContentFile(b"id,subject\n1,x\n"))
    then = time.time() - hours_old * 3600
    os.utime(storage.path(path), (then, then))
    return path


def test_old_uploads_go_recent_ones_stay(file_storage, settings):
    settings.CUSTODIAN_IMPORT_UPLOAD_TTL_HOURS = 24
    old = upload(file_storage, "a" * 32, 25)
    recent = upload(file_storage, "b" * 32, 23)
    assert import_uploads_prune() == 1
    assert not file_storage.exists(old)
    assert file_storage.exists(recent)
    assert import_uploads_prune(older_than_hours=22) == 1
    assert file_storage.listdir(UPLOAD_FOLDER) == ([], [])


def test_nothing_uploaded_yet(file_storage):
    assert import_uploads_prune() == 0


def test_an_upload_being_confirmed_is_left_alone(file_storage):
    name = "c" * 32
    path = upload(file_storage, name, 48)
    key = int.from_bytes(
        hashlib.blake2b(f"dataio:{name}".encode(), digest_size=8).digest(), "big", signed=True
    )
    # Another session holds the confirm lock (advisory locks are shared by every connection of the cluster).
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        other_pid = backend_pid(other)
        assert import_uploads_prune() == 0
        assert file_storage.exists(path)
    finally:
        other.close()
    # close() returns before the server process has ended and let go of the lock.
    wait_until_locks_released(other_pid)
    assert import_uploads_prune() == 1


def test_prunes_what_the_import_saves(settings):
    """Same storage and folder as import-export's uploads (the tests' InMemoryStorage)."""
    pending = SharedMediaStorage()
    pending.save(b"id,subject\n1,x\n")
    assert upload_storage().exists(pending.get_full_path())
    assert import_uploads_prune(older_than_hours=1) == 0
    assert import_uploads_prune(older_than_hours=0) == 1
    assert not upload_storage().exists(pending.get_full_path())
