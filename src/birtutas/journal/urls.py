from django.urls import path

from birtutas.kernel.parsing import register_id_converter

from . import bell_views, link_views, message_views, people_views, report_views, school_views, views

# <id:…> takes only ids that fit the database: a longer number is a 404, never an overflow.
register_id_converter()

journal = (
    [
        path("", views.journal_index, name="index"),
        path("today/", views.journal_today, name="today"),
        path("<id:assignment_id>/term/<id:term_id>/", views.journal_grid, name="grid"),
        path("<id:assignment_id>/term/<id:term_id>/summative/", views.summative_create, name="summative"),
        path("<id:assignment_id>/term/<id:term_id>/change-request/", views.change_request, name="change_request"),
        path("lesson/<id:lesson_id>/", views.lesson_edit, name="lesson"),
        path("lesson/<id:lesson_id>/student/<id:student_id>/", views.journal_cell, name="cell"),
        path("work/<id:work_id>/student/<id:student_id>/", views.journal_points, name="points"),
    ],
    "journal",
)

diary = (
    [
        path("", views.diary_index, name="index"),
        path("<id:student_id>/", views.diary_week, name="week"),
        path("<id:student_id>/summary/", views.diary_summary, name="summary"),
        path("<id:student_id>/history/", views.diary_history, name="history"),
    ],
    "diary",
)

messages = (
    [
        path("", message_views.index, name="index"),
        path("write/", message_views.write, name="write"),
        path("<id:conversation_id>/", message_views.conversation, name="conversation"),
        path("student/<id:student_id>/", message_views.family, name="family"),
        path("announce/<id:organization_id>/", message_views.announce, name="announce"),
    ],
    "messages",
)

school = (
    [
        path("", school_views.school_index, name="index"),
        path("<id:organization_id>/", school_views.dashboard, name="dashboard"),
        path("<id:organization_id>/import/", school_views.import_csv, name="import"),
        path("<id:organization_id>/bells/", bell_views.bell_schedule, name="bells"),
        path("<id:organization_id>/journals/", views.school_journals, name="journals"),
        path("<id:organization_id>/term/<id:term_id>/close/", school_views.close_term, name="close_term"),
        path("<id:organization_id>/term/<id:term_id>/reopen/", school_views.reopen_term, name="reopen_term"),
        path("closures/", school_views.area_closures, name="area_closures"),
        path("links/", link_views.links, name="links"),
        path("<id:organization_id>/person/<id:person_id>/history/", school_views.person_history, name="person_history"),
        path("request/<id:request_id>/decide/", school_views.decide_request, name="decide"),
        path("class/<id:class_id>/timetable/", school_views.timetable, name="timetable"),
        path("class/<id:class_id>/schedule/", school_views.schedule_term, name="schedule"),
        path("class/<id:class_id>/shift/", school_views.class_shift, name="class_shift"),
        path("class/<id:class_id>/load/", school_views.teaching_load, name="load"),
        path("class/<id:class_id>/report/", school_views.class_report, name="report"),
        path("class/<id:class_id>/attendance/", report_views.attendance, name="attendance"),
        path("class/<id:class_id>/grades/", report_views.grades, name="grades"),
        path("journal/<id:assignment_id>/term/<id:term_id>/export/", report_views.journal, name="journal_export"),
        path("history/<id:student_id>/<id:lesson_id>/", school_views.cell_history, name="history"),
        path("<id:organization_id>/people/", people_views.people, name="people"),
        path("<id:organization_id>/people/<id:person_id>/code/", people_views.issue_code, name="people_code"),
        path("<id:organization_id>/people/<id:person_id>/leave/", people_views.deactivate, name="people_leave"),
        path("<id:organization_id>/people/<id:person_id>/return/", people_views.reactivate, name="people_return"),
        path("<id:organization_id>/people/<id:person_id>/transfer/", people_views.transfer, name="people_transfer"),
        path("class/<id:class_id>/letters/", people_views.class_letters, name="class_letters"),
    ],
    "school",
)
