//! Configuration as code: a gateway's configuration as one YAML document, and the JSON Schema
//! of that document.

use super::{flag, Ctx, ErrorResponses, Params};
use crate::error::AppError;
use crate::service::config;
use crate::state::AppState;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_gateway))
        .routes(routes!(get_config_schema))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `true` to list each key's hash (Admins only); default `false`.
    #[param(value_type = Option<bool>)]
    pub include_key_hashes: Option<String>,
}

/// Export a gateway's configuration (environments, model APIs, consumer groups, consumers
/// with their groups and rules, keys without their values) as one YAML document, in the
/// format of `/v1/schemas/gateway-config.json`. Two exports of the same state are identical.
#[utoipa::path(get, path = "/v1/gateways/{gatewayId}/export", tag = "Gateways",
    params(("gatewayId" = String, Path, description = "gw-…"), ExportQuery),
    responses((status = 200, description = "The configuration (YAML)", content_type = "application/yaml", body = Object),
        ErrorResponses))]
async fn export_gateway(
    ctx: Ctx,
    Path(gateway_id): Path<String>,
    Params(q): Params<ExportQuery>,
) -> Result<Response, AppError> {
    let hashes = flag("IncludeKeyHashes", q.include_key_hashes.as_deref())?;
    let exported = config::export_gateway(&ctx.db, &ctx.actor, &gateway_id, hashes).await?;
    let yaml = config::to_yaml(&exported).map_err(|e| {
        tracing::error!(error = %e, "the configuration could not be written as YAML");
        AppError::Internal
    })?;
    let file = format!(
        "attachment; filename=\"{}.yaml\"",
        file_name(&exported.gateway.name)
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/yaml; charset=utf-8".to_owned(),
            ),
            (header::CONTENT_DISPOSITION, file),
        ],
        yaml,
    )
        .into_response())
}

/// The JSON Schema of the configuration file.
#[utoipa::path(get, path = "/v1/schemas/gateway-config.json", tag = "Gateways",
    responses((status = 200, description = "JSON Schema (draft 2020-12)", content_type = "application/schema+json", body = Object),
        ErrorResponses))]
async fn get_config_schema(_ctx: Ctx) -> Response {
    (
        [(header::CONTENT_TYPE, "application/schema+json")],
        config::json_schema().to_string(),
    )
        .into_response()
}

/// A gateway's name as a file name: what is not a letter, digit, `.`, `-` or `_` becomes `_`.
fn file_name(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match safe.trim_start_matches('.') {
        "" => "gateway".to_owned(),
        s => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn a_gateway_name_becomes_a_safe_file_name() {
        assert_eq!(file_name("prod-gw.eu"), "prod-gw.eu");
        assert_eq!(file_name("a\"b/..\\c\r\n"), "a_b_.._c__");
        assert_eq!(file_name(".."), "gateway");
    }
}
