"""Where an upload waits between its preview and its confirmation."""

from __future__ import annotations

from django.core.files.storage import storages
from import_export.tmp_storages import MediaStorage


class SharedMediaStorage(MediaStorage):
    """import-export's MediaStorage on the project's storage instances (`storages`), not new ones.

    MediaStorage builds a fresh StorageHandler per upload, so storages that live in memory (tests) would
    lose the file between the two requests; the global handler keeps one instance per backend. The "default"
    storage is shared by every web process (a temp folder is per machine).
    """

    def _configure_storage(self) -> None:
        self._storage = (
            storages["import_export"] if "import_export" in storages.backends else storages["default"]
        )
