//! `ListConsumerAuthorizationRules` (the API gateway operation it is modelled on): a
//! consumer's rules in that operation's item shape (`domain::rule_view`), optionally with the rules it inherits from its enabled groups.

use crate::domain::authorization::PrincipalType;
use crate::domain::records::{Environment, Instance, ModelApi};
use crate::domain::rule_view::{
    ApiEnvironment, ConsumerAuthorizationRule, EnvironmentInfo, GatewayInfo, GatewayRef,
    HttpApiApiInfo, RuleSource, API_TYPE, RESOURCE_TYPE,
};
use crate::domain::{IdKind, Page, PageRequest};
use crate::error::{AppError, AppResult};
use crate::service::parse_id;
use crate::store::rules::{self, RuleFilter};
use crate::store::{consumers, environments, instances, model_apis, now_ms, Db};
use std::collections::HashMap;

fn gateway_info(i: &Instance) -> GatewayInfo {
    GatewayInfo {
        gateway_id: i.id.clone(),
        name: i.name.clone(),
        engine_version: i.engine_version.clone(),
    }
}

fn environment_info(e: &Environment, gw: &GatewayInfo) -> EnvironmentInfo {
    EnvironmentInfo {
        environment_id: e.id.clone(),
        name: e.name.clone(),
        alias: e.alias.clone(),
        description: e.description.clone(),
        gateway_info: gw.clone(),
        default: e.is_default,
        create_timestamp: e.created_at,
        update_timestamp: e.updated_at,
    }
}

/// One page of the consumer's rules, newest first. `api_name_like` is a case-insensitive
/// substring of the API name; with `include_inherited`, rules of the consumer's enabled
/// groups are included and every item says where it comes from.
pub async fn list_consumer_rules(
    db: &Db,
    consumer_id: &str,
    api_name_like: &str,
    include_inherited: bool,
    page: PageRequest,
) -> AppResult<Page<ConsumerAuthorizationRule>> {
    let id = parse_id(IdKind::Consumer, consumer_id)?;
    let pattern = crate::service::search_pattern(api_name_like).map_err(|_| {
        AppError::invalid(
            "ApiNameLike",
            "Search text can contain up to 100 characters.",
        )
    })?;
    let mut conn = db.reader().await?;
    let consumer = consumers::get_row(&mut conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Consumer, id.as_str()))?;
    let instance = instances::get(&mut conn, &consumer.instance_id)
        .await?
        .ok_or(AppError::Internal)?;
    let gw = gateway_info(&instance);
    let filter = RuleFilter {
        consumer_id: Some(consumer.id.clone()),
        include_groups: include_inherited,
        api_pattern: (pattern != "%%").then_some(pattern),
        ..Default::default()
    };
    let now = now_ms();
    let (total_size, rows) = rules::query(&mut conn, &filter, page, now).await?;

    let mut api_ids: Vec<String> = rows.iter().map(|r| r.api.id.clone()).collect();
    api_ids.sort();
    api_ids.dedup();
    let apis: HashMap<String, ModelApi> = model_apis::get_many(&mut conn, &api_ids)
        .await?
        .into_iter()
        .map(|a| (a.id.clone(), a))
        .collect();
    let mut env_ids: Vec<String> = rows.iter().map(|r| r.environment.id.clone()).collect();
    env_ids.extend(
        apis.values()
            .flat_map(|a| a.environments.iter().map(|e| e.id.clone())),
    );
    env_ids.sort();
    env_ids.dedup();
    let envs: HashMap<String, Environment> = environments::get_many(&mut conn, &env_ids)
        .await?
        .into_iter()
        .map(|e| (e.id.clone(), e))
        .collect();

    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let api = apis.get(&r.api.id).ok_or(AppError::Internal)?;
        let env = envs.get(&r.environment.id).ok_or(AppError::Internal)?;
        let api_environments = api
            .environments
            .iter()
            .filter_map(|e| envs.get(&e.id))
            .map(|e| ApiEnvironment {
                environment_id: e.id.clone(),
                name: e.name.clone(),
                alias: e.alias.clone(),
                gateway_info: GatewayRef {
                    gateway_id: gw.gateway_id.clone(),
                    name: gw.name.clone(),
                },
                deploy_status: "Deployed".into(),
            })
            .collect();
        let source = include_inherited.then(|| match r.principal_type {
            PrincipalType::ConsumerGroup => RuleSource {
                kind: PrincipalType::ConsumerGroup,
                consumer_group_id: Some(r.principal.id.clone()),
                consumer_group_name: Some(r.principal.name.clone()),
            },
            PrincipalType::Consumer => RuleSource {
                kind: PrincipalType::Consumer,
                consumer_group_id: None,
                consumer_group_name: None,
            },
        });
        let rule = r;
        let model = api.clone();
        items.push(ConsumerAuthorizationRule {
            consumer_authorization_rule_id: rule.id,
            consumer_id: consumer.id.clone(),
            api_info: HttpApiApiInfo {
                http_api_id: model.id,
                name: model.name,
                base_path: model.base_path,
                description: model.description,
                kind: API_TYPE.into(),
                enable_auth: true,
                gateway_id: instance.id.clone(),
                model_category: model.model_category,
                protocols: vec!["HTTP".into()],
                environments: api_environments,
                ai_protocols: model.ai_protocols,
            },
            environment_info: environment_info(env, &gw),
            gateway_info: gw.clone(),
            resource_id: api.resource_no,
            resource_type: RESOURCE_TYPE.into(),
            expire_status: rule.expire_status,
            expire_mode: rule.expire_mode,
            expire_timestamp: rule.expire_timestamp,
            create_timestamp: rule.created_at,
            update_timestamp: rule.updated_at,
            deploy_status: serde_json::Map::new(),
            source,
        });
    }
    Ok(page.answer(total_size, items))
}
