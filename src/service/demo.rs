//! Demo data for `make run` (`CONSOLE_DEMO=1`): one instance with groups, keys, consumers,
//! model APIs and authorization rules, created through the same use cases as everything else.

use super::consumers::create_consumer;
use super::environments::list_environments;
use super::groups::create_group;
use super::instances::{create_instance, list_instances};
use super::keys::create_key;
use super::model_apis::create_api;
use super::rules::create_rules;
use super::Actor;
use crate::domain::inputs::{NewConsumer, NewGroup, NewInstance, NewKey, NewModelApi, NewRule};
use crate::domain::PageRequest;
use crate::error::AppResult;
use crate::store::Db;

/// Seeds the demo instance unless any instance exists. Safe to race: of several replicas
/// starting at once on an empty database exactly one seeds.
pub async fn seed(db: &Db) -> AppResult<bool> {
    if list_instances(db, "", PageRequest::default())
        .await?
        .total_size
        > 0
    {
        return Ok(false);
    }
    let actor = Actor::system("demo-seed");
    let created = create_instance(
        db,
        &actor,
        NewInstance {
            name: "demo-ai-gateway".into(),
            region: "eu-central-1".into(),
            engine_version: "2.1.4".into(),
            description: "Demo instance created by CONSOLE_DEMO=1".into(),
        },
    )
    .await;
    let instance = match created {
        Ok(instance) => instance,
        // Replicas starting together: the one whose instance was created seeds the rest.
        Err(crate::error::AppError::NameTaken { .. }) => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut group_ids = Vec::new();
    for (name, description) in [
        ("partners", "External partner applications"),
        ("internal", "Internal services"),
    ] {
        let g = create_group(
            db,
            &actor,
            NewGroup {
                instance_id: instance.id.clone(),
                name: name.into(),
                description: description.into(),
            },
        )
        .await?;
        group_ids.push(g.id);
    }
    let mut key_ids = Vec::new();
    for name in [
        "billing-key",
        "search-key",
        "chat-key",
        "spare-key-1",
        "spare-key-2",
    ] {
        key_ids.push(
            create_key(
                db,
                &actor,
                NewKey {
                    instance_id: instance.id.clone(),
                    name: name.into(),
                    expires_at: None,
                    value: None,
                },
            )
            .await?
            .key
            .id,
        );
    }
    let mut consumer_ids = Vec::new();
    for (i, name) in ["billing-service", "search-frontend", "chat-assistant"]
        .into_iter()
        .enumerate()
    {
        let c = create_consumer(
            db,
            &actor,
            NewConsumer {
                instance_id: instance.id.clone(),
                name: name.into(),
                group_ids: vec![group_ids[i % group_ids.len()].clone()],
                key_ids: vec![key_ids[i].clone()],
                description: format!("Demo consumer {name}"),
            },
        )
        .await?;
        consumer_ids.push(c.id);
    }
    let environment = list_environments(db, &instance.id, "", PageRequest::default())
        .await?
        .items
        .remove(0)
        .id;
    let mut api_ids = Vec::new();
    for (name, path, category) in [
        ("qwen3-chat", "/v1/chat", "Text"),
        ("text-embeddings", "/v1/embeddings", "Embedding"),
    ] {
        let api = create_api(
            db,
            &actor,
            NewModelApi {
                instance_id: instance.id.clone(),
                name: name.into(),
                base_path: path.into(),
                ai_protocols: vec!["OpenAI/v1".into()],
                model_category: category.into(),
                description: format!("Demo model API {name}"),
                environment_ids: vec![environment.clone()],
            },
        )
        .await?;
        api_ids.push(api.id);
    }
    let rule = |ptype: &str, principal: &str, api: &str| NewRule {
        principal_type: ptype.into(),
        principal_id: principal.into(),
        api_id: api.into(),
        environment_id: environment.clone(),
        expire_mode: "LongTerm".into(),
        expire_timestamp: None,
    };
    create_rules(
        db,
        &actor,
        vec![
            rule("ConsumerGroup", &group_ids[1], &api_ids[0]),
            rule("Consumer", &consumer_ids[0], &api_ids[0]),
            rule("Consumer", &consumer_ids[1], &api_ids[1]),
        ],
    )
    .await?;
    Ok(true)
}
