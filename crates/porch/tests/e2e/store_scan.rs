//! Every value the store holds, as text: each row of each table, read straight from the
//! SQLite file or the PostgreSQL schema, for tests that prove something is gone from it (an
//! erased customer, docs/identity.md), whatever table it could have been copied into.

use crate::support::{TEST_POSTGRES, TestServer};

/// One line per row: `table: value | value | …`.
pub async fn rows(server: &TestServer) -> Vec<String> {
    match &server.schema {
        Some(schema) => postgres_rows(schema).await,
        None => sqlite_rows(&server.dir.join("porch.db")),
    }
}

fn sqlite_rows(path: &std::path::Path) -> Vec<String> {
    use rusqlite::types::ValueRef;
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the test's SQLite file opens");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut statement = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let values: Vec<String> = (0..columns)
                .map(|i| match row.get_ref(i).unwrap() {
                    ValueRef::Null => "NULL".to_owned(),
                    ValueRef::Integer(n) => n.to_string(),
                    ValueRef::Real(x) => x.to_string(),
                    ValueRef::Text(t) | ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                })
                .collect();
            out.push(format!("{table}: {}", values.join(" | ")));
        }
    }
    out
}

async fn postgres_rows(schema: &str) -> Vec<String> {
    let (client, connection) =
        tokio_postgres::connect(TEST_POSTGRES, tokio_postgres::NoTls).await.expect("PostgreSQL");
    tokio::spawn(connection);
    let tables = client
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
            &[&schema],
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let table: String = table.get(0);
        // A row as PostgreSQL's text of the whole record: every column, whatever its type.
        let sql = format!("SELECT t::text FROM {schema}.\"{table}\" t");
        for row in client.query(&sql, &[]).await.unwrap() {
            let text: String = row.get(0);
            out.push(format!("{table}: {text}"));
        }
    }
    out
}
