"""Re-encrypt every encrypted column with the newest key.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones
after it), deploy, run this command, then remove the old keys.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from apps.core.fields import EncryptedTextField, rotate_token


class Command(BaseCommand):
    help = "Re-encrypt all EncryptedTextField values with the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            for field in fields:
                count = self._rotate(model, field)
                self.stdout.write(f"{model._meta.label}.{field.name}: {count} value(s)")

    @staticmethod
    def _rotate(model, field) -> int:
        table, column, pk = model._meta.db_table, field.column, model._meta.pk.column
        # Raw values (the tokens), read and written without decrypting in Python.
        rows = model.objects.values_list("pk", flat=True)
        done = 0
        quote = connection.ops.quote_name
        for batch_start in range(0, rows.count(), 500):
            ids = list(rows.order_by("pk")[batch_start:batch_start + 500])
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "  # noqa: S608
                    f"WHERE {quote(pk)} IN ({', '.join(['%s'] * len(ids))})", ids)
                for row_id, token in cursor.fetchall():
                    if token:
                        cursor.execute(
                            f"UPDATE {quote(table)} SET {quote(column)} = %s "  # noqa: S608
                            f"WHERE {quote(pk)} = %s", [rotate_token(token), row_id])
                        done += 1
        return done
