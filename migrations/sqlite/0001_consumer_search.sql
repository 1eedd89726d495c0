-- Indexed substring search over consumer names on SQLite: an FTS5 table with the trigram
-- tokenizer over consumers.name_key, kept in step by triggers. A search of three or more
-- characters is driven by the rows holding all its trigrams (store/consumers.rs).
-- IF NOT EXISTS: databases made before this migration already have it (it was created at
-- start-up then), in step with their consumers, so nothing needs rebuilding; on a new
-- database this runs before any consumer exists.
CREATE VIRTUAL TABLE IF NOT EXISTS consumers_search USING fts5(
    name_key, content='consumers', content_rowid='rowid', tokenize='trigram'
);

CREATE TRIGGER IF NOT EXISTS consumers_search_insert AFTER INSERT ON consumers BEGIN
    INSERT INTO consumers_search (rowid, name_key) VALUES (new.rowid, new.name_key);
END;

CREATE TRIGGER IF NOT EXISTS consumers_search_delete AFTER DELETE ON consumers BEGIN
    INSERT INTO consumers_search (consumers_search, rowid, name_key)
    VALUES ('delete', old.rowid, old.name_key);
END;

CREATE TRIGGER IF NOT EXISTS consumers_search_update AFTER UPDATE OF name_key ON consumers BEGIN
    INSERT INTO consumers_search (consumers_search, rowid, name_key)
    VALUES ('delete', old.rowid, old.name_key);
    INSERT INTO consumers_search (rowid, name_key) VALUES (new.rowid, new.name_key);
END;
