"""Re-encrypt every encrypted field value under the current key (the first of
CAREFLOW_FIELD_KEYS), so older keys can be removed. Idempotent: values already under the
current key are left alone; values stored before a column was encrypted get encrypted.

Sealed form fields (workflows/sensitive.py) in the state of process instances are
re-encrypted too. History events are not: they are hash-chained, and rewriting them would
break the chain auditors verify; a retired key stays in CAREFLOW_FIELD_KEYS (after the
current one, decrypting only) for as long as history sealed under it is kept. The command
ends by saying which keys still hold data (history, or values it could not read) and so
must stay listed, or that every key but the current one can be removed."""

from collections import Counter

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from hr import crypto
from hr.fields import EncryptedMixin
from workflows import sensitive
from workflows.models import ProcessInstance, WorkflowEvent


def _sealed_key_ids(value) -> list[str]:
    """The key ids of the sealed form fields (envelopes) anywhere in `value`."""
    if sensitive.is_envelope(value):
        return [crypto.token_key_id(value[sensitive.ENVELOPE_KEY])]
    if isinstance(value, dict):
        return [key_id for item in value.values() for key_id in _sealed_key_ids(item)]
    if isinstance(value, list):
        return [key_id for item in value for key_id in _sealed_key_ids(item)]
    return []


class Command(BaseCommand):
    help = "Re-encrypt encrypted model fields under the current key, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        self.stdout.write(f"current key: {crypto.key_ring().current_id}")
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedMixin)]
            if fields:
                changed = self._rotate_model(model, fields, batch_size)
                self.stdout.write(f"{model._meta.label_lower}: {changed} values re-encrypted")
        changed = self._rotate_instances(batch_size)
        self.stdout.write(f"process instances: {changed} sealed form fields re-encrypted")
        self._report_remaining()

    def _report_remaining(self) -> None:
        """Which keys other than the current one still seal something, and where."""
        current = crypto.key_ring().current_id
        envelope = sensitive.ENVELOPE_KEY
        left: Counter[tuple[str, str]] = Counter()
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedMixin)]
            if not fields:
                continue
            pks = list(model.objects.values_list("pk", flat=True))
            for start in range(0, len(pks), 1000):
                for _, stored in self._stored(model, fields, pks[start : start + 1000]):
                    for value in stored:
                        if crypto.is_token(value) and crypto.token_key_id(value) != current:
                            left[(crypto.token_key_id(value), model._meta.label_lower)] += 1
        for where, rows in (
            ("process instances", ProcessInstance.objects.filter(state__icontains=envelope)),
            ("history events", WorkflowEvent.objects.filter(data__icontains=envelope)),
        ):
            column = "state" if rows.model is ProcessInstance else "data"
            for value in rows.values_list(column, flat=True).iterator(chunk_size=500):
                for key_id in _sealed_key_ids(value):
                    if key_id != current:
                        left[(key_id, where)] += 1
        if not left:
            self.stdout.write(
                f"nothing is sealed under a key other than {current!r}: "
                "the other keys can be removed from CAREFLOW_FIELD_KEYS"
            )
            return
        for (key_id, where), count in sorted(left.items()):
            self.stdout.write(f"still under key {key_id!r}: {count} values in {where}")
        self.stdout.write(
            "keep those keys in CAREFLOW_FIELD_KEYS (after the current one) while that data is "
            "kept: history events are hash-chained and never re-encrypted"
        )

    def _rotate_instances(self, batch_size: int) -> int:
        # Only states that hold an envelope at all; instance rows are locked one by one.
        candidates = ProcessInstance.objects.filter(state__icontains=sensitive.ENVELOPE_KEY)
        pks = list(candidates.order_by("pk").values_list("pk", flat=True))
        changed = 0
        for start in range(0, len(pks), batch_size):
            with transaction.atomic():
                for pk in pks[start : start + batch_size]:
                    instance = ProcessInstance.objects.select_for_update().get(pk=pk)
                    state, count = sensitive.rotate(instance.state)
                    if count:
                        ProcessInstance.objects.filter(pk=pk).update(state=state)
                        changed += count
            done = min(start + batch_size, len(pks))
            self.stdout.write(f"  process instances: {done}/{len(pks)} rows")
        return changed

    def _rotate_model(self, model, fields, batch_size: int) -> int:
        total = model.objects.count()
        changed = seen = 0
        last_pk = None
        while True:
            page = model.objects.order_by("pk")
            if last_pk is not None:
                page = page.filter(pk__gt=last_pk)
            pks = list(page.values_list("pk", flat=True)[:batch_size])
            if not pks:
                return changed
            with transaction.atomic():
                changed += self._rotate_batch(model, fields, pks)
            seen += len(pks)
            last_pk = pks[-1]
            self.stdout.write(f"  {model._meta.label_lower}: {seen}/{total} rows")

    def _rotate_batch(self, model, fields, pks: list) -> int:
        """Rewrite the stale values of rows `pks` (locked), returning how many."""
        list(model.objects.select_for_update().filter(pk__in=pks).values_list("pk"))
        changed = 0
        for pk, stored in self._stored(model, fields, pks):
            stale = {}
            for field, value in zip(fields, stored, strict=True):
                if value in (None, ""):
                    continue
                if not crypto.is_token(value):
                    stale[field.attname] = value  # written before the column was encrypted
                elif crypto.needs_rotation(value):
                    stale[field.attname] = crypto.decrypt(value, purpose=field.purpose)
            if stale:
                # update() writes through each field: encrypted under the current key.
                model.objects.filter(pk=pk).update(**stale)
                changed += len(stale)
        return changed

    def _stored(self, model, fields, pks: list) -> list[tuple]:
        """(pk, column values as stored) for rows `pks`, read past the fields' decryption."""
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(pks))
        sql = (
            f"SELECT {quote(model._meta.pk.column)}, {columns} "  # noqa: S608 - names quoted
            f"FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(model._meta.pk.column)} IN ({placeholders})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, pks)
            return [(row[0], row[1:]) for row in cursor.fetchall()]
