"""What the console knows about each kind of background job: which permission lets someone other than the
starter follow, retry or cancel it, its name in words, and where a person sees what it did.

Each capability registers its kinds once (in its `tasks` module, which procrastinate autodiscovers), so the
shared job kit never imports a capability. A kind nobody registered is the starter's and platform staff's,
named by its identifier put into words, with no link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dashboard.jobs.models import JobRun


@dataclass(frozen=True)
class JobKind:
    permission: str | None
    label: str
    # The page showing what a run did (or following it while it runs), and that link's words.
    result_url: Callable[[JobRun], str] | None = None
    result_title: str = ""


@dataclass(frozen=True)
class JobResultLink:
    title: str
    url: str


_KINDS: dict[str, JobKind] = {}


def job_kind_label(kind: str) -> str:
    """A kind's name in words: the registered label, else "validation_scan" -> "Validation scan"."""
    registered = _KINDS.get(kind)
    if registered is not None and registered.label:
        return registered.label
    return kind.replace("_", " ").replace(".", ": ").strip().capitalize()


def job_kind_register(
    kind: str,
    *,
    permission: str | None,
    label: str = "",
    result_url: Callable[[JobRun], str] | None = None,
    result_title: str = "",
) -> str:
    """Declare a kind: holders of `permission` (None: nobody but the starter and platform superusers) in
    the run's organization may manage its runs; `result_url(run)` is the page that shows what a run did."""
    previous = _KINDS.get(kind)
    if previous is None:
        _KINDS[kind] = JobKind(permission, label, result_url, result_title or "See what it did")
    elif previous.permission != permission:
        raise ValueError(f"Job kind {kind!r} is already registered with {previous.permission!r}.")
    else:  # registered again with the same permission: what it adds joins what was there
        _KINDS[kind] = JobKind(
            permission,
            label or previous.label,
            result_url or previous.result_url,
            result_title or previous.result_title,
        )
    return kind


def job_kind_permission(kind: str) -> str | None:
    registered = _KINDS.get(kind)
    return registered.permission if registered is not None else None


def job_kinds_with_permission(user: Any) -> list[str]:
    """The kinds whose permission `user` holds (their organization's runs of those kinds are theirs too)."""
    return [kind for kind, kind_ in _KINDS.items() if kind_.permission and user.has_perm(kind_.permission)]


def job_run_result_link(run: JobRun) -> JobResultLink | None:
    """Where the run's result is shown, in words, or None when its kind names no page (or its `result_url`
    answers "" for this run: what it acted on is gone)."""
    registered = _KINDS.get(run.kind)
    if registered is None or registered.result_url is None:
        return None
    url = registered.result_url(run)
    return JobResultLink(registered.result_title, url) if url else None


def job_run_result_value(run: JobRun, key: str) -> Any:
    """One value of the run's stored result (None while it has none, or when it is not an object)."""
    return run.result.get(key) if isinstance(run.result, dict) else None
