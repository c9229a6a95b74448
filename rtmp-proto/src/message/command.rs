//! AMF0 command messages and the parameters of connect, publish and play.

use super::MessageError;
use crate::amf::{self, Amf0Value, Amf3Value, AmfLimits, AmfObject};
use crate::enhanced::ClientCapabilities;
use bytes::{Bytes, BytesMut};

/// A command message: name, transaction id, command object, then arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Command name (`connect`, `publish`, `_result`, `onStatus`, …).
    pub name: String,
    /// Transaction id; 0 for commands that expect no answer.
    pub transaction_id: f64,
    /// The command object (often null).
    pub command_object: Amf0Value,
    /// Remaining arguments.
    pub arguments: Vec<Amf0Value>,
}

/// The `level` of an `onStatus` info object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusLevel {
    /// Success or information.
    Status,
    /// A warning.
    Warning,
    /// A failure.
    Error,
}

impl StatusLevel {
    fn as_str(self) -> &'static str {
        match self {
            StatusLevel::Status => "status",
            StatusLevel::Warning => "warning",
            StatusLevel::Error => "error",
        }
    }
}

impl Command {
    /// Decodes a command from an AMF0 payload (type 20, or type 17 after its format byte).
    ///
    /// Lenient like real servers: a transaction id that is not a number is taken as 0,
    /// and a missing command object as null.
    pub fn decode(payload: &[u8], limits: &AmfLimits) -> Result<Self, MessageError> {
        let mut values = amf::decode_all(payload, limits)?.into_iter();
        let name = match values.next() {
            Some(v) => v.as_str().ok_or(MessageError::MalformedCommand)?.to_owned(),
            None => return Err(MessageError::MalformedCommand),
        };
        let transaction_id = values.next().and_then(|v| v.as_number()).unwrap_or(0.0);
        let command_object = values.next().unwrap_or(Amf0Value::Null);
        Ok(Command {
            name,
            transaction_id,
            command_object,
            arguments: values.collect(),
        })
    }

    /// Encodes the command as an AMF0 payload.
    pub fn encode(&self) -> Bytes {
        let name = Amf0Value::String(self.name.clone());
        let txn = Amf0Value::Number(self.transaction_id);
        let len = amf::encoded_len(&name)
            + amf::encoded_len(&txn)
            + amf::encoded_len(&self.command_object)
            + self.arguments.iter().map(amf::encoded_len).sum::<usize>();
        let mut out = BytesMut::with_capacity(len);
        amf::encode_value(&name, &mut out);
        amf::encode_value(&txn, &mut out);
        amf::encode_value(&self.command_object, &mut out);
        amf::encode_all(&self.arguments, &mut out);
        out.freeze()
    }

    /// The argument at `index` (after the command object), if present.
    pub fn argument(&self, index: usize) -> Option<&Amf0Value> {
        self.arguments.get(index)
    }

    /// A `_result` answer to the transaction `transaction_id`.
    pub fn result(
        transaction_id: f64,
        command_object: Amf0Value,
        arguments: Vec<Amf0Value>,
    ) -> Self {
        Command {
            name: "_result".into(),
            transaction_id,
            command_object,
            arguments,
        }
    }

    /// An `_error` answer to the transaction `transaction_id`.
    pub fn error(transaction_id: f64, info: AmfObject) -> Self {
        Command {
            name: "_error".into(),
            transaction_id,
            command_object: Amf0Value::Null,
            arguments: vec![info.into()],
        }
    }

    /// An `onStatus` command with the info object peers read (`level`, `code`, `description`).
    pub fn on_status(level: StatusLevel, code: &str, description: &str) -> Self {
        Self::status_named("onStatus", level, code, description)
    }

    /// A status command under another name (`onFCPublish`, `onFCUnpublish`).
    pub fn status_named(name: &str, level: StatusLevel, code: &str, description: &str) -> Self {
        Command {
            name: name.into(),
            transaction_id: 0.0,
            command_object: Amf0Value::Null,
            arguments: vec![Self::status_info(level, code, description).into()],
        }
    }

