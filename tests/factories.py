import factory
from django.contrib.auth import get_user_model

from hr.models import Employee, OrgUnit, RoleAssignment


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit

    code = factory.Sequence(lambda n: f"unit-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    kind = OrgUnit.Kind.DEPARTMENT


class EmployeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employee

    user = factory.SubFactory(UserFactory)
    employee_no = factory.Sequence(lambda n: f"E{n:05d}")
    name = factory.Sequence(lambda n: f"Employee {n}")
    org_unit = factory.SubFactory(OrgUnitFactory)
    role_family = Employee.RoleFamily.NURSE


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = RoleAssignment.Role.EMPLOYEE
    org_unit = factory.SubFactory(OrgUnitFactory)
