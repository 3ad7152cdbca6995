//! annals' JSON codec: one small reader and writer for every type the core puts on the wire
//! or in storage, on the server and in the browser package alike.
//!
//! Each type reads and writes itself through [`FromJson`] and [`ToJson`]; a domain's types get
//! both from `#[derive(Json)]` (and `Command`, `Event`), the engine's own mostly from
//! `json_struct!`. Nothing here is generic over a reader or writer, so a type costs one small
//! function each way: that keeps the WebAssembly module small, where a serde derive costs
//! kilobytes per type. Types that the server also hands to serde get
//! `Serialize`/`Deserialize` impls that go through this codec
//! ([`serde_via_json!`](crate::serde_via_json)), so there is one wire format by construction.
//!
//! The format is plain JSON: a struct is an object whose unknown fields are ignored; an
//! `Option` field that is `None` is left out and reads back as `None` when absent; a missing
//! field of any other type is an error unless the struct names a default for it. Integers are
//! exact (every integer type up to 64 bits, checked to fit); floats are written in their
//! shortest form that reads back the same (`null` for NaN and the infinities); nesting is
//! limited to [`MAX_DEPTH`] levels.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;

use uuid::Uuid;

/// How deeply arrays and objects may nest before the reader refuses the text.
pub const MAX_DEPTH: usize = 128;

