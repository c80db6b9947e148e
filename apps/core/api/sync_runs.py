"""How every domain's API shows a core `SyncRun`: one shape for imports,
polls and calendar syncs, so a client reads them all the same way."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.core.models import SyncRun


class SyncRunProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(source="progress_done",
                                    help_text=_("Records handled so far."))
    total = serializers.IntegerField(
        source="progress_total", allow_null=True,
        help_text=_("Records to handle, once the run knows it; null before."))


class SyncRunSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.SerializerMethodField(
        help_text=_("From start to finish; null while it runs."))
    progress = SyncRunProgressSerializer(source="*")

    class Meta:
        model = SyncRun
        fields = ["id", "kind", "trigger", "direction", "status", "started_at", "finished_at",
                  "duration_seconds", "created", "updated", "unchanged", "deleted", "invalid",
                  "errors", "error_samples", "progress"]

    def get_duration_seconds(self, run: SyncRun) -> float | None:
        if run.finished_at is None:
            return None
        return round((run.finished_at - run.started_at).total_seconds(), 3)
