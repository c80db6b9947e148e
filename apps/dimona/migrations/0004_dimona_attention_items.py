"""Shifts flagged "needs attention" become open items of the core's attention queue."""

from django.db import migrations
from django.utils import timezone

# The kind an old reason stands for, by the words the hub wrote it with.
KINDS_BY_REASON = (
    ("refused", "dimona.refused"),
    ("not accepted by", "dimona.refused"),
    ("accepted with warnings", "dimona.warnings"),
)
FALLBACK_KIND = "dimona.manual_check"


def kind_for_reason(reason: str) -> str:
    lowered = reason.lower()
    return next((kind for words, kind in KINDS_BY_REASON if words in lowered), FALLBACK_KIND)


def flagged_shifts_to_items(apps, schema_editor):
    Shift = apps.get_model("dimona", "Shift")
    AttentionItem = apps.get_model("core", "AttentionItem")
    ContentType = apps.get_model("contenttypes", "ContentType")
    flagged = list(Shift.objects.filter(needs_attention=True)
                   .values_list("pk", "attention_reason", "updated_at"))
    if not flagged:
        return
    content_type, _ = ContentType.objects.get_or_create(app_label="dimona", model="shift")
    items = []
    for pk, reason, updated_at in flagged:
        kind = kind_for_reason(reason)
        items.append(AttentionItem(
            domain="dimona", kind=kind, key=f"{kind}:dimona.shift:{pk}",
            summary=(reason or "Needs attention (flagged before the attention queue).")[:300],
            content_type=content_type, object_id=str(pk),
            created_at=updated_at or timezone.now()))
    AttentionItem.objects.bulk_create(items, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0005_connections_sync_attention"),
        ("dimona", "0003_dimona_connection"),
    ]

    operations = [
        migrations.RunPython(flagged_shifts_to_items, migrations.RunPython.noop),
        migrations.RemoveField(model_name="shift", name="needs_attention"),
        migrations.RemoveField(model_name="shift", name="attention_reason"),
    ]
