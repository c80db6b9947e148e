import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0006_oauth_state_operation_request"),
        ("symphonics", "0002_sent_text_single_line"),
    ]

    operations = [
        migrations.AddField(
            model_name="intervention",
            name="connection",
            field=models.ForeignKey(
                blank=True, help_text="The Symphonics client account it is published with; "
                "empty: the default one.", limit_choices_to={"platform": "symphonics"},
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                to="core.connection", verbose_name="Symphonics connection"),
        ),
    ]
