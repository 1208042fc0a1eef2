--
-- PostgreSQL database dump
--

--
-- Name: audit_action; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.audit_action AS ENUM (
    'create',
    'write',
    'delete',
    'start',
    'stop',
    'login',
    'logout'
);

--
-- Name: login_type; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.login_type AS ENUM (
    'password',
    'github',
    'oidc',
    'none'
);

--
-- Name: user_status; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.user_status AS ENUM (
    'active',
    'suspended',
    'dormant'
);

--
-- Name: api_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.api_keys (
    id text NOT NULL,
    hashed_secret bytea NOT NULL,
    user_id uuid NOT NULL,
    last_used timestamp with time zone,
    expires_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    login_type public.login_type NOT NULL,
    lifetime_seconds bigint DEFAULT 86400 NOT NULL,
    ip_address inet,
    scopes text[] DEFAULT '{all}'::text[] NOT NULL,
    token_name text,
    CONSTRAINT api_keys_id_check CHECK (((char_length(id) = 10) AND (id ~ '^[a-zA-Z0-9]+$'::text))),
    CONSTRAINT api_keys_lifetime_seconds_check CHECK ((lifetime_seconds > 0)),
    CONSTRAINT api_keys_scopes_check CHECK (((cardinality(scopes) > 0) AND (scopes <@ ARRAY['all'::text, 'application_connect'::text]) AND (array_position(scopes, NULL::text) IS NULL))),
    CONSTRAINT api_keys_token_name_check CHECK (((token_name IS NULL) OR ((char_length(token_name) >= 1) AND (char_length(token_name) <= 64))))
);

--
-- Name: COLUMN api_keys.id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.api_keys.id IS 'Public key prefix (10 alphanumerics), sent in clear before the secret.';

--
-- Name: COLUMN api_keys.token_name; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.api_keys.token_name IS 'Name of a long-lived token; NULL for session keys.';

--
-- Name: audit_logs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_logs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    "time" timestamp with time zone NOT NULL,
    user_id uuid NOT NULL,
    organization_id uuid,
    ip inet,
    user_agent text,
    request_id uuid,
    resource_type text NOT NULL,
    resource_id text NOT NULL,
    resource_target text DEFAULT ''::text NOT NULL,
    action public.audit_action NOT NULL,
    diff jsonb DEFAULT '{}'::jsonb NOT NULL,
    status_code integer DEFAULT 200 NOT NULL,
    additional_fields jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT audit_logs_additional_fields_check CHECK ((jsonb_typeof(additional_fields) = 'object'::text)),
    CONSTRAINT audit_logs_diff_check CHECK ((jsonb_typeof(diff) = 'object'::text)),
    CONSTRAINT audit_logs_resource_id_check CHECK (((char_length(resource_id) >= 1) AND (char_length(resource_id) <= 128))),
    CONSTRAINT audit_logs_resource_type_check CHECK ((resource_type ~ '^[a-z0-9_]+$'::text)),
    CONSTRAINT audit_logs_status_code_check CHECK (((status_code >= 100) AND (status_code <= 599)))
);

--
-- Name: COLUMN audit_logs.user_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_logs.user_id IS 'The acting subject (a user or a system identity); not a foreign key.';

--
-- Name: COLUMN audit_logs.resource_id; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.audit_logs.resource_id IS 'Text so that both uuid ids and API key ids fit.';

--
-- Name: oauth2_provider_app_secrets; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.oauth2_provider_app_secrets (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    app_id uuid NOT NULL,
    hashed_secret bytea NOT NULL,
    display_secret text NOT NULL,
    secret_prefix text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone,
    CONSTRAINT oauth2_provider_app_secrets_display_secret_check CHECK (((char_length(display_secret) >= 1) AND (char_length(display_secret) <= 16))),
    CONSTRAINT oauth2_provider_app_secrets_secret_prefix_check CHECK (((char_length(secret_prefix) >= 6) AND (char_length(secret_prefix) <= 32)))
);

--
-- Name: COLUMN oauth2_provider_app_secrets.display_secret; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.oauth2_provider_app_secrets.display_secret IS 'A short, non-secret suffix shown in UIs to tell secrets apart.';

--
-- Name: COLUMN oauth2_provider_app_secrets.secret_prefix; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.oauth2_provider_app_secrets.secret_prefix IS 'Public lookup prefix of the secret; the rest is only stored hashed.';

--
-- Name: oauth2_provider_apps; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.oauth2_provider_apps (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    organization_id uuid NOT NULL,
    name text NOT NULL,
    callback_url text NOT NULL,
    icon text DEFAULT ''::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    metadata jsonb,
    CONSTRAINT oauth2_provider_apps_callback_url_check CHECK ((callback_url ~ '^https?://'::text)),
    CONSTRAINT oauth2_provider_apps_name_check CHECK (((char_length(name) >= 1) AND (char_length(name) <= 64)))
);

