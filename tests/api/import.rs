//! Importing a configuration file: a dry run tells each change, an apply makes all of them in
//! one transaction (one audit entry, one revision) or none, the same file twice changes
//! nothing, `prune` deletes what the file leaves out, and a bad file is refused with each
//! problem at its place. An export imported into an empty gateway exports the same file.

use crate::common::{client, ok, spawn_app, TestApp};
use crate::config::{export, shaped_gateway, ALICE_KEY};
use crate::durability::BIN;
use serde_json::{json, Value};

/// Calls the import with a YAML body.
async fn import(app: &TestApp, token: &str, gw: &str, query: &str, yaml: &str) -> (u16, Value) {
    import_as(app, token, gw, query, yaml.to_owned(), "application/yaml").await
}

async fn import_as(
    app: &TestApp,
    token: &str,
    gw: &str,
    query: &str,
    body: String,
    content_type: &str,
) -> (u16, Value) {
    let res = client()
        .post(format!("{}/v1/gateways/{gw}/import{query}", app.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn yaml_of(app: &TestApp, token: &str, gw: &str, query: &str) -> String {
    let (status, _, _, yaml) = export(app, token, gw, query).await;
    assert_eq!(status, 200, "{yaml}");
    yaml
}

/// The document without what names the gateway (its header comment and `gateway:` block).
fn body_of(yaml: &str) -> String {
    let mut out = Vec::new();
    let mut in_gateway = false;
    for line in yaml.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line == "gateway:" {
            in_gateway = true;
            continue;
        }
        if in_gateway && line.starts_with("  ") {
            continue;
        }
        in_gateway = false;
        out.push(line);
    }
    out.join("\n")
}

fn counts(report: &Value) -> Vec<(String, u64, u64, u64)> {
    report["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_owned(),
                c["created"].as_u64().unwrap(),
                c["changed"].as_u64().unwrap(),
                c["deleted"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn changes(report: &Value) -> Vec<String> {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let details: Vec<&str> = c["details"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            format!(
                "{} {} {}{}",
                c["action"].as_str().unwrap(),
                c["kind"].as_str().unwrap(),
                c["name"].as_str().unwrap(),
                if details.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", details.join("; "))
                }
            )
        })
        .collect()
}

async fn new_gateway(app: &TestApp, token: &str, name: &str) -> String {
    let r = app
        .rest(
            Some(token),
            "POST",
            "/v1/gateways",
            Some(json!({"name": name, "region": "eu-1", "engineVersion": "2.1.4", "description": ""})),
        )
        .await;
    ok(&r)["gatewayId"].as_str().unwrap().to_owned()
}

async fn revision(app: &TestApp, gw: &str) -> i64 {
    let mut conn = app.db.reader().await.unwrap();
    use gateway_console::store::Read;
    conn.number("SELECT revision FROM instances WHERE id = $1", &[gw.into()])
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn an_export_imported_into_an_empty_gateway_exports_the_same_and_enforces_the_same() {
    let source = spawn_app().await;
    let admin = source.token("admin").await;
    let gw = shaped_gateway(&source, &admin).await;
    let file = yaml_of(&source, &admin, &gw, "?includeKeyHashes=true").await;

    // Another console (its own database), an empty gateway.
    let target = spawn_app().await;
    let t_admin = target.token("admin").await;
    let empty = new_gateway(&target, &t_admin, "restored").await;

    // A file for another gateway is refused unless allowed.
    let (status, body) = import(&target, &t_admin, &empty, "?dryRun=true", &file).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "InvalidParameter.Configuration");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("is for the gateway {gw}")),
        "{message}"
    );

    let (status, dry) = import(
        &target,
        &t_admin,
        &empty,
        "?dryRun=true&allowOtherGateway=true",
        &file,
    )
    .await;
    assert_eq!(status, 200, "{dry}");
    let dry = &dry["data"];
    assert_eq!(dry["dryRun"], true);
    assert_eq!(
        counts(dry),
        vec![
            ("Environment".into(), 1, 0, 0),
            ("ModelApi".into(), 2, 0, 0),
            ("ConsumerGroup".into(), 2, 0, 0),
            ("Consumer".into(), 2, 0, 0),
            ("Key".into(), 2, 0, 0),
            ("AuthorizationRule".into(), 3, 0, 0),
            ("GroupMembership".into(), 2, 0, 0),
            ("RateLimit".into(), 2, 0, 0),
            ("Quota".into(), 3, 0, 0),
        ],
        "{dry}"
    );
    let before = revision(&target, &empty).await;
    assert_eq!(dry["revision"], before);
    // The dry run wrote nothing.
    let untouched = yaml_of(&target, &t_admin, &empty, "").await;
    assert!(!untouched.contains("alice"), "{untouched}");

    let query = format!("?allowOtherGateway=true&ifRevision={before}");
    let (status, applied) = import(&target, &t_admin, &empty, &query, &file).await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["data"]["dryRun"], false);
    assert_eq!(applied["data"]["revision"], before + 1);
    assert_eq!(revision(&target, &empty).await, before + 1, "one revision");

    let restored = yaml_of(&target, &t_admin, &empty, "?includeKeyHashes=true").await;
    assert_eq!(body_of(&restored), body_of(&file));

    // The same file again changes nothing: no write, no new revision.
    let (status, again) = import(&target, &t_admin, &empty, "?allowOtherGateway=true", &file).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["data"]["changes"], json!([]), "{again}");
    assert_eq!(again["data"]["dryRun"], true);
    assert_eq!(revision(&target, &empty).await, before + 1);

    // The check follows: alice's key (restored from its hash) reaches the chat API.
    let answer = target
        .rest(
            Some(&t_admin),
            "POST",
            &format!("/v1/gateways/{empty}/authz/explain"),
            Some(json!({"key": ALICE_KEY, "path": "/v1/qwen3/chat/completions"})),
        )
        .await;
    assert_eq!(ok(&answer)["allowed"], true, "{}", answer.body);
    // With the limits and quotas of the file: alice-key's and team-a's limits, alice's two
    // quotas and team-a's.
    let named = |list: &str| -> Vec<String> {
        let mut names: Vec<String> = answer.body["data"][list]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["subjectName"].as_str().unwrap_or_default().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(named("limits"), ["alice-key", "team-a"], "{}", answer.body);
    assert_eq!(
        named("quotas"),
        ["alice", "alice", "team-a"],
        "{}",
        answer.body
    );

    // One audit entry for the change set, with its counts.
    let audit = target
        .rest(
            Some(&t_admin),
            "GET",
            &format!("/v1/audit-events?gatewayId={empty}&pageSize=100"),
            None,
        )
        .await;
    let entries: Vec<&Value> = ok(&audit)["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "ApplyConfiguration")
        .collect();
    assert_eq!(entries.len(), 1, "{}", audit.body);
    let summary = entries[0]["summary"].as_str().unwrap();
    assert!(
        summary.contains("2 consumers created")
            && summary.contains("3 authorization rules created"),
        "{summary}"
    );
}

#[tokio::test]
async fn a_dry_run_tells_each_change_and_an_apply_makes_exactly_those() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let gw = shaped_gateway(&app, &admin).await;
    let file = yaml_of(&app, &admin, &gw, "").await;
    let edited = file
        .replace(
            "- name: bob\n  description: on leave\n",
            "- name: bob\n  description: back\n  enabled: false\n  groups:\n  - Ops\n",
        )
        .replace(
            "keys:\n",
            "- name: carol\n  rules:\n  - api: Embed\n    environment: staging\n    expiresAt: 2100-01-01T00:00:00Z\nkeys:\n",
        );
    // Embed is deployed nowhere: carol's rule needs it in staging.
    let (status, body) = import(&app, &admin, &gw, "?dryRun=true", &edited).await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(
            "consumers[2].rules[0].environment: the model API \"Embed\" is not deployed to the environment \"staging\""
        ),
        "{message}"
    );
    let edited = edited.replace(
        "  basePath: /v1/embed\n",
        "  basePath: /v1/embed\n  environments:\n  - staging\n",
    );
    let (status, dry) = import(&app, &admin, &gw, "?dryRun=true", &edited).await;
    assert_eq!(status, 200, "{dry}");
    let dry = &dry["data"];
    let listed = changes(dry);
    for expected in [
        "Change ModelApi Embed (environments: +staging)",
        "Create Consumer carol",
        "Change Consumer bob (description: \"on leave\" -> \"back\"; enabled: true -> false)",
        "Create AuthorizationRule consumer carol: Embed in staging",
        "Create GroupMembership bob in Ops",
    ] {
        assert!(
            listed.iter().any(|c| c == expected),
            "{expected}: {listed:?}"
        );
    }
    assert_eq!(listed.len(), 5, "{listed:?}");
    assert_eq!(
        yaml_of(&app, &admin, &gw, "").await,
        file,
        "a dry run writes nothing"
    );

    // Someone changes the gateway after the dry run: applying what it showed is refused.
    let stale = dry["revision"].as_i64().unwrap();
    let r = app
        .rest(
            Some(&admin),
            "POST",
            "/v1/consumer-groups",
            Some(json!({"gatewayId": gw, "name": "late", "description": ""})),
        )
        .await;
    ok(&r);
    let (status, body) = import(&app, &admin, &gw, &format!("?ifRevision={stale}"), &edited).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "Conflict.Version");

    let (status, applied) = import(&app, &admin, &gw, "", &edited).await;
    assert_eq!(status, 200, "{applied}");
    let after = yaml_of(&app, &admin, &gw, "").await;
    assert!(after.contains("- name: carol\n"), "{after}");
    assert!(
        after.contains("- name: bob\n  description: back\n  enabled: false\n  groups:\n  - Ops\n"),
        "{after}"
    );
    // Not in the file, not pruned: stays.
    assert!(after.contains("- name: late\n"), "{after}");
}