/// Why text could not be read as the type asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with a sentence of its own (no position).
    pub fn custom(message: impl Into<String>) -> Self {
        Error { message: message.into() }
    }

    /// A struct lacks a field it needs.
    #[cold]
    pub fn missing(field: &str) -> Self {
        Error::custom(format!("missing field `{field}`"))
    }

    /// A struct has a field twice.
    #[cold]
    pub fn duplicate(field: &str) -> Self {
        Error::custom(format!("duplicate field `{field}`"))
    }

    /// Whether the text was not JSON at all (rather than JSON of the wrong shape).
    pub fn is_syntax(&self) -> bool {
        self.message.starts_with("syntax:")
    }

    /// The sentence, without the `syntax:` mark.
    pub fn message(&self) -> &str {
        self.message.strip_prefix("syntax: ").unwrap_or(&self.message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

/// A value that writes itself as JSON.
pub trait ToJson {
    /// Appends this value's JSON to `w`.
    fn write_json(&self, w: &mut Writer);

    /// Whether a struct field holding this value is left out (`None`).
    #[doc(hidden)]
    fn is_absent(&self) -> bool {
        false
    }
}

/// A value that reads itself from JSON.
pub trait FromJson: Sized {
    /// Reads one value at the reader's position.
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error>;

    /// The value of a struct field that is absent from the text: an error, except for `Option`.
    #[doc(hidden)]
    fn absent(field: &str) -> Result<Self, Error> {
        Err(Error::missing(field))
    }
}

/// Writes `value` as JSON text.
pub fn to_string<T: ToJson + ?Sized>(value: &T) -> String {
    let mut w = Writer::default();
    value.write_json(&mut w);
    w.finish()
}

/// Reads a whole text as one `T`; only white space may follow the value.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, Error> {
    let mut r = Reader::new(text);
    let value = T::read_json(&mut r)?;
    r.end()?;
    Ok(value)
}

/// Reads a whole text with `read`; only white space may follow what it reads.
pub fn from_str_with<T>(
    text: &str,
    read: &mut dyn FnMut(&mut Reader<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut r = Reader::new(text);
    let value = read(&mut r)?;
    r.end()?;
    Ok(value)
}

/// JSON text kept as it is: a payload whose type is not known yet, or a row already written.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// Checks that `text` is one JSON value and keeps it.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        let mut r = Reader::new(&text);
        r.skip()?;
        r.end()?;
        Ok(RawJson(text.into_boxed_str()))
    }

    /// `null`.
    pub fn null() -> Self {
        RawJson("null".into())
    }

    /// Text this crate wrote itself, so known to be JSON.
    pub(crate) fn trusted(text: String) -> Self {
        RawJson(text.into_boxed_str())
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for RawJson {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The JSON text of `value`, kept as [`RawJson`].
pub fn to_raw<T: ToJson + ?Sized>(value: &T) -> RawJson {
    RawJson::trusted(to_string(value))
}

/// Builds JSON text. Separators are placed by looking at the last byte written, so writers of
/// structs and sequences only say where keys and elements start.
#[derive(Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    /// A writer whose buffer starts with room for `bytes`.
    pub fn with_capacity(bytes: usize) -> Self {
        Writer { out: String::with_capacity(bytes) }
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }

    fn separate(&mut self) {
        if !matches!(self.out.as_bytes().last(), None | Some(b'{' | b'[' | b':')) {
            self.out.push(',');
        }
    }

    /// `{`.
    pub fn begin_object(&mut self) {
        self.separate();
        self.out.push('{');
    }

    /// `}`.
    pub fn end_object(&mut self) {
        self.out.push('}');
    }

    /// `[`.
    pub fn begin_array(&mut self) {
        self.separate();
        self.out.push('[');
    }

    /// `]`.
    pub fn end_array(&mut self) {
        self.out.push(']');
    }

    /// `"name":`, then the caller writes the value.
    pub fn key(&mut self, name: &str) {
        self.string(name);
        self.out.push(':');
    }

    /// `"name": value`, or nothing when the value is absent (`None`).
    pub fn field<T: ToJson + ?Sized>(&mut self, name: &str, value: &T) {
        if !value.is_absent() {
            self.key(name);
            value.write_json(self);
        }
    }

    /// Text that is already JSON.
    pub fn raw(&mut self, json: &str) {
        self.separate();
        self.out.push_str(json);
    }

    /// A string, escaped as JSON requires.
    pub fn string(&mut self, value: &str) {
        self.separate();
        push_string(&mut self.out, value);
    }

    /// An unsigned integer.
    pub fn unsigned(&mut self, value: u64) {
        self.separate();
        push_unsigned(&mut self.out, value);
    }

    /// A signed integer.
    pub fn signed(&mut self, value: i64) {
        self.separate();
        if value < 0 {
            self.out.push('-');
        }
        push_unsigned(&mut self.out, value.unsigned_abs());
    }

    /// A floating-point number in its shortest form that reads back the same; `null` for NaN
    /// and the infinities, which JSON cannot hold.
    pub fn float(&mut self, value: f64) {
        self.float_text(value, &value, &value);
    }

    /// `value` through its shortest round-trip form: plain digits for everyday magnitudes,
    /// an exponent for tiny or huge ones (`1e-9`, `1e300`).
    fn float_text(&mut self, value: f64, plain: &dyn fmt::Display, exp: &dyn fmt::LowerExp) {
        use fmt::Write as _;
        if !value.is_finite() {
            return self.null();
        }
        self.separate();
        let magnitude = value.abs();
        let _ = if magnitude == 0.0 || (1e-6..1e16).contains(&magnitude) {
            write!(self.out, "{plain}")
        } else {
            write!(self.out, "{exp:e}")
        };
    }

    /// `true` or `false`.
    pub fn bool(&mut self, value: bool) {
        self.raw(if value { "true" } else { "false" });
    }

    /// `null`.
    pub fn null(&mut self) {
        self.raw("null");
    }
}

/// Appends `value` to `out` as a JSON string, escaped as JSON requires (and as serde_json
/// escapes: quotes, backslashes and control characters, nothing else). For writers of
/// envelopes by hand, such as the server's, that keep to the codec's output.
pub fn push_string(out: &mut String, value: &str) {
    out.push('"');
    if !value.bytes().any(|byte| byte == b'"' || byte == b'\\' || byte < 0x20) {
        // Most text has nothing to escape: copied as it is.
        out.push_str(value);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (index, byte) in value.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(between(value, start, index));
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = index + 1;
    }
    out.push_str(between(value, start, value.len()));
    out.push('"');
}

/// `text[start..end]`, where the positions are on character boundaries (they are at ASCII
/// delimiters or the ends), without the slicing panic: `str` indexing would bring the
/// formatting of its message (Unicode tables included) into the WebAssembly module.
fn between(text: &str, start: usize, end: usize) -> &str {
    text.get(start..end).unwrap_or_default()
}

/// The value of a JSON number's text (without its sign) when it is a whole number, written
/// as digits or with a fraction and exponent that come to one (`12`, `12.0`, `1.2e1`): JSON
/// does not tell them apart, and neither does a JSON Schema's `integer`.
fn integral(number: &[u8]) -> Result<u64, &'static str> {
    // Digits alone, as nearly every integer is written: one pass.
    let mut value: u64 = 0;
    for &byte in number {
        if !byte.is_ascii_digit() {
            return integral_written_otherwise(number);
        }
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(byte - b'0')))
            .ok_or(OUT_OF_RANGE)?;
    }
    Ok(value)
}

/// [`integral`] of a number written with a fraction or an exponent.
fn integral_written_otherwise(number: &[u8]) -> Result<u64, &'static str> {
    let (mantissa, exponent) = match number.iter().position(|b| matches!(b, b'e' | b'E')) {
        Some(at) => {
            (number.get(..at).unwrap_or_default(), number.get(at + 1..).unwrap_or_default())
        }
        None => (number, &[][..]),
    };
    let mut scale: i64 = 0;
    let mut negative_exponent = false;
    for &byte in exponent {
        match byte {
            b'-' => negative_exponent = true,
            b'+' => {}
            digit => scale = scale.saturating_mul(10).saturating_add(i64::from(digit - b'0')),
        }
    }
    if negative_exponent {
        scale = -scale;
    }
    let point = mantissa.iter().position(|&b| b == b'.');
    if let Some(point) = point {
        scale = scale.saturating_sub((mantissa.len() - point - 1) as i64);
    }
    let digits = mantissa.iter().filter(|&&b| b != b'.');
    // The digits past the point that the scale leaves must all be zeros.
    let kept = match usize::try_from(scale.saturating_neg()) {
        Ok(dropped) => (mantissa.len() - usize::from(point.is_some())).saturating_sub(dropped),
        Err(_) => usize::MAX,
    };
    let mut value: u64 = 0;
    for (index, &digit) in digits.enumerate() {
        let digit = u64::from(digit - b'0');
        if index >= kept {
            if digit != 0 {
                return Err("invalid type: expected an integer, not a fraction");
            }
            continue;
        }
        value = value.checked_mul(10).and_then(|v| v.checked_add(digit)).ok_or(OUT_OF_RANGE)?;
    }
    if value != 0 {
        for _ in 0..scale.max(0) {
            value = value.checked_mul(10).ok_or(OUT_OF_RANGE)?;
        }
    }
    Ok(value)
}

