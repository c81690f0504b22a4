-- A connection's destination-write timeout (G8): how long one write to the
-- destination's input may block before the attempt fails. NULL: the
-- daemon's default.
ALTER TABLE connections ADD COLUMN destination_write_timeout_ms INTEGER;
