"""Walk every page of the site in the browser: the URL conf says what exists, the pages' own links fill in
the arguments (object ids, trash keys, rule names), so a page added later is walked without touching this.

Each HTML page gets axe-core's WCAG 2.1 A/AA rules (serious and critical violations fail) in light and dark
mode, and a no-sideways-scroll check at the viewport's width. Used by tests/e2e/test_every_page.py.

Kept fast (a page load and an axe run each cost most of a second on a busy machine), without checking less:
- each role loads each route once (one instance stands for every object of its kind), following links from
  the home page first; the URL conf's routes no link led to are probed afterwards with Django's test client,
  in-process, and only answers worth a look reach the browser (a refusal or not-found page once per status
  and part of the site, never POST-only endpoints or data);
- axe runs once per distinct page (route, status and the form controls it renders, across roles), in dark
  mode only its colour rule; the sidebar, the same on every page of a role, is checked on the role's first
  page and left out after;
- the overflow check is one evaluate.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from axe_playwright_python.base import AXE_SCRIPT
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from playwright.sync_api import Error as PlaywrightError

AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
FAILING_IMPACTS = {"serious", "critical"}
RESULTS = Path(__file__).resolve().parents[2] / "test-results" / "every-page"

# Routes that are not pages a person reads (regular expressions over the full route), with why; everything
# else in the URL conf must be reached by some role's walk.
NOT_PAGES = {
    r"^jsi18n/$": "Django's JavaScript catalogue",
    r"^autocomplete/$": "JSON for the select widgets",
    r"^search/$": "the sidebar search's HTML fragment (htmx), shown inside a page",
    r"^r/<path:content_type_id>/<path:object_id>/$": "'view on site' redirect (switched off)",
    r"/<path:object_id>/$": "the admin's redirect from an object's bare URL to its change page",
    r"^\(\?P<url>\.\*\)\$$": "the admin's catch-all: walked as the 404 probe",
    r"^\^media/": "uploaded files (DEBUG only)",
    r"^dashboard/jobs/<int:job_run_id>/status/$": "JSON polled by job_progress.js",
    r"^procrastinate/procrastinatejob/<path:object_id>/delete/$": "procrastinate's admin deletes no job",
    r"^models_core/pendingfileremoval/<path:object_id>/delete/$": "read-only: the hourly sweep deletes these",
}


def is_page_route(route: str) -> bool:
    return not any(re.search(pattern, route) for pattern in NOT_PAGES)


# Links the walker does not follow, with why.
SKIPPED_HREF = re.compile(r"^(#|javascript:|mailto:)|/logout/|[?&]_popup=|[?&]_to_field=")

# Table rows past the 10th repeat the markup of the ones before; leaving them out keeps axe's colour checks
# of long lists (DB health has hundreds of rows) short.
AXE_EXCLUDE = [["tbody tr:nth-child(n+11)"]]
# unfold's sidebar (navigation for the role, same markup on each of its pages, only the current item differs).
SIDEBAR = ["#nav-sidebar-inner"]

# axe reads colours as they are drawn: a card's colour transition after the theme switch would be measured
# half-way (a 3:1 "contrast" that no reader sees once it settles).
NO_TRANSITIONS_CSS = "*, *::before, *::after { transition: none !important; animation: none !important; }"

CONTROLS_JS = """() => [...new Set([...document.querySelectorAll('#content input, #content select, '
    + '#content textarea, #content button, main input, main select, main textarea, main button')]
    .map(e => `${e.tagName}:${e.type}:${e.name}`))].sort().join(' ')"""

OVERFLOW_JS = """() => {
    const root = document.scrollingElement;
    return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth};
}"""

# unfold keeps the theme in Alpine state on <html> (persisted in localStorage); a page without unfold's
# layout has no Alpine, and gets the class alone (which is what the state would set).
THEME_JS = """(theme) => {
    const root = document.documentElement;
    if (window.Alpine && root._x_dataStack) { Alpine.$data(root).adminTheme = theme; }
    else { root.classList.toggle('dark', theme === 'dark'); }
}"""

# Links and GET forms' targets (a GET form with its fields' current values, e.g. the trash's restore
# button with one row ticked, is how some pages are reached).
LINKS_JS = """() => {
    const hrefs = [...document.querySelectorAll('a[href]')].map(a => a.href);
    const posts = [...document.querySelectorAll('form[method=post i]')].map(f => f.action);
    return {hrefs, posts};
}"""


def route_of(pattern_parts: list[str]) -> str:
    return "".join(pattern_parts)


def url_routes() -> dict[str, list[str]]:
    """Every route of the URL conf (full pattern string) -> [leaf pattern string, url name]."""
    routes: dict[str, list[str]] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else p.namespace or namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns or "")
            elif isinstance(p, URLPattern):
                name = f"{namespace}:{p.name}" if namespace and p.name else p.name or ""
                routes[prefix + str(p.pattern)] = [str(p.pattern), name]

    walk(get_resolver().url_patterns, "", "")
    return routes


def route_key(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.route


@dataclass
class Visit:
    role: str
    url: str
    status: int
    kind: str  # "page", "download", "data", "redirect", "post-only"


@dataclass
class Walk:
    """What one walk found: visits per role, and failures as readable lines."""

    visits: list[Visit] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    reached_routes: set[str] = field(default_factory=set)
    seconds_per_page: list[tuple] = field(default_factory=list)
    timings: list = field(default_factory=list)

    def report(self) -> str:
        """One line: how long the walk took and where the time went."""
        totals: dict[str, list[float]] = {}
        for name, seconds in self.timings:
            totals.setdefault(name, []).append(seconds)
        parts = [f"{name} {len(s)}x {sum(s):.1f} s" for name, s in totals.items()]
        return f"every-page walk: {len(self.pages())} pages checked; " + ", ".join(parts)

    def pages(self, role: str | None = None) -> list[Visit]:
        return [v for v in self.visits if v.kind == "page" and (role is None or v.role == role)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:90] or "home"


class SiteWalker:
    """Walk the site as one signed-in browser context (and the same user's in-process test client)."""

    def __init__(
        self, *, origin: str, result: Walk, expected_errors: dict[str, set[int]] | None = None
    ) -> None:
        self.origin = origin
        self.result = result
        self.axe_checked: set[tuple] = set()
        self.errors_seen: set[tuple] = set()
        self.expected_errors = expected_errors or {}

    # ---- what to visit ---------------------------------------------------------------------------------
    @staticmethod
    def probe_urls() -> list[str]:
        """Every route without arguments, as a URL: what the links did not lead to is asked for directly."""
        urls = []
        for route in url_routes():
            if not is_page_route(route) or "<" in route or "(?P" in route:
                continue
            urls.append("/" + route.lstrip("^").rstrip("$"))
        return urls

    def same_site(self, href: str) -> str | None:
        if not href or SKIPPED_HREF.search(href):
            return None
        absolute = urljoin(self.origin + "/", href)
        parts = urlsplit(absolute)
        if f"{parts.scheme}://{parts.netloc}" != self.origin or parts.path.startswith("/static/"):
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def visit_key(self, url: str) -> tuple | None:
        """One visit per route: one ticket's change page stands for every ticket's, one sort or filter of a
        list for all of them (walk() gives a route that refused its first URL one more, with a query)."""
        path = url.partition("?")[0]
        route = route_key(path)
        if route is None:
            return ("unresolved", path)
        if not is_page_route(route):
            return None
        return (route,)

    def error_kind(self, status: int, url: str) -> tuple:
        return (status, url.split("/")[1])

    # ---- one page ---------------------------------------------------------------------------------------
    def probe(self, client, role: str, url: str) -> bool:
        """Ask the test client first; True when the answer needs the browser (a page not checked yet)."""
        route = route_key(url.partition("?")[0])
        if route is not None:
            self.result.reached_routes.add(route)
        started = time.monotonic()
        response = client.get(url)
        self.result.timings.append(("probe", time.monotonic() - started))
        status = response.status_code
        content_type = response.get("Content-Type", "").split(";")[0]
        expected = self.expected_errors.get(url)
        if status >= 500 and status not in (expected or ()):
            self.result.failures.append(f"{role} {url}: answered {status}")
        if status == 405:
            self.result.visits.append(Visit(role, url, status, "post-only"))
            return False
        if 300 <= status < 400 or expected:
            return True  # the browser follows it (and expected errors are checked like any page)
        if content_type != "text/html" or response.get("Content-Disposition"):
            self.result.visits.append(Visit(role, url, status, "data"))
            return False
        if status >= 400 and self.error_kind(status, url) in self.errors_seen:
            self.result.visits.append(Visit(role, url, status, "page"))
            return False  # this refusal or not-found page of this part of the site was checked already
        return True

    def check(self, page, role: str, url: str) -> list[str]:
        """Load `url`, check it; return the same-site links and GET form targets it offers."""
        started = time.monotonic()
        route = route_key(url.partition("?")[0])
        if route is not None:
            self.result.reached_routes.add(route)
        try:
            response = self.goto(page, self.origin + url)
        except PlaywrightError as exc:
            # A download has no page; an empty 405 (POST-only endpoint) neither. Chromium then shows its
            # error page, which must not interrupt the next visit.
            kind = (
                "download"
                if "Download is starting" in exc.message
                else "post-only"
                if "ERR_HTTP_RESPONSE_CODE_FAILURE" in exc.message
                else None
            )
            if kind is None:
                raise
            self.result.visits.append(Visit(role, url, 0, kind))
            self.goto(page, "about:blank")
            return []
        self.result.timings.append(("load", time.monotonic() - started))
        status = response.status if response else 0
        content_type = (response.headers.get("content-type", "") if response else "").split(";")[0]
        if status >= 500 and status not in self.expected_errors.get(url, ()):
            self.result.failures.append(f"{role} {url}: answered {status}")
        if status == 405:
            self.result.visits.append(Visit(role, url, status, "post-only"))
            return []
        if content_type != "text/html":
            self.result.visits.append(Visit(role, url, status, "data"))
            return []
        final = self.same_site(page.url)
        if final and final != url:
            self.result.visits.append(Visit(role, url, status, "redirect"))
            if self.visit_key(final) in self.seen:
                return []  # the target was checked under its own route
            self.seen.add(self.visit_key(final))
            url = final
        self.result.visits.append(Visit(role, url, status, "page"))
        self.statuses[self.visit_key(url)] = status
        expected = self.expected_errors.get(url)
        if expected and status not in expected:
            self.result.failures.append(f"{role} {url}: answered {status}, expected {expected}")
        if status >= 400 and self.error_kind(status, url) in self.errors_seen and not expected:
            return []  # the same refusal or not-found page of this part of the site was checked already
        self.errors_seen.add(self.error_kind(status, url))
        self.page_checks(page, role, url, status)
        self.result.seconds_per_page.append((role, url, round(time.monotonic() - started, 2)))
        links = page.evaluate(LINKS_JS)
        for action in links["posts"]:
            target = self.same_site(action)
            if target and (key := route_key(target.partition("?")[0])):
                self.result.reached_routes.add(key)  # a POST endpoint, reached from a form
        return [u for u in (self.same_site(h) for h in links["hrefs"]) if u]

    def axe_key(self, page, url: str, status: int) -> tuple:
        """Pages that render the same controls from the same route are the same page to axe.

        Roles see one route in a few variants (read-only for managers, editable for admins); the form
        controls tell them apart. The admin's history and delete pages are one template for every model.
        Refusals and not-found pages are one per status and part of the site."""
        controls = page.evaluate(CONTROLS_JS)
        path = url.partition("?")[0]
        route = route_key(path) or path
        generic = re.search(r"/<path:object_id>/(history|delete)/$", route)
        if status >= 400:
            return ("error", status, path.split("/")[1], controls)
        if generic:
            return ("admin", generic.group(1), controls)
        return (route, status, controls)

    @staticmethod
    def goto(page, address: str):
        """page.goto, again when Chromium's own error page (after a download or an empty 405) interrupts."""
        for _attempt in range(3):
            try:
                return page.goto(address, wait_until="load")
            except PlaywrightError as exc:
                if "interrupted by another navigation" not in exc.message:
                    raise
                page.wait_for_load_state("load")
        return page.goto(address, wait_until="load")

    def page_checks(self, page, role: str, url: str, status: int) -> None:
        # static/dashboard/js/a11y.js names third-party widgets just after "load".
        page.wait_for_function(
            "!document.querySelector('script[src*=\"a11y.js\"]') || "
            "document.documentElement.hasAttribute('data-a11y-ready')"
        )
        where = f"{role} {url} ({status})"
        problems = []
        size = page.evaluate(OVERFLOW_JS)
        if size["scrollWidth"] > size["clientWidth"]:
            problems.append(f"scrolls sideways: {size['scrollWidth']} px wide in {size['clientWidth']} px")
        key = self.axe_key(page, url, status)
        if key not in self.axe_checked:
            self.axe_checked.add(key)
            problems.extend(self.axe_problems(page, role))
        if problems:
            RESULTS.mkdir(parents=True, exist_ok=True)
            shot = RESULTS / f"{_slug(role)}-{_slug(url)}.png"
            page.evaluate(THEME_JS, "light")
            page.screenshot(path=str(shot), full_page=True)
            self.result.failures.extend(f"{where}: {p} [{shot.name}]" for p in problems)

    def axe_problems(self, page, role: str) -> list[str]:
        problems = []
        started = time.monotonic()
        page.evaluate(AXE_SCRIPT)
        page.add_style_tag(content=NO_TRANSITIONS_CSS)
        exclude = AXE_EXCLUDE
        if role in self.sidebar_checked:
            exclude = [*AXE_EXCLUDE, SIDEBAR]
        elif page.locator(SIDEBAR[0]).count():
            self.sidebar_checked.add(role)
        for theme in ("light", "dark"):
            if theme == "dark":
                page.evaluate(THEME_JS, "dark")
                page.wait_for_function("document.documentElement.classList.contains('dark')")
            # Only colours change with the theme: the other rules run once.
            options = AXE_OPTIONS if theme == "light" else {**AXE_OPTIONS, "runOnly": ["color-contrast"]}
            response = page.evaluate(
                "([context, options]) => axe.run(context, options)", [{"exclude": exclude}, options]
            )
            for violation in response["violations"]:
                if violation["impact"] not in FAILING_IMPACTS:
                    continue
                targets = [" ".join(node["target"]) for node in violation["nodes"]][:4]
                summary = violation["nodes"][0].get("failureSummary", "").replace("\n", " ")[:300]
                problems.append(
                    f"axe {theme}: {violation['id']} ({violation['impact']}) on {len(violation['nodes'])} "
                    f"element(s) {targets}: {summary}"
                )
        self.result.timings.append(("axe", time.monotonic() - started))
        return problems

    # ---- the walk ---------------------------------------------------------------------------------------
    def walk(self, page, client, role: str, extra: list[str] = ()) -> None:
        """Follow links from the home page (and `extra`), then probe the routes nothing linked to."""
        self.seen: set[tuple] = set()
        self.statuses: dict[tuple, int] = {}
        self.sidebar_checked: set[str] = getattr(self, "sidebar_checked", set())
        retried: set[tuple] = set()
        queue: deque[tuple[str, bool]] = deque()

        def offer(url: str, probed: bool = False) -> None:
            key = self.visit_key(url)
            if key is None:
                return
            if key in self.seen:
                # A page that needs its query (the restore plan without ?items answers 400) gets one
                # more visit, with the first link that carries one.
                if self.statuses.get(key, 0) < 400 or "?" not in url or key in retried:
                    return
                retried.add(key)
            self.seen.add(key)
            queue.append((url, probed))

        for url in ["/", *extra]:
            offer(url)
        probes = deque([*self.probe_urls(), *self.expected_errors])
        while queue or probes:
            if not queue:
                offer(probes.popleft(), probed=True)
                continue
            url, probed = queue.popleft()
            if probed and not self.probe(client, role, url):
                continue
            for link in self.check(page, role, url):
                offer(link)


def write_summary(result: Walk) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "summary.json"
    path.write_text(
        json.dumps(
            {
                "visits": [v.__dict__ for v in result.visits],
                "failures": result.failures,
                "timings": result.timings,
                "per_page": result.seconds_per_page,
            },
            indent=1,
        )
    )
    return path
