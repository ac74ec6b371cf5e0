-- Users are listed by creation time, then id (the paging cursor).
CREATE INDEX users_created_at_id ON users (created_at, id);
