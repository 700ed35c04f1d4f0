"""The API root: one OpenAPI document at /api/v1/openapi.json, docs at /api/v1/docs, errors people can act on."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from ventanilla.cases.api import router as cases_router
from ventanilla.catalogue.api import router as catalogue_router
from ventanilla.core import idempotency
from ventanilla.core.validation import describe_django, describe_pydantic
from ventanilla.documents.api import router as documents_router
from ventanilla.identity.oidc.api import router as oidc_router
from ventanilla.notify.api import router as notify_router
from ventanilla.payments.api import router as payments_router

api = NinjaAPI(
    title="ventanilla API",
    version="1",
    description=(
        "The platform's REST API. Reads of the public catalogue need no credentials. Writes need a bearer token "
        "(`Authorization: Bearer vnt_…`, issued with `ventanilla createtoken USER`). Errors come as "
        '`{"detail": "...", "errors": [{"field": "...", "message": "..."}]}` in the language of the '
        "`Accept-Language` header (es or en)."
    ),
    urls_namespace="api-v1",
)
api.add_router("/", catalogue_router)
api.add_router("/", oidc_router)
api.add_router("/", cases_router)
api.add_router("/notify", notify_router)
api.add_router("/", payments_router)
api.add_router("/", documents_router)


def _error(request, status: int, detail: str, errors: list[dict] | None = None):
    body = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


@api.exception_handler(NinjaValidationError)
def invalid_request(request, exc: NinjaValidationError):
    return _error(request, 422, _("Some values are not valid."), describe_pydantic(exc.errors))


@api.exception_handler(DjangoValidationError)
def invalid_values(request, exc: DjangoValidationError):
    return _error(request, 422, _("Some values are not valid."), describe_django(exc))


@api.exception_handler(idempotency.InvalidIdempotencyKey)
def invalid_idempotency_key(request, exc):
    return _error(request, 400, str(exc), [{"field": "Idempotency-Key", "message": str(exc)}])


@api.exception_handler(idempotency.IdempotencyConflict)
def idempotency_conflict(request, exc):
    return _error(request, 422, str(exc), [{"field": "Idempotency-Key", "message": str(exc)}])


@api.exception_handler(PermissionDenied)
def forbidden(request, exc: PermissionDenied):
    return _error(request, 403, str(exc) or _("You are not allowed to do this."))


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc: AuthenticationError):
    return _error(request, 401, _("Sign in first: send a valid bearer token."))


@api.exception_handler(Http404)
def not_found(request, exc: Http404):
    return _error(request, 404, str(exc) or _("Not found."))


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return _error(request, exc.status_code, str(exc))
