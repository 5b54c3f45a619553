"""The database fixture itself: a real server that answers and isolates databases."""


def test_pg_db_is_a_real_empty_database(pg_conn, pg_db):
    with pg_conn.cursor() as cur:
        cur.execute("SELECT current_database(), count(*) FROM pg_tables WHERE schemaname = 'public'")
        name, tables = cur.fetchone()
    assert name == pg_db["dbname"]
    assert tables == 0
