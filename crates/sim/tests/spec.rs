//! The simulator's responses checked against the official Zendesk Support OpenAPI spec
//! (read from ../shared/specs, never copied into the project).

mod common;

use baton_sim::{Sim, SimConfig};
use serde_json::{json, Value};
use std::path::PathBuf;

fn spec(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/zendesk")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the spec must be at {}: {e}", path.display()));
    serde_yaml::from_str(&text).expect("the spec parses")
}

/// OpenAPI 3.0 says `nullable: true`; JSON Schema says `type: [T, "null"]` (and, for an
/// enum, null among its values). An OpenAPI `discriminator` picks one `oneOf` branch by a
/// property; JSON Schema says that as "if the property is K, then the branch for K".
fn to_json_schema(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let (Some(d), Some(_)) = (map.get("discriminator").cloned(), map.get("oneOf")) {
                if let (Some(prop), Some(Value::Object(mapping))) =
                    (d["propertyName"].as_str(), d.get("mapping"))
                {
                    let branches: Vec<Value> = mapping
                        .iter()
                        .map(|(k, r)| json!({ "if": { "properties": { prop: { "const": k } }, "required": [prop] }, "then": { "$ref": r } }))
                        .collect();
                    let keys: Vec<&String> = mapping.keys().collect();
                    map.remove("oneOf");
                    map.remove("discriminator");
                    map.insert("allOf".into(), json!(branches));
                    map.insert("properties".into(), json!({ prop: { "enum": keys } }));
                    map.insert("required".into(), json!([prop]));
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                }
                if let Some(Value::Array(values)) = map.get_mut("enum") {
                    values.push(Value::Null);
                }
            }
            map.values_mut().for_each(to_json_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(to_json_schema),
        _ => {}
    }
}

struct Checker {
    spec: Value,
    components: Value,
    /// Answers checked, by status class: a test that meant to see errors can say so.
    checked: std::cell::RefCell<std::collections::BTreeMap<u16, usize>>,
}

impl Checker {
    fn new() -> Self {
        let mut checker = Self::of("zendesk-support-oas.yaml");
        // The spec's ticket status enum leaves out the one value the incremental export
        // gives a deleted ticket ("Using the Incremental Exports API": deleted tickets
        // are listed with status `deleted`). Only that value is added.
        let status = &mut checker.components["schemas"]["TicketObject"]["properties"]["status"];
        status["enum"]
            .as_array_mut()
            .expect("an enum")
            .push(json!("deleted"));
        checker
    }

    fn of(file: &str) -> Self {
        let spec = spec(file);
        let mut components = spec["components"].clone();
        to_json_schema(&mut components);
        Self {
            spec,
            components,
            checked: Default::default(),
        }
    }

    fn check(&self, path: &str, method: &str, status: &str, body: &Value) {
        let schema = self.spec["paths"][path][method]["responses"][status]["content"]
            ["application/json"]["schema"]
            .clone();
        assert!(
            schema.is_object(),
            "the spec has a {status} schema for {method} {path}"
        );
        self.validate(schema, &format!("{method} {path} {status}"), body);
    }

    fn validate(&self, mut schema: Value, what: &str, body: &Value) {
        to_json_schema(&mut schema);
        schema["components"] = self.components.clone();
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:#?}");
    }

    /// Any answer: a success against the path's schema; an error against the path's own
    /// schema for that status when the spec has one, else against the error shapes the
    /// spec gives the Support API elsewhere (`Errors`, and for a safe-update conflict
    /// the `{error, description}` shape of its other 409s), with their fields required.
    fn answer(&self, path: &str, method: &str, status: u16, body: &Value) {
        *self.checked.borrow_mut().entry(status / 100).or_default() += 1;
        let code = status.to_string();
        let documented = self.spec["paths"][path][method]["responses"][&code]["content"]
            ["application/json"]["schema"]
            .is_object();
        if (200..300).contains(&status) || documented {
            return self.check(path, method, &code, body);
        }
        let schema = if status == 409 {
            json!({ "allOf": [{ "$ref": "#/components/schemas/SavedSearchError" },
                              { "required": ["error", "description"] }] })
        } else {
            json!({ "allOf": [{ "$ref": "#/components/schemas/Errors" },
                              { "required": ["errors"],
                                "properties": { "errors": { "minItems": 1 } } }] })
        };
        self.validate(schema, &format!("{method} {path} {status}"), body);
    }
}

/// Sends a request as the simulator's agent (with `token`), and returns the status and
/// the JSON body.
async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
    token: &str,
) -> (u16, Value) {
    let mut req = client
        .request(method, url)
        .basic_auth("alex@acme.test/token", Some(token));
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let body = r
        .json()
        .await
        .unwrap_or_else(|e| panic!("{url}: {status} without JSON: {e}"));
    (status, body)
}

