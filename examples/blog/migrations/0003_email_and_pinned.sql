-- An optional email per account (shown to its owner and to admins only), and posts an
-- admin may pin.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE posts ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
