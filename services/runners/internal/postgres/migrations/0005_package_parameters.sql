-- The parameters a package version declares in its exekra.json (a JSON
-- array of {name, type, required, default, description, enum}). NULL: the
-- manifest declares none and a job of it may carry any parameters (every
-- package published before this column, and those without "parameters");
-- '[]': it declares that it takes none.
ALTER TABLE packages ADD COLUMN parameters jsonb
    CHECK (parameters IS NULL OR jsonb_typeof(parameters) = 'array');
