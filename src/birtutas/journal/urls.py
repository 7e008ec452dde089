from django.urls import path

from . import school_views, views

journal = (
    [
        path("", views.journal_index, name="index"),
        path("<int:assignment_id>/term/<int:term_id>/", views.journal_grid, name="grid"),
        path("<int:assignment_id>/term/<int:term_id>/summative/", views.summative_create, name="summative"),
        path("<int:assignment_id>/term/<int:term_id>/change-request/", views.change_request, name="change_request"),
        path("lesson/<int:lesson_id>/", views.lesson_edit, name="lesson"),
        path("lesson/<int:lesson_id>/student/<int:student_id>/", views.journal_cell, name="cell"),
        path("work/<int:work_id>/student/<int:student_id>/", views.journal_points, name="points"),
    ],
    "journal",
)

diary = (
    [
        path("", views.diary_index, name="index"),
        path("<int:student_id>/", views.diary_week, name="week"),
        path("<int:student_id>/summary/", views.diary_summary, name="summary"),
    ],
    "diary",
)

school = (
    [
        path("", school_views.school_index, name="index"),
        path("<int:organization_id>/", school_views.dashboard, name="dashboard"),
        path("<int:organization_id>/import/", school_views.import_csv, name="import"),
        path("<int:organization_id>/term/<int:term_id>/close/", school_views.close_term, name="close_term"),
        path("request/<int:request_id>/decide/", school_views.decide_request, name="decide"),
        path("class/<int:class_id>/timetable/", school_views.timetable, name="timetable"),
        path("class/<int:class_id>/schedule/", school_views.schedule_term, name="schedule"),
        path("class/<int:class_id>/load/", school_views.teaching_load, name="load"),
        path("class/<int:class_id>/report/", school_views.class_report, name="report"),
        path("history/<int:student_id>/<int:lesson_id>/", school_views.cell_history, name="history"),
    ],
    "school",
)