const OUT_OF_RANGE: &str = "number out of range";

/// Appends `value` to `out` in decimal, without a formatter.
pub fn push_unsigned(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&digit| char::from(digit)));
}

/// Reads JSON text from the front, one value at a time.
pub struct Reader<'a> {
    text: &'a str,
    at: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Reader { text, at: 0, depth: 0 }
    }

    /// An error at the reader's position, in the words serde_json used.
    #[cold]
    pub fn error(&self, what: &str) -> Error {
        // The position is always on a character's first byte; should it ever not be, the
        // error still names the character it is in rather than slicing inside it.
        let mut end = self.at.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let before = between(self.text, 0, end);
        let line = before.matches('\n').count() + 1;
        // 1-based, of the character the reader stopped at; at the end, of the last one.
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1)
            + usize::from(self.at < self.text.len());
        Error::custom(format!("{what} at line {line} column {column}"))
    }

    #[cold]
    fn syntax(&self, what: &str) -> Error {
        let mut error = self.error(what);
        error.message.insert_str(0, "syntax: ");
        error
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte that is not white space, without taking it.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.bytes().get(self.at) {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), Error> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else if self.peek().is_none() {
            Err(self.syntax("EOF while parsing a value"))
        } else {
            Err(self.syntax(what))
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), Error> {
        if self.bytes()[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(())
        } else {
            Err(self.syntax("expected value"))
        }
    }

    /// Checks that only white space is left.
    pub fn end(&mut self) -> Result<(), Error> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.syntax("trailing characters")),
        }
    }

    /// Whether the next value is `null`; takes it if so.
    pub fn null(&mut self) -> Result<bool, Error> {
        if self.peek() == Some(b'n') {
            self.literal("null")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Reads an object, calling `each` with every key; `each` must read the key's value.
    pub fn object(
        &mut self,
        each: &mut dyn FnMut(&mut Reader<'a>, &str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        match self.peek() {
            Some(b'{') => self.at += 1,
            Some(_) => return Err(self.error("invalid type: expected an object")),
            None => return Err(self.syntax("EOF while parsing a value")),
        }
        self.nest()?;
        if self.peek() == Some(b'}') {
            self.at += 1;
        } else {
            loop {
                if self.peek() != Some(b'"') {
                    return Err(self.syntax("key must be a string"));
                }
                let key = self.text_value()?;
                self.expect(b':', "expected `:`")?;
                each(self, &key)?;
                match self.peek() {
                    Some(b',') => self.at += 1,
                    Some(b'}') => {
                        self.at += 1;
                        break;
                    }
                    None => return Err(self.syntax("EOF while parsing an object")),
                    Some(_) => return Err(self.syntax("expected `,` or `}`")),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Reads an array, calling `each` for every element; `each` must read the element.
    pub fn array(
        &mut self,
        each: &mut dyn FnMut(&mut Reader<'a>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        match self.peek() {
            Some(b'[') => self.at += 1,
            Some(_) => return Err(self.error("invalid type: expected an array")),
            None => return Err(self.syntax("EOF while parsing a value")),
        }
        self.nest()?;
        if self.peek() == Some(b']') {
            self.at += 1;
        } else {
            loop {
                each(self)?;
                match self.peek() {
                    Some(b',') => self.at += 1,
                    Some(b']') => {
                        self.at += 1;
                        break;
                    }
                    None => return Err(self.syntax("EOF while parsing a list")),
                    Some(_) => return Err(self.syntax("expected `,` or `]`")),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn nest(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.syntax("recursion limit exceeded"));
        }
        Ok(())
    }

    /// Reads a string.
    pub fn text_value(&mut self) -> Result<Cow<'a, str>, Error> {
        match self.peek() {
            Some(b'"') => self.at += 1,
            Some(_) => return Err(self.error("invalid type: expected a string")),
            None => return Err(self.syntax("EOF while parsing a value")),
        }
        let bytes = self.bytes();
        let start = self.at;
        // The common case: no escapes, borrowed as it stands.
        while let Some(&byte) = bytes.get(self.at) {
            match byte {
                b'"' => {
                    self.at += 1;
                    return Ok(Cow::Borrowed(between(self.text, start, self.at - 1)));
                }
                b'\\' => break,
                0..=0x1f => return Err(self.syntax("control character found in a string")),
                _ => self.at += 1,
            }
        }
        let mut out = String::from(between(self.text, start, self.at));
        loop {
            let Some(&byte) = bytes.get(self.at) else {
                return Err(self.syntax("EOF while parsing a string"));
            };
            match byte {
                b'"' => {
                    self.at += 1;
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    self.at += 1;
                    let Some(&escape) = bytes.get(self.at) else {
                        return Err(self.syntax("EOF while parsing a string"));
                    };
                    // An invalid escape is reported at the character after the backslash,
                    // which may be several bytes long: the reader steps over it only once it
                    // is known to be one of JSON's (all ASCII).
                    if !matches!(
                        escape,
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' | b'u'
                    ) {
                        return Err(self.syntax("invalid escape"));
                    }
                    self.at += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        _ => out.push(self.unicode_escape()?),
                    }
                }
                0..=0x1f => return Err(self.syntax("control character found in a string")),
                _ => {
                    // Copy up to the next quote or backslash at once; the text is UTF-8.
                    let run = bytes[self.at..]
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                        .unwrap_or(bytes.len() - self.at);
                    out.push_str(between(self.text, self.at, self.at + run));
                    self.at += run;
                }
            }
        }
    }

    /// Four hex digits, exactly: no sign, no fewer (`from_str_radix` alone would take `+041`).
    fn hex4(&mut self) -> Result<u32, Error> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self
                .bytes()
                .get(self.at)
                .and_then(|&byte| char::from(byte).to_digit(16))
                .ok_or_else(|| self.syntax("invalid escape"))?;
            value = value * 16 + digit;
            self.at += 1;
        }
        Ok(value)
    }

    fn unicode_escape(&mut self) -> Result<char, Error> {
        let first = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&first) {
            if !self.bytes()[self.at..].starts_with(b"\\u") {
                return Err(self.syntax("lone leading surrogate in hex escape"));
            }
            self.at += 2;
            let second = self.hex4()?;
            if !(0xdc00..0xe000).contains(&second) {
                return Err(self.syntax("lone leading surrogate in hex escape"));
            }
            0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.syntax("invalid unicode code point"))
    }

    /// The text of the number at the reader's position (checked against JSON's grammar).
    fn number_text(&mut self) -> Result<&'a str, Error> {
        self.peek();
        let bytes = self.bytes();
        let start = self.at;
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > from
        };
        let mut at = self.at;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        if bytes.get(at) == Some(&b'0') {
            at += 1;
        } else if !digits(&mut at) {
            return Err(self.syntax("invalid number"));
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if !digits(&mut at) {
                self.at = at;
                return Err(self.syntax("invalid number"));
            }
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if !digits(&mut at) {
                self.at = at;
                return Err(self.syntax("invalid number"));
            }
        }
        self.at = at;
        Ok(between(self.text, start, at))
    }

    fn integer(&mut self) -> Result<(bool, u64), Error> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {}
            Some(_) => return Err(self.error("invalid type: expected an integer")),
            None => return Err(self.syntax("EOF while parsing a value")),
        }
        let start = self.at;
        let text = self.number_text()?;
        let (negative, digits) = match text.strip_prefix('-') {
            Some(digits) => (true, digits),
            None => (false, text),
        };
        integral(digits.as_bytes()).map(|value| (negative, value)).map_err(|message| {
            self.at = start;
            self.error(message)
        })
    }

    /// Reads an integer from 0 to `u64::MAX`.
    pub fn unsigned(&mut self) -> Result<u64, Error> {
        let start = self.at;
        match self.integer()? {
            (true, value) if value > 0 => {
                self.at = start;
                Err(self.error("invalid value: expected an integer of 0 or more"))
            }
            (_, value) => Ok(value),
        }
    }

    /// Reads an integer in `i64`'s range.
    pub fn signed(&mut self) -> Result<i64, Error> {
        let start = self.at;
        let (negative, value) = self.integer()?;
        let signed =
            if negative { 0i64.checked_sub_unsigned(value) } else { i64::try_from(value).ok() };
        signed.ok_or_else(|| {
            self.at = start;
            self.error("number out of range")
        })
    }

    /// Reads a number of any form as text, checked against JSON's grammar.
    pub fn number(&mut self) -> Result<&'a str, Error> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number_text(),
            Some(_) => Err(self.error("invalid type: expected a number")),
            None => Err(self.syntax("EOF while parsing a value")),
        }
    }

    /// Whether the next value is a string (without taking it).
    pub fn at_string(&mut self) -> bool {
        self.peek() == Some(b'"')
    }

    /// Reads `true` or `false`.
    pub fn bool(&mut self) -> Result<bool, Error> {
        match self.peek() {
            Some(b't') => self.literal("true").map(|()| true),
            Some(b'f') => self.literal("false").map(|()| false),
            Some(_) => Err(self.error("invalid type: expected a boolean")),
            None => Err(self.syntax("EOF while parsing a value")),
        }
    }

    /// Passes over one value of any kind, checking that it is JSON.
    pub fn skip(&mut self) -> Result<(), Error> {
        match self.peek() {
            Some(b'{') => self.object(&mut |r, _| r.skip()),
            Some(b'[') => self.array(&mut |r| r.skip()),
            Some(b'"') => self.text_value().map(drop),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number_text().map(drop),
            Some(_) => Err(self.syntax("expected value")),
            None => Err(self.syntax("EOF while parsing a value")),
        }
    }

    /// Passes over one value and returns its text as it stands.
    pub fn raw(&mut self) -> Result<&'a str, Error> {
        self.peek();
        let start = self.at;
        self.skip()?;
        Ok(between(self.text, start, self.at))
    }
}

