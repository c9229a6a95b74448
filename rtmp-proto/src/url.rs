//! RTMP URLs: `rtmp[s]://host[:port]/app[/instance]/stream[?query]`, split into what a
//! client needs — where to connect, the `app` and `tcUrl` it sends in `connect`, and
//! the stream name it sends in `publish` or `play`.
//!
//! The path is split the way FFmpeg splits it, which is what servers have been tuned
//! to: with one slash after the application the rest is the stream name
//! (`/live/key` → app `live`); with more, the application takes an instance
//! (`/app/inst/key` → app `app/inst`), unless a `:` comes first in what follows
//! (`/vod/mp4:dir/file.mp4` → app `vod`, stream `mp4:dir/file.mp4`). Query strings stay
//! with the part they follow: `key?token=x` is the stream name servers expect, and a
//! query on the application (`/app?auth=1/key`) stays in `app` and in `tcUrl`. A `/`
//! inside a stream name's query must be percent-encoded (`%2F`), as the path is split
//! before queries are looked at. Nothing is percent-decoded.

use std::fmt;
use std::str::FromStr;

/// The transport a URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `rtmp://`: plain TCP, default port 1935.
    Rtmp,
    /// `rtmps://`: RTMP inside TLS, default port 443.
    Rtmps,
}

impl Scheme {
    /// The scheme as written in URLs (`rtmp`, `rtmps`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Rtmp => "rtmp",
            Scheme::Rtmps => "rtmps",
        }
    }

    /// The port used when the URL names none.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Rtmp => 1935,
            Scheme::Rtmps => 443,
        }
    }

    /// Whether the connection is wrapped in TLS.
    pub fn is_tls(self) -> bool {
        self == Scheme::Rtmps
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed RTMP URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtmpUrl {
    /// `rtmp` or `rtmps`.
    pub scheme: Scheme,
    /// Host name or IP address; an IPv6 literal without its brackets (`::1`).
    pub host: String,
    /// The port to connect to: the URL's, or the scheme's default.
    pub port: u16,
    /// Whether the URL names the port (it then appears in `tc_url` too).
    pub explicit_port: bool,
    /// The application for `connect` (`live`, `app/instance`, possibly with a query).
    pub app: String,
    /// The stream name for `publish`/`play`, with its query (`key?token=x`); empty
    /// when the URL names only the application.
    pub stream: String,
    /// The `tcUrl` for `connect`: `scheme://host[:port]/app`.
    pub tc_url: String,
}

/// Why a string is not a usable RTMP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// No `scheme://` prefix.
    MissingScheme,
    /// A scheme other than `rtmp` or `rtmps` (`rtmpt`, `http`, …).
    UnsupportedScheme(String),
    /// Nothing between `://` and the path.
    MissingHost,
    /// A host with characters no host name or address has, or an IPv6 literal
    /// without brackets.
    BadHost(String),
    /// A port that is not a number in 1..=65535.
    BadPort(String),
    /// `user:password@` is not supported in RTMP URLs.
    UserInfo,
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::MissingScheme => f.write_str("not a URL: expected rtmp:// or rtmps://"),
            UrlError::UnsupportedScheme(s) => {
                write!(f, "unsupported scheme {s:?}: expected rtmp or rtmps")
            }
            UrlError::MissingHost => f.write_str("the URL names no host"),
            UrlError::BadHost(h) => write!(f, "bad host {h:?} (IPv6 literals need brackets)"),
            UrlError::BadPort(p) => write!(f, "bad port {p:?}"),
            UrlError::UserInfo => f.write_str("credentials in RTMP URLs are not supported"),
        }
    }
}

impl std::error::Error for UrlError {}

impl RtmpUrl {
    /// Parses `rtmp[s]://host[:port]/app[/instance][/stream]`. Surrounding whitespace
    /// is ignored; the scheme is case-insensitive.
    pub fn parse(input: &str) -> Result<RtmpUrl, UrlError> {
        Self::parse_with(input, split_path)
    }

