"""What a browser would submit for a page's form, left as it was rendered (no field touched)."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormParser(HTMLParser):
    def __init__(self, form_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.data: list[tuple[str, str]] = []
        self.options: dict[str, list[tuple[str, str]]] = {}
        self._select: tuple[str, bool] | None = None  # (name, multiple)
        self._selected: list[str] = []
        self._first_option: str | None = None
        self._option: dict | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self._in_form = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attr = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form" and (self.form_id is None or attr.get("id") == self.form_id):
            self._in_form += 1
        if not self._in_form:
            return
        name = attr.get("name")
        if tag == "input" and name and "disabled" not in attr:
            kind = attr.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attr:
                return
            self.data.append((name, attr.get("value", "on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and name and "disabled" not in attr:
            self._select = (name, "multiple" in attr)
            self._selected, self._first_option = [], None
            self.options[name] = []
        elif tag == "option" and self._select:
            self._option = attr
            self._text = []
        elif tag == "textarea" and name and "disabled" not in attr:
            self._textarea = name
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._option is not None or self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form -= 1
        elif tag == "option" and self._select and self._option is not None:
            text = "".join(self._text).strip()
            value = self._option.get("value", text)
            self.options[self._select[0]].append((value, text))
            if self._first_option is None:
                self._first_option = value
            if "selected" in self._option:
                self._selected.append(value)
            self._option = None
        elif tag == "select" and self._select:
            name, multiple = self._select
            values = self._selected or (
                [] if multiple or self._first_option is None else [self._first_option]
            )
            self.data.extend((name, value) for value in values)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # Browsers drop the one newline that follows <textarea>.
            self.data.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None


def untouched_form(
    html: str, form_id: str | None = None
) -> tuple[dict[str, list[str]], dict[str, list[tuple[str, str]]]]:
    """(POST data as {name: [values]}, {select name: [(value, label)]}) of the form `form_id` (every form of
    the page if None) as rendered."""
    parser = _FormParser(form_id)
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.data:
        data.setdefault(name, []).append(value)
    return data, parser.options
