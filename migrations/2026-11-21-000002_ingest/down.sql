DROP TABLE event_journal;
DROP TABLE dead_letter_actions;
DROP TABLE dead_letters;
DROP TABLE processed_events;
DROP TABLE webhook_subscriptions;
