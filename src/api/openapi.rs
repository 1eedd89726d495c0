//! The OpenAPI document's frame (title, bearer authentication, tags) and the input rules
//! it states for every request body; the paths and schemas come from the handlers.

use super::envelope::ErrorEnvelope;
use crate::domain::IdKind;

/// The document's frame: title, bearer authentication, tags. Paths and schemas are added by
/// the resource routers from their handlers' annotations, so the document cannot drift from
/// the routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Gateway Console API",
        description = "Consumers, keys, consumer groups, model APIs and authorization rules of an API / AI gateway. Every answer is the envelope {requestId, code, message, data}; lists take pageNumber (from 1) and pageSize (1-100, default 10)."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorEnvelope)),
    security(("bearer" = [])),
    tags(
        (name = "Gateways", description = "Gateway instances and their environments"),
        (name = "Consumers", description = "Consumers, their credentials (API keys, JWT, HMAC) and their authorization rules"),
        (name = "Groups and keys", description = "Consumer groups and API keys"),
        (name = "Model APIs", description = "Model APIs and where they are deployed"),
        (name = "Authorization rules", description = "Who may call which model API in which environment"),
        (name = "Limits", description = "Rate limits and quotas on keys, consumers and consumer groups, applied by the check"),
        (name = "Tokens", description = "The calling account's bearer tokens"),
        (name = "Audit", description = "Who changed what, and when"),
        (name = "Usage", description = "What the enforcement check decided, counted per consumer, key, model API and minute"),
        (name = "Accounts", description = "Console accounts (Admins only)")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Gives the `name` and `description` of every request body the rules `Name::parse` and
/// `Description::parse` apply, so clients and fuzzers know them without reading the code.
pub fn document_input_rules(doc: &mut utoipa::openapi::OpenApi) {
    document_id_patterns(doc);
    use crate::domain::names::{
        DESCRIPTION_MAX_CHARS, DESCRIPTION_PATTERN, NAME_MAX_CHARS, NAME_PATTERN,
    };
    use utoipa::openapi::{RefOr, Schema};
    let bodies: std::collections::BTreeSet<String> = doc
        .paths
        .paths
        .values()
        .flat_map(|item| {
            [&item.post, &item.put, &item.patch]
                .into_iter()
                .flatten()
                .filter_map(|op| op.request_body.as_ref())
                .flat_map(|body| body.content.values())
                .filter_map(|content| match &content.schema {
                    Some(RefOr::Ref(r)) => r.ref_location.rsplit('/').next().map(str::to_owned),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for (schema_name, schema) in components.schemas.iter_mut() {
        let RefOr::T(Schema::Object(object)) = schema else {
            continue;
        };
        if !bodies.contains(schema_name) {
            continue;
        }
        for (property, rule) in object.properties.iter_mut() {
            let RefOr::T(Schema::Object(field)) = rule else {
                continue;
            };
            match property.as_str() {
                "name" => {
                    field.pattern = Some(NAME_PATTERN.into());
                    field.min_length = Some(1);
                    field.max_length = Some(NAME_MAX_CHARS);
                }
                "description" => {
                    field.pattern = Some(DESCRIPTION_PATTERN.into());
                    field.max_length = Some(DESCRIPTION_MAX_CHARS);
                }
                _ => {}
            }
        }
    }
}

/// The kind of ID a parameter carries, by its name (`consumerId`), in a path or a query.
fn id_kind_of(name: &str) -> Option<IdKind> {
    Some(match name {
        "gatewayId" => IdKind::Instance,
        "consumerId" => IdKind::Consumer,
        "consumerGroupId" => IdKind::ConsumerGroup,
        "keyId" => IdKind::Key,
        "apiId" => IdKind::Api,
        "environmentId" => IdKind::Environment,
        "consumerAuthorizationRuleId" => IdKind::AuthorizationRule,
        "accountId" => IdKind::Account,
        "tokenId" => IdKind::ApiToken,
        "rateLimitId" => IdKind::RateLimit,
        "quotaId" => IdKind::Quota,
        "credentialId" => IdKind::Credential,
        _ => return None,
    })
}

/// Every ID parameter's exact form, from its kind (`^cs-[0-9a-v]{20}$`), so no route states
/// it by hand and none can state it wrong.
fn document_id_patterns(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{schema::SchemaType, Object, RefOr, Schema, Type};
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in operations.into_iter().flatten() {
            for p in op.parameters.iter_mut().flatten() {
                let by_place = matches!(p.parameter_in, ParameterIn::Path)
                    || (matches!(p.parameter_in, ParameterIn::Query) && p.name == "gatewayId");
                let Some(kind) = id_kind_of(&p.name).filter(|_| by_place) else {
                    continue;
                };
                let schema = Object::builder()
                    .schema_type(SchemaType::Type(Type::String))
                    .pattern(Some(kind.pattern()))
                    .build();
                p.schema = Some(RefOr::T(Schema::Object(schema)));
            }
        }
    }
}
