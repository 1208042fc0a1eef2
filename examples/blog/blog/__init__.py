"""A small blog built on txstore: authors, posts, comments and API tokens."""
