"""Four-eyes deploy: a deploy waiting for approval, its diff, and group HR's decision."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import IsDeployReviewer, IsProcessReader
from api.serializers import DeploymentOut, StrictInput
from workflows import selectors, services
from workflows.models import ProcessVersion


def _version(version_id: int) -> ProcessVersion:
    return get_object_or_404(
        ProcessVersion.objects.select_related(
            "definition", "deployed_by", "reviewed_by", "base_version"
        ),
        pk=version_id,
    )


class DeploymentDetailOut(DeploymentOut):
    diff = serializers.SerializerMethodField()

    class Meta(DeploymentOut.Meta):
        fields = [*DeploymentOut.Meta.fields, "diff"]

    def get_diff(self, version) -> dict:
        return selectors.deployment_diff(version)


class DeploymentDetailApi(APIView):
    """One deploy (a version) with its approval and its diff against the version it replaces."""

    permission_classes = [IsProcessReader]

    @extend_schema(responses=DeploymentDetailOut)
    def get(self, request, version_id: int):
        return Response(DeploymentDetailOut(_version(version_id)).data)


class DeploymentDiffApi(APIView):
    """Added, removed and changed elements, lanes, operations and messages of a deploy against
    the version current when it was deployed; high-impact operations flagged."""

    permission_classes = [IsProcessReader]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, version_id: int):
        return Response(selectors.deployment_diff(_version(version_id)))


class _ReviewInput(StrictInput):
    comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class DeploymentApproveApi(APIView):
    """Group HR (never the deployer) approve a deploy waiting for approval: it becomes current."""

    permission_classes = [IsDeployReviewer]

    class InputSerializer(_ReviewInput):
        pass

    @extend_schema(request=InputSerializer, responses=DeploymentOut)
    def post(self, request, version_id: int):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        version = services.version_approve(
            version_id=version_id, actor=request.user, comment=payload.validated_data["comment"]
        )
        return Response(DeploymentOut(version).data)


class DeploymentRejectApi(APIView):
    """Group HR (never the deployer) reject a deploy waiting for approval: it never runs."""

    permission_classes = [IsDeployReviewer]

    class InputSerializer(_ReviewInput):
        pass

    @extend_schema(request=InputSerializer, responses=DeploymentOut)
    def post(self, request, version_id: int):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        version = services.version_reject(
            version_id=version_id, actor=request.user, comment=payload.validated_data["comment"]
        )
        return Response(DeploymentOut(version).data)
