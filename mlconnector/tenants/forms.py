"""Forms of the team pages: invite someone by email with a role, and join through an invitation."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from mlconnector.tenants.models import Membership


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address", help_text="We send a link that works once, for 7 days.")
    role = forms.ChoiceField(
        label="Role",
        choices=Membership.Role.choices,
        initial=Membership.Role.VIEWER,
        help_text="Viewers can read everything and change nothing; admins can connect, pause and replay.",
    )

    def __init__(self, *args, tenant=None, **kwargs):
        self.tenant = tenant
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs["aria-describedby"] = f"id_{name}_help"

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if (
            self.tenant is not None
            and Membership.objects.filter(tenant=self.tenant, user__email__iexact=email).exists()
        ):
            raise forms.ValidationError(f"{email} is already a member of {self.tenant.name}.")
        return email


class JoinForm(UserCreationForm):
    """A new person accepting an invitation chooses a username and a password."""

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)
