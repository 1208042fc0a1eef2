-- Evolution: an OAuth2 app keeps the client metadata it registered with
-- (contacts, logo, policy links...), as the JSON document it sent.

ALTER TABLE oauth2_provider_apps ADD COLUMN metadata jsonb;

COMMENT ON COLUMN oauth2_provider_apps.metadata IS
    'Client metadata the app registered, as sent; NULL when it sent none.';
