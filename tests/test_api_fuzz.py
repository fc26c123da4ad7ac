"""Property-based fuzzing over the OpenAPI schema (schemathesis), bounded for CI.

Every operation is called with generated inputs, as a member and as a studio owner, once with
personal tokens and once with the website's login session (and its CSRF token); no answer may
be a 5xx, and every documented answer must match its schema.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from classpass.wsgi import application
from members import services as members_services
from studios.models import StaffRole
from tests import factories

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def in_process():
    """Calling the WSGI app directly, keep the test's connection (and transaction) open, as
    Django's own test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(db, in_process, market, plan):
    studio = factories.StudioFactory(market=market)
    owner = factories.StaffFactory(studio=studio, role=StaffRole.OWNER).user
    member = factories.MemberFactory(home_market=market)
    members_services.choose_plan(member, plan)
    for _ in range(3):
        factories.ClassSessionFactory(studio=studio)
    _, member_token = members_services.create_api_token(member.user)
    _, owner_token = members_services.create_api_token(owner)
    return {
        "studio": studio,
        "token": {"member": member_token, "owner": owner_token},
        "session": {"member": login_cookies(member.user), "owner": login_cookies(owner)},
    }


CSRF = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"  # a 32-character CSRF secret, as Django's cookie holds


def login_cookies(user) -> dict:
    """The cookies of a browser logged in as `user`: the website's session and a CSRF cookie."""
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF}


def call(case, world, auth: str) -> None:
    who = "member"
    if case.path_parameters and "studio_slug" in case.path_parameters:
        case.path_parameters["studio_slug"] = world["studio"].slug
        who = "owner"
    credentials = world[auth][who]
    if auth == "token":
        kwargs = {"headers": {"Authorization": f"Token {credentials}"}}
    else:  # the login cookie, with the CSRF token that the website's own scripts would send
        kwargs = {"cookies": credentials, "headers": {"X-CSRFToken": CSRF}}
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance], **kwargs)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_never_fails_and_matches_its_schema(case, world):
    call(case, world, "token")


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_with_a_login_session_never_fails_and_matches_its_schema(case, world):
    call(case, world, "session")
