"""Log in with an e-mail address (stored, lower-cased, as the username) and a password."""

from django.contrib.auth.backends import ModelBackend
from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth as knox_auth


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None:
            username = username.strip().lower()
        return super().authenticate(request, username=username, password=password, **kwargs)


class TokenAuthentication(knox_auth.TokenAuthentication):
    """django-rest-knox's personal tokens, minus its scan of all the user's other tokens on
    every request (one query each time): our tokens do not expire (REST_KNOX TOKEN_TTL None)
    and are revoked by deletion. A token that does carry an expiry is still refused after it."""

    def _cleanup_token(self, auth_token) -> bool:
        return auth_token.expiry is not None and auth_token.expiry < timezone.now()


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of our token authentication: knox's own."""

    target_class = "members.auth.TokenAuthentication"
