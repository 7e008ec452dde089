"""The sync status pages, under /sync/."""

from django.urls import path

from birtutas.kernel.parsing import register_id_converter

from . import views

register_id_converter()

app_name = "sync"

urlpatterns = [
    path("", views.index, name="index"),
    path("schools/", views.schools, name="schools"),
    path("school/<id:organization_id>/", views.school, name="school"),
]
