//! The proxy configurations that put a gateway behind the check: nginx (`auth_request`) and
//! Envoy (`ext_authz`). One text for the README, the instance overview's "Connect a proxy"
//! panel (filled in with the gateway and the console's address) and the test that runs the
//! nginx one in front of a real console, so the three cannot drift apart.

/// Where an nginx site listens, what it asks and where it forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NginxSite<'a> {
    /// The `listen` value (`8080`, `127.0.0.1:8080`).
    pub listen: &'a str,
    /// The console's `host:port`.
    pub console: &'a str,
    /// The model backend nginx forwards to (`http://model-backend`).
    pub backend: &'a str,
    /// The gateway nginx names on every check (the console trusts proxy headers), or none
    /// (the console replica is configured with its gateway).
    pub gateway_id: Option<&'a str>,
}

/// The nginx `upstream` and `server` blocks (inside `http { }`).
pub fn nginx(site: &NginxSite<'_>) -> String {
    let NginxSite {
        listen,
        console,
        backend,
        gateway_id,
    } = site;
    let gateway = match gateway_id {
        Some(id) => format!(
            "\n        proxy_set_header X-Gateway-Id \"{id}\";\n        proxy_set_header X-Gateway-Environment \"\";       # or the environment's name"
        ),
        None => String::new(),
    };
    format!(
        r#"upstream console {{ server {console}; keepalive 64; }}

server {{
    listen {listen};
    location / {{
        auth_request /_authz;
        auth_request_set $consumer_id   $upstream_http_x_consumer_id;
        auth_request_set $consumer_name $upstream_http_x_consumer_name;
        auth_request_set $api_id        $upstream_http_x_api_id;
        # Rate limits: the check's reason and limit headers, for the client.
        auth_request_set $authz_reason        $upstream_http_x_authz_reason;
        auth_request_set $authz_retry_after   $upstream_http_retry_after;
        auth_request_set $ratelimit_limit     $upstream_http_x_ratelimit_limit;
        auth_request_set $ratelimit_remaining $upstream_http_x_ratelimit_remaining;
        auth_request_set $ratelimit_reset     $upstream_http_x_ratelimit_reset;
        error_page 403 = @authz_refused;
        add_header X-RateLimit-Limit     $ratelimit_limit always;   # absent when empty
        add_header X-RateLimit-Remaining $ratelimit_remaining always;
        add_header X-RateLimit-Reset     $ratelimit_reset always;
        # Set on every request, so a client's own X-Consumer-* never reaches the backend.
        proxy_set_header X-Consumer-Id   $consumer_id;
        proxy_set_header X-Consumer-Name $consumer_name;
        proxy_set_header X-Api-Id        $api_id;
        proxy_set_header Authorization   "";   # the model backend never sees the key
        proxy_set_header X-Api-Key       "";
        proxy_pass {backend};       # no URI part: the backend gets $request_uri as checked
    }}
    # The check's 403: a 429 with Retry-After when a rate limit or a quota refused, else a 403.
    # (error_page catches only the check's 403s: without proxy_intercept_errors the backend's
    # own 403s pass through as they are.)
    location @authz_refused {{
        default_type application/json;
        add_header X-RateLimit-Limit     $ratelimit_limit always;
        add_header X-RateLimit-Remaining $ratelimit_remaining always;
        add_header X-RateLimit-Reset     $ratelimit_reset always;
        if ($authz_reason ~ "^(rate-limited|quota-exhausted)$") {{
            add_header Retry-After           $authz_retry_after always;
            add_header X-RateLimit-Limit     $ratelimit_limit always;
            add_header X-RateLimit-Remaining $ratelimit_remaining always;
            add_header X-RateLimit-Reset     $ratelimit_reset always;
            return 429 '{{"code":"Throttling","message":"Too many requests; retry later."}}';
        }}
        return 403 '{{"code":"Forbidden","message":"This consumer is not authorized for this API."}}';
    }}
    location = /_authz {{
        internal;
        proxy_pass http://console/authz/check;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
        proxy_set_header X-Original-URI $request_uri;   # replaces the client's
        proxy_set_header X-Original-Method $request_method;   # what an HMAC signature covers
        # Either: the console replica has CONSOLE_AUTHZ_GATEWAY_ID (and, if not the default,
        # CONSOLE_AUTHZ_ENVIRONMENT) and these two lines are left out: the console ignores the
        # headers. Or: the console has CONSOLE_AUTHZ_TRUST_PROXY_HEADERS=1 and nginx sets both
        # on every check (an empty value removes the client's header):{gateway}
    }}
}}
"#
    )
}