--
-- Name: COLUMN oauth2_provider_apps.metadata; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.oauth2_provider_apps.metadata IS 'Client metadata the app registered, as sent; NULL when it sent none.';

--
-- Name: organization_members; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.organization_members (
    user_id uuid NOT NULL,
    organization_id uuid NOT NULL,
    roles text[] DEFAULT '{}'::text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT organization_members_roles_check CHECK (((roles <@ ARRAY['org-admin'::text, 'org-member'::text, 'org-auditor'::text]) AND (array_position(roles, NULL::text) IS NULL)))
);

--
-- Name: COLUMN organization_members.roles; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.organization_members.roles IS 'Organization roles: org-admin, org-member, org-auditor.';

--
-- Name: organizations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.organizations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    name text NOT NULL,
    display_name text DEFAULT ''::text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    icon text DEFAULT ''::text NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT organizations_name_check CHECK (((name ~ '^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$'::text) AND (char_length(name) <= 64)))
);

--
-- Name: TABLE organizations; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.organizations IS 'Tenants. Workspaces, members and OAuth2 apps belong to exactly one organization.';

--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    email text NOT NULL,
    username text NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    hashed_password bytea NOT NULL,
    status public.user_status DEFAULT 'active'::public.user_status NOT NULL,
    rbac_roles text[] DEFAULT '{}'::text[] NOT NULL,
    avatar_url text,
    deleted boolean DEFAULT false NOT NULL,
    last_seen_at timestamp with time zone,
    login_type public.login_type DEFAULT 'password'::public.login_type NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_email_check CHECK (((email ~ '^[^@[:space:]]+@[^@[:space:]]+$'::text) AND (char_length(email) <= 320))),
    CONSTRAINT users_rbac_roles_check CHECK (((rbac_roles <@ ARRAY['owner'::text, 'member'::text, 'auditor'::text, 'user-admin'::text]) AND (array_position(rbac_roles, NULL::text) IS NULL))),
    CONSTRAINT users_username_check CHECK (((username ~ '^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$'::text) AND (char_length(username) <= 32)))
);

--
-- Name: TABLE users; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON TABLE public.users IS 'Site-wide accounts. Soft-deleted (deleted = true) rows keep their id for audit history.';

--
-- Name: COLUMN users.rbac_roles; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.users.rbac_roles IS 'Site roles: owner, member, auditor, user-admin.';

--
-- Name: COLUMN users.last_seen_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.users.last_seen_at IS 'NULL until the user first signs in.';

--
-- Name: workspaces; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.workspaces (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    owner_id uuid NOT NULL,
    organization_id uuid NOT NULL,
    name text NOT NULL,
    deleted boolean DEFAULT false NOT NULL,
    autostart_schedule text,
    ttl bigint,
    last_used_at timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    dormant_at timestamp with time zone,
    CONSTRAINT workspaces_autostart_schedule_check CHECK (((autostart_schedule IS NULL) OR ((char_length(autostart_schedule) >= 1) AND (char_length(autostart_schedule) <= 256)))),
    CONSTRAINT workspaces_name_check CHECK (((name ~ '^[a-zA-Z0-9]+(-[a-zA-Z0-9]+)*$'::text) AND (char_length(name) <= 32))),
    CONSTRAINT workspaces_ttl_check CHECK (((ttl IS NULL) OR (ttl > 0)))
);

--
-- Name: COLUMN workspaces.autostart_schedule; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.workspaces.autostart_schedule IS 'Cron-style schedule; NULL means no autostart.';

--
-- Name: COLUMN workspaces.ttl; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.workspaces.ttl IS 'Auto-stop after this many milliseconds of inactivity; NULL means never.';

--
-- Name: COLUMN workspaces.dormant_at; Type: COMMENT; Schema: public; Owner: -
--

COMMENT ON COLUMN public.workspaces.dormant_at IS 'When the workspace was marked dormant; NULL while active.';

--
-- Name: api_keys api_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (id);

--
-- Name: api_keys api_keys_user_id_token_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_user_id_token_name_key UNIQUE (user_id, token_name);

--
-- Name: audit_logs audit_logs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_logs
    ADD CONSTRAINT audit_logs_pkey PRIMARY KEY (id);

--
-- Name: oauth2_provider_app_secrets oauth2_provider_app_secrets_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth2_provider_app_secrets
    ADD CONSTRAINT oauth2_provider_app_secrets_pkey PRIMARY KEY (id);

--
-- Name: oauth2_provider_app_secrets oauth2_provider_app_secrets_secret_prefix_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth2_provider_app_secrets
    ADD CONSTRAINT oauth2_provider_app_secrets_secret_prefix_key UNIQUE (secret_prefix);

