DROP TABLE authors;
DROP TYPE author_status;
