-- Indexed substring search over consumer names on PostgreSQL: a pg_trgm GIN index, which
-- `LIKE '%…%'` uses as it is. Creating the extension needs the right to (or a superuser
-- having created it in this database); without it the migration still succeeds, the search
-- works unindexed, and the server says so at every start (store/search.rs), with the two
-- statements to run.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'pg_trgm is not available (%): consumer name search is not indexed', SQLERRM;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS consumers_name_trigram
            ON consumers USING gin (name_key gin_trgm_ops);
    END IF;
END
$$;
