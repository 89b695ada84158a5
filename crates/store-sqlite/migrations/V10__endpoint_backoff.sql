-- An endpoint that keeps failing is paused: its deliveries wait (never lost)
-- until paused_until, which doubles with each failure in a row (a success
-- clears both).
ALTER TABLE webhooks ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN paused_until INTEGER NOT NULL DEFAULT 0;
