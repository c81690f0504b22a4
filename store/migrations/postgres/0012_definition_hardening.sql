-- PostgreSQL form of 0012_definition_hardening.sql: a definition's
-- container hardening, '' following the image's io.ferry.hardening label.
ALTER TABLE definitions ADD COLUMN hardening TEXT NOT NULL DEFAULT '';
