-- Posts belong to their author; a draft (published = false) is the author's
-- alone, a published post is readable by every signed-in reader.

CREATE TABLE posts (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    author_id    uuid        NOT NULL,
    title        text        NOT NULL,
    body         text        NOT NULL DEFAULT '',
    published    boolean     NOT NULL DEFAULT false,
    published_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT posts_pkey PRIMARY KEY (id),
    CONSTRAINT posts_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id),
    CONSTRAINT posts_title_check CHECK (char_length(title) BETWEEN 1 AND 200)
);
CREATE INDEX posts_author_id_idx ON posts (author_id);
CREATE INDEX posts_published_at_idx ON posts (published_at DESC) WHERE published;

CREATE TABLE comments (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    post_id    uuid        NOT NULL,
    author_id  uuid        NOT NULL,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT comments_pkey PRIMARY KEY (id),
    CONSTRAINT comments_post_id_fkey FOREIGN KEY (post_id) REFERENCES posts (id) ON DELETE CASCADE,
    CONSTRAINT comments_author_id_fkey FOREIGN KEY (author_id) REFERENCES authors (id),
    CONSTRAINT comments_body_check CHECK (char_length(body) BETWEEN 1 AND 5000)
);
CREATE INDEX comments_post_id_created_at_idx ON comments (post_id, created_at);
