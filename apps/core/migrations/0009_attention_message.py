"""Attention items keep their source texts and values, translated when read.

Items raised before take their stored text as their source text: a text
stored in English exactly as marked for translation (the hints, the
summaries without values) is then read in the reader's language; any other
is shown as it was stored, since gettext returns a text it does not know
unchanged.
"""

from django.db import migrations, models
from django.db.models import F


def stored_text_as_source(apps, schema_editor):
    AttentionItem = apps.get_model("core", "AttentionItem")
    AttentionItem.objects.update(summary_msgid=F("summary"), action_hint_msgid=F("action_hint"))


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0008_user_preference"),
    ]

    operations = [
        migrations.AddField(
            model_name="attentionitem",
            name="summary_msgid",
            field=models.TextField(blank=True, verbose_name="summary (source text)"),
        ),
        migrations.AddField(
            model_name="attentionitem",
            name="action_hint_msgid",
            field=models.TextField(blank=True, verbose_name="what to do (source text)"),
        ),
        migrations.AddField(
            model_name="attentionitem",
            name="message_values",
            field=models.JSONField(blank=True, default=dict, verbose_name="message values"),
        ),
        migrations.RunPython(stored_text_as_source, migrations.RunPython.noop),
    ]
