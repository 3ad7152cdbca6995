//! `SmallMap`: a map for a handful of string keys (an item's sites), kept as a sorted list.

use crate::json::{self, FromJson, Reader, ToJson, Writer};

/// A map from strings to `V` for a few keys, such as the sites of one item: a sorted list,
/// searched by halving. On the wire it is a JSON object, keys in order, as a `BTreeMap`
/// would be written. A list's code is a fraction of a B-tree's, which matters in the
/// WebAssembly module, and for a few keys it is as fast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmallMap<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for SmallMap<V> {
    fn default() -> Self {
        SmallMap { entries: Vec::new() }
    }
}

impl<V> SmallMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.find(key).ok().map(|index| &self.entries[index].1)
    }

    /// The value under `key`, to change.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.find(key).ok().map(|index| &mut self.entries[index].1)
    }

    /// Sets the value under `key`; returns the one it replaces.
    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(index) => Some(std::mem::replace(&mut self.entries[index].1, value)),
            Err(index) => {
                self.entries.insert(index, (key, value));
                None
            }
        }
    }

    /// The value under `key`, inserted as `V::default()` first if there is none.
    pub fn entry(&mut self, key: &str) -> &mut V
    where
        V: Default,
    {
        let index = match self.find(key) {
            Ok(index) => index,
            Err(index) => {
                self.entries.insert(index, (key.to_owned(), V::default()));
                index
            }
        };
        &mut self.entries[index].1
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(key, value)| (key.as_str(), value))
    }

    /// The values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, value)| value)
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<V> FromIterator<(String, V)> for SmallMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(entries: I) -> Self {
        let mut map = SmallMap::new();
        map.extend(entries);
        map
    }
}

impl<V> Extend<(String, V)> for SmallMap<V> {
    fn extend<I: IntoIterator<Item = (String, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

impl<V: ToJson> ToJson for SmallMap<V> {
    fn write_json(&self, w: &mut Writer) {
        json::write_map(w, self.iter());
    }
}

impl<V: FromJson> FromJson for SmallMap<V> {
    fn read_json(r: &mut Reader<'_>) -> Result<Self, json::Error> {
        json::read_map(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_sorted_and_unique_and_write_as_an_object() {
        let mut map = SmallMap::new();
        map.insert("south".to_owned(), 2);
        *map.entry("north") += 5;
        *map.entry("south") -= 1;
        assert_eq!(map.insert("east".to_owned(), 7), None);
        assert_eq!(map.insert("east".to_owned(), 8), Some(7));
        assert_eq!(map.get("south"), Some(&1));
        assert_eq!(map.get("west"), None);
        assert_eq!(map.len(), 3);
        assert_eq!(json::to_string(&map), r#"{"east":8,"north":5,"south":1}"#);
        let read: SmallMap<i64> =
            json::from_str(r#"{"south":1,"north":5,"east":8}"#).expect("an object");
        assert_eq!(read, map);
    }
}
