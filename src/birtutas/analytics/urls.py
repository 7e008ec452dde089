"""The area overview and its files, all under the same filters (?region=&district=&year=&term=)."""

from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.area, name="area"),
    path("export.csv", views.area_csv, name="csv"),
    path("export.xlsx", views.area_xlsx, name="xlsx"),
]
