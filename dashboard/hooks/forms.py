"""Forms of the hook registry browser: the filters and the reset request."""

from django import forms
from unfold.widgets import UnfoldAdminSelectWidget

from dashboard.hooks.selectors import hook_model_choices, hook_type_choices


class HookFilterForm(forms.Form):
    model = forms.ChoiceField(required=False, widget=UnfoldAdminSelectWidget)
    event = forms.ChoiceField(required=False, widget=UnfoldAdminSelectWidget)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "All models"), *hook_model_choices()]
        self.fields["event"].choices = [("", "All events"), *hook_type_choices()]
        self.fields["model"].error_messages["invalid_choice"] = "There is no hooked model “%(value)s”."
        self.fields["event"].error_messages["invalid_choice"] = "There is no hook event “%(value)s”."


class HookStatsResetForm(forms.Form):
    """Reset one hook's statistics (`key`) or all of them (no key); model/event bring the filters back."""

    key = forms.CharField(required=False, max_length=500)
    model = forms.CharField(required=False, max_length=100)
    event = forms.CharField(required=False, max_length=30)
