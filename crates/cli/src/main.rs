//! `baton`: the headless Baton — connect accounts, sync, and read the queue from a shell.
//! It parses arguments, calls the engine, and prints; what runs lives in `baton-engine`.

mod drafts;
mod render;
mod review;
mod run;
mod team;

use baton_core::model::Channel;
use baton_core::store::QueueFilter;
use baton_core::{Sensitive, Store};
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Baton: why the AI handed off, the whole transcript, and the Assist draft."
)]
struct Cli {
    /// The cache database (default: the platform data dir).
    #[arg(long, env = "BATON_DB", global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded simulator (live) and sync it, printing the queue as it changes.
    Demo(run::DemoArgs),
    /// Connect, list or remove vendor accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Sync every account: continuously, or once to the end of the stream.
    Sync {
        #[arg(long)]
        once: bool,
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
    },
    /// The rep's queue: open handoffs and pending Assist drafts, longest waiting first.
    Queue {
        #[arg(long)]
        json: bool,
        /// Include solved and closed conversations, and sessions that ended.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        channel: Option<String>,
        #[arg(long)]
        limit: Option<i64>,
        /// Only mine and my groups' unassigned (what the tray counts).
        #[arg(long)]
        mine: bool,
    },
    /// One conversation: handoff summary, ids, links, transcript and Assist draft.
    Show {
        /// The ticket number (or `account:number`).
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Act on a conversation's Assist draft: send it as it is, send an edited text, or
    /// reject it. Replies go through the outbox: recorded first, posted exactly once.
    #[command(subcommand)]
    Draft(DraftCommand),
    /// Replies waiting, sent, or needing attention.
    Outbox {
        #[arg(long)]
        json: bool,
        /// Send a conflicting or failed reply again, anyway (by its key).
        #[arg(long)]
        retry: Option<String>,
        /// Drop a reply that could not go out (by its key).
        #[arg(long, conflicts_with = "retry")]
        cancel: Option<String>,
    },
    /// Reports for team leads.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Run a team's relay: reads each vendor account once (webhooks, and the export to
    /// catch what they miss) and publishes to the team's NATS. `baton relay nats-config`
    /// prints the NATS users it needs.
    Relay(team::RelayArgs),
    /// Join or leave a team (its relay feeds this desktop's cache).
    #[command(subcommand)]
    Team(team::TeamCommand),
    /// Search transcripts.
    Search {
        text: String,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum DraftCommand {
    /// Post the pending draft to the customer as it is.
    Accept {
        id: String,
        #[command(flatten)]
        seen: SeenArgs,
    },
    /// Post your edited text instead of the draft.
    Send {
        id: String,
        #[arg(long)]
        text: String,
        #[command(flatten)]
        seen: SeenArgs,
    },
    /// Reject the draft, saying why.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        seen: SeenArgs,
    },
}

/// What you read, as `baton show` printed it: the reply then goes out only if the
/// conversation has not moved on since. Without them, the newest pending draft on the
/// conversation as the cache has it now.
#[derive(clap::Args)]
struct SeenArgs {
    /// The draft you read (`baton show` prints its id).
    #[arg(long = "draft")]
    draft_id: Option<i64>,
    /// The conversation's version you read (`baton show` prints it).
    #[arg(long = "seen", requires = "draft_id")]
    version: Option<String>,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Acceptance, edit and rejection of Assist drafts by rep and topic.
    Drafts {
        /// Only drafts acted on since this day (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Why the AI hands off: counts by category and channel, top reasons, the first
    /// human reply (table); or the handoffs themselves (csv, json with the summary).
    Handoffs {
        /// From this day (YYYY-MM-DD, UTC) or this many days ago (30d); all time without it.
        #[arg(long)]
        since: Option<String>,
        /// Through this day (YYYY-MM-DD, UTC); now without it.
        #[arg(long)]
        until: Option<String>,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
        /// Only handoffs of this category (csv, json), or `uncategorised`.
        #[arg(long)]
        category: Option<String>,
        /// Only handoffs on this channel (csv, json): web, phone, email, …
        #[arg(long)]
        channel: Option<String>,
    },
    /// The rules that put a handoff's reason in a category, in the order they are tried.
    Rules {
        /// table or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Connect an account: `zendesk` or `salesforce`. Its credentials are checked with the
    /// vendor before anything is kept.
    #[command(subcommand)]
    Add(AddCommand),
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change an account's credentials in place (a new API token, read from stdin or
    /// prompted for; optionally a new Sunshine Conversations key), checked with Zendesk
    /// before they replace the old ones. The cache and unsent replies are kept.
    Update(UpdateArgs),
    /// Who may write Assist drafts and handoff summaries (the user the OpenCX integration
    /// posts as): prints the setting, or sets it. Notes with the markers from anyone else
    /// show as ordinary internal notes; an end user never counts.
    AiAuthors {
        name: String,
        /// A Zendesk user id (repeat for several); when any is set, only these count.
        #[arg(long = "user-id")]
        user_ids: Vec<i64>,
        /// Without ids: an agent or admin name (repeat for several).
        #[arg(long = "author-name", conflicts_with = "user_ids")]
        names: Vec<String>,
    },
    /// Disconnect an account: removes its cached data and its keychain entry. Asks first
    /// when it has unsent replies or saved edits (or needs --force without a terminal).
    Remove {
        name: String,
        /// Remove it even though unsent replies or saved edits are lost with it.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args)]
struct UpdateArgs {
    name: String,
    /// A new agent email (API token auth); the stored one otherwise.
    #[arg(long)]
    email: Option<String>,
    /// A new Sunshine Conversations key; its secret is the second line on stdin (or a
    /// second prompt).
    #[arg(long)]
    sunco_key_id: Option<String>,
    /// The Sunshine Conversations app (default: the account's).
    #[arg(long, requires = "sunco_key_id")]
    sunco_app_id: Option<String>,
    /// Default: the account's, or {url}/sc
    #[arg(long, requires = "sunco_key_id")]
    sunco_url: Option<String>,
}

#[derive(Subcommand)]
enum AddCommand {
    /// Connect a Zendesk account. The API token is read from stdin, or prompted for.
    Zendesk(AddArgs),
    /// Connect a Salesforce org (Messaging for In-App and Web), read-only: a connected app
    /// with a certificate, signed in to with the OAuth 2.0 JWT bearer flow. The private key
    /// is read from --key-file and kept in the OS keychain (the file may then be deleted).
    Salesforce(AddSalesforceArgs),
}

#[derive(Args)]
struct AddSalesforceArgs {
    /// https://login.salesforce.com (production), https://test.salesforce.com (a
    /// sandbox), or the org's My Domain (https://acme.my.salesforce.com).
    #[arg(long)]
    login_url: String,
    /// The connected app's consumer key.
    #[arg(long = "client-id")]
    client_id: String,
    /// The Salesforce username Baton signs in as (sandbox usernames carry their suffix).
    #[arg(long)]
    username: String,
    /// The private key (PEM) whose certificate was uploaded to the connected app.
    #[arg(long)]
    key_file: PathBuf,
    /// A short name for the account (default: the My Domain, or the username's domain).
    #[arg(long)]
    name: Option<String>,
    /// Where the Pub/Sub API is (default: Salesforce's, https://api.pubsub.salesforce.com:7443,
    /// for an org on salesforce.com; the simulator prints its own). Without one, Baton polls.
    #[arg(long)]
    pubsub_url: Option<String>,
}

#[derive(Args)]
struct AddArgs {
    /// e.g. https://acme.zendesk.com
    #[arg(long)]
    url: String,
    /// The agent's email (API token auth).
    #[arg(long)]
    email: Option<String>,
    /// A short name for the account (default: the subdomain).
    #[arg(long)]
    name: Option<String>,
    /// The secret is an OAuth access token, not an API token.
    #[arg(long)]
    oauth: bool,
    /// Sunshine Conversations app id: read messaging transcripts there when a ticket's
    /// conversation log is not available. Its key secret is the second line on stdin
    /// (or a second prompt).
    #[arg(long, requires = "sunco_key_id")]
    sunco_app_id: Option<String>,
    #[arg(long, requires = "sunco_app_id")]
    sunco_key_id: Option<String>,
    /// Default: {url}/sc
    #[arg(long, requires = "sunco_app_id")]
    sunco_url: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    run::init_logging();
    match dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("baton: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> Result<(), String> {
    let e = |e: baton_core::Error| e.to_string();
    if let Command::Demo(args) = cli.command {
        let path = cli.db.unwrap_or_else(|| {
            baton_engine::runtime::demo_db(&baton_engine::runtime::default_db())
        });
        return run::demo(&path, args).await;
    }
    if let Command::Relay(args) = cli.command {
        return team::relay(args).await;
    }
    let store = Store::open(&cli.db.unwrap_or_else(baton_engine::runtime::default_db))
        .await
        .map_err(e)?;
    let now = chrono::Utc::now().timestamp_millis();
    match cli.command {
        Command::Demo(_) | Command::Relay(_) => unreachable!("handled above"),
        Command::Team(command) => team::team(&store, command).await,
        Command::Account(AccountCommand::Add(AddCommand::Zendesk(a))) => {
            add_account(&store, a).await
        }
        Command::Account(AccountCommand::Add(AddCommand::Salesforce(a))) => {
            add_salesforce(&store, a).await
        }
        Command::Account(AccountCommand::List { json }) => {
            let accounts = store.accounts().await.map_err(e)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&accounts).expect("serializes")
                );
            } else if accounts.is_empty() {
                println!(
                    "No accounts. Add one with: baton account add zendesk --url https://SUBDOMAIN.zendesk.com --email YOU@EXAMPLE.COM\n\
                     or: baton account add salesforce --login-url https://login.salesforce.com --client-id CONSUMER_KEY --username YOU@EXAMPLE.COM --key-file KEY.pem"
                );
            } else {
                for a in accounts {
                    println!(
                        "{:<16} {:<10} {:<40} {}",
                        a.id,
                        a.kind,
                        a.base_url,
                        a.login.unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        Command::Account(AccountCommand::Update(u)) => update_account(&store, u).await,
        Command::Account(AccountCommand::AiAuthors {
            name,
            user_ids,
            names,
        }) => {
            let set = (!user_ids.is_empty() || !names.is_empty())
                .then_some(baton_zendesk::mapping::AiAuthors { user_ids, names });
            let now = baton_engine::accounts::ai_authors(&store, &name, set)
                .await
                .map_err(|e| e.to_string())?;
            if now.user_ids.is_empty() {
                println!(
                    "{name}: drafts and summaries from agents or admins named {}",
                    render::one_line(&now.names.join(", "), 200)
                );
            } else {
                let ids: Vec<String> = now.user_ids.iter().map(i64::to_string).collect();
                println!(
                    "{name}: drafts and summaries from Zendesk user {}",
                    ids.join(", ")
                );
            }
            Ok(())
        }
        Command::Account(AccountCommand::Remove { name, force }) => {
            remove_account(&store, &name, force).await
        }
        Command::Sync { once, account } => {
            run::sync(
                &store,
                std::sync::Arc::new(baton_engine::keychain()),
                account.as_deref(),
                once,
            )
            .await
        }
        Command::Queue {
            json,
            all,
            channel,
            limit,
            mine,
        } => {
            let channel = match channel {
                Some(c) => Some(Channel::parse(&c).ok_or_else(|| {
                    format!(
                        "unknown channel {c:?}; one of: {}",
                        Channel::ALL
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?),
                None => None,
            };
            let filter = QueueFilter {
                include_done: all,
                channel,
                limit,
                my_scope: mine,
                ..Default::default()
            };
            let items = store.queue(&filter).await.map_err(e)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&items).expect("serializes")
                );
            } else {
                print!("{}", render::queue(&items, now));
            }
            Ok(())
        }
        Command::Show { id, json } => {
            let conv = drafts::resolve(&store, &id).await?;
            let detail = store.detail(conv).await.map_err(e)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&detail).expect("serializes")
                );
            } else {
                print!("{}", render::detail(&detail, now));
            }
            Ok(())
        }
        Command::Draft(d) => drafts::act(&store, d).await,
        Command::Outbox {
            json,
            retry,
            cancel,
        } => drafts::outbox(&store, json, retry, cancel, now).await,
        Command::Report(ReportCommand::Drafts { since, format }) => {
            drafts::report(&store, since.as_deref(), &format).await
        }
        Command::Report(ReportCommand::Handoffs {
            since,
            until,
            format,
            category,
            channel,
        }) => {
            let args = review::HandoffArgs {
                since: since.as_deref(),
                until: until.as_deref(),
                format: &format,
                category: category.as_deref(),
                channel: channel.as_deref(),
            };
            review::handoffs(&store, args, now).await
        }
        Command::Report(ReportCommand::Rules { format }) => review::rules(&store, &format).await,
        Command::Search { text, json, limit } => {
            let hits = store.search(&text, limit.clamp(1, 1000)).await.map_err(e)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&hits).expect("serializes")
                );
            } else {
                print!("{}", render::hits(&hits));
            }
            Ok(())
        }
    }
}

/// Reads the secrets named by `prompts`: one prompt each on a terminal, else one line
/// each from stdin.
fn read_secrets(prompts: &[String]) -> Result<Vec<Sensitive<String>>, String> {
    let lines: Vec<String> = if std::io::stdin().is_terminal() {
        prompts
            .iter()
            .map(|p| {
                rpassword::prompt_password(p).map_err(|e| format!("cannot read the secret: {e}"))
            })
            .collect::<Result<_, _>>()?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read the secrets from stdin: {e}"))?;
        s.lines().map(str::to_string).collect()
    };
    prompts
        .iter()
        .enumerate()
        .map(|(i, p)| match lines.get(i).map(|l| l.trim()) {
            Some(l) if !l.is_empty() => Ok(Sensitive::new(l.to_string())),
            _ => Err(format!("no value given for: {}", p.trim_end_matches(": "))),
        })
        .collect()
}

async fn add_account(store: &Store, a: AddArgs) -> Result<(), String> {
    let mut prompts = vec![format!(
        "Zendesk {} for {}: ",
        if a.oauth { "OAuth token" } else { "API token" },
        a.email.as_deref().unwrap_or(&a.url)
    )];
    let sunco = a
        .sunco_app_id
        .clone()
        .zip(a.sunco_key_id.clone())
        .map(|(app_id, key_id)| baton_zendesk::SuncoSettings {
            app_id,
            key_id,
            base_url: a.sunco_url.clone(),
        });
    if let Some(sc) = &sunco {
        prompts.push(format!(
            "Sunshine Conversations secret for key {}: ",
            sc.key_id
        ));
    }
    let mut secrets = read_secrets(&prompts)?.into_iter();
    let token = secrets.next().expect("one per prompt");
    let new = baton_zendesk::accounts::NewAccount {
        name: a.name,
        url: a.url,
        email: a.email,
        oauth: a.oauth,
        token,
        sunco: sunco.zip(secrets.next()),
    };
    let (record, me) = baton_engine::accounts::add(
        store,
        &baton_engine::keychain(),
        baton_engine::accounts::NewAccount::Zendesk(new),
    )
    .await
    .map_err(|e| e.to_string())?;
    println!(
        "Added {} ({}) as {me}. Run `baton sync` to fetch the queue.",
        record.id, record.base_url
    );
    Ok(())
}

async fn add_salesforce(store: &Store, a: AddSalesforceArgs) -> Result<(), String> {
    let pem = std::fs::read_to_string(&a.key_file)
        .map_err(|e| format!("cannot read the key file {}: {e}", a.key_file.display()))?;
    let new = baton_engine::accounts::NewSalesforceAccount {
        name: a.name,
        login_url: a.login_url,
        username: a.username,
        consumer_key: a.client_id,
        private_key: Sensitive::new(pem),
        pubsub_url: a.pubsub_url,
    };
    let (record, who) =
        baton_engine::accounts::add_salesforce(store, &baton_engine::keychain(), new)
            .await
            .map_err(|e| e.to_string())?;
    println!(
        "Added {} ({}): signed in as {} (user {}).",
        record.id, record.base_url, who.username, who.user_id
    );
    if who.queues.is_empty() {
        println!(
            "{} is in no queue: only sessions they own will show.",
            who.username
        );
    } else {
        println!("Queues:");
        for (id, name) in &who.queues {
            println!("  {name} ({id})");
        }
    }
    println!(
        "The key is in the OS keychain now; {} may be deleted. Run `baton sync` to fetch the \
         queue (Salesforce conversations are read-only in Baton: reply in the Service Console).",
        a.key_file.display()
    );
    Ok(())
}

async fn update_account(store: &Store, u: UpdateArgs) -> Result<(), String> {
    let account = store.account(&u.name).await.map_err(|e| e.to_string())?;
    if account.kind == baton_core::model::SourceKind::Salesforce {
        return Err(format!(
            "{}: a Salesforce account's key cannot be changed in place yet: remove it \
             (`baton account remove {}`) and add it again with the new key",
            account.id, account.id
        ));
    }
    let mut prompts = vec![format!(
        "New Zendesk {} for {}: ",
        match account.auth_kind {
            baton_core::store::AuthKind::Oauth => "OAuth token",
            baton_core::store::AuthKind::ApiToken => "API token",
        },
        u.email
            .as_deref()
            .or(account.login.as_deref())
            .unwrap_or(&account.id)
    )];
    if let Some(key) = &u.sunco_key_id {
        prompts.push(format!("Sunshine Conversations secret for key {key}: "));
    }
    let mut secrets = read_secrets(&prompts)?.into_iter();
    let token = secrets.next().expect("one per prompt");
    let new = baton_engine::accounts::NewCredentials {
        token,
        email: u.email,
        sunco: u.sunco_key_id.zip(secrets.next()).map(|(key_id, secret)| {
            baton_engine::accounts::SuncoKey {
                app_id: u.sunco_app_id,
                key_id,
                base_url: u.sunco_url,
                secret,
            }
        }),
    };
    let (record, me) =
        baton_engine::accounts::update(store, &baton_engine::keychain(), &u.name, new)
            .await
            .map_err(|e| e.to_string())?;
    println!(
        "Updated {} ({}): signed in as {me}. Its cache and unsent replies are kept.",
        record.id, record.base_url
    );
    Ok(())
}

/// Removes an account; when that would lose unsent replies or saved edits, lists them
/// and asks (on a terminal) or needs `--force`.
async fn remove_account(store: &Store, name: &str, force: bool) -> Result<(), String> {
    let unsent = store.unsent(name).await.map_err(|e| e.to_string())?;
    let mut confirmed = force;
    if !unsent.is_empty() && !force {
        eprint!("{}", render::unsent(name, &unsent));
        if !std::io::stdin().is_terminal() {
            return Err(format!(
                "{name} has {}: nothing removed. Send or cancel them first (`baton outbox`), \
                 or add --force to remove it anyway",
                baton_engine::accounts::describe_unsent(&unsent)
            ));
        }
        eprint!("Remove {name} and lose them? [y/N] ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(format!("kept {name}: nothing removed"));
        }
        confirmed = true;
    }
    baton_engine::accounts::remove(store, &baton_engine::keychain(), name, confirmed)
        .await
        .map_err(|e| e.to_string())?;
    println!("Removed {name} and its cached conversations.");
    Ok(())
}