impl ToJson for RawJson {
    fn write_json(&self, w: &mut Writer) {
        w.raw(&self.0);
    }
}

impl FromJson for RawJson {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(RawJson(r.raw()?.into()))
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, w: &mut Writer) {
        (**self).write_json(w);
    }

    fn is_absent(&self) -> bool {
        (**self).is_absent()
    }
}

impl<T: ToJson + ?Sized> ToJson for Box<T> {
    fn write_json(&self, w: &mut Writer) {
        (**self).write_json(w);
    }
}

impl ToJson for str {
    fn write_json(&self, w: &mut Writer) {
        w.string(self);
    }
}

impl ToJson for String {
    fn write_json(&self, w: &mut Writer) {
        w.string(self);
    }
}

impl FromJson for String {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.text_value().map(Cow::into_owned)
    }
}

impl ToJson for bool {
    fn write_json(&self, w: &mut Writer) {
        w.bool(*self);
    }
}

impl FromJson for bool {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.bool()
    }
}

impl ToJson for u64 {
    fn write_json(&self, w: &mut Writer) {
        w.unsigned(*self);
    }
}

impl FromJson for u64 {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.unsigned()
    }
}

/// Integers narrower than 64 bits: written as such, read as a 64-bit one and checked to fit.
macro_rules! narrow_integers {
    ($($ty:ty => $write:ident, $read:ident, $wide:ty;)*) => {$(
        impl ToJson for $ty {
            fn write_json(&self, w: &mut Writer) {
                w.$write(*self as $wide);
            }
        }

        impl FromJson for $ty {
            fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
                let start = r.at;
                <$ty>::try_from(r.$read()?).map_err(|_| {
                    r.at = start;
                    r.error("number out of range")
                })
            }
        }
    )*};
}

