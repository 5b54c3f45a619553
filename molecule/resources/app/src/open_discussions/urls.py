from django.urls import path

from channels import views as channel_views
from course_catalog import views as catalog_views
from main import views as main_views
from search import views as search_views

urlpatterns = [
    path("", main_views.home),
    path("healthz", main_views.healthz),
    path("c/<str:name>/", channel_views.channel_page),
    path("api/v0/channels/", channel_views.channel_list),
    path("api/v0/podcasts/", catalog_views.podcast_list),
    path("api/v0/search/", search_views.search),
]
