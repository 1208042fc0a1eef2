-- API tokens: an author's long-lived credentials for scripts. Only a hash of
-- the secret is stored; `prefix` is the public part sent before the secret.

CREATE TABLE api_tokens (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    author_id     uuid        NOT NULL,
    name          text        NOT NULL,
    prefix        text        NOT NULL,
    hashed_secret bytea       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    CONSTRAINT api_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT api_tokens_prefix_key UNIQUE (prefix),
    CONSTRAINT api_tokens_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id) ON DELETE CASCADE
);
