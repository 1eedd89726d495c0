//! Demo data for `make run` (`CONSOLE_DEMO=1`): one instance with groups, keys and
//! consumers, created through the same use cases as everything else.

use super::consumers::create_consumer;
use super::groups::create_group;
use super::instances::{create_instance, list_instances};
use super::keys::create_key;
use super::Actor;
use crate::domain::inputs::{NewConsumer, NewGroup, NewInstance, NewKey};
use crate::domain::records::{CurrentUser, Role};
use crate::domain::PageRequest;
use crate::error::AppResult;
use crate::store::Db;

/// Seeds the demo instance unless any instance exists.
pub async fn seed(db: &Db) -> AppResult<bool> {
    if list_instances(db, "", PageRequest::default())
        .await?
        .total_size
        > 0
    {
        return Ok(false);
    }
    let actor = Actor {
        user: CurrentUser {
            id: "system".into(),
            username: "demo-seed".into(),
            role: Role::Admin,
        },
        request_id: "startup".into(),
    };
    let instance = create_instance(
        db,
        &actor,
        NewInstance {
            name: "demo-ai-gateway".into(),
            region: "eu-central-1".into(),
            engine_version: "2.1.4".into(),
            description: "Demo instance created by CONSOLE_DEMO=1".into(),
        },
    )
    .await?;
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
                },
            )
            .await?
            .key
            .id,
        );
    }
    for (i, name) in ["billing-service", "search-frontend", "chat-assistant"]
        .into_iter()
        .enumerate()
    {
        create_consumer(
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
    }
    Ok(true)
}
