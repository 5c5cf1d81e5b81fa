"""Auditors: an instance's history, its hash-chain verification, and exports."""

import csv
import io
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import IsAuditReader
from api.sensitive import shown
from api.serializers import EventOut
from api.views.instances import instance_out, visible_instance
from workflows import selectors

EXPORT_COLUMNS = [
    "seq",
    "created_at",
    "kind",
    "actor",
    "element_id",
    "task_id",
    "data",
    "prev_hash",
    "hash",
]


def events_out(request, instance) -> list[dict]:
    """The instance's events, sensitive form fields revealed or masked for the reader."""
    return shown(request, instance, EventOut(selectors.instance_events(instance), many=True).data)


class VerificationOut(serializers.Serializer):
    is_valid = serializers.BooleanField()
    events_checked = serializers.IntegerField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class HistoryApi(APIView):
    """Events of an instance in order: who did what, when, and what changed (masked)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=EventOut(many=True))
    def get(self, request, instance_id: int):
        instance = visible_instance(request, instance_id)
        return Response(events_out(request, instance))


class HistoryVerifyApi(APIView):
    permission_classes = [IsAuditReader]

    @extend_schema(responses=VerificationOut)
    def get(self, request, instance_id: int):
        instance = visible_instance(request, instance_id)
        return Response(VerificationOut(selectors.history_verify(instance)).data)


class HistoryExportCsvApi(APIView):
    permission_classes = [IsAuditReader]

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request, instance_id: int):
        instance = visible_instance(request, instance_id)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for event in events_out(request, instance):
            row = dict(event, data=json.dumps(event["data"], ensure_ascii=False, sort_keys=True))
            writer.writerow([row[c] if row[c] is not None else "" for c in EXPORT_COLUMNS])
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="careflow-instance-{instance.pk}-history.csv"'
        )
        return response


class HistoryExportJsonApi(APIView):
    permission_classes = [IsAuditReader]

    @extend_schema(responses={(200, "application/json"): dict})
    def get(self, request, instance_id: int):
        instance = visible_instance(request, instance_id)
        document = {
            "instance": instance_out(instance),
            "events": events_out(request, instance),
            "verification": VerificationOut(selectors.history_verify(instance)).data,
        }
        response = HttpResponse(
            json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="careflow-instance-{instance.pk}-history.json"'
        )
        return response
