from django.utils.functional import SimpleLazyObject

from . import selectors


class PrincipalMiddleware:
    """request.principal: whom the signed-in session acts for (None when nobody is signed in), for the page
    header and for apps that file things under it. Worked out only when something asks."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.principal = SimpleLazyObject(lambda: selectors.principal_for_request(request))
        return self.get_response(request)
