//! Starting `autodrive serve` as a child process, the way an operator runs it.

pub mod browser;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The secrets and clock every serve test starts the server with.
pub const CRM_SECRET: &str = "crm-secret-of-the-local-server";
pub const ADMIN_TOKEN: &str = "admin-token-of-the-local-server";
pub const BOT_TOKEN: &str = "42:SERVE";
pub const TELEGRAM_SECRET: &str = "telegram-secret";
pub const ADVISOR_CHAT: i64 = -100777;

/// `autodrive serve` on `addr` over `data_dir` at the scenario's `clock`, sending Telegram to
/// `telegram_base`, with `extra` settings; returns the child once it listens, and its base URL.
pub fn start_serve(
    addr: &str,
    data_dir: &Path,
    clock: &str,
    telegram_base: &str,
    extra: &[(&str, String)],
) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_autodrive"))
        .args(["serve", "--addr", addr, "--data-dir"])
        .arg(data_dir)
        .env("AUTODRIVE_CRM_SECRET", CRM_SECRET)
        .env("AUTODRIVE_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("AUTODRIVE_CLOCK", clock)
        .env("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
        .env("TELEGRAM_API_BASE", telegram_base)
        .env("TELEGRAM_SECRET_TOKEN", TELEGRAM_SECRET)
        .env("ADVISOR_CHAT_ID", ADVISOR_CHAT.to_string())
        .env("RUST_LOG", "warn")
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the autodrive binary");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    let mut stdout = BufReader::new(stdout);
    stdout.read_line(&mut line).expect("serve's first line");
    // The rest (metrics lines) is read and dropped: a closed pipe would fail serve's writes.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("serve printed {line:?}"))
        .to_owned();
    (child, base)
}
