# Written for the shared store in the database (apps.core.store.DatabaseStore).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0006_oauth_state_operation_request'),
    ]

    operations = [
        migrations.CreateModel(
            name='SharedState',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=255, unique=True, verbose_name='key')),
                ('kind', models.CharField(choices=[('value', 'value'), ('hash', 'hash'), ('window', 'rate-limit window')], default='value', max_length=10, verbose_name='kind')),
                ('value', models.TextField(blank=True, verbose_name='value')),
                ('expires_at', models.FloatField(blank=True, db_index=True, null=True, verbose_name='expires at')),
            ],
            options={
                'verbose_name': 'shared state',
                'verbose_name_plural': 'shared state',
            },
        ),
        migrations.CreateModel(
            name='SharedWindowHit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=255, verbose_name='key')),
                ('at', models.FloatField(verbose_name='at')),
                ('expires_at', models.FloatField(db_index=True, verbose_name='expires at')),
            ],
            options={
                'verbose_name': 'rate-limit window hit',
                'verbose_name_plural': 'rate-limit window hits',
                'indexes': [models.Index(fields=['key', 'at'], name='core_window_hit_key_at')],
            },
        ),
    ]
