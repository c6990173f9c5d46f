"""Every CSS class the console's templates use is defined somewhere: unfold ships Tailwind compiled for its
own templates only, so any other Tailwind class silently does nothing (the restore plan's bullets)."""

import re
from pathlib import Path

import unfold

REPO = Path(__file__).resolve().parents[2]
UNFOLD_CSS = Path(unfold.__file__).parent / "static" / "unfold" / "css" / "styles.css"
# Every stylesheet of ours: the console's and each capability's own (e.g. dbhealth/static/dbhealth/).
OUR_CSS = sorted([*REPO.glob("static/**/*.css"), *REPO.glob("dashboard/*/static/**/*.css")])
# Classes that are hooks for scripts or Django's admin markup, not styles.
HOOKS = {"object-tools"}


def defined_classes(css: str) -> set[str]:
    return {re.sub(r"\\(.)", r"\1", m) for m in re.findall(r"\.((?:\\.|[A-Za-z0-9_-])+)", css)}


def template_classes(path: Path) -> set[str]:
    text = path.read_text()
    local_css = "".join(re.findall(r"<style[^>]*>(.*?)</style>", text, re.S))
    text = re.sub(r"{%.*?%}|{{.*?}}", " ", text, flags=re.S)
    used = {c for attr in re.findall(r'class="([^"]*)"', text) for c in attr.split()}
    return used - defined_classes(local_css)


def test_every_template_class_is_defined():
    defined = (
        defined_classes(UNFOLD_CSS.read_text())
        | set().union(*(defined_classes(css.read_text()) for css in OUR_CSS))
        | HOOKS
    )
    templates = [*REPO.glob("templates/**/*.html"), *REPO.glob("dashboard/**/templates/**/*.html")]
    undefined = {
        f"{path.relative_to(REPO)}: {name}"
        for path in templates
        for name in template_classes(path)
        if name not in defined
    }
    assert not undefined, "\n".join(sorted(undefined))