narrow_integers! {
    u32 => unsigned, unsigned, u64;
    u16 => unsigned, unsigned, u64;
    u8 => unsigned, unsigned, u64;
    usize => unsigned, unsigned, u64;
    i32 => signed, signed, i64;
    i16 => signed, signed, i64;
    i8 => signed, signed, i64;
    isize => signed, signed, i64;
}

/// Floating-point numbers: any JSON number reads as the nearest value; one too large for the
/// type is refused (as serde_json does), and NaN or an infinity is written as `null`.
macro_rules! floats {
    ($($ty:ty),*) => {$(
        impl ToJson for $ty {
            fn write_json(&self, w: &mut Writer) {
                w.float_text(f64::from(*self), self, self);
            }
        }

        impl FromJson for $ty {
            fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
                let start = r.at;
                let value: $ty = r.number()?.parse().unwrap_or(<$ty>::INFINITY);
                if value.is_finite() {
                    Ok(value)
                } else {
                    r.at = start;
                    Err(r.error("number out of range"))
                }
            }
        }
    )*};
}

floats!(f64, f32);

impl ToJson for i64 {
    fn write_json(&self, w: &mut Writer) {
        w.signed(*self);
    }
}

impl FromJson for i64 {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        r.signed()
    }
}

impl ToJson for Uuid {
    fn write_json(&self, w: &mut Writer) {
        w.separate();
        w.out.push('"');
        push_uuid(&mut w.out, self);
        w.out.push('"');
    }
}

impl FromJson for Uuid {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        let start = r.at;
        let text = r.text_value()?;
        parse_uuid(&text).ok_or_else(|| {
            r.at = start;
            r.error("invalid value: expected a UUID")
        })
    }
}

/// Reads a UUID written as 32 hex digits, with or without the hyphens of its usual form
/// (`67e55044-10b1-426f-9247-bb680e5fe0c8`).
pub fn parse_uuid(text: &str) -> Option<Uuid> {
    let bytes = text.as_bytes();
    let hyphenated = match bytes.len() {
        36 => true,
        32 => false,
        _ => return None,
    };
    let hex = |byte: u8| match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 16];
    let (mut at, mut filled) = (0, 0);
    while filled < 16 {
        // Hyphens stand between pairs of digits, at 8, 13, 18 and 23.
        if hyphenated && matches!(at, 8 | 13 | 18 | 23) {
            if bytes[at] != b'-' {
                return None;
            }
            at += 1;
        }
        out[filled] = hex(bytes[at])? << 4 | hex(bytes[at + 1])?;
        at += 2;
        filled += 1;
    }
    Some(Uuid::from_bytes(out))
}

