from django.urls import path

from . import views

app_name = "catalogue"
urlpatterns = [
    path("tramites/", views.procedure_search, name="search"),
    path("tramites/<str:code>/", views.procedure_detail, name="procedure"),
    path("tramites/<str:code>/cambios/", views.procedure_changes, name="changes"),
    path("tramites/<str:code>/documento-no-listado/", views.report_unlisted, name="report"),
    path("tramites/<str:code>/documento-no-listado/<str:reference>/", views.report_sent, name="report-sent"),
    path("instituciones/", views.institution_list, name="institutions"),
    path("instituciones/<str:code>/", views.institution_detail, name="institution"),
    path("instituciones/<str:code>/simplificacion/", views.institution_plan, name="institution-plan"),
    path("temas/", views.topic_list, name="topics"),
    path("niveles/", views.level_list, name="levels"),
    path("simplificacion/", views.simplification_summary, name="simplification"),
    path("documentos-no-listados/", views.unlisted_report_counts, name="report-counts"),
    path("datos-abiertos/", views.open_data, name="open-data"),
    path("gestion/reportes/", views.report_inbox, name="report-inbox"),
    path("gestion/reportes/<str:reference>/", views.report_answer, name="report-answer"),
    path("gestion/cambios/", views.change_request_list, name="change-requests"),
    path("gestion/cambios/nuevo/", views.propose_change, name="propose"),
    path("gestion/cambios/<uuid:change_id>/", views.change_request_review, name="change-request"),
    path("gestion/tramites/<str:code>/proponer/", views.propose_change, name="propose-edit"),
]
