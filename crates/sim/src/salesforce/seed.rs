//! The org's people and its MIAW sessions: seeded from the simulator's seed (a stream of
//! its own, so the Zendesk account stays as it was), and living on when the simulator runs
//! live: new handoffs wait in a queue, agents accept them, visitors and agents write, and
//! sessions end.

use super::ids;
use super::org::{Entry, EntryAttachment, Object, Org, Role, RoutingFields, Val};
use crate::scenario::{
    fill, AGENT_LINES, AI_LINES, CUSTOMER_LINES, FIRST_NAMES, LAST_NAMES, LONG_PARAGRAPH, TOPICS,
};
use chrono::{DateTime, Duration, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const GREETING: &str = "Hi, I'm Acme's AI assistant. Ask me about orders, refunds & deliveries.";
const HANDOFF_LINE: &str = "Let me connect you with a member of our team who can help further.";
const BOT_GOODBYE: &str = "Glad I could help! You can close this chat whenever you like.";
const AGENT_GOODBYE: &str =
    "Thanks for chatting with us, {name}. I'll close this conversation now.";
const END_USER_GOODBYE: &str = "Ok thanks, that's all I needed 👋";
const TIMED_OUT: &str = "The conversation ended because no agent was available.";

/// How a seeded session ends up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Waiting in one of the rep's queues (by index into `People::queues`).
    WaitingMine(usize),
    /// Waiting in a queue the rep is not in.
    WaitingOther,
    ActiveMine,
    ActiveOther,
    InactiveMine,
    EndedByEndUser,
    EndedByAgent,
    /// Never accepted: the system closed it.
    EndedBySystem,
    /// The bot handled it alone.
    EndedByBot,
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    fate: Fate,
    authenticated: bool,
    /// The widget handed the routing attributes over (not every session comes from it).
    routed: bool,
    case: bool,
}

const fn plan(fate: Fate, authenticated: bool, routed: bool, case: bool) -> Plan {
    Plan {
        fate,
        authenticated,
        routed,
        case,
    }
}

/// Seeded sessions take these in turn, so any ten of them cover every case.
const PLANS: [Plan; 10] = [
    plan(Fate::WaitingMine(0), false, true, false),
    plan(Fate::ActiveMine, true, true, false),
    plan(Fate::EndedByEndUser, false, true, false),
    plan(Fate::WaitingOther, true, true, false),
    plan(Fate::ActiveOther, false, true, false),
    plan(Fate::EndedByAgent, true, true, true),
    plan(Fate::InactiveMine, true, true, false),
    plan(Fate::EndedBySystem, false, true, false),
    plan(Fate::EndedByBot, false, true, false),
    plan(Fate::WaitingMine(1), true, false, false),
];

/// The org's people, channel and bot, by id.
#[derive(Debug, Clone, Default)]
struct People {
    me: String,
    others: Vec<String>,
    automated: String,
    /// Tier 1 and Billing (the rep's), then Escalations.
    queues: Vec<String>,
    channel: String,
    bot: String,
}

/// One entry to write, before its conversation and session are known.
struct Turn {
    role: Role,
    text: String,
    at: DateTime<Utc>,
    attachments: Vec<EntryAttachment>,
}

pub struct OrgGenerator {
    rng: ChaCha8Rng,
    base: DateTime<Utc>,
    people: People,
    sessions_made: u64,
    /// The next end-user turn carries a file (so a seeded org always has one).
    attach_next: bool,
}

fn ms(n: i64) -> Duration {
    Duration::milliseconds(n)
}

