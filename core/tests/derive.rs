//! The derives over a domain that uses every codec feature: structs, unit and data-carrying
//! enums, `Option` (null and absent), floats, integers of every width, bool, strings, lists,
//! maps, UUIDs and nested types; renames, `rename_all`, defaults for fields added later, and
//! explicit wire names for commands and events. Each round-trips through JSON, stored forms
//! of older schemas still read, and malformed payloads are refused with a clear error.

#![allow(missing_docs, clippy::unwrap_used, clippy::large_enum_variant)]

use std::collections::{BTreeMap, HashMap};

use annals_core::json::{self, FromJson, ToJson};
use annals_core::{Command, CommandData, Event, EventData, Json, Reason, Rejection, Uuid};
use serde_json::{Value, json};

#[derive(Clone, Debug, PartialEq, Json)]
#[json(rename_all = "camelCase")]
pub struct Booking {
    pub room_id: Uuid,
    pub guest_name: String,
    pub nights: u8,
    pub adults: u16,
    pub floor: i32,
    pub deposit_cents: i64,
    pub total_cents: u64,
    pub rate: f64,
    pub discount: f32,
    pub smoking: bool,
    pub note: Option<String>,
    pub extras: Vec<Extra>,
    pub tags: BTreeMap<String, u32>,
    pub meals: HashMap<String, Meal>,
    pub status: Status,
    #[json(rename = "period")]
    pub stay: Stay,
    /// Added after the first bookings were stored.
    #[json(default)]
    pub late_checkout: bool,
    #[json(default = "default_channel")]
    pub channel: String,
}

fn default_channel() -> String {
    "front desk".to_owned()
}

#[derive(Clone, Debug, PartialEq, Json)]
pub struct Stay {
    pub from: i64,
    pub to: i64,
}

#[derive(Clone, Debug, PartialEq, Json)]
pub enum Status {
    Requested,
    Confirmed,
    #[json(rename = "no-show")]
    NoShow,
}

#[derive(Clone, Debug, PartialEq, Json)]
#[json(rename_all = "snake_case")]
pub enum Extra {
    Parking,
    Crib(u8),
    ExtraBed { size: String, price: f64 },
}

#[derive(Clone, Debug, PartialEq, Json)]
pub struct Meal(pub String);

#[derive(Clone, Debug, PartialEq, Json)]
pub struct Nothing;

#[derive(Clone, Debug, PartialEq, Json)]
pub struct Wrapper<T> {
    pub inner: T,
}

#[derive(Clone, Debug, PartialEq, Command)]
pub enum HotelCommand {
    #[json(rename = "v1.BookRoom")]
    BookRoom(Booking),
    #[json(rename = "v1.CancelBooking")]
    CancelBooking { booking: Uuid, reason: Option<String> },
    #[json(rename = "v1.Ping")]
    Ping,
}

#[derive(Clone, Debug, PartialEq, Event)]
#[event(upcast = upcast)]
#[json(rename_all = "snake_case")]
pub enum HotelEvent {
    #[event(schema = 2)]
    RoomBooked(Booking),
    #[json(rename = "v1.BookingCancelled")]
    BookingCancelled {
        reason: Option<String>,
    },
    Pinged,
}

/// `room_booked` schema 1 had no rate: 0.0.
fn upcast(event_type: &str, schema: u32, data: &str) -> Result<String, annals_core::DecodeError> {
    match (event_type, schema) {
        ("room_booked", 1) => {
            let mut old: Value = serde_json::from_str(data)
                .map_err(|e| annals_core::DecodeError::new("invalid_event", e.to_string()))?;
            old["rate"] = json!(0.0);
            Ok(old.to_string())
        }
        _ => annals_core::no_upcast(event_type, schema, data),
    }
}

#[derive(Debug, Rejection)]
pub enum HotelRejection {
    #[rejection("Room {room} is taken from {from} to {to}.")]
    RoomTaken { room: Uuid, from: i64, to: i64 },
    #[rejection(code = "too_many_nights", "A stay is at most {0} nights, not {1}.")]
    StayTooLong(u8, u32),
    #[rejection("The hotel is closed.")]
    Closed,
}

