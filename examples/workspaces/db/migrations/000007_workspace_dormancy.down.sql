DROP INDEX workspaces_dormant_at_idx;
ALTER TABLE workspaces DROP COLUMN dormant_at;
