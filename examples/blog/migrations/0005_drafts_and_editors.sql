-- Drafts, read only by their author, their editors and admins; and the editors a post's
-- author shares it with.
ALTER TABLE posts ADD COLUMN draft INTEGER NOT NULL DEFAULT 0;
CREATE TABLE post_editors (
    post_id INTEGER NOT NULL REFERENCES posts (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX post_editors_user_id ON post_editors (user_id);