    /// The info object of a status message.
    pub fn status_info(level: StatusLevel, code: &str, description: &str) -> AmfObject {
        AmfObject::new()
            .with("level", level.as_str())
            .with("code", code)
            .with("description", description)
    }
}

/// Splits a stream name into the name that keys the stream and its query string:
/// `"key?token=abc"` → `("key", Some("token=abc"))`.
pub fn split_stream_name(name: &str) -> (&str, Option<&str>) {
    match name.split_once('?') {
        Some((name, query)) => (name, Some(query)),
        None => (name, None),
    }
}

/// What a client asked for in `connect`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectParams {
    /// Application name, without any query string (`live`, `live/inst`, or empty).
    pub app: String,
    /// Query string that came with the app or the tcUrl (`token=…`), for auth.
    pub query: Option<String>,
    /// The URL the client connected to, as given.
    pub tc_url: Option<String>,
    /// Client identification (`FMLE/3.0 (compatible; …)`, `LNX 9,0,124,2`).
    pub flash_ver: Option<String>,
    /// URL of the SWF that made the connection.
    pub swf_url: Option<String>,
    /// URL of the web page the SWF was loaded from.
    pub page_url: Option<String>,
    /// AMF encoding the client uses: 0 (AMF0) or 3 (AMF3).
    pub object_encoding: f64,
    /// Every property of the command object, in the order sent.
    pub properties: AmfObject,
    /// Optional user arguments after the command object.
    pub arguments: Vec<Amf0Value>,
    /// What the client announced of Enhanced RTMP; `None` for a legacy connect.
    pub enhanced: Option<ClientCapabilities>,
}

impl ConnectParams {
    /// Reads the parameters of a `connect` command, accepting the quirks encoders send:
    /// lower-case keys, an ECMA array instead of an object, a quoted tcUrl, a query
    /// string on the app, and an app missing but derivable from the tcUrl.
    pub fn from_command(command: &Command) -> Self {
        let properties = properties_of(&command.command_object);
        let text = |key: &str| {
            properties
                .get_ignore_case(key)
                .and_then(Amf0Value::as_str)
                .map(|s| s.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
        };
        let tc_url = text("tcUrl");
        let raw_app = text("app")
            .filter(|app| !app.is_empty())
            .or_else(|| tc_url.as_deref().map(app_from_tc_url))
            .unwrap_or_default();
        let (app, mut query) = match raw_app.split_once('?') {
            Some((app, query)) => (app.to_owned(), Some(query.to_owned())),
            None => (raw_app, None),
        };
        if query.is_none() {
            query = tc_url
                .as_deref()
                .and_then(|url| url.split_once('?'))
                .map(|(_, q)| q.to_owned());
        }
        // `_definst_` is FMS's name for the default instance: `live/_definst_` is `live`.
        let app = app.trim_matches('/');
        let app = app.strip_suffix("/_definst_").unwrap_or(app);
        ConnectParams {
            app: app.to_owned(),
            query,
            flash_ver: text("flashVer"),
            swf_url: text("swfUrl"),
            page_url: text("pageUrl"),
            object_encoding: properties
                .get_ignore_case("objectEncoding")
                .and_then(Amf0Value::as_number)
                .unwrap_or(0.0),
            tc_url,
            arguments: command.arguments.clone(),
            enhanced: ClientCapabilities::from_connect(&properties),
            properties,
        }
    }
}

/// The properties of a command object, whether AMF0 (object or ECMA array) or an
/// AMF3 object behind the 0x11 switch (its values stay AMF3, which the accessors read).
fn properties_of(object: &Amf0Value) -> AmfObject {
    match object {
        Amf0Value::Amf3(Amf3Value::Object(amf3)) => AmfObject(
            amf3.sealed
                .iter()
                .chain(&amf3.dynamic)
                .map(|(key, value)| (key.clone(), Amf0Value::Amf3(value.clone())))
                .collect(),
        ),
        other => other.as_object().cloned().unwrap_or_default(),
    }
}

/// The path of an `rtmp://host[:port]/app[/inst][?query]` URL: `app[/inst][?query]`.
fn app_from_tc_url(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .split_once('/')
        .map_or(String::new(), |(_, path)| path.to_owned())
}

/// What a client asked for in `publish`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishParams {
    /// The application the connection was made to.
    pub app: String,
    /// The stream name without its query string: the key streams are routed by.
    pub stream_key: String,
    /// The query string after `?` in the stream name, for auth.
    pub query: Option<String>,
    /// Publishing type: `live`, `record` or `append`.
    pub publish_type: String,
    /// Message stream id the publish was sent on.
    pub stream_id: u32,
}