    /// A URL from a `tcUrl`, whose whole path is the application, and a stream name:
    /// the form of a server's reconnect request, or of an encoder's "server" and
    /// "stream key" settings.
    pub fn from_tc_url(tc_url: &str, stream: &str) -> Result<RtmpUrl, UrlError> {
        let url = Self::parse_with(tc_url, |path| (path.strip_suffix('/').unwrap_or(path), ""))?;
        Ok(url.with_stream(stream))
    }

    fn parse_with(input: &str, split: fn(&str) -> (&str, &str)) -> Result<RtmpUrl, UrlError> {
        let input = input.trim();
        let (scheme, rest) = input.split_once("://").ok_or(UrlError::MissingScheme)?;
        let scheme = if scheme.eq_ignore_ascii_case("rtmp") {
            Scheme::Rtmp
        } else if scheme.eq_ignore_ascii_case("rtmps") {
            Scheme::Rtmps
        } else {
            return Err(UrlError::UnsupportedScheme(scheme.to_owned()));
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, ""),
        };
        let (host, port) = split_authority(authority)?;
        let (app, stream) = split(path);
        let explicit_port = port.is_some();
        let port = port.unwrap_or(scheme.default_port());
        let mut tc_url = format!("{scheme}://{}", bracketed(host));
        if explicit_port {
            tc_url.push_str(&format!(":{port}"));
        }
        tc_url.push('/');
        tc_url.push_str(app);
        Ok(RtmpUrl {
            scheme,
            host: host.to_owned(),
            port,
            explicit_port,
            app: app.to_owned(),
            stream: stream.to_owned(),
            tc_url,
        })
    }

    /// The same server and application with another stream name.
    pub fn with_stream(mut self, stream: impl Into<String>) -> RtmpUrl {
        self.stream = stream.into();
        self
    }

    /// `host:port` for connecting, IPv6 literals in brackets (`[::1]:1935`).
    pub fn authority(&self) -> String {
        format!("{}:{}", bracketed(&self.host), self.port)
    }
}

impl FromStr for RtmpUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RtmpUrl::parse(s)
    }
}

impl fmt::Display for RtmpUrl {
    /// `tcUrl`, then `/stream` if there is one: a URL that parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tc_url)?;
        if !self.stream.is_empty() {
            write!(f, "/{}", self.stream)?;
        }
        Ok(())
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// `host[:port]` or `[v6]:port` into the host (without brackets) and the port, if any.
fn split_authority(authority: &str) -> Result<(&str, Option<u16>), UrlError> {
    if authority.contains('@') {
        return Err(UrlError::UserInfo);
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or_else(|| UrlError::BadHost(authority.to_owned()))?;
        let valid = host.contains(':')
            && host
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.' | '%'));
        if !valid {
            return Err(UrlError::BadHost(authority.to_owned()));
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(UrlError::BadHost(authority.to_owned())),
            },
        }
    } else if authority.matches(':').count() > 1 {
        return Err(UrlError::BadHost(authority.to_owned()));
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    let named = authority.starts_with('[')
        || host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if !named {
        return Err(UrlError::BadHost(host.to_owned()));
    }
    let port = match port {
        None => None,
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port != 0 && text.bytes().all(|b| b.is_ascii_digit()) => Some(port),
            _ => return Err(UrlError::BadPort(text.to_owned())),
        },
    };
    Ok((host, port))
}