impl OrgGenerator {
    pub fn new(seed: u64, base: DateTime<Utc>) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // A stream of its own: the Zendesk account's draws stay as they were.
        rng.set_stream(0x5a1e_5f0c);
        Self {
            rng,
            base,
            people: People::default(),
            sessions_made: 0,
            attach_next: true,
        }
    }

    /// The org: the rep (`username`), two more agents, the queues and their members, and
    /// `sessions` MIAW sessions spread over the three days before the base time.
    pub fn org(&mut self, username: &str, sessions: usize, routing: RoutingFields) -> Org {
        let mut org = Org::new(routing);
        let at = self.base - Duration::days(30);
        let user = |org: &mut Org, username: &str, first: &str, last: &str, kind: &str| {
            org.insert(
                Object::User,
                vec![
                    ("Username", Val::str(username)),
                    ("Name", Val::str(format!("{first} {last}").trim())),
                    ("FirstName", Val::opt((!first.is_empty()).then_some(first))),
                    ("LastName", Val::str(last)),
                    ("Email", Val::str(username)),
                    ("IsActive", Val::Bool(true)),
                    ("UserType", Val::str(kind)),
                ],
                at,
                "",
            )
        };
        let autoproc = format!("autoproc@{}", org.org_id.to_lowercase());
        let automated = user(
            &mut org,
            &autoproc,
            "",
            "Automated Process",
            "AutomatedProcess",
        );
        let me = user(&mut org, username, "Alex", "Rivera", "Standard");
        let sam = user(&mut org, "sam@acme.test", "Sam", "Okoro", "Standard");
        let jordan = user(&mut org, "jordan@acme.test", "Jordan", "Lee", "Standard");
        let group = |org: &mut Org, name: &str, kind: &str| {
            org.insert(
                Object::Group,
                vec![
                    ("Name", Val::str(name)),
                    ("DeveloperName", Val::str(name.replace(' ', "_"))),
                    ("Type", Val::str(kind)),
                ],
                at,
                "",
            )
        };
        let tier1 = group(&mut org, "Tier 1", "Queue");
        let billing = group(&mut org, "Billing", "Queue");
        let escalations = group(&mut org, "Escalations", "Queue");
        let everyone = group(&mut org, "All Support", "Regular");
        for (g, u) in [
            (&tier1, &me),
            (&billing, &me),
            (&everyone, &me),
            (&escalations, &sam),
            (&everyone, &sam),
            (&tier1, &jordan),
        ] {
            org.insert(
                Object::GroupMember,
                vec![("GroupId", Val::str(g)), ("UserOrGroupId", Val::str(u))],
                at,
                "",
            );
        }
        org.me = me.clone();
        self.people = People {
            me,
            others: vec![sam, jordan],
            automated,
            queues: vec![tier1, billing, escalations],
            channel: org.new_id("0Mj"),
            bot: org.new_id("0Xx"),
        };
        for i in 0..sessions {
            let age = Duration::seconds(3 * 86_400 * (sessions - i) as i64 / sessions as i64);
            self.session(&mut org, PLANS[i % PLANS.len()], self.base - age, None);
        }
        org.renumber_changes();
        org
    }

    /// One step of the live scenario at `now`: a new handoff, an agent accepting one, a
    /// new message, a session going idle, or one ending. Returns the session it touched.
    /// New messages change no record (as in a real org: entries live outside the
    /// MessagingSession), unless the visitor writes to an idle session, which wakes it.
    pub fn live_step(&mut self, org: &mut Org, now: DateTime<Utc>) -> Option<String> {
        let with = |status: &str| -> Vec<String> {
            org.sessions()
                .filter(|s| s.text("Status") == Some(status))
                .map(|s| s.id().to_string())
                .collect()
        };
        let (waiting, active, inactive) = (with("Waiting"), with("Active"), with("Inactive"));
        let roll = self.rng.gen_range(0..100);
        if roll < 35 || (waiting.is_empty() && active.is_empty() && inactive.is_empty()) {
            return Some(self.handoff_now(org, now));
        }
        if roll < 55 {
            if let Some(id) = waiting.choose(&mut self.rng) {
                let agent = if self.rng.gen_ratio(7, 10) {
                    self.people.me.clone()
                } else {
                    self.people.others.choose(&mut self.rng).unwrap().clone()
                };
                self.accept(org, id, &agent, now);
                return Some(id.clone());
            }
        }
        if roll < 80 {
            let open: Vec<&String> = active.iter().chain(&inactive).collect();
            if let Some(id) = open.choose(&mut self.rng).copied() {
                let idle = inactive.contains(id);
                let role = if idle || self.rng.gen_ratio(3, 5) {
                    Role::EndUser
                } else {
                    Role::Agent
                };
                let name = org
                    .record(id)
                    .and_then(|s| s.text("MessagingEndUserId"))
                    .and_then(|u| org.record(u))
                    .map(first_name)
                    .unwrap_or_else(|| "there".into());
                let n = self.rng.gen_range(1000..99_999);
                let text = self.line(role, n, &name);
                self.write(
                    org,
                    id,
                    vec![Turn {
                        role,
                        text,
                        at: now,
                        attachments: vec![],
                    }],
                );
                if idle {
                    let by = self.people.automated.clone();
                    org.update(id, &[("Status", Val::str("Active"))], now, &by);
                }
                return Some(id.clone());
            }
        }
        if roll < 85 {
            if let Some(id) = active.choose(&mut self.rng) {
                let owner = owner_of(org, id);
                org.update(id, &[("Status", Val::str("Inactive"))], now, &owner);
                return Some(id.clone());
            }
        }
        let open: Vec<&String> = active.iter().chain(&inactive).chain(&waiting).collect();
        let id = open.choose(&mut self.rng).copied()?.clone();
        let by = if waiting.contains(&id) {
            if self.rng.gen_ratio(1, 2) {
                "EndUser"
            } else {
                "System"
            }
        } else {
            *["Agent", "EndUser", "System"]
                .choose(&mut self.rng)
                .unwrap()
        };
        self.end(org, &id, by, now);
        Some(id)
    }

    /// A new handoff that arrives now: the visitor's talk with the AI just before, the
    /// session waiting in a queue (mostly one of the rep's).
    fn handoff_now(&mut self, org: &mut Org, now: DateTime<Utc>) -> String {
        let fate = match self.rng.gen_range(0..10) {
            0..=3 => Fate::WaitingMine(0),
            4..=6 => Fate::WaitingMine(1),
            _ => Fate::WaitingOther,
        };
        let p = plan(
            fate,
            self.rng.gen_ratio(1, 2),
            !self.rng.gen_ratio(1, 10),
            false,
        );
        self.session(org, p, now, Some(now))
    }

    /// A session whose visitor began talking to the AI at `start`, taken as far as its
    /// plan says; the handoff comes after that talk, or at `handoff` when given (the live
    /// scenario's now: the talk is moved to end just before it).
    fn session(
        &mut self,
        org: &mut Org,
        p: Plan,
        start: DateTime<Utc>,
        handoff: Option<DateTime<Utc>>,
    ) -> String {
        let people = self.people.clone();
        let mut turns = self.transcript(start);
        if p.fate == Fate::EndedByBot {
            let last = turns.last_mut().expect("a transcript");
            last.text = BOT_GOODBYE.into();
        } else {
            // The AI says why it handed off, as OpenCX's bot does in the conversation
            // (the topic follows from the order number, so the seed's draws stay as they were).
            let last = turns.last().expect("a transcript");
            let order: u64 = last.at.timestamp_millis().unsigned_abs();
            let (_, reason) = TOPICS[(order % TOPICS.len() as u64) as usize];
            let name = FIRST_NAMES[(order / 7 % FIRST_NAMES.len() as u64) as usize];
            turns.push(Turn {
                role: Role::Chatbot,
                text: format!(
                    "OpenCX handoff summary\nReason: {}\nMode: live chat",
                    fill(reason, order % 90_000 + 10_000, name)
                ),
                at: last.at + Duration::seconds(1),
                attachments: vec![],
            });
        }
        if let (Some(h), Some(last)) = (handoff, turns.last().map(|t| t.at)) {
            let shift = h - Duration::seconds(2) - last;
            for t in &mut turns {
                t.at += shift;
            }
        }
        let (end_user, conversation) = self.visitor(org, p.authenticated, turns[0].at);
        let at = handoff.unwrap_or_else(|| {
            turns.last().map(|t| t.at).unwrap_or(start)
                + Duration::seconds(self.rng.gen_range(2..20))
        });
        let (owner, status, agent_type) = match p.fate {
            Fate::EndedByBot => (people.automated.clone(), "Active", "Bot"),
            Fate::WaitingMine(q) => (people.queues[q].clone(), "Waiting", "BotToAgent"),
            Fate::WaitingOther => (people.queues[2].clone(), "Waiting", "BotToAgent"),
            _ => (
                people.queues[self.rng.gen_range(0..2)].clone(),
                "Waiting",
                "BotToAgent",
            ),
        };
        let visitor = org.record(&end_user).expect("just made").clone();
        let routing = org.routing.clone();
        self.sessions_made += 1;
        let mut fields = vec![
            ("Name", Val::str(format!("MS-{:07}", self.sessions_made))),
            ("Status", Val::str(status)),
            ("OwnerId", Val::str(&owner)),
            ("StartTime", Val::time(at)),
            ("ConversationId", Val::str(&conversation)),
            ("MessagingEndUserId", Val::str(&end_user)),
            ("MessagingChannelId", Val::str(&people.channel)),
            (
                "EndUserContactId",
                visitor.get("ContactId").cloned().unwrap_or(Val::Null),
            ),
            (
                "EndUserAccountId",
                visitor.get("AccountId").cloned().unwrap_or(Val::Null),
            ),
            ("Origin", Val::str("InboundInitiated")),
            ("AgentType", Val::str(agent_type)),
            ("ChannelType", Val::str("EmbeddedMessaging")),
            ("SessionKey", Val::str(ids::uuid(&mut self.rng))),
        ];
        if p.routed {
            let consumer = if p.authenticated {
                "Authenticated"
            } else {
                "Anonymous"
            };
            let session_id = format!("sess_{:016x}", self.rng.gen::<u64>());
            let contact_id = format!("contact_{:08x}", self.rng.gen::<u32>());
            fields.extend([
                (routing.session_id.as_str(), Val::Str(session_id)),
                (routing.consumer_type.as_str(), Val::str(consumer)),
                (routing.contact_id.as_str(), Val::Str(contact_id)),
                (routing.org_id.as_str(), Val::str("org_acme")),
            ]);
        }
        let sid = org.insert(Object::MessagingSession, fields, at, &people.automated);
        self.write(org, &sid, turns);
        let name = first_name(&visitor);
        let mut clock = at;
        let mut step = |rng: &mut ChaCha8Rng, lo: i64, hi: i64| {
            clock += Duration::seconds(rng.gen_range(lo..hi));
            clock
        };
        match p.fate {
            Fate::WaitingMine(_) | Fate::WaitingOther => {}
            Fate::EndedByBot => {
                let at = step(&mut self.rng, 30, 240);
                self.end(org, &sid, "Bot", at);
            }
            Fate::EndedBySystem => {
                let at = step(&mut self.rng, 600, 1800);
                self.end(org, &sid, "System", at);
            }
            _ => {
                let agent = if p.fate == Fate::ActiveOther {
                    people.others[0].clone()
                } else {
                    people.me.clone()
                };
                let accepted = step(&mut self.rng, 20, 400);
                self.accept(org, &sid, &agent, accepted);
                if p.case {
                    let case = org.new_id("500");
                    org.update(&sid, &[("CaseId", Val::str(case))], accepted, &agent);
                }
                let mut turns = vec![];
                for k in 0..self.rng.gen_range(1..5) {
                    let role = if k % 2 == 0 {
                        Role::EndUser
                    } else {
                        Role::Agent
                    };
                    let text = self.line(role, k, &name);
                    turns.push(Turn {
                        role,
                        text,
                        at: step(&mut self.rng, 10, 90),
                        attachments: vec![],
                    });
                }
                self.write(org, &sid, turns);
                let done = step(&mut self.rng, 30, 300);
                match p.fate {
                    Fate::InactiveMine => {
                        org.update(&sid, &[("Status", Val::str("Inactive"))], done, &agent);
                    }
                    Fate::EndedByEndUser => self.end(org, &sid, "EndUser", done),
                    Fate::EndedByAgent => self.end(org, &sid, "Agent", done),
                    _ => {}
                }
            }
        }
        sid
    }

    /// A visitor and their conversation: now and then one who came before continues
    /// their conversation (a new session in the same Conversation); otherwise a new
    /// MessagingEndUser (with a contact when authenticated, "Guest" when not).
    fn visitor(
        &mut self,
        org: &mut Org,
        authenticated: bool,
        start: DateTime<Utc>,
    ) -> (String, String) {
        if self.rng.gen_ratio(1, 6) {
            let returning: Vec<(String, String)> = org
                .sessions()
                .filter(|s| {
                    s.time("EndTime")
                        .is_some_and(|t| t < start - Duration::minutes(1))
                })
                .filter(|s| {
                    let contact = s.get("EndUserContactId").is_some_and(|c| *c != Val::Null);
                    contact == authenticated
                })
                .filter_map(|s| {
                    Some((
                        s.text("MessagingEndUserId")?.to_string(),
                        s.text("ConversationId")?.to_string(),
                    ))
                })
                .collect();
            if let Some(v) = returning.choose(&mut self.rng) {
                return v.clone();
            }
        }
        let uid = ids::uuid(&mut self.rng);
        let (name, key, contact, account) = if authenticated {
            let first = FIRST_NAMES.choose(&mut self.rng).unwrap();
            let last = LAST_NAMES.choose(&mut self.rng).unwrap();
            (
                format!("{first} {last}"),
                format!("v2/iamessage/AUTH/NA/uid:{uid}"),
                Val::str(org.new_id("003")),
                Val::str(org.new_id("001")),
            )
        } else {
            (
                "Guest".to_string(),
                format!("v2/iamessage/UNAUTH/NA/uid:{uid}"),
                Val::Null,
                Val::Null,
            )
        };
        let channel = self.people.channel.clone();
        let end_user = org.insert(
            Object::MessagingEndUser,
            vec![
                ("Name", Val::Str(name)),
                ("MessagingPlatformKey", Val::Str(key)),
                ("MessageType", Val::str("EmbeddedMessaging")),
                ("MessagingChannelId", Val::str(&channel)),
                ("ContactId", contact),
                ("AccountId", account),
                ("MessagingConsentStatus", Val::str("ImplicitlyOptedIn")),
                ("IsFullyOptedIn", Val::Bool(false)),
            ],
            start,
            "",
        );
        let conversation = org.insert(
            Object::Conversation,
            vec![
                ("ConversationIdentifier", Val::str(ids::uuid(&mut self.rng))),
                ("ConversationChannelId", Val::str(&channel)),
                ("StartTime", Val::time(start)),
            ],
            start,
            "",
        );
        (end_user, conversation)
    }

    /// The visitor's talk with the AI from `start`: a greeting, turns, and the AI's
    /// handoff line last.
    fn transcript(&mut self, start: DateTime<Utc>) -> Vec<Turn> {
        let order = self.rng.gen_range(1000..99_999u64);
        let mut at = start;
        let mut turns = vec![Turn {
            role: Role::Chatbot,
            text: GREETING.into(),
            at,
            attachments: vec![],
        }];
        for k in 0..self.rng.gen_range(2..8) * 2 {
            at += ms(self.rng.gen_range(3_000..45_000));
            let role = if k % 2 == 0 {
                Role::EndUser
            } else {
                Role::Chatbot
            };
            let mut text = self.line(role, order, "");
            let mut attachments = vec![];
            if role == Role::EndUser && (self.attach_next || self.rng.gen_ratio(1, 15)) {
                self.attach_next = false;
                let (name, mime) = *[
                    ("screenshot.png", "image/png"),
                    ("receipt.pdf", "application/pdf"),
                    ("Überweisung 03.jpg", "image/jpeg"),
                ]
                .choose(&mut self.rng)
                .unwrap();
                // Its id and path come when it is written.
                attachments.push(EntryAttachment {
                    id: String::new(),
                    name: name.into(),
                    mime_type: mime.into(),
                    path: String::new(),
                });
                if self.rng.gen_ratio(1, 2) {
                    text.clear();
                }
            }
            turns.push(Turn {
                role,
                text,
                at,
                attachments,
            });
        }
        at += ms(self.rng.gen_range(1_000..5_000));
        turns.push(Turn {
            role: Role::Chatbot,
            text: HANDOFF_LINE.into(),
            at,
            attachments: vec![],
        });
        turns
    }

    fn line(&mut self, role: Role, n: u64, name: &str) -> String {
        let lines = match role {
            Role::EndUser => CUSTOMER_LINES,
            Role::Chatbot => AI_LINES,
            _ => AGENT_LINES,
        };
        let text = fill(lines.choose(&mut self.rng).unwrap(), n, name);
        if role == Role::EndUser && self.rng.gen_ratio(1, 25) {
            return format!(
                "{text} {}",
                LONG_PARAGRAPH.repeat(self.rng.gen_range(20..60))
            );
        }
        text
    }

    /// Writes turns into the session's conversation: the visitor's and the agent's
    /// entries name the session in `relatedRecords`, the bot's do not.
    fn write(&mut self, org: &mut Org, session: &str, turns: Vec<Turn>) {
        let Some(s) = org.record(session).cloned() else {
            return;
        };
        let Some(conversation) = org.conversation_identifier(&s).map(str::to_string) else {
            return;
        };
        let visitor_key = s
            .text("MessagingEndUserId")
            .and_then(|id| org.record(id))
            .and_then(|u| u.text("MessagingPlatformKey"))
            .unwrap_or_default()
            .to_string();
        let owner = s.text("OwnerId").unwrap_or_default().to_string();
        for t in turns {
            let subject = match t.role {
                Role::EndUser => visitor_key.clone(),
                Role::Chatbot => self.people.bot.clone(),
                Role::Agent => owner.clone(),
                Role::System => "System".into(),
            };
            let related = if t.role == Role::Chatbot {
                vec![]
            } else {
                vec![session.to_string()]
            };
            let client = t.at.timestamp_millis();
            let attachments = t
                .attachments
                .into_iter()
                .map(|a| {
                    let id = org.new_id("068");
                    EntryAttachment {
                        path: format!("/sfc/servlet.shepherd/version/download/{id}"),
                        id,
                        ..a
                    }
                })
                .collect();
            let entry = Entry {
                identifier: ids::uuid(&mut self.rng),
                role: t.role,
                subject,
                text: t.text,
                client_timestamp: client,
                server_received_timestamp: client + self.rng.gen_range(5..250),
                related_records: related,
                attachments,
            };
            org.add_entry(&conversation, entry);
        }
    }

    /// An agent accepts a waiting session: it becomes theirs, and they say hello.
    fn accept(&mut self, org: &mut Org, session: &str, agent: &str, at: DateTime<Utc>) {
        org.update(
            session,
            &[
                ("Status", Val::str("Active")),
                ("OwnerId", Val::str(agent)),
                ("AcceptTime", Val::time(at)),
            ],
            at,
            agent,
        );
        let name = org
            .record(session)
            .and_then(|s| s.text("MessagingEndUserId"))
            .and_then(|id| org.record(id))
            .map(first_name)
            .unwrap_or_else(|| "there".into());
        let text = fill(AGENT_LINES[0], 0, &name);
        self.write(
            org,
            session,
            vec![Turn {
                role: Role::Agent,
                text,
                at: at + Duration::seconds(2),
                attachments: vec![],
            }],
        );
    }

    /// Ends a session (`by`: the EndedByType), with the last words that go with it.
    fn end(&mut self, org: &mut Org, session: &str, by: &str, at: DateTime<Utc>) {
        let name = org
            .record(session)
            .and_then(|s| s.text("MessagingEndUserId"))
            .and_then(|id| org.record(id))
            .map(first_name)
            .unwrap_or_else(|| "there".into());
        let last = match by {
            "Agent" => Some((Role::Agent, fill(AGENT_GOODBYE, 0, &name))),
            "EndUser" => Some((Role::EndUser, END_USER_GOODBYE.to_string())),
            "System" => Some((Role::System, TIMED_OUT.to_string())),
            _ => None,
        };
        if let Some((role, text)) = last {
            self.write(
                org,
                session,
                vec![Turn {
                    role,
                    text,
                    at: at - Duration::seconds(1),
                    attachments: vec![],
                }],
            );
        }
        let committer = match by {
            "Agent" => owner_of(org, session),
            _ => self.people.automated.clone(),
        };
        org.update(
            session,
            &[
                ("Status", Val::str("Ended")),
                ("EndTime", Val::time(at)),
                ("EndedByType", Val::str(by)),
            ],
            at,
            &committer,
        );
    }
}

