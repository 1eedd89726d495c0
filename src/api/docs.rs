//! `/v1/docs`: the OpenAPI document rendered as one plain HTML page on the server, so reading
//! it needs no JavaScript and nothing fetched from elsewhere.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, Required};

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn operation(method: &str, path: &str, op: &Operation) -> String {
    let mut out = format!(
        "<section class=\"op\"><h3><span class=\"method\">{method}</span> <code>{}</code></h3>",
        escape(path)
    );
    if let Some(s) = &op.summary {
        out.push_str(&format!("<p><strong>{}</strong></p>", escape(s)));
    }
    if let Some(d) = &op.description {
        out.push_str(&format!("<p>{}</p>", escape(d)));
    }
    if let Some(params) = op.parameters.as_ref().filter(|p| !p.is_empty()) {
        out.push_str("<table><thead><tr><th scope=\"col\">Parameter</th><th scope=\"col\">In</th><th scope=\"col\">Required</th><th scope=\"col\">Description</th></tr></thead><tbody>");
        for p in params {
            let place = match p.parameter_in {
                ParameterIn::Path => "path",
                ParameterIn::Query => "query",
                ParameterIn::Header => "header",
                ParameterIn::Cookie => "cookie",
            };
            let required = if matches!(p.required, Required::True) {
                "yes"
            } else {
                "no"
            };
            out.push_str(&format!(
                "<tr><td><code>{}</code></td><td>{place}</td><td>{required}</td><td>{}</td></tr>",
                escape(&p.name),
                escape(p.description.as_deref().unwrap_or(""))
            ));
        }
        out.push_str("</tbody></table>");
    }
    if op.request_body.is_some() {
        out.push_str("<p>Request body: JSON (see the schema in <a href=\"/v1/openapi.json\">openapi.json</a>).</p>");
    }
    let codes: Vec<&str> = op.responses.responses.keys().map(String::as_str).collect();
    out.push_str(&format!(
        "<p>Responses: {}</p></section>",
        escape(&codes.join(", "))
    ));
    out
}

/// The whole page.
pub fn page(doc: &OpenApi) -> String {
    let mut body = String::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
        ] {
            if let Some(op) = op {
                body.push_str(&operation(method, path, op));
            }
        }
    }
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} — REST API</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}\
         .op{{border-top:1px solid #ddd;padding:.5rem 0}}.method{{font-weight:bold;color:#0b5cad}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}}</style></head>\
         <body><h1>{title} — REST API</h1><p>{description}</p>\
         <p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>. The machine-readable document is \
         <a href=\"/v1/openapi.json\">/v1/openapi.json</a>.</p>{body}</body></html>",
        title = escape(&doc.info.title),
        description = escape(doc.info.description.as_deref().unwrap_or("")),
    )
}