impl PublishParams {
    /// Reads `publish(name, type)` sent on message stream `stream_id` of a connection to `app`.
    pub fn from_command(
        command: &Command,
        app: &str,
        stream_id: u32,
    ) -> Result<Self, MessageError> {
        let name = command.argument(0).and_then(Amf0Value::as_str).ok_or(
            MessageError::MissingArgument {
                command: "publish",
                argument: "stream name",
            },
        )?;
        let (stream_key, query) = split_stream_name(name);
        Ok(PublishParams {
            app: app.to_owned(),
            stream_key: stream_key.to_owned(),
            query: query.map(str::to_owned),
            publish_type: command
                .argument(1)
                .and_then(Amf0Value::as_str)
                .unwrap_or("live")
                .to_owned(),
            stream_id,
        })
    }
}

/// What a client asked for in `play`.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayParams {
    /// The application the connection was made to.
    pub app: String,
    /// The stream name without its query string.
    pub stream_key: String,
    /// The query string after `?` in the stream name, for auth.
    pub query: Option<String>,
    /// Start: -2 live or recorded, -1 live only, >= 0 a position in seconds.
    pub start: f64,
    /// Duration in seconds; -1 plays to the end.
    pub duration: f64,
    /// Whether to flush any previous playlist.
    pub reset: bool,
    /// Message stream id the play was sent on.
    pub stream_id: u32,
}

