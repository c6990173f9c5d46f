from django import forms

WINDOW_CHOICES = [(7, "7 days"), (30, "30 days"), (90, "90 days")]


class WindowForm(forms.Form):
    """The page's time window (query string)."""

    days = forms.TypedChoiceField(choices=WINDOW_CHOICES, coerce=int, required=False, empty_value=30)


class ConstraintCheckForm(forms.Form):
    constraint = forms.CharField(max_length=63)


class AdviceDismissForm(forms.Form):
    reason = forms.CharField(max_length=2000, strip=True)
