"""Each provider's settings are checked against the seed's keys: an unknown key or a
wrong type is refused, named by its dotted path; what passes comes back as sent."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.integrations.settings_schema import validate_notifications, validate_settings

GOOGLE_SEED = {
    "calendarId": "primary", "syncDirection": "bidirectional",
    "eventMapping": {"titlePrefix": "[Attendance-X] ", "includeAttendees": True,
                     "includeDescription": True, "includeLocation": True, "colorId": "2"},
    "filters": {"eventTypes": ["training", "meeting", "conference"], "excludePrivate": True,
                "minDuration": 30},
    "notifications": {"reminders": True, "reminderMinutes": [15, 60]},
}
MICROSOFT_SEED = {
    "calendarId": "primary",
    "teamsIntegration": {"enabled": True, "autoCreateMeetings": True,
                         "defaultMeetingSettings": {"allowAnonymous": False,
                                                    "recordAutomatically": False,
                                                    "allowTranscription": True}},
    "outlookSettings": {"categoryColor": "blue", "importance": "normal", "showAs": "busy"},
}
SLACK_SEED = {
    "webhookUrl": "https://hooks.slack.com/services/T000/B000/XXXX",
    "channels": {"default": "#general", "alerts": "#attendance-alerts", "reports": "#reports"},
    "messageTemplates": {"eventReminder": "📅 Rappel: {eventName} commence dans {timeUntil}",
                         "attendanceAlert": "⚠️ Faible taux de présence pour {eventName}",
                         "weeklyReport": "📊 Rapport hebdomadaire de présence"},
    "userMentions": {"enabled": True, "mentionManagers": True, "mentionOrganizers": True},
    "defaultChannel": "#general",
    "notificationTypes": ["event_reminders", "attendance_alerts", "system_notifications"],
}
ZOOM_SEED = {
    "autoCreateMeetings": True,
    "meetingDefaults": {"type": "scheduled", "duration": 60, "timezone": "Europe/Paris",
                        "password": True, "waitingRoom": True, "joinBeforeHost": False,
                        "muteUponEntry": True,
                        "recordingSettings": {"autoRecording": "cloud",
                                              "recordingAuthentication": True}},
    "attendanceTracking": {"enabled": True, "syncAttendance": True, "minimumDuration": 30},
}


@pytest.mark.parametrize("provider, given", [("google", GOOGLE_SEED),
                                                ("microsoft", MICROSOFT_SEED),
                                                ("slack", SLACK_SEED), ("zoom", ZOOM_SEED)])
def test_it_takes_the_seeds_own_examples(provider, given):
    assert validate_settings(provider, given) == given


@pytest.mark.parametrize("provider, given, field", [
    ("google", {"calendarID": "primary"}, "calendarID"),
    ("google", {"eventMapping": {"colour": "2"}}, "eventMapping.colour"),
    ("microsoft", {"webhookUrl": "https://hooks.slack.com/x"}, "webhookUrl"),
    ("slack", {"calendarId": "primary"}, "calendarId"),
    ("zoom", {"meetingDefaults": {"recordingSettings": {"auto": "cloud"}}},
     "meetingDefaults.recordingSettings.auto"),
])
def test_it_refuses_an_unknown_key_by_its_path(provider, given, field):
    with pytest.raises(ValidationError) as refused:
        validate_settings(provider, given)

    assert list(refused.value.message_dict) == [field]


@pytest.mark.parametrize("provider, given, field", [
    ("google", {"syncInterval": "300"}, "syncInterval"),
    ("google", {"syncInterval": 10}, "syncInterval"),
    ("google", {"autoSync": 1}, "autoSync"),
    ("google", {"eventMapping": {"colorId": 2}}, "eventMapping.colorId"),
    ("google", {"filters": {"eventTypes": ["party"]}}, "filters.eventTypes"),
    ("google", {"filters": "none"}, "filters"),
    ("microsoft", {"outlookSettings": {"showAs": "away"}}, "outlookSettings.showAs"),
    ("slack", {"defaultChannel": "general channel"}, "defaultChannel"),
    ("slack", {"webhookUrl": "http://hooks.slack.com/services/x"}, "webhookUrl"),
    ("slack", {"webhookUrl": "https://example.com/services/x"}, "webhookUrl"),
    ("zoom", {"meetingDefaults": {"timezone": "Mars/Olympus"}}, "meetingDefaults.timezone"),
    ("zoom", {"meetingDefaults": {"duration": True}}, "meetingDefaults.duration"),
])
def test_it_refuses_a_wrong_type_or_value_by_its_path(provider, given, field):
    with pytest.raises(ValidationError) as refused:
        validate_settings(provider, given)

    assert list(refused.value.message_dict) == [field]


def test_it_names_every_wrong_field_at_once():
    with pytest.raises(ValidationError) as refused:
        validate_settings("google", {"autoSync": "yes", "nope": 1,
                                     "eventMapping": {"colorId": "12"}})

    assert sorted(refused.value.message_dict) == ["autoSync", "eventMapping.colorId", "nope"]


def test_it_checks_the_notification_preferences():
    assert validate_notifications({"syncErrors": True, "weeklyReport": False}) == {
        "syncErrors": True, "weeklyReport": False}
    with pytest.raises(ValidationError) as refused:
        validate_notifications({"syncErrors": "true", "daily": True})

    assert sorted(refused.value.message_dict) == ["notifications.daily",
                                                  "notifications.syncErrors"]


def test_it_has_no_schema_for_an_unknown_provider():
    with pytest.raises(ValueError):
        validate_settings("dropbox", {})
