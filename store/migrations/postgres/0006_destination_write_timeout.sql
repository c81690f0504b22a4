-- PostgreSQL form of 0006_destination_write_timeout.sql.
ALTER TABLE connections ADD COLUMN destination_write_timeout_ms BIGINT;