impl PlayParams {
    /// Reads `play(name, start, duration, reset)` sent on message stream `stream_id`.
    pub fn from_command(
        command: &Command,
        app: &str,
        stream_id: u32,
    ) -> Result<Self, MessageError> {
        let name = command.argument(0).and_then(Amf0Value::as_str).ok_or(
            MessageError::MissingArgument {
                command: "play",
                argument: "stream name",
            },
        )?;
        let (stream_key, query) = split_stream_name(name);
        Ok(PlayParams {
            app: app.to_owned(),
            stream_key: stream_key.to_owned(),
            query: query.map(str::to_owned),
            start: command
                .argument(1)
                .and_then(Amf0Value::as_number)
                .unwrap_or(-2.0),
            duration: command
                .argument(2)
                .and_then(Amf0Value::as_number)
                .unwrap_or(-1.0),
            reset: command
                .argument(3)
                .and_then(Amf0Value::as_bool)
                .unwrap_or(true),
            stream_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amf::Amf3Object;

    fn connect(object: Amf0Value) -> Command {
        Command {
            name: "connect".into(),
            transaction_id: 1.0,
            command_object: object,
            arguments: vec![],
        }
    }

    #[test]
    fn commands_round_trip_through_amf0() {
        let command = connect(
            AmfObject::new()
                .with("app", "live")
                .with("tcUrl", "rtmp://127.0.0.1:1935/live")
                .into(),
        );
        let bytes = command.encode();
        assert_eq!(Command::decode(&bytes, &AmfLimits::default()), Ok(command));
    }

    #[test]
    fn ffmpeg_connect_parameters() {
        let params = ConnectParams::from_command(&connect(
            AmfObject::new()
                .with("app", "live")
                .with("type", "nonprivate")
                .with("flashVer", "FMLE/3.0 (compatible; Lavf61.1.100)")
                .with("tcUrl", "rtmp://127.0.0.1:1935/live")
                .into(),
        ));
        assert_eq!(params.app, "live");
        assert_eq!(params.tc_url.as_deref(), Some("rtmp://127.0.0.1:1935/live"));
        assert_eq!(
            params.flash_ver.as_deref(),
            Some("FMLE/3.0 (compatible; Lavf61.1.100)")
        );
        assert_eq!(params.query, None);
        assert_eq!(params.object_encoding, 0.0);
    }

    #[test]
    fn connect_quirks_lower_case_keys_ecma_array_quoted_url_and_app_query() {
        let params = ConnectParams::from_command(&connect(Amf0Value::EcmaArray(
            AmfObject::new()
                .with("app", "live?token=abc")
                .with("tcurl", "\"rtmp://host/live?token=abc\"")
                .with("flashver", "LNX 9,0,124,2"),
        )));
        assert_eq!(params.app, "live");
        assert_eq!(params.query.as_deref(), Some("token=abc"));
        assert_eq!(params.tc_url.as_deref(), Some("rtmp://host/live?token=abc"));
        assert_eq!(params.flash_ver.as_deref(), Some("LNX 9,0,124,2"));
    }

    #[test]
    fn connect_object_in_amf3_is_read() {
        let object = Amf3Object {
            class_name: String::new(),
            sealed: vec![],
            dynamic: vec![
                ("app".into(), "live".into()),
                ("tcUrl".into(), "rtmp://host/live".into()),
                ("objectEncoding".into(), 3.into()),
            ],
        };
        let params =
            ConnectParams::from_command(&connect(Amf0Value::Amf3(Amf3Value::Object(object))));
        assert_eq!(params.app, "live");
        assert_eq!(params.tc_url.as_deref(), Some("rtmp://host/live"));
        assert_eq!(params.object_encoding, 3.0);
    }

    #[test]
    fn connect_without_app_takes_it_from_tc_url() {
        let params = ConnectParams::from_command(&connect(
            AmfObject::new()
                .with("tcUrl", "rtmp://host:1935/live/inst")
                .into(),
        ));
        assert_eq!(params.app, "live/inst");
        let params = ConnectParams::from_command(&connect(Amf0Value::Null));
        assert_eq!(params.app, "");
    }

    #[test]
    fn stream_names_split_off_their_query() {
        assert_eq!(
            split_stream_name("key?token=1&x=2"),
            ("key", Some("token=1&x=2"))
        );
        assert_eq!(split_stream_name("key"), ("key", None));
        let publish = Command {
            name: "publish".into(),
            transaction_id: 5.0,
            command_object: Amf0Value::Null,
            arguments: vec!["key?token=1".into(), "live".into()],
        };
        let params = PublishParams::from_command(&publish, "live", 1).unwrap();
        assert_eq!(params.stream_key, "key");
        assert_eq!(params.query.as_deref(), Some("token=1"));
        assert_eq!(params.publish_type, "live");
    }

    #[test]
    fn publish_without_a_name_is_an_error() {
        let publish = Command {
            name: "publish".into(),
            transaction_id: 5.0,
            command_object: Amf0Value::Null,
            arguments: vec![],
        };
        assert!(PublishParams::from_command(&publish, "live", 1).is_err());
    }

    #[test]
    fn non_number_transaction_ids_are_taken_as_zero() {
        let mut bytes = BytesMut::new();
        amf::encode_all(
            &["play".into(), "1".into(), Amf0Value::Null, "key".into()],
            &mut bytes,
        );
        let command = Command::decode(&bytes, &AmfLimits::default()).unwrap();
        assert_eq!(command.transaction_id, 0.0);
        assert_eq!(command.argument(0).and_then(Amf0Value::as_str), Some("key"));
    }
}