/// A UUID in its usual lowercase hyphenated form.
pub fn uuid_text(id: &Uuid) -> String {
    let mut text = String::with_capacity(36);
    push_uuid(&mut text, id);
    text
}

/// Appends a UUID's lowercase hyphenated form (written here rather than by the uuid crate's
/// formatter, which costs more in the WebAssembly module).
fn push_uuid(out: &mut String, id: &Uuid) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (index, byte) in id.as_bytes().iter().enumerate() {
        // Hyphens before the 5th, 7th, 9th and 11th bytes.
        if matches!(index, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, w: &mut Writer) {
        match self {
            Some(value) => value.write_json(w),
            None => w.null(),
        }
    }

    fn is_absent(&self) -> bool {
        self.is_none()
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        if r.null()? { Ok(None) } else { T::read_json(r).map(Some) }
    }

    fn absent(_field: &str) -> Result<Self, Error> {
        Ok(None)
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, w: &mut Writer) {
        w.begin_array();
        for item in self {
            item.write_json(w);
        }
        w.end_array();
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, w: &mut Writer) {
        self.as_slice().write_json(w);
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        let mut items = Vec::new();
        r.array(&mut |r| {
            items.push(T::read_json(r)?);
            Ok(())
        })?;
        Ok(items)
    }
}

impl<T: ToJson> ToJson for VecDeque<T> {
    fn write_json(&self, w: &mut Writer) {
        w.begin_array();
        for item in self {
            item.write_json(w);
        }
        w.end_array();
    }
}

impl<T: FromJson> FromJson for VecDeque<T> {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        Vec::read_json(r).map(VecDeque::from)
    }
}

/// Writes a map's entries as one JSON object.
pub(crate) fn write_map<'a, T: ToJson + 'a>(
    w: &mut Writer,
    entries: impl Iterator<Item = (&'a str, &'a T)>,
) {
    w.begin_object();
    for (key, value) in entries {
        w.key(key);
        value.write_json(w);
    }
    w.end_object();
}

/// Reads a JSON object into a map of any kind.
pub(crate) fn read_map<T: FromJson, M: Default + Extend<(String, T)>>(
    r: &mut Reader<'_>,
) -> Result<M, Error> {
    let mut map = M::default();
    r.object(&mut |r, key| {
        map.extend([(key.to_owned(), T::read_json(r)?)]);
        Ok(())
    })?;
    Ok(map)
}

impl<T: ToJson> ToJson for BTreeMap<String, T> {
    fn write_json(&self, w: &mut Writer) {
        write_map(w, self.iter().map(|(key, value)| (key.as_str(), value)));
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_map(r)
    }
}

impl<T: ToJson, S> ToJson for HashMap<String, T, S> {
    fn write_json(&self, w: &mut Writer) {
        write_map(w, self.iter().map(|(key, value)| (key.as_str(), value)));
    }
}

impl<T: FromJson, S: BuildHasher + Default> FromJson for HashMap<String, T, S> {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        read_map(r)
    }
}

impl<A: ToJson, B: ToJson> ToJson for (A, B) {
    fn write_json(&self, w: &mut Writer) {
        w.begin_array();
        self.0.write_json(w);
        self.1.write_json(w);
        w.end_array();
    }
}

impl<A: FromJson, B: FromJson> FromJson for (A, B) {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, Error> {
        let mut items = (None, None);
        let mut count = 0;
        r.array(&mut |r| {
            match count {
                0 => items.0 = Some(A::read_json(r)?),
                1 => items.1 = Some(B::read_json(r)?),
                _ => return Err(r.error("invalid length: expected a pair")),
            }
            count += 1;
            Ok(())
        })?;
        match items {
            (Some(a), Some(b)) => Ok((a, b)),
            _ => Err(r.error("invalid length: expected a pair")),
        }
    }
}

/// Reads a struct's fields: `each` gets every key and reads the values it knows; the rest are
/// passed over.
#[doc(hidden)]
pub fn read_fields<'a>(
    r: &mut Reader<'a>,
    each: &mut dyn FnMut(&mut Reader<'a>, &str) -> Result<bool, Error>,
) -> Result<(), Error> {
    r.object(&mut |r, key| if each(r, key)? { Ok(()) } else { r.skip() })
}

/// Reads one field's value into its slot, refusing a second value for it.
#[doc(hidden)]
pub fn read_slot<T: FromJson>(
    r: &mut Reader<'_>,
    slot: &mut Option<T>,
    field: &str,
) -> Result<bool, Error> {
    if slot.is_some() {
        return Err(r.error(&format!("duplicate field `{field}`")));
    }
    *slot = Some(T::read_json(r)?);
    Ok(true)
}

