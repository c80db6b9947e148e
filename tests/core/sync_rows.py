"""A row of each sync model (run, cursor, mapping, conflict) for tests walking every admin page."""

from __future__ import annotations

from apps.core.conflicts import conflict_open
from apps.core.models import Connection
from apps.core.sync import cursor_set, mapping_upsert, sync_run_start


def sync_rows() -> None:
    connection = Connection.objects.create(platform="acme", name="Acme (sync rows)")
    sync_run_start(kind="acme.import", connection=connection, total=10)
    cursor_set(connection=connection, stream="things", value="token-1")
    mapping_upsert(entity_type="thing", local_id=1, connection=connection, external_id="T-1",
                   raw={"name": "thing"})
    conflict_open(domain="acme", entity_type="thing", local_id=1, connection=connection,
                  local_value={"name": "ours"}, remote_value={"name": "theirs"})