#[tokio::test]
async fn rate_limits_and_quotas_in_the_file_are_created_changed_and_removed_with_their_subject() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let gw = shaped_gateway(&app, &admin).await;
    let file = yaml_of(&app, &admin, &gw, "").await;
    // alice's daily quota doubles, the key's limit goes, team-a's weekly quota becomes a
    // monthly one in Kolkata, bob gets a limit.
    let edited = file
        .replace("    period: day\n    amount: 1000\n", "    period: day\n    amount: 2000\n")
        .replace("  rateLimit:\n    perSecond: 5\n", "")
        .replace(
            "  - metric: requests\n    period: week\n    amount: 50000\n",
            "  - metric: requests\n    period: month\n    amount: 50000\n    timeZone: Asia/Kolkata\n",
        )
        .replace(
            "- name: bob\n  description: on leave\n",
            "- name: bob\n  description: on leave\n  rateLimit:\n    perSecond: 1\n    perMinute: 10\n",
        );
    let (status, dry) = import(&app, &admin, &gw, "?dryRun=true", &edited).await;
    assert_eq!(status, 200, "{dry}");
    let mut listed = changes(&dry["data"]);
    listed.sort();
    assert_eq!(
        listed,
        [
            "Change Quota consumer alice: requests per day (amount: 1000 -> 2000)",
            "Create Quota consumer group team-a: requests per month",
            "Create RateLimit consumer bob",
            "Delete Quota consumer group team-a: requests per week",
            "Delete RateLimit key alice-key",
        ]
    );
    let (status, applied) = import(&app, &admin, &gw, "", &edited).await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(
        body_of(&yaml_of(&app, &admin, &gw, "").await),
        body_of(&edited)
    );

    // The REST view agrees: the changed quota kept its ID and moved to version 2.
    let quotas = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/quotas?gatewayId={gw}&pageSize=100"),
            None,
        )
        .await;
    let items = ok(&quotas)["items"].as_array().unwrap().clone();
    let daily = items
        .iter()
        .find(|q| q["period"] == "day")
        .expect("alice's daily quota");
    assert_eq!(
        (daily["amount"].as_i64(), daily["version"].as_i64()),
        (Some(2000), Some(2))
    );
    assert_eq!(items.len(), 3, "{items:?}");
    let limits = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/rate-limits?gatewayId={gw}&pageSize=100"),
            None,
        )
        .await;
    let subjects: Vec<&str> = ok(&limits)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["subject"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects.contains(&"bob") && subjects.contains(&"team-a"),
        "{subjects:?}"
    );

    // A bad value is refused at its place, and nothing is applied.
    let bad = edited.replace("    perSecond: 1\n", "    perSecond: -1\n");
    let (status, body) = import(&app, &admin, &gw, "", &bad).await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("consumers[1].rateLimit.perSecond: Requests per second is a whole number"),
        "{message}"
    );
    assert_eq!(
        body_of(&yaml_of(&app, &admin, &gw, "").await),
        body_of(&edited)
    );
}

