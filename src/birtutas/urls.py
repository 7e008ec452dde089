"""Every URL of the platform. Path parameters name the objects they refer to (`student_id`,
`class_id`, …): the access-control test walks these patterns and tries each against objects
of another school, class and family."""

from django.urls import include, path
from django.views.i18n import set_language

from birtutas.analytics import views as analytics_views
from birtutas.journal.urls import diary, journal, school
from birtutas.web import views as web_views

from .api import api

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", web_views.healthz, name="healthz"),
    path("accounts/login/", web_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", web_views.sign_out, name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("inbox/", web_views.inbox, name="inbox"),
    path("journal/", include(journal)),
    path("diary/", include(diary)),
    path("school/", include(school)),
    path("area/", include(([path("", analytics_views.area, name="area")], "analytics"))),
    path("api/v1/", api.urls),
]
