"""The Manager and Admin groups.

Managers run the back-office: they read everything and may change the
domain objects (shifts, declarations, interventions) and use the actions;
Admins may also change users and the integration plumbing. Permissions are
granted per app, so apps added later are covered by re-running
`manage.py sync_group_permissions`.
"""

from django.db import migrations


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ("Manager", "Admin"):
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Manager", "Admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
