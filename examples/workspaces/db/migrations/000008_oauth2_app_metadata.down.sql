ALTER TABLE oauth2_provider_apps DROP COLUMN metadata;
