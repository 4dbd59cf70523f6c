ALTER TABLE notifications DROP COLUMN suggestion_id;
ALTER TABLE notifications DROP COLUMN referral_id;
DROP TABLE action_items;
DROP TABLE referral_suggestions;
DROP TABLE referral_events;
DROP TABLE referrals;
