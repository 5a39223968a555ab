-- One account per name whatever its case: `Admin` cannot stand beside `admin`.
CREATE UNIQUE INDEX users_username_nocase ON users (username COLLATE NOCASE);