fn booking() -> Booking {
    Booking {
        room_id: Uuid::from_u128(7),
        guest_name: "Zoë \"Z\" O'Brien ✓".into(),
        nights: 3,
        adults: 2,
        floor: -1,
        deposit_cents: -5_000,
        total_cents: u64::MAX,
        rate: 129.95,
        discount: 0.125,
        smoking: false,
        note: None,
        extras: vec![
            Extra::Parking,
            Extra::Crib(1),
            Extra::ExtraBed { size: "single".into(), price: 25.5 },
        ],
        tags: BTreeMap::from([("vip".into(), 1)]),
        meals: HashMap::from([("mon".into(), Meal("breakfast".into()))]),
        status: Status::NoShow,
        stay: Stay { from: 1, to: 4 },
        late_checkout: true,
        channel: "web".into(),
    }
}

fn round_trip<T: ToJson + FromJson + PartialEq + std::fmt::Debug>(value: &T) -> Value {
    let text = json::to_string(value);
    let back: T = json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(&back, value, "{text}");
    serde_json::from_str(&text).expect("the codec writes JSON")
}

#[test]
fn every_kind_of_field_round_trips_under_its_wire_name() {
    let written = round_trip(&booking());
    assert_eq!(
        written,
        json!({
            "roomId": "00000000-0000-0000-0000-000000000007",
            "guestName": "Zoë \"Z\" O'Brien ✓",
            "nights": 3, "adults": 2, "floor": -1, "depositCents": -5000,
            "totalCents": u64::MAX, "rate": 129.95, "discount": 0.125, "smoking": false,
            "extras": ["parking", {"crib": 1}, {"extra_bed": {"size": "single", "price": 25.5}}],
            "tags": {"vip": 1}, "meals": {"mon": "breakfast"}, "status": "no-show",
            "period": {"from": 1, "to": 4}, "lateCheckout": true, "channel": "web",
        }),
        "an absent Option is left out"
    );
    round_trip(&Nothing);
    round_trip(&Wrapper { inner: vec![Status::Requested, Status::Confirmed] });
    for rate in [0.0, -0.5, 1e-9, 1e300, f64::MIN_POSITIVE, f64::MAX, 0.1 + 0.2] {
        round_trip(&rate);
    }
    assert_eq!(json::to_string(&f64::NAN), "null");
}

#[test]
fn null_and_absent_both_read_as_none_and_later_fields_take_their_defaults() {
    let mut stored =
        serde_json::to_value(json::to_raw(&booking()).get().parse::<Value>().unwrap()).unwrap();
    let object = stored.as_object_mut().unwrap();
    object.remove("lateCheckout");
    object.remove("channel");
    object.insert("note".into(), Value::Null);
    object.insert("somethingNew".into(), json!({"ignored": [1, 2]}));
    let read: Booking = json::from_str(&stored.to_string()).expect("an older booking");
    assert_eq!(read.note, None);
    assert!(!read.late_checkout);
    assert_eq!(read.channel, "front desk");
}

#[test]
fn malformed_payloads_are_refused_with_a_clear_error() {
    let good = serde_json::from_str::<Value>(&json::to_string(&booking())).unwrap();
    for (field, value, says) in [
        ("nights", json!(300), "number out of range"),
        ("nights", json!(-1), "expected an integer of 0 or more"),
        ("floor", json!(1.5), "not a fraction"),
        ("rate", json!("cheap"), "expected a number"),
        ("roomId", json!("room 7"), "expected a UUID"),
        ("status", json!("Cancelled"), "unknown variant `Cancelled`"),
        ("extras", json!([{"crib": 1, "parking": null}]), "one variant"),
        ("smoking", json!("no"), "expected a boolean"),
    ] {
        let mut bad = good.clone();
        bad[field] = value;
        let error = json::from_str::<Booking>(&bad.to_string()).expect_err(field).to_string();
        assert!(error.contains(says), "{field}: {error}");
    }
    let huge = json::from_str::<f64>("1e999").expect_err("past f64").to_string();
    assert!(huge.contains("number out of range"), "{huge}");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("guestName");
    let error = json::from_str::<Booking>(&missing.to_string()).expect_err("no guest");
    assert_eq!(error.to_string(), "missing field `guestName`");
}

