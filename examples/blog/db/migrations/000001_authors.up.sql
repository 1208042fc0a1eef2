-- Authors: the people who write. `roles` are site roles of the blog's model
-- (author, editor, reader); a suspended author keeps the row but loses access.

CREATE TYPE author_status AS ENUM ('active', 'suspended');

CREATE TABLE authors (
    id         uuid          NOT NULL DEFAULT gen_random_uuid(),
    email      text          NOT NULL,
    name       text          NOT NULL,
    roles      text[]        NOT NULL DEFAULT '{author}',
    status     author_status NOT NULL DEFAULT 'active',
    created_at timestamptz   NOT NULL DEFAULT now(),
    updated_at timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT authors_pkey PRIMARY KEY (id),
    CONSTRAINT authors_email_key UNIQUE (email),
    CONSTRAINT authors_name_check CHECK (char_length(name) BETWEEN 1 AND 100)
);
