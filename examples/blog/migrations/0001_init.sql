CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    roles         TEXT    NOT NULL DEFAULT '[]'
);

CREATE TABLE posts (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    title   TEXT    NOT NULL,
    content TEXT    NOT NULL,
    tags    TEXT    NOT NULL DEFAULT '[]',
    user_id INTEGER NOT NULL REFERENCES users (id)
);

CREATE INDEX posts_user_id ON posts (user_id);
