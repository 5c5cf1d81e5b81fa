"""Documents that forms refer to by id: upload one, read one (see workflows/documents.py)."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows import documents, selectors
from workflows.exceptions import InvalidInput, NotFound


class DocumentOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


class DocumentUploadApi(APIView):
    """Upload one PDF, PNG or JPEG (multipart field `file`); its id goes into a form field
    that has `x-upload`."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
        responses={201: DocumentOut},
    )
    def post(self, request):
        unknown = sorted(set(request.data) - {"file"})
        if unknown:
            raise InvalidInput([{"field": k, "message": "unknown field"} for k in unknown])
        uploads = request.FILES.getlist("file")
        if len(uploads) != 1:
            raise InvalidInput([{"field": "file", "message": "upload exactly one file"}])
        document = documents.document_store(upload=uploads[0], user=request.user)
        return Response(DocumentOut(document).data, status=status.HTTP_201_CREATED)


class DocumentDownloadApi(APIView):
    """The file, for its uploader and whoever may see a process instance that refers to it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request, document_id):
        document = selectors.document_visible_to(request.user, document_id)
        if document is None:
            raise NotFound(f"document {document_id} does not exist")
        response = FileResponse(
            document.file.open("rb"),
            content_type=document.content_type,
            as_attachment=True,
            filename=document.name,
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response
