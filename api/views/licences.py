"""Licences and credentials 执业证书/资质: the records, their renewal history, and whether the
holder is eligible for duty (see hr/services/licences.py and bpmn/licence_renewal.bpmn)."""

import django_filters
from django.utils import timezone
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated

from api.filters import refuse_unknown_filters
from hr.models import Credential
from hr.selectors import hr_records_visible_to


class CredentialFilter(django_filters.FilterSet):
    employee = django_filters.CharFilter(field_name="employee__employee_no")
    kind = django_filters.ChoiceFilter(choices=Credential.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Credential.Status.choices)

    class Meta:
        model = Credential
        fields = []


class CredentialOut(serializers.ModelSerializer):
    employee_no = serializers.CharField(source="employee.employee_no")
    employee_name = serializers.CharField(source="employee.name")
    replaces = serializers.IntegerField(source="replaces_id", allow_null=True)
    replaced_by = serializers.SerializerMethodField()
    days_to_expiry = serializers.SerializerMethodField()
    renewal = serializers.SerializerMethodField()
    is_restricting_duty = serializers.SerializerMethodField(
        help_text="expired unrenewed: the holder is not eligible for duty in its role"
    )

    class Meta:
        model = Credential
        fields = [
            "id",
            "employee_no",
            "employee_name",
            "kind",
            "number",
            "issuer",
            "valid_from_date",
            "valid_until_date",
            "status",
            "replaces",
            "replaced_by",
            "days_to_expiry",
            "renewal",
            "is_restricting_duty",
        ]

    def get_replaced_by(self, credential) -> int | None:
        replaced_by = getattr(credential, "replaced_by", None)
        return replaced_by.pk if replaced_by else None

    def get_days_to_expiry(self, credential) -> int | None:
        if credential.valid_until_date is None:
            return None
        return (credential.valid_until_date - timezone.localdate()).days

    def get_renewal(self, credential) -> dict | None:
        renewal = getattr(credential, "renewal", None)
        if renewal is None:
            return None
        return {"status": renewal.status, "instance": renewal.process_instance_id}

    def get_is_restricting_duty(self, credential) -> bool:
        return any(r.cleared_at is None for r in credential.duty_restrictions.all())


class LicenceListApi(ListAPIView):
    """Credentials I may see (mine; my units' people if I am supervisor, HR or auditor), with
    the ones they replaced: renewals keep the history."""

    permission_classes = [IsAuthenticated]
    serializer_class = CredentialOut
    filterset_class = CredentialFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Credential.objects.none()
        refuse_unknown_filters(self.request.query_params, CredentialFilter)
        return (
            Credential.objects.filter(employee__in=hr_records_visible_to(self.request.user))
            .select_related("employee", "renewal", "replaced_by")
            .prefetch_related("duty_restrictions")
            .order_by("employee__employee_no", "kind", "-valid_until_date", "-id")
        )
