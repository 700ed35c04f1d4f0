from ninja.security import HttpBearer

from .services import user_for_api_token


class TokenAuth(HttpBearer):
    """API authentication with a personal token (Authorization: Bearer vnt_…)."""

    def authenticate(self, request, token: str):
        user = user_for_api_token(token)
        if user is not None:
            request.user = user
        return user
