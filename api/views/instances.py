"""Starting processes, following instances, and what operators do to them."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.filters import IsoDateTimeFilter
from api.permissions import IsIncidentReader, IsMessageSender, IsMigrator, IsOperator
from api.serializers import IncidentOut, InstanceOut, StrictInput
from hr.models import Employee, OrgUnit
from hr.selectors import employee_of
from workflows import assignment, selectors, services
from workflows.exceptions import InvalidInput, NotAllowed, NotFound
from workflows.models import Incident, ProcessInstance, ProcessVersion


def visible_instance(request, instance_id: int) -> ProcessInstance:
    instance = selectors.instances_visible_to(request.user).filter(pk=instance_id).first()
    if instance is None:
        raise NotFound(f"process instance {instance_id} does not exist")
    return instance


def instance_out(instances, many: bool = False):
    items = list(instances) if many else [instances]
    open_tasks = selectors.open_tasks([i.pk for i in items])
    return InstanceOut(instances, many=many, context={"open_tasks": open_tasks}).data


class InstanceFilter(django_filters.FilterSet):
    process = django_filters.CharFilter(field_name="definition__key")
    org_unit = django_filters.CharFilter(method="in_org_unit", label="org unit code (and below)")
    status = django_filters.ChoiceFilter(choices=ProcessInstance.Status.choices)
    subject = django_filters.CharFilter(field_name="subject__employee_no")
    version = django_filters.NumberFilter(field_name="version__number")
    started_after = IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")
    mine = django_filters.BooleanFilter(method="started_by_me", label="started by me")

    class Meta:
        model = ProcessInstance
        fields = []

    def in_org_unit(self, queryset, name, value):
        return queryset.filter(org_unit__path__startswith=_unit_path(value))

    def started_by_me(self, queryset, name, value):
        if value:
            return queryset.filter(started_by=self.request.user)
        return queryset.exclude(started_by=self.request.user)


def _unit_path(code: str) -> str:
    unit = OrgUnit.objects.filter(code=code).first()
    return unit.path if unit else "/nonexistent/"


class InstanceListApi(ListAPIView):
    """Instances I can see, newest first, with filters."""

    permission_classes = [IsAuthenticated]
    serializer_class = InstanceOut
    filterset_class = InstanceFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProcessInstance.objects.none()
        unknown = sorted(
            set(self.request.query_params) - {*InstanceFilter.base_filters, "page", "page_size"}
        )
        if unknown:
            raise InvalidInput([{"field": k, "message": "unknown filter"} for k in unknown])
        return selectors.for_listing(selectors.instances_visible_to(self.request.user)).order_by(
            "-started_at", "-id"
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(instance_out(page, many=True))


class InstanceStartApi(APIView):
    """Start the latest version of a process about an employee (myself by default)."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictInput):
        process = serializers.CharField()
        subject = serializers.CharField(required=False, help_text="employee number")
        data = serializers.DictField(required=False, default=dict)
        business_key = serializers.CharField(required=False, default="", max_length=200)

    @extend_schema(request=InputSerializer, responses={201: InstanceOut})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        params = payload.validated_data
        version = (
            ProcessVersion.objects.released()
            .filter(definition__key=params["process"])
            .select_related("definition")
            .order_by("-number")
            .first()
        )
        if version is None:
            raise InvalidInput([{"field": "process", "message": "no such process is deployed"}])
        if version.summary.get("started_by_system"):
            raise NotAllowed(
                f"{params['process']!r} is started by CareFlow itself (a scan or its own"
                " endpoint), not by hand"
            )
        if "subject" in params:
            subject = Employee.objects.filter(employee_no=params["subject"]).first()
            if subject is None:
                raise InvalidInput([{"field": "subject", "message": "no such employee"}])
        else:
            subject = employee_of(request.user)
            if subject is None:
                raise NotAllowed("you have no employee record to start a process about")
        if not assignment.may_start(
            request.user, start_lane=version.summary.get("start_lane", ""), subject=subject
        ):
            raise NotAllowed(f"you may not start {params['process']!r} for this employee")
        instance = services.instance_start(
            process_key=params["process"],
            started_by=request.user,
            subject=subject,
            data=params["data"],
            business_key=params["business_key"],
            version=version,
        )
        return Response(instance_out(instance), status=status.HTTP_201_CREATED)


class InstanceDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=InstanceOut)
    def get(self, request, instance_id: int):
        return Response(instance_out(visible_instance(request, instance_id)))


class _OperatorAction(APIView):
    permission_classes = [IsOperator]

    class InputSerializer(StrictInput):
        reason = serializers.CharField(required=False, default="", max_length=500)

    def act(self, instance: ProcessInstance, user, reason: str) -> ProcessInstance:
        raise NotImplementedError

    @extend_schema(request=InputSerializer, responses=InstanceOut)
    def post(self, request, instance_id: int):
        instance = visible_instance(request, instance_id)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        instance = self.act(instance, request.user, payload.validated_data["reason"])
        return Response(instance_out(instance))


class InstanceSuspendApi(_OperatorAction):
    def act(self, instance, user, reason):
        return services.instance_suspend(instance_id=instance.pk, actor=user, reason=reason)


class InstanceResumeApi(_OperatorAction):
    def act(self, instance, user, reason):
        return services.instance_resume(instance_id=instance.pk, actor=user)


class InstanceTerminateApi(_OperatorAction):
    def act(self, instance, user, reason):
        return services.instance_terminate(instance_id=instance.pk, actor=user, reason=reason)


class InstanceMigrateApi(APIView):
    """Move an instance to another version of its process (where the diff allows)."""

    permission_classes = [IsMigrator]

    class InputSerializer(StrictInput):
        to_version = serializers.IntegerField(min_value=1, help_text="version number")

    @extend_schema(request=InputSerializer, responses=InstanceOut)
    def post(self, request, instance_id: int):
        instance = visible_instance(request, instance_id)
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        target = ProcessVersion.objects.filter(
            definition=instance.definition, number=payload.validated_data["to_version"]
        ).first()
        if target is None:
            raise InvalidInput([{"field": "to_version", "message": "no such version"}])
        instance = services.instance_migrate(
            instance_id=instance.pk, to_version_id=target.pk, actor=request.user
        )
        return Response(instance_out(instance))


class IncidentListApi(ListAPIView):
    """Incidents of the instances I can see; `?status=open` for the work queue."""

    permission_classes = [IsIncidentReader]
    serializer_class = IncidentOut
    filterset_fields = ["status"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Incident.objects.none()
        visible = selectors.instances_visible_to(self.request.user).values("pk")
        return Incident.objects.filter(instance__in=visible).select_related("resolved_by")


class IncidentRetryApi(APIView):
    permission_classes = [IsOperator]

    @extend_schema(request=None, responses=IncidentOut)
    def post(self, request, incident_id: int):
        incident = get_object_or_404(Incident, pk=incident_id)
        visible_instance(request, incident.instance_id)
        incident = services.incident_retry(incident_id=incident.pk, actor=request.user)
        return Response(IncidentOut(incident).data)


class MessageApi(APIView):
    """Deliver a message from an integration (attendance, appraisal system) or an operator."""

    permission_classes = [IsMessageSender]

    class InputSerializer(StrictInput):
        name = serializers.CharField(max_length=200)
        correlation = serializers.DictField(required=False, default=dict)
        payload = serializers.DictField(required=False, default=dict)

    class OutputSerializer(serializers.Serializer):
        correlated = serializers.ListField(child=serializers.IntegerField())
        started = serializers.ListField(child=serializers.IntegerField())

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        params = payload.validated_data
        result = services.message_send(
            name=params["name"],
            correlation=params["correlation"],
            payload=params["payload"],
            actor=request.user,
        )
        return Response(
            {
                "correlated": [i.pk for i in result.correlated],
                "started": [i.pk for i in result.started],
            }
        )
