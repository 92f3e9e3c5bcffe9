//! The database: SQLite by default (WAL, one file), PostgreSQL for many instances; the URL's
//! scheme picks. Both run the same SQL through sqlx's `Any` driver, each with its own migrations.

/// A status stored as its lowercase name in a TEXT column, read and written the same way by
/// both engines (sqlx's derive knows each engine, not `Any`).
macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)+
                }
            }
        }

        text_column!($name { $($variant => $text),+ });
    };
}

/// Stores an enum that has its own `as_str` (one defined below the store, like
/// `params::Source`) as the same text.
macro_rules! text_column {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <str as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <str as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                match <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)? {
                    $($text => Ok(Self::$variant),)+
                    other => Err(format!("`{other}` is not a {}", stringify!($name)).into()),
                }
            }
        }
    };
}

pub mod housekeeping;
pub mod inbox;
pub mod installations;
pub mod links;
pub mod native;
pub mod operator;
pub mod project_cache;
pub mod provider_jobs;
pub mod rate_limits;
pub mod resources;
pub mod retry;
pub mod sealed;
pub mod sessions;
pub mod sign_in;
pub mod sso;
pub mod vendor_said;
pub mod webhook_effects;

use std::str::FromStr;

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
    sqlite::SqliteConnectOptions,
    AnyPool, Executor,
};

/// One connection of either engine: what effects inside a transaction write through.
pub type Conn = sqlx::AnyConnection;

#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    engine: Engine,
    /// Whose turn it is to write, on SQLite (see `write_turn`).
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// Held while a write transaction is open on SQLite; nothing on PostgreSQL.
pub(crate) type WriteTurn = Option<tokio::sync::OwnedMutexGuard<()>>;

impl Store {
    /// SQLite has one writer at a time, and a connection that finds the file locked waits in
    /// SQLite's busy handler, which sleeps 1, 2, 5, 10, … up to 100 ms at a time however soon
    /// the lock is free: measured under load, those sleeps (8 to 330 ms) were the webhooks'
    /// slowest answers, not the writes. The busiest writers (the inbox's group commit and the
    /// worker's claims) take turns here instead, in arrival order, each waiting only as long as
    /// the write before it. PostgreSQL locks rows, not the database: no turn to take.
    pub(crate) async fn write_turn(&self) -> WriteTurn {
        match self.engine {
            Engine::Sqlite => Some(self.writer.clone().lock_owned().await),
            Engine::Postgres => None,
        }
    }
}

/// Which database the URL named. The SQL is shared; only what the two lock differently (a
/// claim on the webhook inbox) and their migrations differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// One file, one writer at a time: a single instance.
    Sqlite,
    /// Shared by any number of instances.
    Postgres,
}

