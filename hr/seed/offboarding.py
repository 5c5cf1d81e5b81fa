"""Demo data of the offboarding process: equipment lent to the demo employees and their
accounts in the group's systems (HIS 医院信息系统, EMR 电子病历, NIS 护理信息系统,
PACS 影像系统, OA 办公系统), so an offboarding has something to return and revoke."""

import datetime as dt

from hr.models import Employee, EquipmentAssignment, SystemAccount

ASSIGNED_DATE = dt.date(2024, 3, 1)

EQUIPMENT = [
    # employee no, asset tag, item
    ("E0003", "EAST-UNI-0003", "Nurse uniform set 护士服套装"),
    ("E0003", "EAST-CARD-0003", "Ward access card 病区门禁卡"),
    ("E0004", "EAST-LT-0004", "Laptop 笔记本电脑"),
    ("E0004", "EAST-STH-0004", "Stethoscope 听诊器"),
    ("W0003", "WEST-UNI-0003", "Nurse uniform set 护士服套装"),
    ("W0003", "WEST-CARD-0003", "Ward access card 病区门禁卡"),
]

ACCOUNTS = [
    # employee no, system
    ("E0003", "HIS"),
    ("E0003", "NIS"),
    ("E0003", "OA"),
    ("E0004", "HIS"),
    ("E0004", "EMR"),
    ("E0004", "PACS"),
    ("E0004", "OA"),
    ("W0003", "HIS"),
    ("W0003", "NIS"),
    ("W0003", "OA"),
]


def seed() -> None:
    """Lend equipment and open system accounts for the demo employees that exist
    (idempotent; returned equipment and revoked accounts stay as they are)."""
    employees = {
        e.employee_no: e
        for e in Employee.objects.filter(
            employee_no__in={no for no, *_ in EQUIPMENT} | {no for no, _ in ACCOUNTS}
        )
    }
    for number, asset_tag, item in EQUIPMENT:
        if number in employees:
            EquipmentAssignment.objects.get_or_create(
                asset_tag=asset_tag,
                defaults={
                    "employee": employees[number],
                    "item": item,
                    "assigned_date": ASSIGNED_DATE,
                },
            )
    for number, system in ACCOUNTS:
        if number in employees:
            SystemAccount.objects.get_or_create(
                system=system, username=number.lower(), defaults={"employee": employees[number]}
            )
