from django import forms

from dashboard.dbhealth.index_findings import FINDING_KINDS

WINDOW_CHOICES = [(7, "7 days"), (30, "30 days"), (90, "90 days")]


class WindowForm(forms.Form):
    """The page's time window (query string)."""

    days = forms.TypedChoiceField(choices=WINDOW_CHOICES, coerce=int, required=False, empty_value=30)


class ConstraintCheckForm(forms.Form):
    constraint = forms.CharField(max_length=63)


FINDING_SORTS = [("size", "Size"), ("table", "Table"), ("index", "Index")]
INDEX_SORTS = [("table", "Table"), ("index", "Index"), ("scans", "Scans"), ("size", "Size")]


class IndexListingForm(forms.Form):
    """The index page's findings and index tables: kind tab, table filter, sort and page of each."""

    kind = forms.ChoiceField(choices=[(k, k) for k in FINDING_KINDS], required=False)
    ftable = forms.CharField(max_length=63, required=False)
    fsort = forms.ChoiceField(choices=FINDING_SORTS, required=False)
    fpage = forms.IntegerField(min_value=1, max_value=100_000, required=False)
    itable = forms.CharField(max_length=63, required=False)
    isort = forms.ChoiceField(choices=INDEX_SORTS, required=False)
    ipage = forms.IntegerField(min_value=1, max_value=100_000, required=False)

    def errors_text(self) -> str:
        return "; ".join(f"{field}: {' '.join(errors)}" for field, errors in self.errors.items())


class IndexKeyForm(forms.Form):
    """One index, by the names the catalog gives it (any characters; PostgreSQL allows 63 bytes)."""

    schema = forms.CharField(max_length=63, strip=False)
    table = forms.CharField(max_length=63, strip=False)
    index = forms.CharField(max_length=63, strip=False)


class AdviceDismissForm(forms.Form):
    reason = forms.CharField(max_length=2000, strip=True)
