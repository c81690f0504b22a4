-- PostgreSQL form of 0012_definition_hardening.sql: a definition's
-- container hardening, '' following the image's io.ferry.hardening label.
ALTER TABLE definitions ADD COLUMN hardening TEXT NOT NULL DEFAULT '';
-- Definitions that existed before this migration keep running as they
-- did: their destinations may have written files under the local root as
-- root, which a strict (non-root) container could no longer rewrite.
-- New definitions follow their image's label; an existing one opts in
-- with hardening "strict" or "auto" through the API.
UPDATE definitions SET hardening = 'compatible';