async fn get(client: &reqwest::Client, url: &str) -> Value {
    let (status, body) = send(client, reqwest::Method::GET, url, None, "sim-token").await;
    assert_eq!(status, 200, "{url}");
    body
}

/// Every page of a ticket's comments or conversation log (or its error), checked;
/// returns the last status.
async fn every_page(
    checker: &Checker,
    c: &reqwest::Client,
    base: &str,
    id: u64,
    list: &str,
    size: u32,
) -> u16 {
    let spec_path = format!("/api/v2/tickets/{{ticket_id}}/{list}");
    let first = format!("{base}/api/v2/tickets/{id}/{list}?page[size]={size}&include=users");
    let mut url = first.clone();
    loop {
        let (status, body) = send(c, reqwest::Method::GET, &url, None, "sim-token").await;
        checker.answer(&spec_path, "get", status, &body);
        if status != 200 || body["meta"]["has_more"] != true {
            return status;
        }
        let after = body["meta"]["after_cursor"]
            .as_str()
            .expect("a cursor with has_more");
        url = format!("{first}&page[after]={after}");
    }
}

#[tokio::test]
async fn every_answer_for_every_ticket_is_as_the_spec_says_errors_included() {
    let checker = Checker::new();
    let sim = Sim::start(SimConfig {
        tickets: 40,
        deleted_tickets: 3,
        limits: baton_sim::Limits::unlimited(),
        ..Default::default()
    })
    .await
    .unwrap();
    let base = sim.url();
    let c = reqwest::Client::new();
    let get_ = reqwest::Method::GET;

    let me = get(&c, &format!("{base}/api/v2/users/me")).await;
    checker.answer("/api/v2/users/me", "get", 200, &me);
    let fields = get(&c, &format!("{base}/api/v2/ticket_fields")).await;
    checker.answer("/api/v2/ticket_fields", "get", 200, &fields);
    let me_id = me["user"]["id"].as_u64().unwrap();
    let memberships = "/api/v2/users/{user_id}/group_memberships";
    let groups = get(
        &c,
        &format!("{base}/api/v2/users/{me_id}/group_memberships"),
    )
    .await;
    checker.answer(memberships, "get", 200, &groups);
    assert_eq!(groups["group_memberships"].as_array().unwrap().len(), 2);
    let nobody = format!("{base}/api/v2/users/1/group_memberships");
    let (status, body) = send(&c, get_.clone(), &nobody, None, "sim-token").await;
    assert_eq!(status, 404);
    checker.answer(memberships, "get", status, &body);
    let count = get(&c, &format!("{base}/api/v2/tickets/count")).await;
    checker.answer("/api/v2/tickets/count", "get", 200, &count);
    assert_eq!(
        count["count"]["value"], 37,
        "deleted tickets are not counted"
    );

    // The whole export, page by page, and its refusals.
    let export = "/api/v2/incremental/tickets/cursor";
    let mut url = format!("{base}{export}?start_time=0&per_page=7&include=users,groups");
    let mut listed = vec![];
    loop {
        let (status, body) = send(&c, get_.clone(), &url, None, "sim-token").await;
        assert_eq!(status, 200);
        checker.answer(export, "get", status, &body);
        for t in body["tickets"].as_array().unwrap() {
            let status = t["status"].as_str().unwrap().to_string();
            listed.push((t["id"].as_u64().unwrap(), status));
        }
        if body["end_of_stream"] == true {
            break;
        }
        let after = body["after_cursor"].as_str().unwrap();
        url = format!("{base}{export}?cursor={after}&per_page=7&include=users,groups");
    }
    let ids: Vec<u64> = sim.world(|w| w.tickets.keys().copied().collect());
    assert_eq!(
        listed.len(),
        ids.len(),
        "every ticket, the deleted ones too"
    );
    assert_eq!(listed.iter().filter(|(_, s)| s == "deleted").count(), 3);
    for bad in ["cursor=nonsense", "per_page=5"] {
        let url = format!("{base}{export}?{bad}");
        let (status, body) = send(&c, get_.clone(), &url, None, "sim-token").await;
        assert_eq!(status, 400, "{bad}");
        checker.answer(export, "get", status, &body);
    }

    // Every ticket (its users and groups sideloaded), all its comments and all its log;
    // 404 for deleted ones.
    for (id, status) in &listed {
        let want = if status == "deleted" { 404 } else { 200 };
        let url = format!("{base}/api/v2/tickets/{id}?include=users,groups");
        let (got, body) = send(&c, get_.clone(), &url, None, "sim-token").await;
        assert_eq!(got, want, "ticket {id}");
        checker.answer("/api/v2/tickets/{ticket_id}", "get", got, &body);
        // The spec's TicketResponse names no sideloads: each is checked as its object.
        for (list, schema) in [("users", "UserObject"), ("groups", "GroupObject")] {
            for record in body[list].as_array().into_iter().flatten() {
                let schema = json!({ "$ref": format!("#/components/schemas/{schema}") });
                checker.validate(schema, &format!("ticket {id} sideloaded {list}"), record);
            }
        }
        if got == 200 {
            assert!(!body["users"].as_array().unwrap().is_empty());
        }
        assert_eq!(
            every_page(&checker, &c, &base, *id, "comments", 2).await,
            want
        );
        let log = every_page(&checker, &c, &base, *id, "conversation_log", 5).await;
        assert_eq!(log, want);
    }
    let (id, _) = listed.iter().find(|(_, s)| s != "deleted").unwrap().clone();
    let url = format!("{base}/api/v2/tickets/{id}/comments?page[size]=0");
    let (status, body) = send(&c, get_.clone(), &url, None, "sim-token").await;
    assert_eq!(status, 400);
    checker.answer("/api/v2/tickets/{ticket_id}/comments", "get", status, &body);

    // Writes: a safe update, the same stamp again (409), a blank comment (422), a
    // deleted ticket (404).
    let put = reqwest::Method::PUT;
    let ticket_path = "/api/v2/tickets/{ticket_id}";
    let url = format!("{base}/api/v2/tickets/{id}");
    let stamp = get(&c, &url).await["ticket"]["updated_at"].clone();
    let reply = json!({ "ticket": { "comment": { "body": "Thanks!", "public": true }, "safe_update": true, "updated_stamp": stamp } });
    let (status, body) = send(&c, put.clone(), &url, Some(&reply), "sim-token").await;
    assert_eq!(status, 200);
    checker.answer(ticket_path, "put", status, &body);
    // The same stamp again is stale now: safe_update refuses, and nothing is added.
    let events_before = sim.world(|w| w.tickets[&id].events.len());
    let again = json!({ "ticket": { "comment": { "body": "Again", "public": true }, "safe_update": true, "updated_stamp": stamp } });
    let (status, body) = send(&c, put.clone(), &url, Some(&again), "sim-token").await;
    assert_eq!(status, 409);
    checker.answer(ticket_path, "put", status, &body);
    assert_eq!(body["error"], "UpdateConflict");
    assert_eq!(sim.world(|w| w.tickets[&id].events.len()), events_before);
    let blank = json!({ "ticket": { "comment": { "body": " ", "public": true } } });
    let (status, body) = send(&c, put.clone(), &url, Some(&blank), "sim-token").await;
    assert_eq!(status, 422);
    checker.answer(ticket_path, "put", status, &body);
    let (deleted, _) = listed.iter().find(|(_, s)| s == "deleted").unwrap().clone();
    let gone = format!("{base}/api/v2/tickets/{deleted}");
    let (status, body) = send(&c, put.clone(), &gone, Some(&reply), "sim-token").await;
    assert_eq!(status, 404);
    checker.answer(ticket_path, "put", status, &body);
    assert_eq!(
        sim.stats().ticket_updates.len(),
        4,
        "every body was recorded"
    );

    // The gate's answers: bad credentials, a restricted ticket, injected faults, the
    // rate limit.
    let me_url = format!("{base}/api/v2/users/me");
    let (status, body) = send(&c, get_.clone(), &me_url, None, "wrong").await;
    assert_eq!(status, 401);
    checker.answer("/api/v2/users/me", "get", status, &body);
    sim.set_faults(baton_sim::Faults {
        forbidden_tickets: vec![id],
        ..Default::default()
    });
    for list in ["comments", "conversation_log"] {
        assert_eq!(every_page(&checker, &c, &base, id, list, 2).await, 403);
    }
    sim.set_faults(baton_sim::Faults {
        server_errors: 1,
        internal_errors: 1,
        rate_limits: 1,
        rate_limit_secs: 1,
        ..Default::default()
    });
    for want in [429, 503, 500] {
        let (status, body) = send(&c, get_.clone(), &me_url, None, "sim-token").await;
        assert_eq!(status, want);
        checker.answer("/api/v2/users/me", "get", status, &body);
    }
    sim.set_limits(baton_sim::Limits {
        account_per_window: Some(1),
        export_per_window: Some(1),
        window: std::time::Duration::from_secs(60),
    });
    let (status, _) = send(&c, get_.clone(), &me_url, None, "sim-token").await;
    assert_eq!(status, 200);
    let (status, body) = send(&c, get_.clone(), &me_url, None, "sim-token").await;
    assert_eq!(status, 429);
    checker.answer("/api/v2/users/me", "get", status, &body);

    let checked = checker.checked.borrow();
    assert!(
        checked[&2] > 3 * ids.len() && checked[&4] >= 3 * 3 + 10 && checked[&5] == 2,
        "{checked:?}"
    );
}

