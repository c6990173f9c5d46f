from pathlib import Path

import plotly
from django.contrib.staticfiles import finders
from django.core.management import call_command

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def test_finder_serves_plotly_min_js_from_the_installed_package():
    assert finders.find("vendor/plotly/plotly.min.js") == str(PLOTLY_JS)
    assert finders.find("vendor/plotly/plotly.js") is None
    assert finders.find("vendor/plotly/templates/plotly.json") is None


def test_dashboard_static_files_are_found():
    for path in ("dashboard/js/charts.js", "dashboard/js/job_progress.js"):
        assert finders.find(path), path


def test_collectstatic_copies_exactly_plotly_min_js_from_plotly(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    vendored = sorted(
        p.relative_to(tmp_path).as_posix() for p in (tmp_path / "vendor").rglob("*") if p.is_file()
    )
    assert vendored == ["vendor/plotly/plotly.min.js"]
    assert (tmp_path / "vendor/plotly/plotly.min.js").read_bytes() == PLOTLY_JS.read_bytes()
    # Nothing else from plotly's package_data (templates, data sets) leaks anywhere in the tree.
    package_data = {p.name for p in PLOTLY_JS.parent.rglob("*") if p.is_file()} - {"plotly.min.js"}
    collected = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert not (package_data & collected), package_data & collected
