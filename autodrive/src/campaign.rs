//! `autodrive campaign list|off|on|preview`: the marketer's switches of stages and offer rules
//! and the preview of what the next nights would send, on the embedded store ([`app::campaigns`]).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use app::campaigns::{CampaignKind, CampaignState, PreviewRow};
use chrono::{NaiveDate, Utc};
use domain::policy::Policy;
use store::redb_store::in_use;
use store::repo::Repos;
use store::RedbStore;

/// Options of `autodrive campaign`.
#[derive(Debug, Clone, clap::Args)]
pub struct CampaignArgs {
    #[command(subcommand)]
    pub command: CampaignCommand,
    /// Directory of the embedded store ($AUTODRIVE_DATA_DIR, else ./autodrive-data).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Policy TOML; the built-in defaults (as in `policy.toml`) when left out.
    #[arg(long, global = true)]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum CampaignCommand {
    /// Every stage and offer rule, on or off, with the last change.
    List,
    /// Turn a stage or an offer rule off from the next evaluation.
    Off {
        /// A stage (`soft_reminder`) or an offer rule id of the policy (`loyal-perks`).
        name: String,
        /// Who turns it off.
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Turn a stage or an offer rule back on from the next evaluation.
    On {
        name: String,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// What the next nights would send and why, without sending or storing anything.
    Preview {
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// The first night (YYYY-MM-DD); the dealer's today when left out.
        #[arg(long)]
        from: Option<NaiveDate>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
}

pub fn run(args: CampaignArgs) -> Result<()> {
    let policy = crate::report::load_policy(args.policy.as_deref())?;
    let path = match &args.data_dir {
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
    let output = runtime.block_on(execute(&repos, &policy, &args.command))?;
    print!("{output}");
    Ok(())
}

/// Runs the command on `repos` and returns what to print.
pub async fn execute<S: store::Store>(
    repos: &Repos<S>,
    policy: &Policy,
    command: &CampaignCommand,
) -> Result<String> {
    Ok(match command {
        CampaignCommand::List => render_list(&app::campaigns::list(repos, policy).await?),
        CampaignCommand::Off { name, by } | CampaignCommand::On { name, by } => {
            let on = matches!(command, CampaignCommand::On { .. });
            let state = app::campaigns::switch(repos, policy, name, on, by, Utc::now()).await?;
            render_list(&[state])
        }
        CampaignCommand::Preview { days, from, format } => {
            let from = from.unwrap_or_else(|| app::run_date_of(policy, Utc::now()));
            let rows = app::campaigns::preview(repos, policy, from, *days).await?;
            render_preview(&rows, *format, policy)
        }
    })
}

fn kind_name(kind: CampaignKind) -> &'static str {
    match kind {
        CampaignKind::Stage => "этап",
        CampaignKind::OfferRule => "правило предложения",
    }
}

/// The switches as a table (Russian).
pub fn render_list(states: &[CampaignState]) -> String {
    let mut out = format!(
        "{:<24} {:<20} {:<9} {}\n",
        "Кампания", "Тип", "Состояние", "Последнее изменение"
    );
    for s in states {
        let last = s.last_change.as_ref().map_or("—".to_owned(), |r| {
            format!("{}, {}", r.by, r.at.format("%d.%m.%Y %H:%M UTC"))
        });
        out.push_str(&format!(
            "{:<24} {:<20} {:<9} {}\n",
            s.name,
            kind_name(s.kind),
            if s.on { "вкл." } else { "выкл." },
            last
        ));
    }
    out
}

const PREVIEW_HEADER: [&str; 7] = [
    "День",
    "Клиент",
    "Автомобиль",
    "Этап",
    "Причина",
    "Отправка",
    "Канал",
];

/// The preview as a table or CSV (Russian headers; send times in the dealer's zone).
pub fn render_preview(rows: &[PreviewRow], format: Format, policy: &Policy) -> String {
    let tz = policy.time_zone();
    let cells = |r: &PreviewRow| {
        [
            r.day.format("%d.%m.%Y").to_string(),
            r.customer_id.clone(),
            r.vin.clone(),
            r.stage.as_str().to_owned(),
            r.why.clone(),
            r.send_at
                .with_timezone(&tz)
                .format("%d.%m.%Y %H:%M")
                .to_string(),
            r.channel.to_owned(),
        ]
    };
    match format {
        Format::Csv => {
            let mut writer = csv::Writer::from_writer(Vec::new());
            let _ = writer.write_record(PREVIEW_HEADER);
            for r in rows {
                let _ = writer.write_record(cells(r));
            }
            String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
        }
        Format::Table => {
            if rows.is_empty() {
                return "За эти дни ничего не будет отправлено.\n".to_owned();
            }
            let mut out = PREVIEW_HEADER.join(" | ");
            out.push('\n');
            for r in rows {
                out.push_str(&cells(r).join(" | "));
                out.push('\n');
            }
            out.push_str(&format!("Всего сообщений: {}\n", rows.len()));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: CampaignArgs,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_preview_as_csv_lists_the_nights_reminder_under_russian_headers() {
        let cli = Cli::try_parse_from([
            "campaign",
            "preview",
            "--days",
            "1",
            "--from",
            "2027-11-01",
            "--format",
            "csv",
        ])
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
        let policy = Policy::default();
        let body = serde_json::to_vec(&app::fixtures::example_visit()).unwrap();
        app::record_visit(&repos, &policy, &body, Utc::now())
            .await
            .unwrap();
        let csv = execute(&repos, &policy, &cli.args.command).await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "День,Клиент,Автомобиль,Этап,Причина,Отправка,Канал"
        );
        let reminder = lines
            .iter()
            .find(|l| l.contains(",soft_reminder,"))
            .unwrap();
        assert!(reminder.starts_with("01.11.2027,C-1001,XW7BE40K70S025476,soft_reminder,"));
        assert!(reminder.contains("ТО"), "{csv}");
        assert!(reminder.ends_with(",01.11.2027 09:00,telegram"), "{csv}");
        assert!(Cli::try_parse_from(["campaign", "off"]).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stage_switched_off_from_the_cli_is_listed_off_with_who_and_an_unknown_name_is_refused(
    ) {
        let dir = tempfile::tempdir().unwrap();
        let repos = Repos::new(RedbStore::open(dir.path().join("store.redb")).unwrap());
        let policy = Policy::default();
        let off = CampaignCommand::Off {
            name: "soft_reminder".into(),
            by: "anna".into(),
        };
        let printed = execute(&repos, &policy, &off).await.unwrap();
        assert!(printed.contains("soft_reminder"), "{printed}");
        assert!(printed.contains("выкл."), "{printed}");
        let listed = execute(&repos, &policy, &CampaignCommand::List)
            .await
            .unwrap();
        let line = listed
            .lines()
            .find(|l| l.starts_with("soft_reminder"))
            .unwrap();
        assert!(line.contains("выкл.") && line.contains("anna"), "{line}");
        let rule = &policy.offers()[0].id;
        let rule_line = listed
            .lines()
            .find(|l| l.starts_with(rule.as_str()))
            .unwrap();
        assert!(
            rule_line.contains("вкл.") && rule_line.contains('—'),
            "{rule_line}"
        );
        let unknown = CampaignCommand::On {
            name: "no_such_stage".into(),
            by: "anna".into(),
        };
        let err = execute(&repos, &policy, &unknown).await.unwrap_err();
        assert!(err.to_string().contains("no_such_stage"));
    }
}
