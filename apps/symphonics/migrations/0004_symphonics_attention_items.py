"""Interventions flagged "needs attention" become open items of the core's attention queue."""

from django.db import migrations
from django.utils import timezone

# The kind an old reason stands for, by the words the hub wrote it with.
KINDS_BY_REASON = (
    ("publication refused", "symphonics.publish_failed"),
    ("asks for additional proof", "symphonics.proof_required"),
    ("rejected by symphonics:", "symphonics.rejected"),
    ("unknown symphonics status", "symphonics.unknown_status"),
    ("documents refused", "symphonics.documents_refused"),
    ("no longer knows", "symphonics.unknown_remote"),
)
# A document's rejection reads "<document> rejected by Symphonics: …".
DOCUMENT_REJECTED = "symphonics.document_rejected"


def kind_for_reason(reason: str) -> str:
    lowered = reason.lower()
    if lowered.startswith("rejected by symphonics:"):
        return "symphonics.rejected"
    if " rejected by symphonics:" in lowered:
        return DOCUMENT_REJECTED
    return next((kind for words, kind in KINDS_BY_REASON if words in lowered),
                "symphonics.unknown_status")


def flagged_interventions_to_items(apps, schema_editor):
    Intervention = apps.get_model("symphonics", "Intervention")
    AttentionItem = apps.get_model("core", "AttentionItem")
    ContentType = apps.get_model("contenttypes", "ContentType")
    flagged = list(Intervention.objects.filter(needs_attention=True)
                   .values_list("pk", "attention_reason", "updated_at"))
    if not flagged:
        return
    content_type, _ = ContentType.objects.get_or_create(app_label="symphonics",
                                                        model="intervention")
    items = []
    for pk, reason, updated_at in flagged:
        kind = kind_for_reason(reason)
        items.append(AttentionItem(
            domain="symphonics", kind=kind, key=f"{kind}:symphonics.intervention:{pk}",
            summary=(reason or "Needs attention (flagged before the attention queue).")[:300],
            content_type=content_type, object_id=str(pk),
            created_at=updated_at or timezone.now()))
    AttentionItem.objects.bulk_create(items, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0005_connections_sync_attention"),
        ("symphonics", "0003_symphonics_connection"),
    ]

    operations = [
        migrations.RunPython(flagged_interventions_to_items, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="intervention", name="intervention_attention"),
        migrations.RemoveField(model_name="intervention", name="needs_attention"),
        migrations.RemoveField(model_name="intervention", name="attention_reason"),
    ]