/// A field read by [`read_slot`], or its value when absent.
#[doc(hidden)]
pub fn take_slot<T: FromJson>(slot: Option<T>, field: &str) -> Result<T, Error> {
    match slot {
        Some(value) => Ok(value),
        None => T::absent(field),
    }
}

/// Gives a struct with named fields its JSON form: an object with one key per field. The
/// engine's own generic types use it; a domain's types use `#[derive(Json)]`.
///
/// A field may be renamed on the wire (`field as "wire"`) and may name the value it takes when
/// absent (`field = expr`). Generic structs put their parameters first: `[D: Domain] Name<D>`.
///
/// ```
/// use annals_core::{json, json_struct};
///
/// #[derive(Debug, PartialEq)]
/// pub struct Line { pub kind: String, pub qty: i64, pub note: Option<String> }
/// json_struct!(Line { kind as "type", qty = 1, note });
///
/// let line: Line = json::from_str(r#"{"type": "milk"}"#).unwrap();
/// assert_eq!(line, Line { kind: "milk".into(), qty: 1, note: None });
/// assert_eq!(json::to_string(&line), r#"{"type":"milk","qty":1}"#);
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! json_struct {
    (
        $([$($generics:tt)*])? $name:ident $(<$($arg:ident),*>)?
        { $($field:ident $(as $wire:literal)? $(= $default:expr)?),* $(,)? }
    ) => {
        impl<$($($generics)*)?> $crate::json::ToJson for $name $(<$($arg),*>)? {
            fn write_json(&self, w: &mut $crate::json::Writer) {
                w.begin_object();
                $(w.field($crate::__wire!($field $($wire)?), &self.$field);)*
                w.end_object();
            }
        }

        impl<$($($generics)*)?> $crate::json::FromJson for $name $(<$($arg),*>)? {
            fn read_json(r: &mut $crate::json::Reader<'_>) -> ::core::result::Result<Self, $crate::json::Error> {
                $(let mut $field = ::core::option::Option::None;)*
                $crate::json::read_fields(r, &mut |_r, key| match key {
                    $($crate::__wire!($field $($wire)?) => {
                        $crate::json::read_slot(_r, &mut $field, $crate::__wire!($field $($wire)?))
                    })*
                    _ => ::core::result::Result::Ok(false),
                })?;
                ::core::result::Result::Ok($name {
                    $($field: $crate::__absent!($field, $crate::__wire!($field $($wire)?) $(, $default)?),)*
                })
            }
        }
    };
}

/// A field's name on the wire.
#[doc(hidden)]
#[macro_export]
macro_rules! __wire {
    ($field:ident) => {
        stringify!($field)
    };
    ($field:ident $wire:literal) => {
        $wire
    };
}

/// A field's value once the object is read: as read, or its default, or the type's absent
/// value (`None` for an `Option`, an error otherwise).
#[doc(hidden)]
#[macro_export]
macro_rules! __absent {
    ($slot:ident, $wire:expr) => {
        $crate::json::take_slot($slot, $wire)?
    };
    ($slot:ident, $wire:expr, $default:expr) => {
        match $slot {
            ::core::option::Option::Some(value) => value,
            ::core::option::Option::None => $default,
        }
    };
}

/// Gives types that write and read themselves through this codec serde's `Serialize` and
/// `Deserialize`, for callers that use serde (the server's HTTP layer, tests).
#[macro_export]
macro_rules! serde_via_json {
    ([$($generics:tt)*] $ty:ty) => {
        impl<$($generics)*> $crate::__serde::Serialize for $ty {
            fn serialize<Se: $crate::__serde::Serializer>(
                &self,
                s: Se,
            ) -> ::core::result::Result<Se::Ok, Se::Error> {
                $crate::json::serialize(self, s)
            }
        }

        impl<'de, $($generics)*> $crate::__serde::Deserialize<'de> for $ty {
            fn deserialize<De: $crate::__serde::Deserializer<'de>>(
                d: De,
            ) -> ::core::result::Result<Self, De::Error> {
                $crate::json::deserialize(d)
            }
        }
    };
    ($ty:ty) => {
        $crate::serde_via_json!([] $ty);
    };
}

/// Serializes through [`ToJson`]: the text goes to serde as a raw JSON value.
#[doc(hidden)]
pub fn serialize<T: ToJson + ?Sized, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let raw = serde_json::value::RawValue::from_string(to_string(value))
        .map_err(serde::ser::Error::custom)?;
    serde::Serialize::serialize(&raw, serializer)
}

/// Deserializes through [`FromJson`]: serde hands over the value's raw text.
#[doc(hidden)]
pub fn deserialize<'de, T: FromJson, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    let raw: Box<serde_json::value::RawValue> = serde::Deserialize::deserialize(deserializer)?;
    from_str(raw.get()).map_err(serde::de::Error::custom)
}

