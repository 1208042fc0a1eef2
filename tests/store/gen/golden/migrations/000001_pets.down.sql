DROP TABLE pets;
DROP TABLE owners;
DROP DOMAIN short_text;
DROP TYPE pet_kind;
