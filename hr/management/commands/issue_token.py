"""Issue an API token for an account (e.g. the integration account `appraisal_system`) and
print it, once: the database keeps only its digest (django-rest-knox). Every token expires;
revoke one in the Django admin (Knox: Auth tokens) or with POST /api/v1/auth/logout."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken
from knox.settings import knox_settings

MAX_DAYS = 366


class Command(BaseCommand):
    help = "Issue an API token for a user and print it once (only its digest is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"days the token works (1..{MAX_DAYS}); default: REST_KNOX TOKEN_TTL",
        )

    def handle(self, *args, username: str, days: int | None, **options):
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}")
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"no active user named {username!r}")
        ttl = timedelta(days=days) if days is not None else knox_settings.TOKEN_TTL
        instance, token = AuthToken.objects.create(user=user, expiry=ttl)
        self.stderr.write(
            f"token for {username}, valid until {instance.expiry.isoformat()} "
            "(shown once; send as 'Authorization: Token <token>'):"
        )
        self.stdout.write(token)