#[tokio::test]
async fn prune_deletes_what_the_file_leaves_out_and_only_then() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let gw = shaped_gateway(&app, &admin).await;
    let file = yaml_of(&app, &admin, &gw, "").await;
    // bob and the spare key left out.
    let start = file.find("- name: bob\n").unwrap();
    let end = start + file[start..].find("keys:\n").unwrap();
    let mut without = format!("{}{}", &file[..start], &file[end..]);
    let spare = without.find("- name: spare\n").unwrap();
    without.truncate(spare);
    let (status, plain) = import(&app, &admin, &gw, "", &without).await;
    assert_eq!(status, 200, "{plain}");
    assert_eq!(
        plain["data"]["changes"],
        json!([]),
        "without prune nothing goes"
    );

    let (status, dry) = import(&app, &admin, &gw, "?dryRun=true&prune=true", &without).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        changes(&dry["data"]),
        vec!["Delete Consumer bob", "Delete Key spare"],
        "{dry}"
    );
    assert_eq!(dry["data"]["prune"], true);
    // bob's HMAC credential (not in the file) goes with him.
    let bob: String =
        sqlx::query_scalar("SELECT id FROM consumers WHERE instance_id = $1 AND name = 'bob'")
            .bind(&gw)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    let cred = app
        .rest(
            Some(&admin),
            "POST",
            "/v1/credentials",
            Some(json!({"consumerId": bob, "name": "bob-signing", "method": "Hmac"})),
        )
        .await;
    ok(&cred);
    let (status, _) = import(&app, &admin, &gw, "?prune=true", &without).await;
    assert_eq!(status, 200);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM credentials")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let after = yaml_of(&app, &admin, &gw, "").await;
    assert_eq!(after, without);

    // Pruning the default environment is refused with where and why.
    let no_default = after.replace(
        "- name: default\n  alias: Default\n  description: Default environment\n  default: true\n",
        "",
    );
    assert_ne!(no_default, after);
    let (status, body) = import(&app, &admin, &gw, "?dryRun=true&prune=true", &no_default).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("environments: the default environment \"default\" is not listed"),
        "{body}"
    );
}

