from django.urls import path

from .views import applicant, officials, service_pages

app_name = "cases"

urlpatterns = [
    # The applicant (views/applicant.py)
    path("tramites/<str:procedure_code>/solicitar/", applicant.start, name="start"),
    path("cuenta/solicitudes/", applicant.mine, name="mine"),
    path("solicitudes/<str:reference>/", applicant.detail, name="detail"),
    path("solicitudes/<str:reference>/paginas/<slug:page_key>/", applicant.page, name="page"),
    path("solicitudes/<str:reference>/revisar/", applicant.check, name="check"),
    path("solicitudes/<str:reference>/enviada/", applicant.confirmation, name="confirmation"),
    path("solicitudes/<str:reference>/responder/", applicant.respond, name="respond"),
    path("solicitudes/<str:reference>/retirar/", applicant.withdraw, name="withdraw"),
    path("solicitudes/<str:reference>/mensajes/", applicant.message, name="message"),
    path("solicitudes/<str:reference>/documentos/<uuid:evidence_id>/", applicant.evidence, name="evidence"),
    # The officials (views/officials.py)
    path("gestion/solicitudes/", officials.inbox, name="inbox"),
    path("gestion/solicitudes/<str:reference>/", officials.work, name="work"),
    path("gestion/solicitudes/<str:reference>/acciones/<slug:action_key>/", officials.act, name="act"),
    path("gestion/solicitudes/<str:reference>/tomar/", officials.claim, name="claim"),
    path("gestion/solicitudes/<str:reference>/asignar/", officials.assign, name="assign"),
    path("gestion/solicitudes/<str:reference>/notas/", officials.note, name="note"),
    path("gestion/solicitudes/<str:reference>/mensajes/", officials.message, name="message-to-applicant"),
    # The public service pages (views/service_pages.py)
    path("servicios/<str:procedure_code>/", service_pages.service, name="service"),
    path("servicios/<str:procedure_code>/diagrama.svg", service_pages.diagram, name="diagram"),
]
