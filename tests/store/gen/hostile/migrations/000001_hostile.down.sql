DROP TABLE stores, mappings, oddities, "query", x_venues, "x-venue"; DROP DOMAIN short_code; DROP TYPE money_pair, "class", "sign";
