-- How locked down a definition's connector containers run: 'strict' (a
-- non-root user, a read-only root filesystem), 'compatible' (as the image
-- says, like Airbyte), or '' to follow the image's io.ferry.hardening
-- label (strict on Ferry's own connectors, compatible on the rest).
ALTER TABLE definitions ADD COLUMN hardening TEXT NOT NULL DEFAULT '';
