from django.urls import path

from .views import institution, payer

app_name = "payments"

urlpatterns = [
    # The payer's side: what I owe, paying, the payment's status, history and receipts.
    path("cuenta/pagos/", payer.owed, name="owed"),
    path("cuenta/pagos/pagar/", payer.pay, name="pay"),
    path("cuenta/pagos/historial/", payer.history, name="history"),
    path("cuenta/pagos/<str:reference>/", payer.detail, name="detail"),
    path("cuenta/pagos/<str:reference>/cancelar/", payer.cancel, name="cancel"),
    path("cuenta/pagos/<str:reference>/recibo/", payer.receipt, name="receipt"),
    # The institution's side: obligations, collections, refunds, the counter, reconciliation.
    path("gestion/pagos/", institution.institutions, name="institutions"),
    path("gestion/pagos/conciliacion/", institution.reconciliations, name="reconciliations"),
    path(
        "gestion/pagos/conciliacion/<uuid:reconciliation_id>/",
        institution.reconciliation,
        name="reconciliation",
    ),
    path("gestion/pagos/<str:code>/", institution.collections, name="collections"),
    path("gestion/pagos/<str:code>/deudas/", institution.obligations, name="obligations"),
    path("gestion/pagos/<str:code>/deudas/nueva/", institution.obligation_new, name="obligation-new"),
    path(
        "gestion/pagos/<str:code>/deudas/importar/", institution.obligation_import, name="obligation-import"
    ),
    path("gestion/pagos/<str:code>/deudas/<uuid:obligation_id>/", institution.obligation, name="obligation"),
    path(
        "gestion/pagos/<str:code>/deudas/<uuid:obligation_id>/ajustar/",
        institution.obligation_change,
        {"change": "adjust"},
        name="obligation-adjust",
    ),
    path(
        "gestion/pagos/<str:code>/deudas/<uuid:obligation_id>/anular/",
        institution.obligation_change,
        {"change": "cancel"},
        name="obligation-cancel",
    ),
    path("gestion/pagos/<str:code>/devoluciones/<uuid:item_id>/", institution.refund, name="refund"),
    path("gestion/pagos/<str:code>/caja/", institution.counter, name="counter"),
    path(
        "gestion/pagos/<str:code>/caja/<str:reference>/", institution.counter_receipt, name="counter-receipt"
    ),
]
