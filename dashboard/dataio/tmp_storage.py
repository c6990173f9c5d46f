"""Where an upload waits between its preview and its confirmation."""

from __future__ import annotations

from django.core.files.storage import Storage, storages
from import_export.tmp_storages import MediaStorage

# The folder MediaStorage saves uploads in (its MEDIA_FOLDER default; nothing here overrides it).
UPLOAD_FOLDER = "django-import-export"


def upload_storage() -> Storage:
    """The storage pending uploads wait in: STORAGES["import_export"] when set, else "default"."""
    return storages["import_export"] if "import_export" in storages.backends else storages["default"]


class SharedMediaStorage(MediaStorage):
    """import-export's MediaStorage on the project's storage instances (`storages`), not new ones.

    MediaStorage builds a fresh StorageHandler per upload, so storages that live in memory (tests) would
    lose the file between the two requests; the global handler keeps one instance per backend. The "default"
    storage is shared by every web process (a temp folder is per machine).
    """

    def _configure_storage(self) -> None:
        self._storage = upload_storage()
