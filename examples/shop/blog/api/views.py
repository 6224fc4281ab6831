"""Views of the blog API."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from rest_framework import generics, viewsets
from rest_framework.decorators import api_view
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from blog.api.serializers import PostListSerializer, PostSerializer
from blog.models import Post


class PostViewSet(LoginRequiredMixin, viewsets.ModelViewSet):
    """Create, read, update and delete posts."""

    queryset = Post.objects.all()
    serializer_class = PostSerializer


class PostListView(generics.ListAPIView):
    """Published posts, paginated by the DRF pagination class in settings."""

    permission_classes = [IsAuthenticated]
    serializer_class = PostListSerializer

    def get_queryset(self) -> QuerySet[Post]:
        return Post.objects.order_by("-pk")


@api_view(["GET"])
def post_archive(request: Request) -> Response:
    """Every post, twenty per page."""
    paginator = Paginator(Post.objects.order_by("pk"), 20)
    page = paginator.get_page(request.query_params.get("page"))
    return Response(PostListSerializer(page.object_list, many=True).data)


class IsPostAuthor(BasePermission):
    """Only the author may edit a post (belongs in blog/api/permissions.py: DJG605, opt-in)."""

    def has_object_permission(self, request: Request, view: object, obj: Post) -> bool:
        return bool(obj.author_id == request.user.pk)