impl Engine {
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        match url.split_once(':').map(|(scheme, _)| scheme) {
            Some("sqlite") => Ok(Self::Sqlite),
            Some("postgres" | "postgresql") => Ok(Self::Postgres),
            other => Err(StoreError::Unsupported(format!(
                "the database URL must start with sqlite:// or postgres://, got `{}:`",
                other.unwrap_or_default()
            ))),
        }
    }

    fn migrator(self) -> Migrator {
        let mut migrator = match self {
            Self::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Self::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        // In a rolling upgrade the new build migrates first; the old instances still running
        // (or restarting) must not refuse the newer, additive schema.
        migrator.set_ignore_missing(true);
        migrator
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The database file could not be made private to this user.
    #[error("database file: {0}")]
    File(#[from] std::io::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Unsupported(String),
}

/// Whether the database's schema is the one this build expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schema {
    Current,
    /// Migrations this build has that the database has not applied (run `server migrate`).
    Behind(Vec<i64>),
    /// Migrations the database has that this build does not know: a newer Tether ran here, as
    /// in a rolling upgrade. Migrations only add, so this build still works.
    Ahead(Vec<i64>),
}

pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// Creates a file readable by its owner only (0600) in a directory only its owner may enter
/// (0700). SQLite gives the -wal and -shm files the database file's mode, so the database's
/// siblings are private too. A file or directory that exists already with a looser mode is
/// tightened (see [`private_dir`]).
pub fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if private_dir(parent)? {
            tracing::warn!(directory = %parent.display(), "the data directory was open to other users: now 0700");
        }
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = std::fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
                tracing::warn!(file = %path.display(), "a data file was readable by other users: now 0600");
            }
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// Makes `dir` a directory only its owner may enter: created 0700, or tightened to 0700 when it
/// exists with a looser mode and belongs to this user (returns `true` then). One that belongs to
/// someone else, or a shared one like `/tmp` (sticky), is refused: Tether cannot make it private.
pub fn private_dir(dir: &std::path::Path) -> std::io::Result<bool> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let metadata = match std::fs::metadata(dir) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
            return Ok(false);
        }
        Err(error) => return Err(error),
    };
    let mode = metadata.permissions().mode();
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    // /proc/self belongs to the process's effective user. Where there is no /proc, chmod below
    // refuses a directory that is not ours (except to root).
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(metadata.uid());
    if metadata.uid() != me || mode & 0o1000 != 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "the data directory {} is open to other users (mode {:o}) and is not this user's own to tighten: \
                 give Tether a directory of its own (TETHER_DATA_DIR)",
                dir.display(),
                mode & 0o7777
            ),
        ));
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    Ok(true)
}
/// How the pool is sized and when migrations run.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub max_connections: u32,
    /// Apply pending migrations while connecting (the default); off for operators who run
    /// `server migrate` once before rolling out instances.
    pub migrate: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { max_connections: 8, migrate: true }
    }
}

impl Store {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, Options::default()).await
    }

    pub async fn connect_with(url: &str, options: Options) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of_url(url)?;
        let mut url = url.to_owned();
        let pool = AnyPoolOptions::new().max_connections(options.max_connections);
        let pool = match engine {
            Engine::Sqlite => {
                let file = SqliteConnectOptions::from_str(&url)?;
                private_file(file.get_filename())?;
                if !url.contains("mode=") {
                    url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
                }
                // A connection to a file cannot go stale: the check sqlx makes before handing
                // one out is one more trip to the connection's thread for every query, which
                // under load was most of the server's CPU (switching threads, not SQLite).
                pool.test_before_acquire(false).after_connect(|conn, _| {
                    Box::pin(async move {
                        // WAL: readers never wait for the writer. FULL: a 2xx to Vercel's webhook
                        // or a finished install must survive a power loss, not only a crash.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                        Ok(())
                    })
                })
            }
            Engine::Postgres => pool,
        };
        let pool = pool.connect_with(AnyConnectOptions::from_str(&url)?).await?;
        let store = Self { pool, engine, writer: Default::default() };
        if options.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// Applies the migrations this build has and the database lacks. Safe to run from several
    /// instances at once: the migrator takes a lock on PostgreSQL.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.engine.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// Compares the applied migrations with this build's, for `/readyz`.
    pub async fn schema(&self) -> Result<Schema, StoreError> {
        let applied: Vec<i64> =
            match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version")
                .fetch_all(&self.pool)
                .await
            {
                Ok(applied) => applied,
                // No table yet: nothing was ever applied.
                Err(sqlx::Error::Database(_)) => Vec::new(),
                Err(error) => return Err(error.into()),
            };
        let known: Vec<i64> = self.engine.migrator().iter().map(|m| m.version).collect();
        let ahead: Vec<i64> = applied.iter().filter(|v| !known.contains(v)).copied().collect();
        let behind: Vec<i64> = known.iter().filter(|v| !applied.contains(v)).copied().collect();
        Ok(match (ahead.is_empty(), behind.is_empty()) {
            (false, _) => Schema::Ahead(ahead),
            (true, false) => Schema::Behind(behind),
            (true, true) => Schema::Current,
        })
    }
}