--
-- Name: oauth2_provider_apps oauth2_provider_apps_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth2_provider_apps
    ADD CONSTRAINT oauth2_provider_apps_name_key UNIQUE (name);

--
-- Name: oauth2_provider_apps oauth2_provider_apps_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth2_provider_apps
    ADD CONSTRAINT oauth2_provider_apps_pkey PRIMARY KEY (id);

--
-- Name: organization_members organization_members_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organization_members
    ADD CONSTRAINT organization_members_pkey PRIMARY KEY (organization_id, user_id);

--
-- Name: organizations organizations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organizations
    ADD CONSTRAINT organizations_pkey PRIMARY KEY (id);

--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);

--
-- Name: workspaces workspaces_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspaces
    ADD CONSTRAINT workspaces_pkey PRIMARY KEY (id);

--
-- Name: api_keys_expires_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX api_keys_expires_at_idx ON public.api_keys USING btree (expires_at);

--
-- Name: audit_logs_organization_id_time_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_logs_organization_id_time_idx ON public.audit_logs USING btree (organization_id, "time" DESC) WHERE (organization_id IS NOT NULL);

--
-- Name: audit_logs_resource_type_resource_id_time_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_logs_resource_type_resource_id_time_idx ON public.audit_logs USING btree (resource_type, resource_id, "time" DESC);

--
-- Name: audit_logs_time_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_logs_time_idx ON public.audit_logs USING btree ("time" DESC);

--
-- Name: audit_logs_user_id_time_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX audit_logs_user_id_time_idx ON public.audit_logs USING btree (user_id, "time" DESC);

--
-- Name: oauth2_provider_app_secrets_app_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX oauth2_provider_app_secrets_app_id_idx ON public.oauth2_provider_app_secrets USING btree (app_id);

--
-- Name: oauth2_provider_apps_organization_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX oauth2_provider_apps_organization_id_idx ON public.oauth2_provider_apps USING btree (organization_id);

--
-- Name: organization_members_user_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX organization_members_user_id_idx ON public.organization_members USING btree (user_id);

--
-- Name: organizations_is_default_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX organizations_is_default_key ON public.organizations USING btree (is_default) WHERE is_default;

--
-- Name: organizations_name_lower_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX organizations_name_lower_key ON public.organizations USING btree (lower(name));

--
-- Name: users_created_at_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX users_created_at_id_idx ON public.users USING btree (created_at, id) WHERE (NOT deleted);

--
-- Name: users_email_lower_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX users_email_lower_key ON public.users USING btree (lower(email)) WHERE (NOT deleted);

--
-- Name: users_username_lower_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX users_username_lower_key ON public.users USING btree (lower(username)) WHERE (NOT deleted);

--
-- Name: workspaces_dormant_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX workspaces_dormant_at_idx ON public.workspaces USING btree (dormant_at) WHERE ((dormant_at IS NOT NULL) AND (NOT deleted));

--
-- Name: workspaces_organization_id_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX workspaces_organization_id_created_at_idx ON public.workspaces USING btree (organization_id, created_at DESC, id DESC) WHERE (NOT deleted);

--
-- Name: workspaces_owner_id_created_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX workspaces_owner_id_created_at_idx ON public.workspaces USING btree (owner_id, created_at DESC, id DESC) WHERE (NOT deleted);

--
-- Name: workspaces_owner_id_lower_name_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX workspaces_owner_id_lower_name_key ON public.workspaces USING btree (owner_id, lower(name)) WHERE (NOT deleted);

--
-- Name: api_keys api_keys_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

--
-- Name: oauth2_provider_app_secrets oauth2_provider_app_secrets_app_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth2_provider_app_secrets
    ADD CONSTRAINT oauth2_provider_app_secrets_app_id_fkey FOREIGN KEY (app_id) REFERENCES public.oauth2_provider_apps(id) ON DELETE CASCADE;

--
-- Name: oauth2_provider_apps oauth2_provider_apps_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oauth2_provider_apps
    ADD CONSTRAINT oauth2_provider_apps_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

--
-- Name: organization_members organization_members_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organization_members
    ADD CONSTRAINT organization_members_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE CASCADE;

--
-- Name: organization_members organization_members_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.organization_members
    ADD CONSTRAINT organization_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.users(id) ON DELETE CASCADE;

--
-- Name: workspaces workspaces_organization_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspaces
    ADD CONSTRAINT workspaces_organization_id_fkey FOREIGN KEY (organization_id) REFERENCES public.organizations(id) ON DELETE RESTRICT;

--
-- Name: workspaces workspaces_owner_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.workspaces
    ADD CONSTRAINT workspaces_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.users(id) ON DELETE RESTRICT;

--
-- PostgreSQL database dump complete
--
