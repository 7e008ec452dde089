"""Every URL of the platform. Path parameters name the objects they refer to (`student_id`,
`class_id`, …): the access-control test walks these patterns and tries each against objects
of another school, class and family."""

from django.conf import settings
from django.urls import include, path

from birtutas.journal.urls import diary, journal, messages, school
from birtutas.registry import views as registry_views
from birtutas.registry.admin import site as registry_admin
from birtutas.web import views as web_views

from .api import api

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", web_views.healthz, name="healthz"),
    path("manifest.webmanifest", web_views.web_manifest, name="web_manifest"),
    path("sw.js", web_views.service_worker, name="service_worker"),
    path("offline/", web_views.offline, name="offline"),
    path("accounts/login/", web_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", web_views.sign_out, name="logout"),
    path("accounts/unlock/", web_views.unlock, name="unlock"),
    path("accounts/activate/", web_views.activate_account, name="activate"),
    path("accounts/reset/", web_views.password_reset, name="password_reset"),
    path("accounts/reset/code/", web_views.password_reset_code, name="password_reset_code"),
    path("accounts/profile/", web_views.profile, name="profile"),
    path("accounts/profile/password/", web_views.profile_password, name="profile_password"),
    path("accounts/profile/sign-out-everywhere/", web_views.sign_out_everywhere, name="sign_out_everywhere"),
    path("accounts/role/", web_views.switch_role, name="switch_role"),
    path("i18n/setlang/", web_views.choose_language, name="set_language"),
    path("inbox/", web_views.inbox, name="inbox"),
    path("messages/", include(messages)),
    path("journal/", include(journal)),
    path("diary/", include(diary)),
    path("school/<id:organization_id>/calendar/", registry_views.school_calendar, name="school_calendar"),
    path("school/", include(school)),
    path("area/", include("birtutas.analytics.urls")),
    path("sync/", include("birtutas.sync.urls")),
    path(settings.SYNC_BASE_PATH, include("birtutas.sync.api_urls")),
    path("api/v1/", api.urls),
    path("admin/", registry_admin.urls),
]
