"""The platform's areas and tables linked to our rooms and tables, against the simulator."""

from __future__ import annotations

import pytest

from apps.core.sync import mapping_find_local
from apps.restosync.connectors import get_connector
from apps.restosync.layout import layout_pull
from apps.restosync.models import ENTITY_ROOM, ENTITY_TABLE, DiningRoom, DiningTable
from apps.restosync.polling import config_poll
from apps.restosync.selectors import connector_config
from tests.restosync.factories import DiningRoomFactory, DiningTableFactory, make_config
from tests.restosync.helpers import guest_books, mapped_reservation

pytestmark = pytest.mark.django_db


def pull(config):
    return layout_pull(config=config, connector=get_connector(connector_config(config)))


def linked(config, entity_type: str, external_id: str):
    local_id = mapping_find_local(connection=config.connection, external_id=external_id,
                                  entity_type=entity_type)
    model = DiningRoom if entity_type == ENTITY_ROOM else DiningTable
    return model.objects.get(pk=local_id)


def test_the_first_pull_makes_our_rooms_and_tables_from_the_platforms(sim, config):
    result = pull(config)

    assert (result.created, result.linked) == (9, 9)
    assert sorted(DiningRoom.objects.values_list("name", flat=True)) == ["Restaurant", "Terras"]
    table = linked(config, ENTITY_TABLE, "13")
    assert (table.name, table.min_covers, table.max_covers) == ("13", 2, 4)
    assert table.room == linked(config, ENTITY_ROOM, "1")


def test_ours_of_the_same_name_are_linked_not_copied_and_a_second_pull_does_nothing(
        sim, config):
    terrace = DiningRoomFactory(restaurant=config.restaurant, name=" terras ")
    table = DiningTableFactory(restaurant=config.restaurant, name="21", max_covers=8)

    pull(config)
    again = pull(config)

    assert linked(config, ENTITY_ROOM, "2") == terrace
    assert linked(config, ENTITY_TABLE, "21") == table
    assert DiningRoom.objects.count() == 2 and DiningTable.objects.count() == 7
    assert (again.created, again.linked, again.updated) == (0, 0, 0)
    # We are master for tables (the default): our covers stay.
    table.refresh_from_db()
    assert table.max_covers == 8


def test_a_platform_master_for_tables_gives_their_names_and_covers(sim):
    config = make_config(master_for=[ENTITY_TABLE])
    table = DiningTableFactory(restaurant=config.restaurant, name="21", max_covers=8)

    result = pull(config)

    table.refresh_from_db()
    assert (table.min_covers, table.max_covers) == (1, 2)
    assert result.updated == 1


def test_a_poll_links_the_floor_plan_before_it_reads_the_bookings(sim, config):
    made = guest_books(sim)

    config_poll(config=config)

    reservation = mapped_reservation(config, made["uid"])
    assert [table.name for table in reservation.tables.all()] == ["13"]
