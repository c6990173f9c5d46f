"""Run a small made-up test suite in a pytest of its own, with one of our plugins, to see what it prints."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def fake_suite_run(tmp_path: Path, source: str, plugin: str, *args: str) -> subprocess.CompletedProcess:
    """`source` as tmp_path/test_fake.py, run with the plugin module `plugin` and without pytest-django."""
    (tmp_path / "test_fake.py").write_text(source)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(tmp_path),
            "-p",
            plugin,
            "-p",
            "no:django",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