fn owner_of(org: &Org, session: &str) -> String {
    org.record(session)
        .and_then(|s| s.text("OwnerId"))
        .unwrap_or_default()
        .to_string()
}

/// What an agent calls the visitor: their first name, "there" for an anonymous one.
fn first_name(end_user: &super::org::Record) -> String {
    match end_user.text("Name") {
        Some("Guest") | None => "there".into(),
        Some(n) => n.split(' ').next().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::org::ChangeType;

    fn seeded(seed: u64, sessions: usize) -> Org {
        let base = DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z")
            .unwrap()
            .to_utc();
        OrgGenerator::new(seed, base).org("alex@acme.test", sessions, RoutingFields::default())
    }

    #[test]
    fn the_same_seed_gives_the_same_org() {
        let a = serde_json::to_string(&seeded(7, 40)).unwrap();
        assert_eq!(a, serde_json::to_string(&seeded(7, 40)).unwrap());
        assert_ne!(a, serde_json::to_string(&seeded(8, 40)).unwrap());
    }

    #[test]
    fn a_seeded_org_has_every_kind_of_session_visitor_and_turn() {
        let org = seeded(1, 60);
        let sessions: Vec<&crate::salesforce::Record> = org.sessions().collect();
        assert_eq!(sessions.len(), 60);
        let with = |field: &str, value: &str| {
            sessions
                .iter()
                .filter(|s| s.text(field) == Some(value))
                .count()
        };
        for status in ["Waiting", "Active", "Inactive", "Ended"] {
            assert!(with("Status", status) > 0, "{status}");
        }
        for by in ["Agent", "EndUser", "Bot", "System"] {
            assert!(with("EndedByType", by) > 0, "ended by {by}");
        }
        // Ended sessions say when; open ones do not.
        for s in &sessions {
            let ended = s.text("Status") == Some("Ended");
            assert_eq!(s.time("EndTime").is_some(), ended);
            assert_eq!(s.text("EndedByType").is_some(), ended);
            assert!(s.time("SystemModstamp") >= s.time("CreatedDate"));
        }
        // Mine, my queues', another agent's, another queue's.
        let mine = org.queues_of(&org.me);
        assert_eq!(mine.len(), 2, "Tier 1 and Billing; All Support is no queue");
        assert!(with("OwnerId", &org.me) > 0);
        assert!(sessions.iter().any(|s| s.text("Status") == Some("Waiting")
            && mine.iter().any(|q| Some(q.as_str()) == s.text("OwnerId"))));
        assert!(sessions.iter().any(|s| s.text("Status") == Some("Waiting")
            && !mine.iter().any(|q| Some(q.as_str()) == s.text("OwnerId"))));
        assert!(sessions
            .iter()
            .any(|s| s.text("Status") == Some("Active")
                && s.text("OwnerId") != Some(org.me.as_str())));
        // Authenticated visitors have a contact; anonymous ones are guests.
        let visitors: Vec<&crate::salesforce::Record> = org.all(Object::MessagingEndUser).collect();
        assert!(visitors.iter().any(|v| v.text("ContactId").is_some()
            && v.text("MessagingPlatformKey").unwrap().contains("/AUTH/")));
        assert!(visitors.iter().any(|v| v.text("ContactId").is_none()
            && v.text("Name") == Some("Guest")
            && v.text("MessagingPlatformKey").unwrap().contains("/UNAUTH/")));
        // Routing attributes, both kinds of consumer, and sessions without them.
        assert!(with("Chat_Consumer_Type__c", "Authenticated") > 0);
        assert!(with("Chat_Consumer_Type__c", "Anonymous") > 0);
        assert!(sessions.iter().any(|s| s
            .text("OpencxSessionId__c")
            .is_some_and(|v| v.starts_with("sess_"))));
        assert!(sessions
            .iter()
            .any(|s| s.text("OpencxSessionId__c").is_none()));
        // Every role speaks; files and text that needs escaping.
        let entries: Vec<&Entry> = org.entries.values().flatten().collect();
        for role in [Role::EndUser, Role::Chatbot, Role::Agent, Role::System] {
            assert!(entries.iter().any(|e| e.role == role), "{role:?}");
        }
        assert!(entries.iter().any(|e| !e.attachments.is_empty()));
        assert!(entries.iter().any(|e| e.text.contains('\'')));
        assert!(entries.iter().any(|e| e.text.contains("<script>")));
        assert!(entries
            .iter()
            .filter(|e| e.role == Role::Chatbot)
            .all(|e| e.related_records.is_empty()));
        assert!(entries.iter().filter(|e| e.role == Role::EndUser).all(|e| e
            .related_records
            .len()
            == 1
            && e.related_records[0].starts_with("0Mw")));
        // Some visitor came back: two sessions in one conversation.
        let mut per_conversation = std::collections::BTreeMap::<&str, usize>::new();
        for s in &sessions {
            *per_conversation
                .entry(s.text("ConversationId").unwrap())
                .or_default() += 1;
        }
        assert!(per_conversation.values().any(|n| *n > 1));
    }

    #[test]
    fn the_change_history_is_in_replay_order_and_says_what_changed() {
        let org = seeded(1, 60);
        assert!(org
            .changes
            .windows(2)
            .all(|w| w[0].replay_id < w[1].replay_id
                && w[0].commit_timestamp <= w[1].commit_timestamp));
        for s in org.sessions() {
            let mine: Vec<_> = org
                .changes
                .iter()
                .filter(|c| c.record_id == s.id())
                .collect();
            assert_eq!(mine[0].change_type, ChangeType::Create);
            assert!(mine[0].changed_fields.contains(&"Status".to_string()));
            if s.text("Status") == Some("Ended") {
                let last = mine.last().unwrap();
                assert_eq!(last.change_type, ChangeType::Update);
                for f in ["Status", "EndTime", "EndedByType", "SystemModstamp"] {
                    assert!(last.changed_fields.contains(&f.to_string()), "{f}");
                }
            }
        }
        assert_eq!(org.changes_after(0).len(), org.changes.len());
        assert_eq!(org.changes_after(org.changes.len() as u64).len(), 0);
    }

    #[test]
    fn the_live_scenario_hands_off_accepts_talks_and_ends() {
        let base = Utc::now();
        let mut g = OrgGenerator::new(3, base - Duration::hours(1));
        let mut org = g.org("alex@acme.test", 10, RoutingFields::default());
        let before = org.sessions().count();
        let last_replay = org.changes.last().unwrap().replay_id;
        let entries_before: usize = org.entries.values().map(Vec::len).sum();
        let mut now = base;
        for _ in 0..300 {
            now += Duration::milliseconds(700);
            let id = g.live_step(&mut org, now).expect("a step");
            assert!(org.record(&id).is_some());
        }
        assert!(org.sessions().count() > before, "new handoffs");
        let new = org.changes_after(last_replay);
        assert!(new.iter().any(|c| c.change_type == ChangeType::Create));
        assert!(new
            .iter()
            .any(|c| c.changed_fields.contains(&"AcceptTime".to_string())));
        assert!(new
            .iter()
            .any(|c| c.changed_fields.contains(&"EndedByType".to_string())));
        assert!(new.windows(2).all(|w| w[0].replay_id + 1 == w[1].replay_id));
        assert!(new.iter().all(|c| c.commit_timestamp > base));
        let entries_after: usize = org.entries.values().map(Vec::len).sum();
        assert!(entries_after > entries_before, "new turns");
        // A new handoff waits in a queue, its talk with the AI just before it.
        let c = new
            .iter()
            .rev()
            .find(|c| c.change_type == ChangeType::Create)
            .unwrap();
        let s = org.record(&c.record_id).unwrap();
        assert_eq!(
            c.values.iter().find(|(n, _)| n == "Status").unwrap().1,
            Val::str("Waiting")
        );
        let entries = org.entries_of(org.conversation_identifier(s).unwrap());
        assert!(entries
            .iter()
            .all(|e| e.client_timestamp <= now.timestamp_millis()));
    }
}
