from django.urls import path  # noqa: F401  (each part of identity adds its pages below)

app_name = "identity"

urlpatterns = [
    # accounts: registration, sign-in, reset, the account page, delegations, businesses
    # factors and assurance: second factors, step-up, in-person checks, assisted digital
    # openid connect: the consent page
]
