-- The connector's command (its entrypoint) as a JSON array of strings, for
-- runtimes that cannot inspect the image (Kubernetes): NULL is not set.
-- entrypoint_source says where it came from: 'image' (read from the
-- image's AIRBYTE_ENTRYPOINT or ENTRYPOINT at registration, and read again
-- when the image changes) or 'api' (set by a user, and kept).
ALTER TABLE definitions ADD COLUMN entrypoint TEXT;
ALTER TABLE definitions ADD COLUMN entrypoint_source TEXT NOT NULL DEFAULT '';
