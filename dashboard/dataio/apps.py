from django.apps import AppConfig


class DataIOConfig(AppConfig):
    """Data in and out: import-export resources, the import pipeline's rules and report exports.

    No models: an app only so its templates are found and its label names the room.
    """

    name = "dashboard.dataio"
    label = "dataio"
    verbose_name = "Import and export"
