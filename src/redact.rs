//! Secrets kept out of everything voiceperf writes or prints: a URL loses its userinfo and
//! the values of token-like query parameters, a header loses its value. Every place that
//! shows a URL or a header given by the user goes through here.

/// Query parameter names (lower-case) whose values are secrets; a name also counts when it
/// ends with one of these after `_` or `-` (`x_api_key`, `access-token`).
const SECRET_PARAMS: [&str; 17] = [
    "token",
    "access_token",
    "auth",
    "authorization",
    "key",
    "api_key",
    "apikey",
    "secret",
    "client_secret",
    "password",
    "passwd",
    "pwd",
    "sig",
    "signature",
    "jwt",
    "session",
    "credential",
];

/// What a hidden value is shown as.
pub const HIDDEN: &str = "***";

fn is_secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|secret| {
        name == *secret
            || name
                .strip_suffix(secret)
                .is_some_and(|head| head.ends_with('_') || head.ends_with('-'))
            || name == format!("{secret}s")
    })
}

/// `url` with its userinfo (`user:password@`) and the values of token-like query parameters
/// replaced by `***`; everything else (scheme, host, path, `{stream_id}`, other parameters)
/// is kept as given.
pub fn url(url: &str) -> String {
    let (head, fragment) = match url.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (url, None),
    };
    let (before_query, query) = match head.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (head, None),
    };
    let mut out = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://{HIDDEN}@{host}{path}"),
                None => before_query.to_string(),
            }
        }
        None => before_query.to_string(),
    };
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((name, _)) if is_secret_param(name) => format!("{name}={HIDDEN}"),
                _ => param.to_string(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// A header as it may be shown: its name, never its value (`Authorization: ***`).
pub fn header(name: &str, value: &str) -> String {
    if value.is_empty() {
        format!("{name}:")
    } else {
        format!("{name}: {HIDDEN}")
    }
}

/// `text` with every occurrence of each secret replaced by `***`: for messages from other
/// libraries that may quote a URL or header verbatim.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, HIDDEN);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_and_token_params_are_hidden() {
        assert_eq!(
            url("wss://bob:hunter2@agent.example.com:443/ws/{stream_id}?token=abc&lang=en"),
            "wss://***@agent.example.com:443/ws/{stream_id}?token=***&lang=en"
        );
        assert_eq!(
            url("ws://h/ws?X-Api-Key=k1&access_token=t&sig=s&region=eu#frag"),
            "ws://h/ws?X-Api-Key=***&access_token=***&sig=***&region=eu#frag"
        );
        assert_eq!(
            url("ws://127.0.0.1:8100/ws/{stream_id}"),
            "ws://127.0.0.1:8100/ws/{stream_id}"
        );
        // A name merely containing a secret word is kept: `monkey` is not a key.
        assert_eq!(url("ws://h/?monkey=1&keys=2"), "ws://h/?monkey=1&keys=***");
        // Not a URL at all: nothing to parse, nothing lost.
        assert_eq!(url("not a url"), "not a url");
    }

    #[test]
    fn header_values_never_show() {
        assert_eq!(
            header("Authorization", "Bearer s3cret"),
            "Authorization: ***"
        );
        assert_eq!(header("X-Empty", ""), "X-Empty:");
    }

    #[test]
    fn scrub_removes_quoted_secrets() {
        assert_eq!(
            scrub(
                "HTTP error for Bearer s3cret-token",
                &["Bearer s3cret-token"]
            ),
            "HTTP error for ***"
        );
        // Too short to hide without mangling ordinary words.
        assert_eq!(scrub("a b c", &["b"]), "a b c");
    }
}