#[test]
fn commands_carry_their_explicit_wire_names() {
    let commands = [
        HotelCommand::BookRoom(booking()),
        HotelCommand::CancelBooking { booking: Uuid::from_u128(9), reason: Some("flu".into()) },
        HotelCommand::CancelBooking { booking: Uuid::from_u128(9), reason: None },
        HotelCommand::Ping,
    ];
    for command in &commands {
        let written = round_trip(command);
        assert_eq!(written["type"], json!(command.command_type()));
        assert_eq!(
            HotelCommand::decode(command.command_type(), &command.data()),
            Ok(command.clone())
        );
    }
    assert_eq!(commands[1].command_type(), "v1.CancelBooking");
    assert_eq!(
        round_trip(&commands[2]),
        json!({"type": "v1.CancelBooking", "data": {"booking": "00000000-0000-0000-0000-000000000009"}})
    );
    assert_eq!(round_trip(&commands[3]), json!({"type": "v1.Ping", "data": {}}));
    let unknown = HotelCommand::decode("BookRoom", "{}").expect_err("not its wire name");
    assert_eq!(unknown.code, "unknown_command_type");
    let invalid = HotelCommand::decode("v1.CancelBooking", r#"{"reason": 3}"#).expect_err("bad");
    assert_eq!(invalid.code, "invalid_command");
    assert!(invalid.message.starts_with("v1.CancelBooking: "), "{}", invalid.message);
}

#[test]
fn events_carry_schemas_and_older_schemas_are_upcast() {
    let booked = HotelEvent::RoomBooked(booking());
    assert_eq!((booked.event_type(), booked.schema()), ("room_booked", 2));
    let cancelled = HotelEvent::BookingCancelled { reason: None };
    assert_eq!((cancelled.event_type(), cancelled.schema()), ("v1.BookingCancelled", 1));
    assert_eq!(HotelEvent::schema_of("pinged"), Some(1));
    assert_eq!(HotelEvent::schema_of("Pinged"), None);
    for event in [booked.clone(), cancelled, HotelEvent::Pinged] {
        round_trip(&event);
        let data = event.data_json();
        assert_eq!(HotelEvent::decode(event.event_type(), event.schema(), &data), Ok(event));
    }
    // Schema 1, as stored before `rate` existed.
    let mut v1: Value = serde_json::from_str(&booked.data_json()).unwrap();
    v1.as_object_mut().unwrap().remove("rate");
    let read = HotelEvent::decode("room_booked", 1, &v1.to_string()).expect("schema 1 reads");
    let HotelEvent::RoomBooked(old) = read else { panic!("{read:?}") };
    assert_eq!(old.rate, 0.0);
    let newer = HotelEvent::decode("room_booked", 3, "{}").expect_err("from the future");
    assert_eq!(newer.code, "unsupported_schema");
    let bad = HotelEvent::decode("v1.BookingCancelled", 1, "[]").expect_err("not an object");
    assert_eq!(bad.code, "invalid_event");
}

#[test]
fn rejections_have_stable_codes_and_messages_made_of_their_fields() {
    let taken = HotelRejection::RoomTaken { room: Uuid::from_u128(7), from: 1, to: 4 };
    assert_eq!(taken.code(), "room_taken");
    assert_eq!(taken.message(), "Room 00000000-0000-0000-0000-000000000007 is taken from 1 to 4.");
    assert_eq!(taken.to_string(), taken.message());
    let long = HotelRejection::StayTooLong(30, 45);
    assert_eq!(
        (long.code(), long.message().as_str()),
        ("too_many_nights", "A stay is at most 30 nights, not 45.")
    );
    assert_eq!(HotelRejection::Closed.code(), "closed");
    assert_eq!(HotelRejection::CODES, ["room_taken", "too_many_nights", "closed"]);
}
