-- Organizations and their members.

-- name: GetOrganizationByID :one
-- Fetch one organization by primary key.
SELECT * FROM organizations WHERE id = @id;

-- name: GetOrganizationByName :one
-- Fetch an organization by name, ignoring case.
SELECT * FROM organizations WHERE lower(name) = lower(@name);

-- name: GetDefaultOrganization :one
-- The organization new users join (at most one exists).
SELECT * FROM organizations WHERE is_default;

-- name: ListOrganizations :many
-- All organizations, by name.
SELECT * FROM organizations
-- @authorize_filter
ORDER BY lower(name), id
LIMIT @limit_rows OFFSET @offset_rows;

-- name: ListOrganizationsByUserID :many
-- Organizations one user is a member of, by name.
SELECT o.* FROM organizations o
JOIN organization_members m ON m.organization_id = o.id
WHERE m.user_id = @user_id
  -- @authorize_filter o
ORDER BY lower(o.name), o.id;

-- name: InsertOrganization :one
-- Create an organization and return the stored row.
INSERT INTO organizations (id, name, display_name, description, icon, is_default, created_at, updated_at)
VALUES (@id, @name, @display_name, @description, @icon, @is_default, @created_at, @created_at)
RETURNING *;

-- name: UpdateOrganization :one
-- Change the name and presentation of an organization.
UPDATE organizations
SET name = @name, display_name = @display_name, description = @description, icon = @icon,
    updated_at = @updated_at
WHERE id = @id
  -- @authorize_filter
RETURNING *;

-- name: DeleteOrganization :one
-- Delete an organization (memberships and OAuth2 apps go with it; fails
-- while it still has workspaces) and return the deleted row.
DELETE FROM organizations
WHERE id = @id
  -- @authorize_filter
RETURNING *;

-- name: InsertOrganizationMember :one
-- Add a user to an organization with organization roles.
INSERT INTO organization_members (organization_id, user_id, roles, created_at, updated_at)
VALUES (@organization_id, @user_id, @roles::text[], @created_at, @created_at)
RETURNING *;

-- name: UpsertOrganizationMember :one
-- Add a user to an organization with organization roles, or replace the roles
-- of a member already in it.
INSERT INTO organization_members (organization_id, user_id, roles, created_at, updated_at)
VALUES (@organization_id, @user_id, @roles::text[], @created_at, @created_at)
ON CONFLICT (organization_id, user_id) DO UPDATE
SET roles = EXCLUDED.roles, updated_at = now()
RETURNING *;

-- name: UpsertOrganizationMembers :many
-- Add several users to one organization with organization roles; a user already
-- a member gains the roles it lacks (none is taken away). Each row is audited.
INSERT INTO organization_members (organization_id, user_id, roles, created_at, updated_at)
SELECT @organization_id, u.user_id, @roles::text[], @created_at, @created_at
FROM unnest(@user_ids::uuid[]) AS u(user_id)
ON CONFLICT (organization_id, user_id) DO UPDATE
SET roles = ARRAY(
        SELECT DISTINCT r FROM unnest(organization_members.roles || EXCLUDED.roles) AS r
        ORDER BY r
    ),
    updated_at = now()
WHERE NOT EXCLUDED.roles <@ organization_members.roles
RETURNING *;

-- name: InsertOrganizationMemberIfAbsent :execrows
-- Add a user to an organization unless already a member (a member keeps its roles).
INSERT INTO organization_members (organization_id, user_id, roles, created_at, updated_at)
VALUES (@organization_id, @user_id, @roles::text[], @created_at, @created_at)
ON CONFLICT (organization_id, user_id) DO NOTHING;

-- name: GetOrganizationMember :one
-- One membership, by organization and user.
SELECT * FROM organization_members
WHERE organization_id = @organization_id AND user_id = @user_id;

-- name: UpdateMemberRoles :one
-- Replace the organization roles of one member.
UPDATE organization_members
SET roles = @roles::text[], updated_at = now()
WHERE organization_id = @organization_id AND user_id = @user_id
  -- @authorize_filter
RETURNING *;

-- name: DeleteOrganizationMember :one
-- Remove a user from an organization and return the deleted membership.
DELETE FROM organization_members
WHERE organization_id = @organization_id AND user_id = @user_id
  -- @authorize_filter
RETURNING *;

-- name: ListOrganizationMembers :many
-- Members of one organization with their user's public fields, by username.
-- Soft-deleted users are left out.
SELECT m.organization_id, m.user_id, m.roles, m.created_at, m.updated_at,
       u.username, u.email, u.name, u.avatar_url, u.status, u.rbac_roles
FROM organization_members m
JOIN users u ON u.id = m.user_id
WHERE m.organization_id = @organization_id
  AND NOT u.deleted
  -- @authorize_filter m
ORDER BY lower(u.username), m.user_id
LIMIT @limit_rows OFFSET @offset_rows;
