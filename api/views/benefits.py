"""Benefits centre 福利权益中心: what can be claimed, and my balances for a year.

Claims themselves are processes: `POST /instances/start` with process `benefit_claim`.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import StrictInput
from hr.models import BenefitEntitlement, BenefitType
from hr.selectors import employee_of


class BenefitListApi(APIView):
    """The benefit catalogue with the signed-in employee's balance of each for the year."""

    permission_classes = [IsAuthenticated]

    class FilterSerializer(StrictInput):
        year = serializers.IntegerField(required=False, min_value=2000, max_value=2100)

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        category = serializers.ChoiceField(choices=BenefitType.Category.choices)
        unit = serializers.ChoiceField(choices=BenefitType.Unit.choices)
        description = serializers.CharField()
        year = serializers.IntegerField()
        balance = serializers.DecimalField(
            max_digits=10,
            decimal_places=2,
            allow_null=True,
            help_text="null: no yearly balance (the reviewers decide)",
        )

    @extend_schema(
        parameters=[OpenApiParameter("year", int, description="default: this year")],
        responses=OutputSerializer(many=True),
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params.dict())
        filters.is_valid(raise_exception=True)
        year = filters.validated_data.get("year", timezone.localdate().year)
        employee = employee_of(request.user)
        balances = {}
        if employee is not None:
            balances = dict(
                BenefitEntitlement.objects.filter(employee=employee, year=year).values_list(
                    "benefit_type_id", "balance"
                )
            )
        rows = [
            {
                "code": t.code,
                "name": t.name,
                "category": t.category,
                "unit": t.unit,
                "description": t.description,
                "year": year,
                "balance": balances.get(t.pk),
            }
            for t in BenefitType.objects.all()
        ]
        return Response(self.OutputSerializer(rows, many=True).data)
