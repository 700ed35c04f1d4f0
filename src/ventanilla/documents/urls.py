from django.urls import path

from .views import holder, institution, public

app_name = "documents"

urlpatterns = [
    # Anyone: checking a document by its code or its PDF, a shared document, the trust list.
    path("verificar/", public.verify, name="verify"),
    path("verificar/credencial/", public.verify_credential, name="verify-credential"),
    path("verificar/<str:code>/", public.verify_code, name="verify-code"),
    path("compartido/<str:token>/", public.shared, name="shared"),
    path("compartido/<str:token>/pdf/", public.shared_pdf, name="shared-pdf"),
    path("confianza/", public.trust_list, name="trust"),
    path("confianza/ca.pem", public.authorities_pem, name="authorities-pem"),
    # The holder: my documents, downloads, share links, credentials.
    path("cuenta/documentos/", holder.mine, name="mine"),
    path("cuenta/documentos/<str:code>/", holder.detail, name="detail"),
    path("cuenta/documentos/<str:code>/pdf/<str:language>/", holder.download, name="download"),
    path("cuenta/documentos/<str:code>/compartir/", holder.share, name="share"),
    path("cuenta/documentos/<str:code>/compartir/<uuid:link_id>/retirar/", holder.withdraw, name="withdraw"),
    path("cuenta/documentos/<str:code>/credencial/", holder.credential, name="credential"),
    # The issuing institution: what it issued, revocation.
    path("gestion/documentos/", institution.institutions, name="institutions"),
    path("gestion/documentos/<str:institution_code>/", institution.issued, name="issued"),
    path("gestion/documentos/<str:institution_code>/<str:code>/", institution.document, name="issued-detail"),
]