serde_via_json!(RawJson);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_integers_however_written() {
        for (text, value) in [
            ("12", Ok(12)),
            ("12.0", Ok(12)),
            ("1.2e1", Ok(12)),
            ("1.2E+1", Ok(12)),
            ("120e-1", Ok(12)),
            ("10e-1", Ok(1)),
            ("0.0", Ok(0)),
            ("0e99999999999999999999", Ok(0)),
            ("18446744073709551615", Ok(u64::MAX)),
            ("1.8446744073709551615e19", Ok(u64::MAX)),
            ("18446744073709551616", Err(OUT_OF_RANGE)),
            ("1e20", Err(OUT_OF_RANGE)),
            ("1e99999999999999999999", Err(OUT_OF_RANGE)),
            ("1.25e1", Err("invalid type: expected an integer, not a fraction")),
            ("5e-1", Err("invalid type: expected an integer, not a fraction")),
            ("1e-99999999999999999999", Err("invalid type: expected an integer, not a fraction")),
        ] {
            assert_eq!(integral(text.as_bytes()), value, "{text}");
        }
        assert_eq!(from_str::<i64>("-3.0e2").ok(), Some(-300));
        assert_eq!(from_str::<u8>("2.55e2").ok(), Some(255));
        assert!(from_str::<u8>("2.56e2").is_err());
    }

    #[test]
    fn uuids_read_in_both_forms_and_nothing_else() {
        let id = Uuid::from_u128(0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8);
        assert_eq!(parse_uuid("67e55044-10b1-426f-9247-bb680e5fe0c8"), Some(id));
        assert_eq!(parse_uuid("67E5504410B1426F9247BB680E5FE0C8"), Some(id));
        assert_eq!(uuid_text(&id), "67e55044-10b1-426f-9247-bb680e5fe0c8");
        assert_eq!(to_string(&id), "\"67e55044-10b1-426f-9247-bb680e5fe0c8\"");
        for bad in [
            "",
            "67e55044-10b1-426f-9247-bb680e5fe0c",
            "67e55044x10b1-426f-9247-bb680e5fe0c8",
            "g7e5504410b1426f9247bb680e5fe0c8",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad}");
        }
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        for text in [
            "plain",
            "quote \" back \\ slash",
            "tab\tnew\nline\r",
            "\u{1}\u{1f}\u{7f}",
            "é ✓ 🎉",
            "",
        ] {
            let ours = to_string(text);
            assert_eq!(ours, serde_json::to_string(text).expect("read"));
            assert_eq!(from_str::<String>(&ours).expect("read"), text);
        }
        assert_eq!(from_str::<String>(r#""\u00e9\ud83c\udf89\/""#).expect("read"), "é🎉/");
    }

    #[test]
    fn integers_are_exact_and_checked() {
        for value in [0, 1, -1, 42, i64::MAX, i64::MIN] {
            assert_eq!(to_string(&value), value.to_string());
            assert_eq!(from_str::<i64>(&value.to_string()).expect("read"), value);
        }
        assert_eq!(from_str::<u64>("18446744073709551615").expect("read"), u64::MAX);
        for bad in ["18446744073709551616", "1.5", "1e-3", "-1", "01", "", "\"1\"", "1 2"] {
            assert!(from_str::<u64>(bad).is_err(), "{bad}");
        }
        assert!(from_str::<i64>("9223372036854775808").is_err());
        assert_eq!(to_string(&vec![(Some(3u64), -4i64), (None, 5)]), "[[3,-4],[null,5]]");
    }

    #[test]
    fn bad_text_is_an_error_with_a_position() {
        let error = from_str::<Vec<u64>>("[1,\n 2,").expect_err("refused");
        assert!(error.is_syntax());
        assert_eq!(error.message(), "EOF while parsing a value at line 2 column 3");
        assert!(!from_str::<Vec<u64>>("[\"a\"]").expect_err("refused").is_syntax());
        let deep = "[".repeat(100_000);
        assert!(
            from_str::<RawJson>(&deep).expect_err("refused").message().contains("recursion limit")
        );
    }

    #[derive(Debug, PartialEq)]
    struct Line {
        kind: String,
        qty: i64,
        note: Option<String>,
        tags: BTreeMap<String, Vec<u32>>,
    }
    json_struct!(Line { kind as "type", qty = 1, note, tags = BTreeMap::new() });

    #[test]
    fn structs_rename_default_skip_and_ignore() {
        let line: Line =
            from_str(r#" {"extra": {"a": [1, {"b": null}]}, "type": "x", "tags": {"t": [1]}} "#)
                .expect("read");
        assert_eq!(line.qty, 1);
        assert_eq!(line.note, None);
        assert_eq!(to_string(&line), r#"{"type":"x","qty":1,"tags":{"t":[1]}}"#);
        let missing = from_str::<Line>("{}").expect_err("refused");
        assert_eq!(missing.message(), "missing field `type`");
        assert!(from_str::<Line>(r#"{"type":"a","type":"b"}"#).is_err());
        assert!(from_str::<Line>(r#"{"type":"a","qty":"b"}"#).is_err());
    }
}