#[test]
fn the_checker_rejects_a_wrong_shape() {
    let checker = Checker::new();
    let wrong = json!({ "tickets": [{ "id": "not-a-number" }], "end_of_stream": "yes" });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        checker.check("/api/v2/incremental/tickets/cursor", "get", "200", &wrong)
    }));
    assert!(
        result.is_err(),
        "a string id and a string end_of_stream must fail the check"
    );
}

#[tokio::test]
async fn sunshine_conversations_messages_answer_as_the_spec_says() {
    let checker = Checker::of("sunshine-conversations-openapi.yaml");
    let config = SimConfig {
        tickets: 30,
        ..Default::default()
    };
    let sim = Sim::start(config.clone()).await.unwrap();
    let c = reqwest::Client::new();
    let conversation = sim.world(|w| {
        let t = w.tickets.values().find(|t| t.kind.is_messaging()).unwrap();
        baton_sim::world::sunco_conversation_id(t.id)
    });
    let url = format!(
        "{}/sc/v2/apps/{}/conversations/{conversation}/messages",
        sim.url(),
        config.sunco_app_id
    );
    let get = |url: String| {
        c.get(url)
            .basic_auth(&config.sunco_key_id, Some(&config.sunco_secret))
            .send()
    };
    let app_url = format!("{}/sc/v2/apps/{}", sim.url(), config.sunco_app_id);
    let app: Value = get(app_url).await.unwrap().json().await.unwrap();
    checker.check("/v2/apps/{appId}", "get", "200", &app);
    assert_eq!(app["app"]["id"], config.sunco_app_id.as_str());
    let missing = get(format!("{}/sc/v2/apps/nope", sim.url())).await.unwrap();
    assert_eq!(missing.status(), 404);
    let missing: Value = missing.json().await.unwrap();
    checker.check("/v2/apps/{appId}", "get", "404", &missing);
    let newest: Value = get(url.clone()).await.unwrap().json().await.unwrap();
    checker.check(
        "/v2/apps/{appId}/conversations/{conversationId}/messages",
        "get",
        "200",
        &newest,
    );
    let messages = newest["messages"].as_array().unwrap();
    assert!(!messages.is_empty());
    let before = messages[messages.len() - 1]["id"].as_str().unwrap();
    let older: Value = get(format!("{url}?page[before]={before}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    checker.check(
        "/v2/apps/{appId}/conversations/{conversationId}/messages",
        "get",
        "200",
        &older,
    );
    assert_eq!(
        older["messages"].as_array().unwrap().len(),
        messages.len() - 1
    );
    let wrong = c
        .get(&url)
        .basic_auth("alex@acme.test/token", Some("sim-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong.status(),
        401,
        "Sunco takes its own key, not the agent's token"
    );
}

/// The Sunco webhook payloads for a handoff, a customer's message and the ticket solved,
/// checked against the spec's `x-webhooks` envelope and each event's own schema.
#[tokio::test]
async fn sunshine_conversations_webhooks_are_as_the_spec_says() {
    let checker = Checker::of("sunshine-conversations-openapi.yaml");
    let rx = common::Receiver::start([]).await;
    let sim = Sim::start(SimConfig {
        tickets: 5,
        live_every: Some(std::time::Duration::from_millis(20)),
        sunco_webhook: Some(baton_sim::WebhookTarget::new(&rx.url, "key")),
        ..Default::default()
    })
    .await
    .unwrap();
    // New handoffs and customers writing again, until both have been announced.
    let start = std::time::Instant::now();
    let got = loop {
        let got = rx.got();
        let types: Vec<String> = got
            .iter()
            .flat_map(|r| r.json()["events"].as_array().unwrap().clone())
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        if types.iter().any(|t| t == "conversation:message")
            && types.iter().any(|t| t == "switchboard:passControl")
        {
            break got;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{types:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    drop(sim);
    let envelope = checker.spec["x-webhooks"]["Webhook Event"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]
        .clone();
    assert!(envelope.is_object(), "the spec has the webhook envelope");
    for r in &got {
        let body = r.json();
        checker.validate(envelope.clone(), "Sunco webhook", &body);
        for event in body["events"].as_array().unwrap() {
            let schema = match event["type"].as_str().unwrap() {
                "conversation:message" => "conversationMessageEvent",
                "switchboard:passControl" => "switchboardPassControl",
                other => panic!("unexpected {other}"),
            };
            let schema = json!({ "$ref": format!("#/components/schemas/{schema}") });
            checker.validate(schema, "Sunco webhook event", event);
            for field in ["id", "type", "createdAt"] {
                assert!(event[field].is_string(), "{field} in {event}");
            }
        }
    }
}
