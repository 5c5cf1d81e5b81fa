"""Process owners: definitions, versions, deployments, version files, start forms."""

import json

from django.conf import settings
from django.db.models import Count, Max, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.parsers import MultiPartParser
from api.permissions import IsProcessOwner, IsProcessReader
from api.serializers import DefinitionOut, DeploymentOut, VersionOut
from workflows import selectors, services
from workflows.exceptions import InvalidInput
from workflows.models import ProcessDefinition, ProcessInstance, ProcessVersion

MAX_BUNDLE_FILES = 50


class DefinitionListApi(APIView):
    """Every deployed process with its latest version number."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=DefinitionOut(many=True))
    def get(self, request):
        released = Q(versions__approval_status__in=ProcessVersion.RELEASED)
        definitions = ProcessDefinition.objects.annotate(
            latest_number=Max("versions__number", filter=released)
        ).filter(latest_number__isnull=False)
        return Response(DefinitionOut(definitions.order_by("key"), many=True).data)


class VersionListApi(APIView):
    """The versions of one process, with how many instances are active on each."""

    permission_classes = [IsProcessReader]

    class OutputSerializer(VersionOut):
        active_instances = serializers.IntegerField(source="active_count")
        instances = serializers.IntegerField(source="instance_count")

        class Meta(VersionOut.Meta):
            fields = [*VersionOut.Meta.fields, "active_instances", "instances"]

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request, key: str):
        definition = get_object_or_404(ProcessDefinition, key=key)
        versions = definition.versions.annotate(
            instance_count=Count("instances"),
            active_count=Count(
                "instances", filter=Q(instances__status__in=ProcessInstance.ACTIVE_STATUSES)
            ),
        ).order_by("-number")
        return Response(self.OutputSerializer(versions, many=True).data)


class DeploymentApi(ListAPIView):
    """Upload a bundle (.bpmn, .dmn and form .json files) as multipart `files` (process
    owners); list deploys and their approval (`?status=pending`: those waiting for group HR).

    A deploy that adds or changes a call to a high-impact operation, or newly starts on or
    catches a message another process uses (only with `request_approval=true`, else 400), is
    stored waiting for approval (202) and shows its diff; the others are current at once (201).
    """

    permission_classes = [IsProcessOwner]
    parser_classes = [MultiPartParser]
    serializer_class = DeploymentOut
    filterset_fields = ["approval_status"]

    def get_permissions(self):
        if self.request.method == "GET":
            return [IsProcessReader()]
        return super().get_permissions()

    def get_queryset(self):
        return ProcessVersion.objects.select_related(
            "definition", "deployed_by", "reviewed_by", "base_version"
        ).order_by("-deployed_at", "-id")

    class OutputSerializer(serializers.Serializer):
        created = serializers.BooleanField()
        version = VersionOut()
        approval_reasons = serializers.JSONField()
        diff = serializers.JSONField()

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "DeploymentUpload",
                {
                    "files": serializers.ListField(child=serializers.FileField()),
                    "request_approval": serializers.BooleanField(required=False),
                },
            )
        },
        responses={201: OutputSerializer, 202: OutputSerializer, 200: OutputSerializer},
    )
    def post(self, request):
        unknown = sorted(set(request.data) - {"files", "request_approval"})
        if unknown:
            raise InvalidInput([{"field": k, "message": "unknown field"} for k in unknown])
        uploads = request.FILES.getlist("files")
        if not uploads:
            raise InvalidInput([{"field": "files", "message": "upload at least one file"}])
        if len(uploads) > MAX_BUNDLE_FILES:
            raise InvalidInput(
                [{"field": "files", "message": f"at most {MAX_BUNDLE_FILES} files per bundle"}]
            )
        names = [u.name for u in uploads]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise InvalidInput(
                [{"field": "files", "message": f"file {n!r} uploaded twice"} for n in duplicated]
            )
        limit = settings.CAREFLOW["BUNDLE_MAX_FILE_BYTES"]
        too_big = [u.name for u in uploads if u.size > limit]
        if too_big:
            raise InvalidInput(
                [{"field": f"files/{n}", "message": f"larger than {limit} bytes"} for n in too_big]
            )
        flag = serializers.BooleanField(required=False)
        try:
            request_approval = flag.to_internal_value(request.data.get("request_approval", False))
        except serializers.ValidationError as exc:
            raise InvalidInput(
                [{"field": "request_approval", "message": str(m)} for m in exc.detail]
            ) from None
        files = {u.name: u.read() for u in uploads}
        result = services.version_deploy(
            files=files, deployed_by=request.user, request_approval=request_approval
        )
        version = result.version
        if not result.created:
            code = status.HTTP_200_OK
        elif version.approval_status == ProcessVersion.Approval.PENDING:
            code = status.HTTP_202_ACCEPTED
        else:
            code = status.HTTP_201_CREATED
        return Response(
            self.OutputSerializer(
                {
                    "created": result.created,
                    "version": version,
                    "approval_reasons": version.approval_reasons,
                    "diff": selectors.deployment_diff(version),
                }
            ).data,
            status=code,
        )


class VersionFileApi(APIView):
    """Download one file of a deployed version (the BPMN a modeler opens, a DMN, a form)."""

    permission_classes = [IsProcessReader]

    @extend_schema(responses={(200, "application/xml"): bytes})
    def get(self, request, version_id: int, name: str):
        version = get_object_or_404(ProcessVersion, pk=version_id)
        for files, content_type in (
            (version.bpmn_files, "application/xml"),
            (version.dmn_files, "application/xml"),
        ):
            if name in files:
                return HttpResponse(files[name], content_type=f"{content_type}; charset=utf-8")
        if name in version.forms:
            return HttpResponse(
                json.dumps(version.forms[name], ensure_ascii=False),
                content_type="application/json; charset=utf-8",
            )
        return Response({"detail": f"version has no file {name!r}"}, status=404)


class StartFormApi(APIView):
    """The start form of the latest version of a process."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        process = serializers.CharField()
        version = serializers.IntegerField()
        starts_by_message = serializers.BooleanField()
        schema = serializers.JSONField(allow_null=True)
        ui_schema = serializers.JSONField(allow_null=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request, key: str):
        version = (
            ProcessVersion.objects.released()
            .filter(definition__key=key)
            .order_by("-number")
            .first()
        )
        if version is None:
            return Response({"detail": f"no process {key!r} is deployed"}, status=404)
        summary = version.summary
        return Response(
            self.OutputSerializer(
                {
                    "process": key,
                    "version": version.number,
                    "starts_by_message": bool(summary.get("start_messages")),
                    "schema": version.forms.get(summary.get("start_form") or ""),
                    "ui_schema": version.forms.get(summary.get("start_ui_form") or ""),
                }
            ).data
        )
