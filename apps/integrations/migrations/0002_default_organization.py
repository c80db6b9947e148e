"""The deployment's default organisation: users with no membership act for it,
so a single-company deployment needs no set-up."""

from django.db import migrations


def create_default(apps, schema_editor):
    Organization = apps.get_model("integrations", "Organization")
    if not Organization.objects.filter(is_default=True).exists():
        Organization.objects.create(name="Default organisation", slug="default", is_default=True)


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]

    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
