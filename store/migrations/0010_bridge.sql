-- Bridged mode's path to the source's sockets. connections.bridge is the
-- connection's choice (auto, direct or relay; NULL: the daemon's default);
-- attempts.bridge is the path a bridged attempt took (direct or relay;
-- NULL when the attempt was not bridged).
ALTER TABLE connections ADD COLUMN bridge TEXT;
ALTER TABLE attempts ADD COLUMN bridge TEXT;
