//! Configuration as code: a gateway's configuration as one YAML document, and the JSON Schema
//! of that document.

use super::{flag, Answer, Ctx, Data, Envelope, ErrorResponses, Params};
use crate::domain::config::{ImportReport, MAX_CONFIG_BYTES};
use crate::error::AppError;
use crate::service::config;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_gateway))
        .routes(routes!(get_config_schema))
        .merge(
            // A configuration file may be large (52 MB for 100,000 consumers).
            OpenApiRouter::new()
                .routes(routes!(import_gateway))
                .layer(DefaultBodyLimit::max(MAX_CONFIG_BYTES)),
        )
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true` to only tell what would change; default `false`.
    #[param(value_type = Option<bool>)]
    pub dry_run: Option<String>,
    /// `true` to delete what the file does not list; default `false`.
    #[param(value_type = Option<bool>)]
    pub prune: Option<String>,
    /// `true` to apply a file exported from another gateway; default `false`.
    #[param(value_type = Option<bool>)]
    pub allow_other_gateway: Option<String>,
    /// Apply only if the gateway is still at this revision (a dry run's `revision`).
    #[param(value_type = Option<i64>)]
    pub if_revision: Option<String>,
}

/// Import a configuration file (the YAML an export gives, or the same as JSON) into a gateway:
/// with `dryRun=true`, what would be created, changed and deleted, resource by resource;
/// otherwise all of it is applied in one transaction, or nothing (a file with problems is
/// refused with each problem at its place in the file), and audited as one change set.
/// Applying the same file twice changes nothing. Resources the file does not list stay,
/// unless `prune=true`. Admins only.
#[utoipa::path(post, path = "/v1/gateways/{gatewayId}/import", tag = "Gateways",
    params(("gatewayId" = String, Path, description = "gw-…"), ImportQuery),
    request_body(content = Object, content_type = "application/yaml",
        description = "A configuration file (`/v1/schemas/gateway-config.json`), YAML or JSON; up to 128 MiB"),
    responses((status = 200, body = Envelope<ImportReport>),
        (status = 415, description = "The body is not YAML or JSON: `InvalidRequest.ContentType`", body = super::envelope::ErrorEnvelope),
        ErrorResponses))]
async fn import_gateway(
    ctx: Ctx,
    Path(gateway_id): Path<String>,
    Params(q): Params<ImportQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer<ImportReport> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        essence.as_str(),
        "application/yaml"
            | "application/x-yaml"
            | "text/yaml"
            | "text/x-yaml"
            | "application/json"
            | "text/plain"
    ) {
        return Err(AppError::ContentType(
            "application/yaml or application/json".into(),
        ));
    }
    let options = config::ImportOptions {
        dry_run: flag("DryRun", q.dry_run.as_deref())?,
        prune: flag("Prune", q.prune.as_deref())?,
        allow_other_gateway: flag("AllowOtherGateway", q.allow_other_gateway.as_deref())?,
        if_revision: match q.if_revision.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(r) => Some(r.parse::<i64>().map_err(|_| {
                AppError::invalid(
                    "IfRevision",
                    "ifRevision must be a whole number (a dry run's revision).",
                )
            })?),
        },
    };
    let body = body.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(ref f) if f.body_text().contains("length limit") => {
            config::file_too_large(None)
        }
        other => AppError::invalid("Body", other.body_text()),
    })?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::invalid("Configuration", "The file is not UTF-8 text."))?;
    Ok(Data(
        config::import_gateway(&ctx.db, &ctx.actor, &gateway_id, text, options).await?,
    ))
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
