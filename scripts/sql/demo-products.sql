-- The demo table: 5 000 products. Used by scripts/demo and, through
-- docker-entrypoint-initdb.d, by the compose stack's PostgreSQL.
DROP TABLE IF EXISTS products;
CREATE TABLE products (
    id         bigint PRIMARY KEY,
    name       text NOT NULL,
    price      numeric(10, 2) NOT NULL,
    tags       text[],
    in_stock   boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO products (id, name, price, tags, in_stock)
SELECT g, 'Product ' || g, round((random() * 100)::numeric, 2) + 1,
       ARRAY['color-' || (g % 5), 'size-' || (g % 3)], g % 4 <> 0
FROM generate_series(1, 5000) AS g;
