DROP TABLE audit_logs;
DROP TYPE audit_action;
