import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0006_oauth_state_operation_request"),
        ("dimona", "0002_employer_joint_commission_validated"),
    ]

    operations = [
        migrations.AddField(
            model_name="employer",
            name="connection",
            field=models.ForeignKey(
                blank=True, help_text="The ONSS account this employer declares with; empty: "
                "the default one.", limit_choices_to={"platform": "dimona"}, null=True,
                on_delete=django.db.models.deletion.PROTECT, related_name="+",
                to="core.connection", verbose_name="ONSS connection"),
        ),
    ]
