//! The PostgreSQL server `--database-url` names: throwaway databases on it (created per phase, dropped after) and a description of it.

use anyhow::{Context, Result};
use tokio_postgres::{Client, Config, NoTls};

/// The server, reached through the admin database the URL names.
#[derive(Clone)]
pub struct Server {
    url: reqwest::Url,
    admin: Config,
}

impl Server {
    /// Parses a `postgres://` or `postgresql://` URL (not connected yet).
    pub fn parse(url: &str) -> Result<Server> {
        let admin: Config = url
            .parse()
            .with_context(|| format!("{} is not a PostgreSQL URL", redact(url)))?;
        let url = reqwest::Url::parse(url)
            .with_context(|| format!("{} is not a PostgreSQL URL", redact(url)))?;
        Ok(Server { url, admin })
    }

    /// A client on the admin database.
    pub async fn admin(&self) -> Result<Client> {
        connect(&self.admin)
            .await
            .with_context(|| format!("connecting to {}", self.display()))
    }

    /// `host:port/dbname` of the admin database, without user or password.
    pub fn display(&self) -> String {
        let host = self.url.host_str().unwrap_or("localhost");
        let port = self.url.port().unwrap_or(5432);
        format!("{host}:{port}{}", self.url.path())
    }

    /// The server's version and the settings that decide its write throughput.
    pub async fn describe(&self) -> Result<String> {
        let client = self.admin().await?;
        let mut parts = Vec::new();
        for setting in [
            "server_version",
            "fsync",
            "synchronous_commit",
            "shared_buffers",
            "max_wal_size",
        ] {
            let row = client
                .query_one(
                    "SELECT current_setting($1) AS value",
                    &[&setting.to_owned()],
                )
                .await?;
            let value: String = row.get(0);
            parts.push(if setting == "server_version" {
                format!("PostgreSQL {value}")
            } else {
                format!("{setting}={value}")
            });
        }
        Ok(format!("{} at {}", parts.join(", "), self.display()))
    }
}

/// A database of its own for one phase, named `loyalbatch_bench_<random>`; dropped
/// (its connections forced out) by [`Throwaway::remove`], or on drop if a phase failed.
pub struct Throwaway {
    server: Server,
    name: String,
    config: Config,
    removed: bool,
}

impl Throwaway {
    pub async fn create(server: &Server) -> Result<Throwaway> {
        let name = format!("loyalbatch_bench_{:016x}", rand::random::<u64>());
        server
            .admin()
            .await?
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("CREATE DATABASE {name} on {}", server.display()))?;
        let mut config = server.admin.clone();
        config.dbname(&name);
        Ok(Throwaway {
            server: server.clone(),
            name,
            config,
            removed: false,
        })
    }

    /// The database's URL: the admin URL with the database name replaced (options kept).
    pub fn url(&self) -> String {
        let mut url = self.server.url.clone();
        url.set_path(&format!("/{}", self.name));
        url.into()
    }

    /// A client on this database.
    pub async fn client(&self) -> Result<Client> {
        connect(&self.config)
            .await
            .with_context(|| format!("connecting to database {}", self.name))
    }

    /// The single number a `SELECT count(*) …` answers.
    pub async fn count(&self, sql: &str) -> Result<usize> {
        let rows: i64 = self.client().await?.query_one(sql, &[]).await?.get(0);
        Ok(usize::try_from(rows)?)
    }

    /// Drops the database, closing whatever connections are still open on it.
    pub async fn remove(mut self) -> Result<()> {
        self.removed = true;
        drop_database(&self.server.admin, &self.name).await
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let (admin, name) = (self.server.admin.clone(), self.name.clone());
        // Drop may run inside or outside a runtime: a thread with a small runtime
        // of its own does the async work either way.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(drop_database(&admin, &name)))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the benchmark database {}", self.name);
        }
    }
}

async fn connect(config: &Config) -> Result<Client> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn drop_database(admin: &Config, name: &str) -> Result<()> {
    connect(admin)
        .await?
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .with_context(|| format!("DROP DATABASE {name}"))
}

/// Whether `url` names a PostgreSQL server.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.into()
        }
        Ok(parsed) => parsed.into(),
        Err(_) => "the database URL".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throwaway_url_keeps_everything_but_the_database_name() {
        let server = Server::parse("postgres://u:p@db.example:6543/admin?sslmode=disable").unwrap();
        let db = Throwaway {
            server: server.clone(),
            name: "loyalbatch_bench_1".into(),
            config: server.admin.clone(),
            removed: true,
        };
        assert_eq!(
            db.url(),
            "postgres://u:p@db.example:6543/loyalbatch_bench_1?sslmode=disable"
        );
        assert_eq!(server.display(), "db.example:6543/admin");
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }

    /// Needs a server: runs only when `LOYALBATCH_TEST_POSTGRES_URL` names one (as the store's tests).
    #[tokio::test(flavor = "multi_thread")]
    async fn throwaway_databases_are_dropped_whether_removed_or_not() {
        let Ok(url) = std::env::var(test_support::postgres::TEST_URL_VAR) else {
            return;
        };
        let server = Server::parse(&url).unwrap();
        let exists = |name: String| {
            let server = server.clone();
            async move {
                let row = server
                    .admin()
                    .await
                    .unwrap()
                    .query_one(
                        "SELECT count(*) FROM pg_database WHERE datname = $1",
                        &[&name],
                    )
                    .await
                    .unwrap();
                row.get::<_, i64>(0) == 1
            }
        };
        let removed = Throwaway::create(&server).await.unwrap();
        let store = crate::backend::open_store(&removed.url()).await.unwrap();
        assert_eq!(
            removed
                .count("SELECT count(*) FROM customers")
                .await
                .unwrap(),
            0
        );
        let name = removed.name.clone();
        assert!(exists(name.clone()).await);
        // Removed while a store still holds connections on it.
        removed.remove().await.unwrap();
        assert!(!exists(name).await);
        drop(store);

        let dropped = Throwaway::create(&server).await.unwrap();
        let name = dropped.name.clone();
        drop(dropped);
        assert!(!exists(name).await);
    }
}
