"""Serve plotly.min.js from the installed plotly package as one static file.

plotly ships the bundle in its package_data folder next to data sets and templates we do not want to publish,
so this finder exposes exactly one file, `vendor/plotly/plotly.min.js`, and the version served always matches
the Python package that builds the figures.
"""

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

STATIC_PATH = "vendor/plotly/plotly.min.js"
_SOURCE = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(_SOURCE.parent))
        self.storage.prefix = "vendor/plotly"

    def check(self, **kwargs):
        from django.core.checks import Error

        if not _SOURCE.exists():
            return [Error(f"plotly.min.js not found at {_SOURCE}", id="custodian.E001")]
        return []

    def find(self, path, find_all=False, **kwargs):
        if path == STATIC_PATH:
            return [str(_SOURCE)] if find_all else str(_SOURCE)
        return []

    def list(self, ignore_patterns):
        yield _SOURCE.name, self.storage
