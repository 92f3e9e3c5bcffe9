//! Databases of their own for the benchmarks that also run on PostgreSQL.

/// A new database on the PostgreSQL server `admin` names (its role may create databases): its
/// URL and its name, to drop it afterwards.
pub async fn fresh(admin: &str, prefix: &str) -> (String, String) {
    use sqlx::{Connection, PgConnection};
    let name = format!("{prefix}_{}", rand::random::<u32>());
    let mut conn = PgConnection::connect(admin).await.expect("connecting to TETHER_TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("creating a database");
    let mut url = url::Url::parse(admin).expect("TETHER_TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    (url.to_string(), name)
}

/// Drops a database `fresh` made, its connections with it.
pub async fn remove(admin: &str, name: &str) {
    use sqlx::{Connection, PgConnection};
    let dropped = match PgConnection::connect(admin).await {
        Ok(mut conn) => {
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.map(drop)
        }
        Err(error) => Err(error),
    };
    if let Err(error) = dropped {
        eprintln!("could not drop the benchmark's database {name}: {error}");
    }
}
