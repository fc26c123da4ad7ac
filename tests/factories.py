"""factory_boy factories for the domain, shared by every app's tests."""

from datetime import date, time, timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from members.models import Member, Plan
from premium.models import Opportunity
from studios.models import (
    Category,
    ClassSession,
    ClassType,
    Instructor,
    Market,
    Schedule,
    StaffMembership,
    StaffRole,
    Studio,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.SelfAttribute("email")
    password = factory.django.Password("correct-horse-battery")


class MarketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Market

    name = factory.Sequence(lambda n: f"City {n}")
    slug = factory.Sequence(lambda n: f"city-{n}")
    timezone = "America/New_York"
    currency = "USD"
    credit_value_cents = 200
    late_cancel_fee_cents = 1000
    missed_class_fee_cents = 1500


class StudioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Studio

    market = factory.SubFactory(MarketFactory)
    name = factory.Sequence(lambda n: f"Studio {n}")
    slug = factory.Sequence(lambda n: f"studio-{n}")
    address = "1 Main St"
    categories = factory.LazyFunction(lambda: ["yoga"])
    payout_rate_cents = 1500


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory)
    studio = factory.SubFactory(StudioFactory)
    role = StaffRole.OWNER


class ClassTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClassType

    studio = factory.SubFactory(StudioFactory)
    name = factory.Sequence(lambda n: f"Flow {n}")
    category = Category.YOGA
    duration_minutes = 60


class InstructorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instructor

    studio = factory.SubFactory(StudioFactory)
    name = factory.Sequence(lambda n: f"Coach {n}")


class ScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Schedule

    studio = factory.SubFactory(StudioFactory)
    class_type = factory.SubFactory(ClassTypeFactory, studio=factory.SelfAttribute("..studio"))
    instructor = factory.SubFactory(InstructorFactory, studio=factory.SelfAttribute("..studio"))
    weekdays = factory.LazyFunction(lambda: [0, 2, 4])
    local_start_time = time(9, 0)
    duration_minutes = 60
    capacity = 20
    network_spots = 10
    credit_price = 8
    starts_on = factory.LazyFunction(lambda: date(2026, 1, 1))


class ClassSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClassSession

    studio = factory.SubFactory(StudioFactory)
    class_type = factory.SubFactory(ClassTypeFactory, studio=factory.SelfAttribute("..studio"))
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))
    duration_minutes = 60
    capacity = 20
    network_spots = 10
    credit_price = 8


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    market = factory.SubFactory(MarketFactory)
    name = factory.Sequence(lambda n: f"Plan {n}")
    credits_per_cycle = 30
    price_cents = 4900


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory)
    home_market = factory.SubFactory(MarketFactory)

    class Params:
        # An address the local payment provider declines (members/payments.py).
        declines = factory.Trait(
            user=factory.SubFactory(
                UserFactory, email=factory.Sequence(lambda n: f"card{n}+decline@example.com")
            )
        )


class OpportunityFactory(factory.django.DjangoModelFactory):
    """A recommendation to offer more network spots in a class (the nightly scan's kind)."""

    class Meta:
        model = Opportunity

    session = factory.SubFactory(ClassSessionFactory)
    studio = factory.SelfAttribute("session.studio")
    suggested_spots = 2
    expected_revenue_cents = 3000
    reason = "Sold out early every week."