/// The Envoy HTTP filter, for a console at `console_url` whose replica serves `gateway_id`.
pub fn envoy(console_url: &str, gateway_id: &str) -> String {
    format!(
        r#"# The console replica runs with CONSOLE_AUTHZ_REQUEST_URI=path and
# CONSOLE_AUTHZ_GATEWAY_ID={gateway_id}
http_filters:
- name: envoy.filters.http.ext_authz
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
    transport_api_version: V3
    failure_mode_allow: false
    http_service:
      server_uri: {{ uri: "{console_url}", cluster: console, timeout: 0.25s }}
      path_prefix: /authz/check
      authorization_request:
        allowed_headers:
          patterns: [{{ exact: authorization }}, {{ exact: x-api-key }}, {{ exact: date }}]
      authorization_response:
        allowed_upstream_headers:
          patterns: [{{ exact: x-consumer-id }}, {{ exact: x-consumer-name }}, {{ exact: x-api-id }}]
"#
    )
}

/// The `host:port` of an origin (`https://console.example.com` → `console.example.com:443`),
/// as nginx's `server` line names it.
pub fn host_port(origin: &str) -> String {
    let (default_port, rest) = match origin.split_once("://") {
        Some(("https", rest)) => (443, rest),
        Some((_, rest)) => (80, rest),
        None => (80, origin),
    };
    let host = rest.split('/').next().unwrap_or_default();
    // A port after the host (an IPv6 literal keeps its colons inside brackets).
    let has_port = host.rsplit_once(':').is_some_and(|(h, p)| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (!h.starts_with('[') || h.ends_with(']'))
    });
    if has_port {
        host.to_owned()
    } else {
        format!("{host}:{default_port}")
    }
}

/// The `log_format` (for nginx's `http {}`) of the usage log `scripts/usage-shipper.py`
/// posts: one JSON line per request with the consumer and model API the check named and the
/// token counts the model backend answered with (its `X-Usage-*` headers).
pub const USAGE_LOG_FORMAT: &str = r#"log_format usage escape=json '{"requestId":"$request_id","consumerId":"$consumer_id",'
    '"apiId":"$api_id","status":"$status",'
    '"promptTokens":"$upstream_http_x_usage_prompt_tokens",'
    '"completionTokens":"$upstream_http_x_usage_completion_tokens","msec":"$msec"}';"#;

/// The directive (for the location with `auth_request`) that writes the usage log to `path`.
pub fn usage_access_log(path: &str) -> String {
    format!("access_log {path} usage;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's block between the line after ```` ```lang ```` that starts with `first`
    /// and the closing fence.
    fn readme_block(first: &str) -> String {
        let readme = include_str!("../../README.md");
        let start = readme.find(first).expect("the block is in the README");
        let end = start + readme[start..].find("```").expect("the block ends");
        readme[start..end].to_owned()
    }

    #[test]
    fn the_readme_shows_exactly_the_nginx_configuration_the_console_fills_in() {
        let site = NginxSite {
            listen: "8080",
            console: "127.0.0.1:3000",
            backend: "http://model-backend",
            gateway_id: Some("gw-…"),
        };
        assert_eq!(readme_block("upstream console {"), nginx(&site));
    }

    #[test]
    fn the_readme_shows_exactly_the_envoy_configuration_the_console_fills_in() {
        assert_eq!(
            readme_block("# The console replica runs with CONSOLE_AUTHZ_REQUEST_URI=path"),
            envoy("http://console:3000", "gw-…")
        );
    }

    #[test]
    fn the_readme_shows_exactly_the_usage_log_the_tests_write() {
        assert_eq!(
            readme_block("# In http {}:"),
            format!(
                "# In http {{}}:\n{USAGE_LOG_FORMAT}\n# In the location with auth_request (it sets $consumer_id and $api_id, see Enforcement):\n{}\n",
                usage_access_log("/var/log/nginx/usage.log")
            )
        );
    }

    #[test]
    fn a_configured_replica_needs_no_gateway_headers() {
        let site = NginxSite {
            listen: "8080",
            console: "c:1",
            backend: "http://b",
            gateway_id: None,
        };
        assert!(!nginx(&site).contains("proxy_set_header X-Gateway-Id"));
    }

    #[test]
    fn an_origin_without_a_port_gets_its_schemes_port() {
        assert_eq!(
            host_port("https://console.example.com"),
            "console.example.com:443"
        );
        assert_eq!(host_port("http://127.0.0.1:3000"), "127.0.0.1:3000");
        assert_eq!(host_port("http://[::1]"), "[::1]:80");
        assert_eq!(host_port("http://[::1]:8080/x"), "[::1]:8080");
    }
}
