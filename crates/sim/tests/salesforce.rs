//! The simulated Salesforce org over real HTTP on 127.0.0.1: the token endpoint and its
//! refusals, session expiry, SOQL and its pages, sObject reads, Connect conversation
//! entries, the allocations and `Sforce-Limit-Info`, faults.

use baton_sim::salesforce::{jwt, Object, Role, SfConfig, SfLimits, DEMO_KEY_PEM, JWT_BEARER};
use baton_sim::{Faults, Sim, SimConfig};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use std::time::Duration;

const V: &str = "v62.0";
const OTHER_KEY: &str = include_str!("fixtures/other-key.pem");
const OTHER_CERT: &str = include_str!("fixtures/other-cert.pem");

async fn start(salesforce: SfConfig) -> Sim {
    Sim::start(SimConfig {
        tickets: 5,
        salesforce,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn signed(key: &str, iss: &str, sub: &str, aud: &str, exp: i64) -> String {
    jwt::sign(key, &jwt::claims(iss, sub, aud, exp)).unwrap()
}

/// A good assertion for the default org.
fn assertion(sim: &Sim) -> String {
    signed(
        DEMO_KEY_PEM,
        "baton-demo-client",
        "alex@acme.test",
        &sim.url(),
        now() + 180,
    )
}

async fn token_request(sim: &Sim, form: &[(&str, &str)]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sim.url()))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn exchange(sim: &Sim, assertion: &str) -> (u16, Value) {
    token_request(sim, &[("grant_type", JWT_BEARER), ("assertion", assertion)]).await
}

async fn login(sim: &Sim) -> String {
    let (status, body) = exchange(sim, &assertion(sim)).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn get_with(
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, HeaderMap, Value) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

async fn get(url: &str, token: &str) -> (u16, HeaderMap, Value) {
    get_with(url, Some(token), &[]).await
}

async fn soql(sim: &Sim, token: &str, q: &str) -> (u16, Value) {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/services/data/{V}/query", sim.url()),
        [("q", q)],
    )
    .unwrap();
    let (status, _, body) = get(url.as_str(), token).await;
    (status, body)
}

fn error_code(body: &Value) -> &str {
    body[0]["errorCode"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_signed_assertion_buys_an_access_token_for_the_rep() {
    let sim = start(SfConfig::default()).await;
    let (org_id, me) = sim.org(|o| (o.org_id.clone(), o.me.clone()));
    for aud in [
        sim.url(),
        format!("{}/", sim.url()),
        "https://login.salesforce.com".into(),
        "https://test.salesforce.com".into(),
    ] {
        let a = signed(
            DEMO_KEY_PEM,
            "baton-demo-client",
            "ALEX@acme.test",
            &aud,
            now() + 120,
        );
        let (status, body) = exchange(&sim, &a).await;
        assert_eq!(status, 200, "{aud}: {body}");
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            ["access_token", "id", "instance_url", "scope", "token_type"]
        );
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["instance_url"], sim.url());
        assert_eq!(body["id"], format!("{}/id/{org_id}/{me}", sim.url()));
        assert!(body["access_token"]
            .as_str()
            .unwrap()
            .starts_with(&org_id[..15]));
    }
    // What a token buys: the org's REST API, as the rep.
    let token = login(&sim).await;
    let (status, headers, body) = get(
        &format!("{}/services/data/{V}/sobjects/User/{me}", sim.url()),
        &token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["Username"], "alex@acme.test");
    assert_eq!(headers["sforce-limit-info"], "api-usage=1/15000");
    assert_eq!(sim.stats().salesforce.tokens_issued, 5);
}

#[tokio::test]
async fn every_wrong_claim_is_refused_in_salesforces_words() {
    let sim = start(SfConfig::default()).await;
    let url = sim.url();
    let good = |iss: &str, sub: &str, aud: &str, exp: i64| signed(DEMO_KEY_PEM, iss, sub, aud, exp);
    let bad_signature = {
        let mut a = assertion(&sim).into_bytes();
        let at = a.iter().rposition(|b| *b == b'.').unwrap() + 10;
        a[at] = if a[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(a).unwrap()
    };
    let unsigned = {
        use base64::Engine;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let claims = jwt::claims("baton-demo-client", "alex@acme.test", &url, now() + 60);
        format!("{}.{}.", b64(json!({"alg": "none"})), b64(claims))
    };
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "wrong iss",
            good("someone-else", "alex@acme.test", &url, now() + 60),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            "wrong sub",
            good("baton-demo-client", "sam@acme.test", &url, now() + 60),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        (
            "wrong aud",
            good(
                "baton-demo-client",
                "alex@acme.test",
                "https://acme.my.salesforce.com",
                now() + 60,
            ),
            "invalid_grant",
            "audience is invalid",
        ),
        (
            "expired",
            good("baton-demo-client", "alex@acme.test", &url, now() - 60),
            "invalid_grant",
            "expired authorization code",
        ),
        (
            "too far ahead",
            good("baton-demo-client", "alex@acme.test", &url, now() + 3600),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            "bad signature",
            bad_signature,
            "invalid_grant",
            "invalid assertion",
        ),
        (
            "another key",
            signed(
                OTHER_KEY,
                "baton-demo-client",
                "alex@acme.test",
                &url,
                now() + 60,
            ),
            "invalid_grant",
            "invalid assertion",
        ),
        ("unsigned", unsigned, "invalid_grant", "invalid assertion"),
        (
            "not a JWT",
            "hello".into(),
            "invalid_grant",
            "invalid assertion",
        ),
    ];
    for (what, assertion, error, description) in &cases {
        let (status, body) = exchange(&sim, assertion).await;
        assert_eq!(status, 400, "{what}");
        assert_eq!(
            body,
            json!({ "error": error, "error_description": description }),
            "{what}"
        );
    }
    let (status, body) = token_request(&sim, &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let refusals = sim.stats().salesforce.token_refusals;
    assert_eq!(refusals["invalid assertion"], 5);
    assert_eq!(refusals["audience is invalid"], 1);
    assert_eq!(sim.stats().salesforce.tokens_issued, 0);
}

#[tokio::test]
async fn a_signature_made_elsewhere_is_checked_too() {
    // Signed by the openssl command line with the demo key, long expired: only a
    // signature that verified gets as far as the expiry.
    let sim = start(SfConfig::default()).await;
    let made_by_openssl = include_str!("fixtures/openssl-signed-expired.jwt").trim();
    let (status, body) = exchange(&sim, made_by_openssl).await;
    assert_eq!(status, 400);
    assert_eq!(body["error_description"], "expired authorization code");
    // The same signature over claims that are still valid: refused.
    let parts: Vec<&str> = made_by_openssl.split('.').collect();
    let fresh = {
        use base64::Engine;
        let claims = jwt::claims(
            "baton-demo-client",
            "alex@acme.test",
            "https://login.salesforce.com",
            now() + 60,
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
    };
    let (_, body) = exchange(&sim, &format!("{}.{fresh}.{}", parts[0], parts[2])).await;
    assert_eq!(body["error_description"], "invalid assertion");
}

#[tokio::test]
async fn a_configured_certificate_replaces_the_demo_one() {
    let sim = start(SfConfig {
        cert_pem: OTHER_CERT.into(),
        client_id: "acme-app".into(),
        username: "rep@acme.example".into(),
        ..Default::default()
    })
    .await;
    let url = sim.url();
    let (status, body) = exchange(
        &sim,
        &signed(
            DEMO_KEY_PEM,
            "acme-app",
            "rep@acme.example",
            &url,
            now() + 60,
        ),
    )
    .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (400, Some("invalid assertion"))
    );
    let (status, body) = exchange(
        &sim,
        &signed(OTHER_KEY, "acme-app", "rep@acme.example", &url, now() + 60),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let rep = sim.org(|o| {
        o.record(&o.me)
            .unwrap()
            .text("Username")
            .unwrap()
            .to_string()
    });
    assert_eq!(rep, "rep@acme.example");

    let refused = Sim::start(SimConfig {
        salesforce: SfConfig {
            cert_pem: "not a certificate".into(),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    assert_eq!(
        refused.err().unwrap().kind(),
        std::io::ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn sessions_expire_and_the_refresh_token_renews_them() {
    let sim = start(SfConfig {
        session_lifetime: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let url = format!(
        "{}/services/data/{V}/query?q=SELECT+Id+FROM+User",
        sim.url()
    );
    let token = login(&sim).await;
    assert_eq!(get(&url, &token).await.0, 200);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, headers, body) = get(&url, &token).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!([{ "message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID" }])
    );
    assert_eq!(headers["www-authenticate"], "Token");
    let (status, _, body) = get_with(&url, None, &[]).await;
    assert_eq!((status, error_code(&body)), (401, "INVALID_SESSION_ID"));

    // The refresh-token flow, and its refusals.
    let refresh = |id: &'static str, secret: &'static str, token: &'static str| {
        let sim = &sim;
        async move {
            token_request(
                sim,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", id),
                    ("client_secret", secret),
                    ("refresh_token", token),
                ],
            )
            .await
        }
    };
    let (status, body) = refresh(
        "baton-demo-client",
        "baton-demo-secret",
        "baton-demo-refresh-token",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for key in [
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ] {
        assert!(body[key].is_string(), "{key}");
    }
    {
        // The signature: HMAC-SHA256 of id and issued_at with the consumer secret.
        use base64::Engine;
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"baton-demo-secret").unwrap();
        mac.update(
            format!(
                "{}{}",
                body["id"].as_str().unwrap(),
                body["issued_at"].as_str().unwrap()
            )
            .as_bytes(),
        );
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(body["signature"], expected);
    }
    let renewed = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(get(&url, &renewed).await.0, 200);
    for ((id, secret, token), description) in [
        (
            ("other", "baton-demo-secret", "baton-demo-refresh-token"),
            "client identifier invalid",
        ),
        (
            ("baton-demo-client", "wrong", "baton-demo-refresh-token"),
            "invalid client credentials",
        ),
        (
            ("baton-demo-client", "baton-demo-secret", "revoked"),
            "expired access/refresh token",
        ),
    ] {
        let (status, body) = refresh(id, secret, token).await;
        assert_eq!(
            (status, body["error_description"].as_str()),
            (400, Some(description))
        );
    }
    // An admin ends every session.
    sim.expire_sf_sessions();
    assert_eq!(get(&url, &renewed).await.0, 401);
    assert!(sim.stats().salesforce.invalid_session >= 3);
}

#[tokio::test]
async fn soql_pages_through_a_large_result_with_next_records_url() {
    let sim = start(SfConfig {
        sessions: 450,
        ..Default::default()
    })
    .await;
    let token = login(&sim).await;
    let url = reqwest::Url::parse_with_params(
        &format!("{}/services/data/{V}/query", sim.url()),
        [(
            "q",
            "SELECT Id, Status FROM MessagingSession ORDER BY SystemModstamp, Id",
        )],
    )
    .unwrap();
    let (status, _, first) = get_with(
        url.as_str(),
        Some(&token),
        &[("Sforce-Query-Options", "batchSize=200")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(first["totalSize"], 450);
    assert_eq!(first["done"], false);
    let next = first["nextRecordsUrl"].as_str().unwrap().to_string();
    assert!(
        next.starts_with(&format!("/services/data/{V}/query/01g")) && next.ends_with("-200"),
        "{next}"
    );
    let mut ids: Vec<String> = vec![];
    let mut page = first;
    loop {
        let records = page["records"].as_array().unwrap();
        for r in records {
            assert_eq!(r["attributes"]["type"], "MessagingSession");
            let id = r["Id"].as_str().unwrap();
            assert_eq!(
                r["attributes"]["url"],
                format!("/services/data/{V}/sobjects/MessagingSession/{id}")
            );
            assert_eq!(r.as_object().unwrap().len(), 3, "attributes, Id, Status");
            ids.push(id.to_string());
        }
        if page["done"] == true {
            assert!(page.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page["nextRecordsUrl"].as_str().unwrap().to_string();
        let (status, _, body) = get(&format!("{}{next}", sim.url()), &token).await;
        assert_eq!(status, 200);
        assert_eq!(body["totalSize"], 450);
        page = body;
    }
    assert_eq!(ids.len(), 450);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 450, "each once");
    let (status, _, body) = get(
        &format!(
            "{}/services/data/{V}/query/01gSm0000000999AAA-200",
            sim.url()
        ),
        &token,
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "INVALID_QUERY_LOCATOR"));
    let stats = sim.stats();
    assert_eq!(stats.requests["GET /services/data/{version}/query"], 1);
    assert_eq!(
        stats.requests["GET /services/data/{version}/query/{locator}"],
        3
    );
}

#[tokio::test]
async fn the_sync_query_finds_my_and_my_queues_sessions_changed_since() {
    let sim = start(SfConfig::default()).await;
    let token = login(&sim).await;
    let (me, queues, since, expected) = sim.org(|o| {
        let queues = o.queues_of(&o.me);
        let mut stamps: Vec<_> = o
            .sessions()
            .map(|s| s.time("SystemModstamp").unwrap())
            .collect();
        stamps.sort();
        let since = stamps[stamps.len() / 3];
        let expected: Vec<String> = o
            .sessions()
            .filter(|s| {
                let owner = s.text("OwnerId").unwrap();
                (owner == o.me || queues.iter().any(|q| q == owner))
                    && s.time("SystemModstamp").unwrap() > since
            })
            .map(|s| s.id().to_string())
            .collect();
        (o.me.clone(), queues, since, expected)
    });
    assert!(expected.len() > 3);
    let fields = "Id, Status, OwnerId, StartTime, AcceptTime, EndTime, EndedByType, ConversationId, \
        MessagingEndUserId, CaseId, Origin, AgentType, ChannelType, SystemModstamp, LastModifiedDate, \
        OpencxSessionId__c, Chat_Consumer_Type__c, Conversation.ConversationIdentifier, Owner.Name";
    let since_text = since.format("%Y-%m-%dT%H:%M:%S.000Z");
    let in_list = queues
        .iter()
        .map(|q| format!("'{q}'"))
        .collect::<Vec<_>>()
        .join(", ");
    for filter in [
        format!("(OwnerId = '{me}' OR OwnerId IN ({in_list}))"),
        format!("(OwnerId = '{}' OR OwnerId IN (SELECT GroupId FROM GroupMember WHERE UserOrGroupId = '{me}' AND Group.Type = 'Queue'))", &me[..15]),
    ] {
        let q = format!("SELECT {fields} FROM MessagingSession WHERE {filter} AND SystemModstamp > {since_text} ORDER BY SystemModstamp ASC LIMIT 1000");
        let (status, body) = soql(&sim, &token, &q).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["done"], true);
        let records = body["records"].as_array().unwrap();
        let mut got: Vec<String> = records.iter().map(|r| r["Id"].as_str().unwrap().to_string()).collect();
        let stamps: Vec<&str> = records.iter().map(|r| r["SystemModstamp"].as_str().unwrap()).collect();
        assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "ordered by SystemModstamp");
        assert!(stamps[0].ends_with(".000+0000"), "{}", stamps[0]);
        let r = &records[0];
        let conversation = r["Conversation"]["ConversationIdentifier"].as_str().unwrap();
        assert_eq!(conversation.len(), 36);
        assert_eq!(r["Conversation"]["attributes"]["type"], "Conversation");
        assert_eq!(r["Owner"]["attributes"]["type"], "Name");
        assert!(r["Owner"]["Name"].is_string());
        assert!(r.get("OpencxSessionId__c").is_some());
        let mut want = expected.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(body["totalSize"], expected.len());
    }
    // LIMIT, and the other objects a client reads.
    let (_, body) = soql(
        &sim,
        &token,
        "SELECT Id FROM MessagingSession ORDER BY SystemModstamp DESC LIMIT 5",
    )
    .await;
    assert_eq!(body["totalSize"], 5);
    let (conversation_id, ident) = sim.org(|o| {
        let c = o.all(Object::Conversation).next().unwrap();
        (
            c.id().to_string(),
            c.text("ConversationIdentifier").unwrap().to_string(),
        )
    });
    let (_, body) = soql(
        &sim,
        &token,
        &format!(
            "SELECT Id, ConversationIdentifier FROM Conversation WHERE Id = '{conversation_id}'"
        ),
    )
    .await;
    assert_eq!(body["records"][0]["ConversationIdentifier"], ident);
    let (_, body) = soql(
        &sim,
        &token,
        &format!(
            "SELECT GroupId, Group.Name, Group.Type FROM GroupMember WHERE UserOrGroupId = '{me}'"
        ),
    )
    .await;
    assert_eq!(body["totalSize"], 3, "two queues and a public group");
    assert!(body["records"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["Group"]["Type"] == "Regular"));
    let (_, body) = soql(
        &sim,
        &token,
        "SELECT Id, Name FROM MessagingEndUser WHERE Name = 'guest' LIMIT 1",
    )
    .await;
    assert_eq!(
        body["records"][0]["Name"], "Guest",
        "text compares without case"
    );
}

#[tokio::test]
async fn queries_outside_the_simulated_soql_are_refused_as_salesforce_refuses_them() {
    let sim = start(SfConfig::default()).await;
    let token = login(&sim).await;
    for (q, code) in [
        ("SELECT Id FROM MessagingSession WHERE", "MALFORMED_QUERY"),
        ("SELECT COUNT() FROM MessagingSession", "MALFORMED_QUERY"),
        ("SELECT Id FROM MessagingSession WHERE CreatedDate = LAST_N_DAYS:7", "MALFORMED_QUERY"),
        ("SELECT Id FROM MessagingSession WHERE Status = 'Ended' AND OwnerId = '005Sm0000000101AAA' OR Id = '0MwSm0000000101AAA'", "MALFORMED_QUERY"),
        ("UPDATE MessagingSession SET Status = 'Ended'", "MALFORMED_QUERY"),
        ("SELECT Id, Foo__c FROM MessagingSession", "INVALID_FIELD"),
        ("SELECT Id FROM MessagingSession WHERE Bar = 'x'", "INVALID_FIELD"),
        ("SELECT Id, Conversation.Nope FROM MessagingSession", "INVALID_FIELD"),
        ("SELECT Id, Case.Subject FROM MessagingSession", "INVALID_FIELD"),
        ("SELECT Id FROM MessagingSession WHERE SystemModstamp > '2026-01-01T00:00:00Z'", "INVALID_FIELD"),
        ("SELECT Id FROM MessagingSession WHERE OwnerId = 'me'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Account", "INVALID_TYPE"),
    ] {
        let (status, body) = soql(&sim, &token, q).await;
        assert_eq!((status, error_code(&body)), (400, code), "{q}: {body}");
        assert!(body[0]["message"].as_str().unwrap().contains("ERROR at Row:1:Column:"), "{body}");
    }
    let (_, body) = soql(&sim, &token, "SELECT Id, Foo__c FROM MessagingSession").await;
    assert!(body[0]["message"].as_str().unwrap().ends_with(
        "No such column 'Foo__c' on entity 'MessagingSession'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
    ));
    let (status, _, body) = get(&format!("{}/services/data/{V}/query", sim.url()), &token).await;
    assert_eq!((status, error_code(&body)), (400, "MALFORMED_QUERY"));
}

#[tokio::test]
async fn sobjects_are_read_by_id_and_unknown_ones_are_not_found() {
    let sim = start(SfConfig::default()).await;
    let token = login(&sim).await;
    let session = sim.org(|o| o.sessions().next().unwrap().clone());
    let id = session.id();
    let base = format!("{}/services/data/{V}/sobjects", sim.url());
    for form in [id, &id[..15]] {
        let (status, _, body) = get(&format!("{base}/MessagingSession/{form}"), &token).await;
        assert_eq!(status, 200);
        assert_eq!(body["Id"], id);
        assert_eq!(body["attributes"]["type"], "MessagingSession");
        assert_eq!(body.as_object().unwrap().len(), session.fields.len() + 1);
        assert_eq!(body["ChannelType"], "EmbeddedMessaging");
    }
    let (_, _, body) = get(
        &format!("{base}/MessagingSession/{id}?fields=Status,EndedByType"),
        &token,
    )
    .await;
    assert_eq!(body.as_object().unwrap().len(), 3);
    let (status, _, body) = get(&format!("{base}/MessagingSession/{id}?fields=Nope"), &token).await;
    assert_eq!((status, error_code(&body)), (400, "INVALID_FIELD"));
    for missing in [
        format!("{base}/MessagingSession/0MwSm0000009999AAA"),
        format!("{base}/Conversation/{id}"),
        format!("{base}/Account/001Sm0000000001AAA"),
        format!("{}/services/data/{V}/nothing-here", sim.url()),
    ] {
        let (status, _, body) = get(&missing, &token).await;
        assert_eq!(status, 404, "{missing}");
        assert_eq!(
            body,
            json!([{ "message": "The requested resource does not exist", "errorCode": "NOT_FOUND" }])
        );
    }
    let (status, _, _) = get(
        &format!(
            "{}/services/data/v99.0/sobjects/MessagingSession/{id}",
            sim.url()
        ),
        &token,
    )
    .await;
    assert_eq!(status, 404, "an API version Salesforce does not serve");
    for object in [
        "Conversation",
        "MessagingEndUser",
        "User",
        "Group",
        "GroupMember",
    ] {
        let id = sim.org(|o| {
            o.all(Object::parse(object).unwrap())
                .next()
                .unwrap()
                .id()
                .to_string()
        });
        let (status, _, body) = get(&format!("{base}/{object}/{id}"), &token).await;
        assert_eq!(
            (status, body["attributes"]["type"].as_str()),
            (200, Some(object))
        );
    }
}

#[tokio::test]
async fn connect_entries_come_in_windows_newest_first_with_their_own_limit() {
    let sim = start(SfConfig::default()).await;
    let token = login(&sim).await;
    let (conversation, all) = sim.org(|o| {
        let (ident, entries) = o.entries.iter().max_by_key(|(_, e)| e.len()).unwrap();
        (ident.clone(), entries.clone())
    });
    assert!(all.len() > 8);
    let url = |query: &str| {
        format!(
            "{}/services/data/{V}/connect/conversation/{conversation}/entries{query}",
            sim.url()
        )
    };
    let stamps = |body: &Value| -> Vec<i64> {
        body["conversationEntries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["clientTimestamp"].as_i64().unwrap())
            .collect()
    };
    let (status, headers, body) = get(&url(""), &token).await;
    assert_eq!(status, 200);
    assert!(headers.contains_key("sforce-limit-info"));
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "only conversationEntries"
    );
    let newest: Vec<i64> = all
        .iter()
        .rev()
        .take(25)
        .map(|e| e.client_timestamp)
        .collect();
    assert_eq!(
        stamps(&body),
        newest,
        "FromEnd: the newest 25, newest first"
    );
    let e = &body["conversationEntries"][0];
    let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    keys.retain(|k| *k != "attachments");
    keys.sort();
    assert_eq!(
        keys,
        [
            "clientDuration",
            "clientTimestamp",
            "identifier",
            "messageText",
            "relatedRecords",
            "sender",
            "serverReceivedTimestamp"
        ]
    );
    assert!(e["serverReceivedTimestamp"].as_i64() >= e["clientTimestamp"].as_i64());

    let (_, _, body) = get(&url("?recordLimit=3&queryDirection=FromStart"), &token).await;
    let oldest: Vec<i64> = all.iter().take(3).map(|e| e.client_timestamp).collect();
    assert_eq!(stamps(&body), oldest, "FromStart: the oldest, oldest first");
    let (from, to) = (all[2].client_timestamp, all[5].client_timestamp);
    let (_, _, body) = get(
        &url(&format!(
            "?startTimestamp={from}&endTimestamp={to}&recordLimit=1000"
        )),
        &token,
    )
    .await;
    assert_eq!(
        stamps(&body),
        all[2..=5]
            .iter()
            .rev()
            .map(|e| e.client_timestamp)
            .collect::<Vec<_>>()
    );
    let (_, _, body) = get(
        &url(&format!(
            "?startTimestamp={}",
            all.last().unwrap().client_timestamp + 1
        )),
        &token,
    )
    .await;
    assert_eq!(body, json!({ "conversationEntries": [] }));
    for bad in [
        "?recordLimit=0",
        "?recordLimit=1001",
        "?startTimestamp=yesterday",
        "?queryDirection=Sideways",
    ] {
        let (status, _, body) = get(&url(bad), &token).await;
        assert_eq!(
            (status, error_code(&body)),
            (400, "INVALID_API_INPUT"),
            "{bad}"
        );
    }
    let (status, _, body) = get(
        &format!("{}/services/data/{V}/connect/conversation/00000000-0000-4000-8000-000000000000/entries", sim.url()),
        &token,
    )
    .await;
    assert_eq!((status, error_code(&body)), (404, "NOT_FOUND"));
    let (status, _, _) = get(
        &format!(
            "{}/services/data/v50.0/connect/conversation/{conversation}/entries",
            sim.url()
        ),
        &token,
    )
    .await;
    assert_eq!(status, 404, "the resource came with API 51.0");

    // Every sender role, HTML-escaped text, files, across every conversation.
    let mut roles = std::collections::BTreeSet::new();
    let (mut escaped, mut files) = (false, false);
    let conversations: Vec<String> = sim.org(|o| o.entries.keys().cloned().collect());
    sim.set_sf_limits(SfLimits::unlimited());
    for c in &conversations {
        let (_, _, body) = get(
            &format!(
                "{}/services/data/{V}/connect/conversation/{c}/entries?recordLimit=1000",
                sim.url()
            ),
            &token,
        )
        .await;
        for e in body["conversationEntries"].as_array().unwrap() {
            roles.insert(format!(
                "{}/{}",
                e["sender"]["role"].as_str().unwrap(),
                e["sender"]["appType"].as_str().unwrap()
            ));
            let text = e["messageText"].as_str().unwrap();
            escaped |= text.contains("&#39;") || text.contains("&lt;script&gt;");
            assert!(!text.contains('<') && !text.contains('\''), "{text}");
            if let Some(a) = e.get("attachments") {
                files = true;
                assert!(
                    a[0]["name"].is_string()
                        && a[0]["url"].as_str().unwrap().starts_with(&sim.url())
                );
            }
            if e["sender"]["role"] == "EndUser" {
                assert!(e["sender"]["subject"]
                    .as_str()
                    .unwrap()
                    .starts_with("v2/iamessage/"));
                assert!(e["relatedRecords"][0].as_str().unwrap().starts_with("0Mw"));
            }
        }
    }
    for role in [Role::EndUser, Role::Chatbot, Role::Agent, Role::System] {
        assert!(
            roles.contains(&format!("{}/{}", role.name(), role.app_type())),
            "{role:?} in {roles:?}"
        );
    }
    assert!(escaped && files);
    assert!(sim.stats().salesforce.connect_reads[&conversation] >= 5);

    // Its own hourly limit: 503 REQUEST_LIMIT_EXCEEDED beyond it.
    sim.set_sf_limits(SfLimits {
        connect_per_hour: Some(2),
        ..SfLimits::default()
    });
    assert_eq!(get(&url(""), &token).await.0, 200);
    assert_eq!(get(&url(""), &token).await.0, 200);
    let (status, _, body) = get(&url(""), &token).await;
    assert_eq!((status, error_code(&body)), (503, "REQUEST_LIMIT_EXCEEDED"));
    let (status, _) = soql(&sim, &token, "SELECT Id FROM User").await;
    assert_eq!(status, 200, "other resources go on");
}

#[tokio::test]
async fn every_rest_answer_counts_against_the_daily_allocation() {
    let sim = start(SfConfig {
        limits: SfLimits {
            daily_api_requests: Some(3),
            ..SfLimits::default()
        },
        ..Default::default()
    })
    .await;
    let token = login(&sim).await;
    let token_again = login(&sim).await;
    assert_ne!(token, token_again, "logging in is not an API request");
    let url = format!(
        "{}/services/data/{V}/query?q=SELECT+Id+FROM+Group",
        sim.url()
    );
    for n in 1..=3 {
        let (status, headers, _) = get(&url, &token).await;
        assert_eq!(status, 200);
        assert_eq!(headers["sforce-limit-info"], format!("api-usage={n}/3"));
    }
    let (status, headers, body) = get(&url, &token).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!([{ "message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED" }])
    );
    assert_eq!(headers["sforce-limit-info"], "api-usage=3/3");
    let stats = sim.stats().salesforce;
    assert_eq!((stats.api_usage, stats.limit_exceeded), (3, 1));
    // A new day.
    sim.set_sf_limits(SfLimits {
        daily_api_requests: Some(3),
        ..SfLimits::default()
    });
    let (status, headers, _) = get(&url, &token).await;
    assert_eq!(status, 200);
    assert_eq!(headers["sforce-limit-info"], "api-usage=1/3");
}

#[tokio::test]
async fn the_org_serves_its_own_faults() {
    let sim = start(SfConfig::default()).await;
    let token = login(&sim).await;
    let url = format!(
        "{}/services/data/{V}/query?q=SELECT+Id+FROM+Group",
        sim.url()
    );
    // Zendesk's faults are the account's, not the org's.
    sim.set_faults(Faults {
        server_errors: 5,
        ..Default::default()
    });
    assert_eq!(get(&url, &token).await.0, 200);
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/__sim/sf/faults", sim.url()))
        .json(&json!({ "server_errors": 1, "rate_limits": 1, "internal_errors": 1, "drops": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, _, body) = get(&url, &token).await;
    assert_eq!((status, error_code(&body)), (403, "REQUEST_LIMIT_EXCEEDED"));
    assert_eq!(
        body[0]["message"],
        "ConcurrentPerOrgLongTxn Limit exceeded."
    );
    let (status, _, body) = get(&url, &token).await;
    assert_eq!((status, error_code(&body)), (503, "SERVER_UNAVAILABLE"));
    let (status, _, body) = get(&url, &token).await;
    assert_eq!((status, error_code(&body)), (500, "UNKNOWN_EXCEPTION"));
    let dropped = c.get(&url).bearer_auth(&token).send().await;
    let lost = match dropped {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(lost, "the connection closed");
    assert_eq!(get(&url, &token).await.0, 200);
    assert_eq!(sim.stats().salesforce.faults_served, 4);
    let r = c
        .post(format!("{}/__sim/sf/expire_sessions", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(get(&url, &token).await.0, 401);
}

#[tokio::test]
async fn a_live_org_hands_off_and_records_each_change_with_a_replay_id() {
    let sim = Sim::start(SimConfig {
        tickets: 5,
        live_every: Some(Duration::from_millis(30)),
        ..Default::default()
    })
    .await
    .unwrap();
    let (sessions, last_replay) =
        sim.org(|o| (o.sessions().count(), o.changes.last().unwrap().replay_id));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let live = sim.stats().salesforce.live_changed;
    assert!(live.len() > 10, "{}", live.len());
    sim.org(|o| {
        assert!(o.sessions().count() > sessions, "new handoffs");
        let new = o.changes_after(last_replay);
        assert!(!new.is_empty());
        assert!(new.windows(2).all(|w| w[0].replay_id < w[1].replay_id));
        for c in new {
            use chrono::SubsecRound;
            let s = o.record(&c.record_id).unwrap();
            assert!(s.time("SystemModstamp").unwrap() >= c.commit_timestamp.trunc_subsecs(0));
        }
    });
    // A client sees the new ones by SystemModstamp.
    let token = login(&sim).await;
    let (_, body) = soql(&sim, &token, "SELECT Id FROM MessagingSession WHERE Status = 'Waiting' ORDER BY SystemModstamp DESC LIMIT 1").await;
    assert_eq!(body["totalSize"], 1);
}

#[test]
fn the_binary_writes_the_demo_key_and_refuses_a_bad_certificate() {
    let dir = std::env::temp_dir().join(format!("baton-sim-sf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("demo-key.pem");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton-sim"))
        .arg("--write-sf-demo-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&key).unwrap(), DEMO_KEY_PEM);
    let bad = dir.join("bad.pem");
    std::fs::write(&bad, "no certificate").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton-sim"))
        .args(["--port", "0", "--sf-cert"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("certificate"));
    std::fs::remove_dir_all(&dir).unwrap();
}
