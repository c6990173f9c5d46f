from django.apps import AppConfig


class DataIOConfig(AppConfig):
    """Data in and out: import-export resources, the import pipeline's rules and report exports; large
    uploads waiting for their preview and confirm jobs (dataio.models)."""

    name = "dashboard.dataio"
    label = "dataio"
    verbose_name = "Import and export"
