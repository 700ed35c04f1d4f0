from django.urls import path

from .views import account, institution

app_name = "notify"

urlpatterns = [
    # The person's side: messages in the account, how they hear from us, confirming a mobile number.
    path("cuenta/mensajes/", account.inbox, name="inbox"),
    path("cuenta/mensajes/<uuid:message_id>/", account.message, name="message-in-account"),
    path("cuenta/avisos/", account.preferences, name="preferences"),
    path("cuenta/avisos/codigo/", account.phone_code, name="phone-code"),
    path("cuenta/avisos/confirmar-celular/", account.phone_confirm, name="phone-confirm"),
    # The institution's side: sending services, their messages, templates and API keys.
    path("gestion/avisos/", institution.service_list, name="services"),
    path("gestion/avisos/nuevo/", institution.service_new, name="service-new"),
    path("gestion/avisos/<slug:slug>/", institution.service_detail, name="service"),
    path(
        "gestion/avisos/<slug:slug>/mensajes/<uuid:message_id>/", institution.message_detail, name="message"
    ),
    path("gestion/avisos/<slug:slug>/plantillas/", institution.template_list, name="templates"),
    path("gestion/avisos/<slug:slug>/plantillas/nueva/", institution.template_new, name="template-new"),
    path(
        "gestion/avisos/<slug:slug>/plantillas/<slug:template_slug>/",
        institution.template_detail,
        name="template",
    ),
    path(
        "gestion/avisos/<slug:slug>/plantillas/<slug:template_slug>/versiones/<int:number>/",
        institution.template_detail,
        name="template-version",
    ),
    path(
        "gestion/avisos/<slug:slug>/plantillas/<slug:template_slug>/editar/",
        institution.template_edit,
        name="template-edit",
    ),
    path(
        "gestion/avisos/<slug:slug>/plantillas/<slug:template_slug>/archivar/",
        institution.template_archive,
        name="template-archive",
    ),
    path(
        "gestion/avisos/<slug:slug>/plantillas/<slug:template_slug>/vista-previa/",
        institution.template_preview,
        name="template-preview",
    ),
    path(
        "gestion/avisos/<slug:slug>/plantillas/<slug:template_slug>/vista-previa/correo/",
        institution.template_preview_email,
        name="template-preview-email",
    ),
    path("gestion/avisos/<slug:slug>/claves/", institution.key_list, name="keys"),
    path("gestion/avisos/<slug:slug>/claves/nueva/", institution.key_new, name="key-new"),
    path("gestion/avisos/<slug:slug>/claves/creada/", institution.key_created, name="key-created"),
    path(
        "gestion/avisos/<slug:slug>/claves/<uuid:key_id>/revocar/", institution.key_revoke, name="key-revoke"
    ),
]
