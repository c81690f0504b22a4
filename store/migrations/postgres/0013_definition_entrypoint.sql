-- PostgreSQL form of 0013_definition_entrypoint.sql: a definition's
-- connector command as a JSON array of strings (NULL is not set), and
-- where it came from ('image' or 'api'; '' when not set).
ALTER TABLE definitions ADD COLUMN entrypoint TEXT;
ALTER TABLE definitions ADD COLUMN entrypoint_source TEXT NOT NULL DEFAULT '';
