from django.urls import path

from .oidc import views as oidc_views
from .views import account as account_views
from .views import acting as acting_views
from .views import auth as auth_views
from .views import factors as factor_views
from .views import officials as official_views

app_name = "identity"

urlpatterns = [
    # accounts: registration, sign-in, reset, the account page, delegations, businesses
    path("entrar/", auth_views.sign_in, name="sign-in"),
    path("salir/", auth_views.sign_out, name="sign-out"),
    path("registro/", auth_views.register, name="register"),
    path("registro/revise-su-correo/", auth_views.register_sent, name="register-sent"),
    path("verificar-correo/<str:token>/", auth_views.verify_email, name="verify-email"),
    path("recuperar-acceso/", auth_views.reset, name="reset"),
    path("recuperar-acceso/enviado/", auth_views.reset_sent, name="reset-sent"),
    path("recuperar-acceso/<str:token>/", auth_views.reset_confirm, name="reset-confirm"),
    path("cuenta/", account_views.account, name="account"),
    path("cuenta/datos/", account_views.profile, name="profile"),
    path("cuenta/correo/", account_views.email_change, name="email-change"),
    path("cuenta/correo/enviado/", account_views.email_change_sent, name="email-change-sent"),
    path("cuenta/correo/<str:token>/", account_views.email_change_confirm, name="email-change-confirm"),
    path("cuenta/sesiones/", account_views.sessions, name="sessions"),
    path("cuenta/sesiones/otras/terminar/", account_views.sessions_end_others, name="sessions-end-others"),
    path("cuenta/sesiones/<uuid:session_id>/terminar/", account_views.session_end, name="session-end"),
    path("cuenta/historial/", account_views.history, name="history"),
    path("cuenta/consentimientos/", account_views.consents, name="consents"),
    path(
        "cuenta/consentimientos/<uuid:consent_id>/retirar/",
        account_views.consent_revoke,
        name="consent-revoke",
    ),
    path("cuenta/delegaciones/", acting_views.delegations, name="delegations"),
    path("cuenta/delegaciones/nueva/", acting_views.delegation_new, name="delegation-new"),
    path(
        "cuenta/delegaciones/<uuid:delegation_id>/terminar/",
        acting_views.delegation_end,
        name="delegation-end",
    ),
    path("cuenta/empresas/", acting_views.businesses, name="businesses"),
    path("cuenta/empresas/nueva/", acting_views.business_new, name="business-new"),
    path(
        "cuenta/empresas/<uuid:representation_id>/terminar/", acting_views.business_end, name="business-end"
    ),
    path("cuenta/actuar-como/", acting_views.act_as, name="act-as"),
    # factors and assurance: second factors, step-up, in-person checks, assisted digital
    path("cuenta/seguridad/", factor_views.security, name="security"),
    path("cuenta/seguridad/aplicacion/", factor_views.totp_add, name="totp-add"),
    path(
        "cuenta/seguridad/aplicacion/<uuid:device_id>/quitar/", factor_views.totp_remove, name="totp-remove"
    ),
    path("cuenta/seguridad/llaves/", factor_views.passkeys, name="passkeys"),
    path(
        "cuenta/seguridad/llaves/opciones/",
        factor_views.passkey_register_options,
        name="passkey-register-options",
    ),
    path("cuenta/seguridad/llaves/registrar/", factor_views.passkey_register, name="passkey-register"),
    path(
        "cuenta/seguridad/llaves/<uuid:credential_id>/quitar/",
        factor_views.passkey_remove,
        name="passkey-remove",
    ),
    path("cuenta/seguridad/codigos/", factor_views.recovery_codes, name="recovery-codes"),
    path("verificacion-adicional/", factor_views.step_up, name="step-up"),
    path(
        "verificacion-adicional/codigo-de-recuperacion/",
        factor_views.step_up_recovery,
        name="step-up-recovery",
    ),
    path(
        "verificacion-adicional/llave/opciones/",
        factor_views.step_up_passkey_options,
        name="step-up-passkey-options",
    ),
    path("verificacion-adicional/llave/", factor_views.step_up_passkey, name="step-up-passkey"),
    path("niveles-de-confianza/", factor_views.levels, name="levels"),
    path("funcionarios/", official_views.home, name="officials"),
    path("funcionarios/verificar-identidad/", official_views.identity_check, name="identity-check"),
    path(
        "funcionarios/verificar-identidad/<uuid:person_id>/",
        official_views.identity_check_record,
        name="identity-check-record",
    ),
    path(
        "funcionarios/verificar-identidad/hecho/<uuid:check_id>/",
        official_views.identity_check_done,
        name="identity-check-done",
    ),
    path("funcionarios/asistencia/", official_views.assist, name="assist"),
    path("funcionarios/asistencia/terminar/", official_views.assist_end, name="assist-end"),
    # openid connect: the consent page
    path("autorizar/<str:ticket>/", oidc_views.consent, name="consent"),
    path("autorizar/<str:ticket>/nivel/", oidc_views.level_unreachable, name="level-unreachable"),
]