#[tokio::test]
async fn a_bad_file_is_refused_with_each_problem_at_its_place_and_nothing_is_applied() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let viewer_token = {
        let r = app
            .rest(
                Some(&admin),
                "POST",
                "/v1/accounts",
                Some(
                    json!({"username": "vera", "password": "viewer-password-1", "role": "Viewer"}),
                ),
            )
            .await;
        ok(&r);
        app.token("vera").await
    };
    let gw = shaped_gateway(&app, &admin).await;
    let file = yaml_of(&app, &admin, &gw, "").await;
    let before = revision(&app, &gw).await;

    let cases: Vec<(&str, String, &str)> = vec![
        ("malformed", format!("{file}\n  - [unclosed"), "line"),
        (
            "unknown field",
            file.replace("- name: bob\n", "- name: bob\n  enabeld: false\n"),
            "column 3: unknown field `enabeld`",
        ),
        (
            "wrong version",
            file.replace("gateway-console/v1", "gateway-console/v9"),
            "gateway-console/v9",
        ),
        (
            "duplicate name",
            file.replace("- name: bob\n", "- name: Alice\n"),
            "consumers[1].name: \"Alice\" is listed twice (also consumers[0])",
        ),
        (
            "dangling group",
            file.replace("  groups:\n  - Ops\n", "  groups:\n  - Ops\n  - nope\n"),
            "consumers[0].groups[1]: no consumer group named \"nope\"",
        ),
        (
            "dangling API",
            file.replace("  - api: qwen3-chat\n", "  - api: qwen4\n"),
            "rules[0].api: no model API named \"qwen4\"",
        ),
        (
            "bad time",
            file.replace("2100-01-01T00:00:00Z", "next year"),
            "is not a time in RFC 3339 UTC",
        ),
        (
            "new key without hash",
            file.replace("- name: spare\n", "- name: spare2\n"),
            "keys[1]: there is no key named \"spare2\" to update",
        ),
        (
            "bad name",
            file.replace("- name: bob\n", "- name: 9bob\n"),
            "consumers[1].name: The name cannot start with a digit.",
        ),
        (
            "another gateway",
            file.replace(&gw, "gw-00000000000000000000"),
            "is for the gateway gw-00000000000000000000",
        ),
    ];
    for (what, body, expected) in cases {
        let (status, answer) = import(&app, &admin, &gw, "", &body).await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert_eq!(answer["code"], "InvalidParameter.Configuration", "{what}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(expected), "{what}: {message}");
    }

    // Several problems: all told, one per line.
    let many = file
        .replace("- name: bob\n", "- name: Alice\n")
        .replace("  - api: qwen3-chat\n", "  - api: qwen4\n");
    let (_, answer) = import(&app, &admin, &gw, "", &many).await;
    let message = answer["message"].as_str().unwrap();
    assert!(message.starts_with("The file has "), "{message}");
    assert!(message.lines().count() >= 3, "{message}");

    // Too large: refused before it is read.
    let huge = format!("{file}#{}\n", "x".repeat(200 * 1024 * 1024));
    let (status, answer) = import_as(&app, &admin, &gw, "", huge, "application/yaml").await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("can have up to 128 MiB"),
        "{answer}"
    );
    // Not a configuration's media type; bad flags; a Viewer.
    let (status, _) = import_as(&app, &admin, &gw, "", file.clone(), "text/html").await;
    assert_eq!(status, 415);
    let (status, answer) = import(&app, &admin, &gw, "?prune=maybe", &file).await;
    assert_eq!(status, 400);
    assert_eq!(answer["code"], "InvalidParameter.Prune");
    let (status, answer) = import(&app, &admin, &gw, "?ifRevision=x", &file).await;
    assert_eq!(status, 400);
    assert_eq!(answer["code"], "InvalidParameter.IfRevision");
    let (status, _) = import(&app, &viewer_token, &gw, "?dryRun=true", &file).await;
    assert_eq!(status, 403);
    let (status, answer) = import(
        &app,
        &admin,
        "gw-00000000000000000000",
        "",
        &file.replace(&gw, "gw-00000000000000000000"),
    )
    .await;
    assert_eq!(status, 404, "{answer}");

    assert_eq!(revision(&app, &gw).await, before, "nothing was applied");
    assert_eq!(yaml_of(&app, &admin, &gw, "").await, file);
}

#[tokio::test]
async fn the_cli_prints_the_plan_and_applies_it() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let gw = shaped_gateway(&app, &admin).await;
    let file = yaml_of(&app, &admin, &gw, "").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.yaml");
    std::fs::write(
        &path,
        file.replace("- name: bob\n", "- name: bob\n  enabled: false\n"),
    )
    .unwrap();
    let url = app.db.url().to_owned();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "import".to_owned(),
            path.display().to_string(),
            "--gateway".to_owned(),
            gw.clone(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(BIN)
                    .args(args)
                    .env("DATABASE_URL", url)
                    .env("RUST_LOG", "error")
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let out = run(&["--dry-run"]).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout, "~ consumer bob (enabled: true -> false)\n");
    assert!(
        stderr.contains("would apply: 1 consumer changed"),
        "{stderr}"
    );
    assert_eq!(yaml_of(&app, &admin, &gw, "").await, file);

    let out = run(&[]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(yaml_of(&app, &admin, &gw, "")
        .await
        .contains("enabled: false"));

    std::fs::write(&path, "version: gateway-console/v1\ngateway: {id: x}\n").unwrap();
    let out = run(&[]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing field `name`"), "{err}");
}
