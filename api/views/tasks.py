"""Employees and managers: the inbox, a task's form, claim, unclaim, delegate, complete."""

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.sensitive import shown
from api.serializers import DateTimeField, StrictInput, TaskOut
from workflows import selectors, services
from workflows.exceptions import InvalidInput, NotFound
from workflows.models import HumanTask


def _columns_shown(serializer_class) -> list[str]:
    """The ORM paths a serializer reads (`instance.definition.key` → `instance__definition__key`),
    for `.only()`: a list then loads what it shows and nothing else. Method fields read what
    the others already load."""
    return [
        field.source.replace(".", "__")
        for field in serializer_class().fields.values()
        if field.source != "*"
    ]


TASK_LIST_COLUMNS = _columns_shown(TaskOut)


def visible_task(request, task_id: int, *, with_state: bool = False) -> HumanTask:
    task = selectors.task_visible_to(request.user, task_id, with_state=with_state)
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    return task


class InboxApi(ListAPIView):
    """Open tasks assigned to me or offered to me or my roles, oldest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = TaskOut
    filter_backends = []

    class FilterSerializer(StrictInput):
        process = serializers.CharField(required=False)
        due_before = DateTimeField(required=False)
        overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
        page = serializers.IntegerField(required=False, min_value=1)
        page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    @extend_schema(
        parameters=[
            OpenApiParameter("process", str, description="process key"),
            OpenApiParameter("due_before", str, description="ISO 8601 date-time"),
            OpenApiParameter("overdue", bool),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return HumanTask.objects.none()
        filters = self.FilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        tasks = (
            selectors.inbox(self.request.user)
            .select_related(
                "instance__definition", "assignee", "candidate_user", "candidate_org_unit"
            )
            .only(*TASK_LIST_COLUMNS)
        )
        if params.get("process"):
            tasks = tasks.filter(instance__definition__key=params["process"])
        if params.get("due_before"):
            tasks = tasks.filter(due_at__lt=params["due_before"])
        if params.get("overdue") is True:
            tasks = tasks.filter(due_at__lt=timezone.now())
        elif params.get("overdue") is False:
            tasks = tasks.exclude(due_at__lt=timezone.now())
        return tasks


class TaskDetailApi(APIView):
    """One task with its form (JSON Schema + UI schema) and current data."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(TaskOut):
        form = serializers.SerializerMethodField()

        class Meta(TaskOut.Meta):
            fields = [*TaskOut.Meta.fields, "form"]

        def get_form(self, task) -> dict:
            return selectors.task_form(task)

    @extend_schema(responses=OutputSerializer)
    def get(self, request, task_id: int):
        task = visible_task(request, task_id, with_state=True)
        data = self.OutputSerializer(task, context={"now": timezone.now()}).data
        data["form"]["data"] = shown(request, task.instance, data["form"]["data"], task=task)
        return Response(data)


class TaskClaimApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=TaskOut)
    def post(self, request, task_id: int):
        visible_task(request, task_id)
        task = services.task_claim(human_task_id=task_id, user=request.user)
        return Response(TaskOut(task).data)


class TaskUnclaimApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=TaskOut)
    def post(self, request, task_id: int):
        visible_task(request, task_id)
        task = services.task_unclaim(human_task_id=task_id, user=request.user)
        return Response(TaskOut(task).data)


class TaskDelegateApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictInput):
        to_user = serializers.CharField(
            help_text="username of a colleague who could work the task (see its delegates)"
        )

    @extend_schema(request=InputSerializer, responses=TaskOut)
    def post(self, request, task_id: int):
        visible_task(request, task_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        colleague = (
            get_user_model()
            .objects.filter(username=data.validated_data["to_user"], is_active=True)
            .first()
        )
        if colleague is None:
            raise InvalidInput([{"field": "to_user", "message": "no active user with that name"}])
        task = services.task_delegate(human_task_id=task_id, user=request.user, to_user=colleague)
        return Response(TaskOut(task).data)


class TaskDelegatesApi(APIView):
    """Who I may hand this task to: the people who could work it (empty unless it is mine to
    hand on)."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        username = serializers.CharField()
        name = serializers.SerializerMethodField()

        def get_name(self, user) -> str:
            employee = getattr(user, "employee", None)
            return employee.name if employee is not None else ""

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, task_id: int):
        task = visible_task(request, task_id, with_state=True)
        people = selectors.task_delegates(task, request.user)
        return Response(self.OutputSerializer(people, many=True).data)


class TaskCompleteApi(APIView):
    permission_classes = [IsAuthenticated]

    class InputSerializer(StrictInput):
        data = serializers.DictField(help_text="the form data, validated against the form")

    @extend_schema(request=InputSerializer, responses=TaskOut)
    def post(self, request, task_id: int):
        visible = visible_task(request, task_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.task_complete(
            human_task_id=task_id,
            user=request.user,
            data=data.validated_data["data"],
            instance_id=visible.instance_id,
        )
        return Response(TaskOut(task).data)
