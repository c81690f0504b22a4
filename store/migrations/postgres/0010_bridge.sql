-- PostgreSQL form of 0010_bridge.sql.
ALTER TABLE connections ADD COLUMN bridge TEXT;
ALTER TABLE attempts ADD COLUMN bridge TEXT;
