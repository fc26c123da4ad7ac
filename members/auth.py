"""Log in with an e-mail address (stored, lower-cased, as the username) and a password."""

import binascii
from functools import cache
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth as knox_auth
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from rest_framework.exceptions import AuthenticationFailed

from studios.db import RowShape

from .models import Member


def login_name(typed: str) -> str:
    """An e-mail address as typed at log-in, as accounts store it: trimmed, in lower case."""
    return typed.strip().lower()


class EmailBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None:
            username = login_name(username)
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_username(request, credentials: dict | None) -> str | None:
    """The name django-axes counts failed log-ins against (AXES_USERNAME_CALLABLE): the address
    as the log-in reads it. Counted as typed, "Ada@example.com" and " ada@example.com" were
    two names with five tries each, for one account."""
    typed = (credentials or {}).get("username")
    if typed is None and request is not None:
        typed = request.POST.get("username")
    return None if typed is None else login_name(str(typed))


class TokenAuthentication(knox_auth.TokenAuthentication):
    """django-rest-knox's personal tokens, minus its scan of all the user's other tokens on
    every request (one query each time): our tokens do not expire (REST_KNOX TOKEN_TTL None)
    and are revoked by deletion. A token that does carry an expiry is still refused after it."""

    def _cleanup_token(self, auth_token) -> bool:
        return auth_token.expiry is not None and auth_token.expiry < timezone.now()

    def authenticate_credentials(self, token: bytes):
        """knox's own check, with the member profile read in the same query as the token and
        the user, so a member's request needs no second lookup (members.api.member_ref_of)."""
        token = token.decode()
        for auth_token in _tokens_with_owner(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise AuthenticationFailed("Invalid token.") from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise AuthenticationFailed("Invalid token.")


@cache
def _owner_query() -> tuple[str, list[RowShape]]:
    Token, User = get_token_model(), get_user_model()
    shapes = [RowShape(Token, "t"), RowShape(User, "u"), RowShape(Member, "mb")]
    quote = connection.ops.quote_name
    user_id = f"u.{quote(User._meta.pk.column)}"
    sql = (
        f"SELECT {', '.join(shape.sql for shape in shapes)} "
        f"FROM {quote(Token._meta.db_table)} t "
        f"JOIN {quote(User._meta.db_table)} u ON {user_id} = t.user_id "
        f"LEFT JOIN {quote(Member._meta.db_table)} mb ON mb.user_id = {user_id} "
        "WHERE t.token_key = %s"
    )
    return sql, shapes


def _tokens_with_owner(token_key: str) -> list:
    """The tokens with this key, each with its user and the user's member profile (or None),
    in one statement compiled once: the ORM's select_related cost more Python than the query
    took in the database, on every API request (docs/performance.md)."""
    sql, (token_shape, user_shape, member_shape) = _owner_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_key])
        rows = cursor.fetchall()
    tokens = []
    for row in rows:
        token = token_shape.build(row, 0)
        user = user_shape.build(row, len(token_shape.fields))
        offset = len(token_shape.fields) + len(user_shape.fields)
        member = None
        if row[offset] is not None:  # the member's primary key: the user has a profile
            member = member_shape.build(row, offset)
            Member.user.field.set_cached_value(member, user)
        Member.user.field.remote_field.set_cached_value(user, member)
        token.user = user
        tokens.append(token)
    return tokens


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of our token authentication: knox's own."""

    target_class = "members.auth.TokenAuthentication"
