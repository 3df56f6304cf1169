//! `autodrive customer erase ID`: a customer's request to erase their personal data that came
//! by phone or in writing, through the same use case as «Удалите мои данные» in the messenger
//! ([`app::erase_customer`]) on the embedded store.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use store::redb_store::in_use;
use store::repo::Repos;
use store::RedbStore;

/// Options of `autodrive customer`.
#[derive(Debug, Clone, clap::Args)]
pub struct CustomerArgs {
    #[command(subcommand)]
    pub command: CustomerCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum CustomerCommand {
    /// Erase a customer's personal data (name, phone, chat ids, consents): the service history
    /// stays under the id without them, and nothing is sent to their phone or chat again until
    /// they give their data with consent in a later visit.
    Erase {
        /// The customer id as the CRM sends it (`C-1001`).
        id: String,
        /// Directory of the embedded store ($AUTODRIVE_DATA_DIR, else ./autodrive-data).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

pub fn run(args: CustomerArgs) -> Result<()> {
    match args.command {
        CustomerCommand::Erase { id, data_dir } => erase(&id, data_dir),
    }
}

fn erase(id: &str, data_dir: Option<PathBuf>) -> Result<()> {
    let path = match &data_dir {
        Some(dir) => dir.join(store::redb_store::STORE_FILE),
        None => store::redb_store::default_path(),
    };
    if !path.exists() {
        bail!("no store at {}", path.display());
    }
    let store = match RedbStore::open(&path) {
        Ok(store) => store,
        Err(e) => match in_use(&e) {
            Some(in_use) => bail!("{in_use}"),
            None => {
                return Err(anyhow::Error::new(e).context(format!("opening {}", path.display())))
            }
        },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .context("starting the runtime")?;
    let repos = Repos::new(store);
    let erasure = runtime.block_on(app::erase_customer(&repos, id, Utc::now()))?;
    println!("{}", describe(id, erasure));
    if erasure == app::Erasure::UnknownCustomer {
        bail!("no customer {id}");
    }
    Ok(())
}

/// What the erasure did, for the operator (Russian, like the dealer's other outputs).
pub fn describe(id: &str, erasure: app::Erasure) -> String {
    match erasure {
        app::Erasure::Erased {
            visits,
            holds_released,
        } => format!(
            "Персональные данные клиента {id} удалены; история обслуживания ({visits} визит.) \
             сохранена без них, сообщения на его телефон и чат больше не отправляются; \
             неподтверждённых заявок снято: {holds_released}."
        ),
        app::Erasure::AlreadyErased { at } => format!(
            "Персональные данные клиента {id} уже удалены {}.",
            at.format("%d.%m.%Y %H:%M UTC")
        ),
        app::Erasure::UnknownCustomer => format!("Клиента {id} нет в базе."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_erasure_by_id_is_done_once_and_an_unknown_id_is_said_so() {
        let dir = tempfile::tempdir().unwrap();
        let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
        let body = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
        let policy = domain::policy::Policy::default();
        app::record_visit(&repos, &policy, &body, Utc::now())
            .await
            .unwrap();
        let now = Utc::now();
        let first = app::erase_customer(&repos, "C-1001", now).await.unwrap();
        assert_eq!(
            first,
            app::Erasure::Erased {
                visits: 1,
                holds_released: 0
            }
        );
        assert!(describe("C-1001", first).contains("удалены"));
        let again = app::erase_customer(&repos, "C-1001", now).await.unwrap();
        assert!(describe("C-1001", again).contains("уже удалены"));
        let unknown = app::erase_customer(&repos, "C-404", now).await.unwrap();
        assert_eq!(describe("C-404", unknown), "Клиента C-404 нет в базе.");
    }
}
