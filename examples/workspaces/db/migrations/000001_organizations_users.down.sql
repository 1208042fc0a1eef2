DROP TABLE users;
DROP TABLE organizations;
DROP TYPE login_type;
DROP TYPE user_status;