/// The path after the authority (without its leading `/`) into app and stream name.
fn split_path(path: &str) -> (&str, &str) {
    let Some(first) = path.find('/') else {
        return (path, "");
    };
    let rest = &path[first + 1..];
    match rest.find('/') {
        // `app/inst/stream`, unless a `:` comes first (`mp4:dir/file`: a play path).
        Some(second) if !rest[..second].contains(':') => {
            (&path[..first + 1 + second], &rest[second + 1..])
        }
        _ => (&path[..first], rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> RtmpUrl {
        RtmpUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    /// (host, port, app, stream, tcUrl)
    fn parts(url: &str) -> (String, u16, String, String, String) {
        let u = parse(url);
        (u.host, u.port, u.app, u.stream, u.tc_url)
    }

    fn expect(url: &str, host: &str, port: u16, app: &str, stream: &str, tc_url: &str) {
        assert_eq!(
            parts(url),
            (
                host.to_owned(),
                port,
                app.to_owned(),
                stream.to_owned(),
                tc_url.to_owned()
            ),
            "{url}"
        );
    }

    #[test]
    fn app_and_stream() {
        expect(
            "rtmp://example.com/live/key",
            "example.com",
            1935,
            "live",
            "key",
            "rtmp://example.com/live",
        );
        expect(
            "rtmp://127.0.0.1:1936/live/key",
            "127.0.0.1",
            1936,
            "live",
            "key",
            "rtmp://127.0.0.1:1936/live",
        );
    }

    #[test]
    fn default_ports_and_explicit_ports_in_tc_url() {
        let u = parse("rtmps://a.rtmp.youtube.com/live2/xxxx-yyyy");
        assert_eq!(
            (u.scheme, u.port, u.explicit_port),
            (Scheme::Rtmps, 443, false)
        );
        assert_eq!(u.tc_url, "rtmps://a.rtmp.youtube.com/live2");
        assert!(u.scheme.is_tls());
        let u = parse("rtmp://host:1935/live/key");
        assert_eq!((u.port, u.explicit_port), (1935, true));
        assert_eq!(
            u.tc_url, "rtmp://host:1935/live",
            "kept as the user wrote it"
        );
        assert_eq!(parse("RTMPS://Host/app/k").scheme, Scheme::Rtmps);
        assert_eq!(parse("rtmps://h:8443/a/k").authority(), "h:8443");
    }

    #[test]
    fn ipv6_literals() {
        expect(
            "rtmp://[::1]:1935/app/key",
            "::1",
            1935,
            "app",
            "key",
            "rtmp://[::1]:1935/app",
        );
        let u = parse("rtmps://[2001:db8::7]/live/k");
        assert_eq!((u.host.as_str(), u.port), ("2001:db8::7", 443));
        assert_eq!(u.tc_url, "rtmps://[2001:db8::7]/live");
        assert_eq!(u.authority(), "[2001:db8::7]:443");
        assert_eq!(
            RtmpUrl::parse("rtmp://::1/app/key"),
            Err(UrlError::BadHost("::1".into())),
            "unbracketed IPv6"
        );
        assert!(matches!(
            RtmpUrl::parse("rtmp://[::1/app/key"),
            Err(UrlError::BadHost(_))
        ));
        assert!(matches!(
            RtmpUrl::parse("rtmp://[::1]x/app/key"),
            Err(UrlError::BadHost(_))
        ));
        assert!(matches!(
            RtmpUrl::parse("rtmp://[example.com]/app/key"),
            Err(UrlError::BadHost(_))
        ));
    }

    #[test]
    fn application_instances() {
        expect(
            "rtmp://host/app/inst/key",
            "host",
            1935,
            "app/inst",
            "key",
            "rtmp://host/app/inst",
        );
        // Everything past the instance belongs to the stream name (FFmpeg's split).
        expect(
            "rtmp://host/a/b/c/d",
            "host",
            1935,
            "a/b",
            "c/d",
            "rtmp://host/a/b",
        );
        // A play path with a prefix is not an instance.
        expect(
            "rtmp://host/vod/mp4:dir/file.mp4",
            "host",
            1935,
            "vod",
            "mp4:dir/file.mp4",
            "rtmp://host/vod",
        );
    }

    #[test]
    fn queries_stay_with_their_part() {
        expect(
            "rtmp://host/live/key?token=x&e=1",
            "host",
            1935,
            "live",
            "key?token=x&e=1",
            "rtmp://host/live",
        );
        expect(
            "rtmp://host/app?auth=abc/key",
            "host",
            1935,
            "app?auth=abc",
            "key",
            "rtmp://host/app?auth=abc",
        );
        expect(
            "rtmp://host/app/inst?x=1/key?t=2",
            "host",
            1935,
            "app/inst?x=1",
            "key?t=2",
            "rtmp://host/app/inst?x=1",
        );
        expect(
            "rtmp://host/live/key?sig=a%2Fb",
            "host",
            1935,
            "live",
            "key?sig=a%2Fb",
            "rtmp://host/live",
        );
    }

    #[test]
    fn app_only_and_empty_parts() {
        expect(
            "rtmp://host/live",
            "host",
            1935,
            "live",
            "",
            "rtmp://host/live",
        );
        expect(
            "rtmp://host/live/",
            "host",
            1935,
            "live",
            "",
            "rtmp://host/live",
        );
        expect(
            "rtmp://host/a/b/",
            "host",
            1935,
            "a/b",
            "",
            "rtmp://host/a/b",
        );
        expect("rtmp://host", "host", 1935, "", "", "rtmp://host/");
        expect("rtmp://host/", "host", 1935, "", "", "rtmp://host/");
        expect(
            "  rtmp://host/live/key\n",
            "host",
            1935,
            "live",
            "key",
            "rtmp://host/live",
        );
    }

    #[test]
    fn with_stream_and_display_round_trip() {
        let u = parse("rtmp://host:1940/live").with_stream("other?x=1");
        assert_eq!(u.to_string(), "rtmp://host:1940/live/other?x=1");
        for url in [
            "rtmp://host/live/key",
            "rtmps://[::1]:8443/app/inst/key?t=1",
            "rtmp://host/live",
            "rtmp://h/vod/mp4:a/b.mp4",
        ] {
            assert_eq!(parse(url).to_string(), url);
            assert_eq!(parse(&parse(url).to_string()), parse(url));
        }
        assert_eq!("rtmp://h/a/k".parse::<RtmpUrl>(), Ok(parse("rtmp://h/a/k")));
    }

    #[test]
    fn from_tc_url_keeps_the_whole_path_as_app() {
        let u = RtmpUrl::from_tc_url("rtmp://host:1940/app/inst", "key?t=1").unwrap();
        assert_eq!((u.app.as_str(), u.stream.as_str()), ("app/inst", "key?t=1"));
        assert_eq!(u.tc_url, "rtmp://host:1940/app/inst");
        assert_eq!(u.to_string(), "rtmp://host:1940/app/inst/key?t=1");
        let u = RtmpUrl::from_tc_url("rtmps://[::1]/live/", "k").unwrap();
        assert_eq!((u.app.as_str(), u.port), ("live", 443));
        assert_eq!(
            RtmpUrl::from_tc_url("live", "k"),
            Err(UrlError::MissingScheme)
        );
    }

    #[test]
    fn malformed_urls_are_errors() {
        assert_eq!(
            RtmpUrl::parse("host/live/key"),
            Err(UrlError::MissingScheme)
        );
        assert_eq!(
            RtmpUrl::parse("http://host/live/key"),
            Err(UrlError::UnsupportedScheme("http".into()))
        );
        assert_eq!(
            RtmpUrl::parse("rtmpt://host/live/key"),
            Err(UrlError::UnsupportedScheme("rtmpt".into()))
        );
        assert_eq!(
            RtmpUrl::parse("rtmp:///live/key"),
            Err(UrlError::MissingHost)
        );
        assert_eq!(
            RtmpUrl::parse("rtmp://:1935/live"),
            Err(UrlError::MissingHost)
        );
        for port in ["0", "65536", "x", "", "+1", "-1"] {
            assert_eq!(
                RtmpUrl::parse(&format!("rtmp://host:{port}/live/key")),
                Err(UrlError::BadPort(port.into())),
                "port {port:?}"
            );
        }
        assert_eq!(
            RtmpUrl::parse("rtmp://user:pw@host/live/key"),
            Err(UrlError::UserInfo)
        );
        assert!(matches!(
            RtmpUrl::parse("rtmp://ho st/live"),
            Err(UrlError::BadHost(_))
        ));
        assert!(matches!(
            RtmpUrl::parse("rtmp://host?x=1"),
            Err(UrlError::BadHost(_))
        ));
    }

    #[test]
    fn never_panics_on_odd_input() {
        let pieces = [
            "rtmp", "rtmps", "://", ":", "/", "[", "]", "?", "@", "::1", "h", "9", "%", "é", " ",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in pieces {
                        let _ = RtmpUrl::parse(&format!("{a}{b}{c}{d}"));
                    }
                }
            }
        }
    }
}
