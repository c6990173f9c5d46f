"""The README is a newcomer's first page: it stands on its own."""

from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_points_to_no_document_outside_the_repository():
    first_paragraph = README.split("\n\n")[1]
    assert "Custodian is a staff console" in first_paragraph
    for outside in ("shared/", "DESIGN.md"):
        assert outside not in README


def test_readme_says_how_to_install_chromium_for_the_browser_tests():
    assert "sudo apt-get install -y chromium" in README
    assert "BROWSER TESTS WERE SKIPPED" in README


def test_readme_says_what_the_seeded_staff_accounts_are_for():
    assert "`<org>-admin-1`" in README
    assert "no usable password" in README
