//! The simulator's responses checked against the official Zendesk Support OpenAPI spec
//! (read from ../shared/specs, never copied into the project).

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
}

impl Checker {
    fn new() -> Self {
        Self::of("zendesk-support-oas.yaml")
    }

    fn of(file: &str) -> Self {
        let spec = spec(file);
        let mut components = spec["components"].clone();
        to_json_schema(&mut components);
        Self { spec, components }
    }

    fn check(&self, path: &str, method: &str, status: &str, body: &Value) {
        let mut schema = self.spec["paths"][path][method]["responses"][status]["content"]
            ["application/json"]["schema"]
            .clone();
        assert!(
            schema.is_object(),
            "the spec has a {status} schema for {method} {path}"
        );
        to_json_schema(&mut schema);
        schema["components"] = self.components.clone();
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{method} {path}: {errors:#?}");
    }
}

async fn get(client: &reqwest::Client, url: &str) -> Value {
    let r = client
        .get(url)
        .basic_auth("alex@acme.test/token", Some("sim-token"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.unwrap()
}

#[tokio::test]
async fn every_endpoint_answers_as_the_spec_says() {
    let checker = Checker::new();
    let sim = Sim::start(SimConfig {
        tickets: 40,
        ..Default::default()
    })
    .await
    .unwrap();
    let base = sim.url();
    let c = reqwest::Client::new();

    let me = get(&c, &format!("{base}/api/v2/users/me")).await;
    checker.check("/api/v2/users/me", "get", "200", &me);
    let fields = get(&c, &format!("{base}/api/v2/ticket_fields")).await;
    checker.check("/api/v2/ticket_fields", "get", "200", &fields);
    let me_id = me["user"]["id"].as_u64().unwrap();
    let groups = get(
        &c,
        &format!("{base}/api/v2/users/{me_id}/group_memberships"),
    )
    .await;
    checker.check(
        "/api/v2/users/{user_id}/group_memberships",
        "get",
        "200",
        &groups,
    );
    assert_eq!(groups["group_memberships"].as_array().unwrap().len(), 2);
    let count = get(&c, &format!("{base}/api/v2/tickets/count")).await;
    checker.check("/api/v2/tickets/count", "get", "200", &count);

    let export = get(&c, &format!("{base}/api/v2/incremental/tickets/cursor?start_time=0&per_page=25&include=users,groups")).await;
    checker.check("/api/v2/incremental/tickets/cursor", "get", "200", &export);
    assert_eq!(export["tickets"].as_array().unwrap().len(), 25);
    assert_eq!(export["end_of_stream"], false);

    let ids: Vec<u64> = sim.world(|w| w.tickets.keys().copied().collect());
    for id in ids.iter().take(15) {
        let t = get(&c, &format!("{base}/api/v2/tickets/{id}")).await;
        checker.check("/api/v2/tickets/{ticket_id}", "get", "200", &t);
        let comments = get(
            &c,
            &format!("{base}/api/v2/tickets/{id}/comments?page[size]=2&include=users"),
        )
        .await;
        checker.check(
            "/api/v2/tickets/{ticket_id}/comments",
            "get",
            "200",
            &comments,
        );
        let log = get(
            &c,
            &format!("{base}/api/v2/tickets/{id}/conversation_log?page[size]=5"),
        )
        .await;
        checker.check(
            "/api/v2/tickets/{ticket_id}/conversation_log",
            "get",
            "200",
            &log,
        );
    }

    let id = ids[0];
    let stamp =
        get(&c, &format!("{base}/api/v2/tickets/{id}")).await["ticket"]["updated_at"].clone();
    let update = c
        .put(format!("{base}/api/v2/tickets/{id}"))
        .basic_auth("alex@acme.test/token", Some("sim-token"))
        .json(&json!({ "ticket": { "comment": { "body": "Thanks!", "public": true }, "safe_update": true, "updated_stamp": stamp } }))
        .send()
        .await
        .unwrap();
    assert_eq!(update.status(), 200);
    checker.check(
        "/api/v2/tickets/{ticket_id}",
        "put",
        "200",
        &update.json().await.unwrap(),
    );

    // The same stamp again is stale now: safe_update refuses, and nothing is added.
    let events_before = sim.world(|w| w.tickets[&id].events.len());
    let stale = c
        .put(format!("{base}/api/v2/tickets/{id}"))
        .basic_auth("alex@acme.test/token", Some("sim-token"))
        .json(&json!({ "ticket": { "comment": { "body": "Again", "public": true }, "safe_update": true, "updated_stamp": stamp } }))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 409);
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["error"], "UpdateConflict");
    assert_eq!(sim.world(|w| w.tickets[&id].events.len()), events_before);
    assert_eq!(
        sim.stats().ticket_updates.len(),
        2,
        "both bodies were recorded"
    );
}

#[test]
fn the_checker_rejects_a_wrong_shape() {
    let checker = Checker::new();
    let wrong = json!({ "tickets": [{ "id": "not-a-number" }], "end_of_stream": "yes" });
    let result = std::panic::catch_unwind(|| {
        checker.check("/api/v2/incremental/tickets/cursor", "get", "200", &wrong)
    });
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
