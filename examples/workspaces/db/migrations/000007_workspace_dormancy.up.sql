-- Evolution: workspaces unused for a long time are marked dormant, and a purge
-- worker deletes them after a grace period.

ALTER TABLE workspaces ADD COLUMN dormant_at timestamptz;

COMMENT ON COLUMN workspaces.dormant_at IS 'When the workspace was marked dormant; NULL while active.';

CREATE INDEX workspaces_dormant_at_idx
    ON workspaces (dormant_at) WHERE dormant_at IS NOT NULL AND NOT deleted;
