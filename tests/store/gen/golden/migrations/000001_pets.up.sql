CREATE TYPE pet_kind AS ENUM ('cat', 'dog', 'red-panda');

CREATE DOMAIN short_text AS text CONSTRAINT short_text_length CHECK (char_length(VALUE) <= 40);

CREATE TABLE owners (
    id         bigint GENERATED ALWAYS AS IDENTITY,
    email      text        NOT NULL,
    nickname   short_text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT owners_pkey PRIMARY KEY (id),
    CONSTRAINT owners_email_key UNIQUE (email)
);

CREATE TABLE pets (
    id       uuid       NOT NULL DEFAULT gen_random_uuid(),
    owner_id bigint,
    name     text       NOT NULL,
    kind     pet_kind   NOT NULL,
    tags     text[]     NOT NULL DEFAULT '{}',
    weight   numeric,
    data     jsonb      NOT NULL DEFAULT '{}',
    born_on  date,
    CONSTRAINT pets_pkey PRIMARY KEY (id),
    CONSTRAINT pets_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES owners (id),
    CONSTRAINT pets_name_check CHECK (name <> '')
);

CREATE UNIQUE INDEX pets_owner_id_name_key ON pets (owner_id, lower(name));
