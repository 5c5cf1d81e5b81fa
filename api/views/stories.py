"""Story wall 员工故事墙: submit stories (clinic HR, supervisors), read the published ones,
like (once per person) and comment on them; photos are served only to people who may read
the story.

Review and the monthly award are processes (`story_review`, `story_monthly_award`) worked
in the inbox.
"""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import StrictInput
from hr.models import Story, StoryComment
from hr.services import stories
from workflows.exceptions import NotFound


class StoryOut(serializers.ModelSerializer):
    employee_no = serializers.CharField(source="employee.employee_no")
    employee_name = serializers.CharField(source="employee.name")
    clinic = serializers.CharField(source="clinic.code")
    clinic_name = serializers.CharField(source="clinic.name")
    photos = serializers.SerializerMethodField()
    likes = serializers.IntegerField(source="like_count", default=0)
    comments = serializers.IntegerField(source="comment_count", default=0)
    review_comment = serializers.SerializerMethodField()

    class Meta:
        model = Story
        fields = [
            "id",
            "title",
            "text",
            "employee_no",
            "employee_name",
            "clinic",
            "clinic_name",
            "status",
            "review_comment",
            "submitted_at",
            "published_at",
            "photos",
            "likes",
            "comments",
        ]

    def get_photos(self, story) -> list[str]:
        return [f"/api/v1/stories/{story.pk}/photos/{p.pk}/" for p in story.photos.all()]

    def get_review_comment(self, story) -> str | None:
        """Only the submitter sees group HR's comments."""
        user = self.context.get("user")
        return story.review_comment if user and story.submitted_by_id == user.pk else None


def _with_counts(queryset):
    return stories.stories_with_counts(queryset).select_related("employee", "clinic")


class StoryListApi(ListAPIView):
    """GET: the published stories, newest first (`?mine=true`: the stories I submitted, in
    any state). POST: submit a story (multipart: employee_no, title, text, photos)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]
    serializer_class = StoryOut

    class FilterSerializer(StrictInput):
        mine = serializers.BooleanField(required=False, default=False)
        page = serializers.IntegerField(required=False, min_value=1)
        page_size = serializers.IntegerField(required=False, min_value=1)

    class InputSerializer(StrictInput):
        employee_no = serializers.CharField(max_length=32)
        title = serializers.CharField(max_length=200)
        text = serializers.CharField(max_length=20000)
        photos = serializers.ListField(
            child=serializers.FileField(), required=False, default=list, help_text="images"
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Story.objects.none()
        filters = self.FilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        if filters.validated_data["mine"]:
            mine = Story.objects.filter(submitted_by=self.request.user)
            return _with_counts(mine).order_by("-submitted_at", "-id")
        published = Story.objects.filter(status=Story.Status.PUBLISHED)
        return _with_counts(published).order_by("-published_at", "-id")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "user": self.request.user}

    @extend_schema(parameters=[OpenApiParameter("mine", bool)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": InputSerializer}, responses={201: StoryOut})
    def post(self, request):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        story = stories.story_submit(user=request.user, **payload.validated_data)
        story = _with_counts(Story.objects.filter(pk=story.pk)).get()
        return Response(
            StoryOut(story, context={"user": request.user}).data, status=status.HTTP_201_CREATED
        )


class StoryDetailApi(APIView):
    """A published story, or one I submitted (group HR: any)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=StoryOut)
    def get(self, request, story_id: int):
        story = stories.story_visible(story_id=story_id, user=request.user)
        story = _with_counts(Story.objects.filter(pk=story.pk)).get()
        return Response(StoryOut(story, context={"user": request.user}).data)


class StoryLikeApi(APIView):
    """Like a published story: 201 the first time, 200 (nothing changes) after that."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        liked = serializers.BooleanField()
        likes = serializers.IntegerField()

    @extend_schema(request=None, responses={201: OutputSerializer, 200: OutputSerializer})
    def post(self, request, story_id: int):
        result = stories.story_like(story_id=story_id, user=request.user)
        return Response(
            self.OutputSerializer({"liked": True, "likes": result.likes}).data,
            status=status.HTTP_201_CREATED if result.is_new else status.HTTP_200_OK,
        )


class StoryCommentOut(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = StoryComment
        fields = ["id", "author", "text", "created_at"]

    def get_author(self, comment) -> str:
        return comment.author.get_full_name() or comment.author.get_username()


class StoryCommentsApi(ListAPIView):
    """GET: the comments on a published story, oldest first. POST: add one."""

    permission_classes = [IsAuthenticated]
    serializer_class = StoryCommentOut

    class InputSerializer(StrictInput):
        text = serializers.CharField(max_length=2000)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StoryComment.objects.none()
        unknown = sorted(set(self.request.query_params) - {"page", "page_size"})
        if unknown:
            raise serializers.ValidationError({k: ["unknown field"] for k in unknown})
        story = stories.story_visible(story_id=self.kwargs["story_id"], user=self.request.user)
        if story.status != Story.Status.PUBLISHED:
            raise NotFound(f"no published story {story.pk}")
        return story.comments.select_related("author")

    @extend_schema(request=InputSerializer, responses={201: StoryCommentOut})
    def post(self, request, story_id: int):
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        comment = stories.story_comment_add(
            story_id=story_id, user=request.user, text=payload.validated_data["text"]
        )
        return Response(StoryCommentOut(comment).data, status=status.HTTP_201_CREATED)


class StoryPhotoApi(APIView):
    """A story's photo, to whoever may read the story."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    def get(self, request, story_id: int, photo_id: int):
        story = stories.story_visible(story_id=story_id, user=request.user)
        photo = story.photos.filter(pk=photo_id).first()
        if photo is None:
            raise NotFound(f"no photo {photo_id} of story {story_id}")
        response = FileResponse(photo.image.open("rb"), content_type=photo.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Disposition"] = "inline"
        return response
