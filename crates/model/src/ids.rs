//! Ids as types: an org id cannot be passed where a user id is expected, nor an ovice user id where
//! a Slack user id is. Each is one string; whether it is well formed is checked where it arrives
//! (the field validations of each request), so making one never fails.

use std::{borrow::Borrow, fmt, hash::Hash, marker::PhantomData};

/// A string id of the kind `K`.
pub struct Id<K> {
    value: String,
    kind: PhantomData<fn() -> K>,
}

/// What an id names; only a name for the type, shown by nothing.
pub trait IdKind: 'static {}

/// An ovice organization.
pub enum Org {}
/// An ovice user (a member or visitor of an org's spaces).
pub enum User {}
/// A Slack workspace (`T…`).
pub enum SlackTeam {}
/// A Slack user or bot user (`U…`, `W…`).
pub enum SlackUser {}
/// One delivery of the outbox.
pub enum DeliveryKind {}

impl IdKind for Org {}
impl IdKind for User {}
impl IdKind for SlackTeam {}
impl IdKind for SlackUser {}
impl IdKind for DeliveryKind {}

pub type OrgId = Id<Org>;
pub type UserId = Id<User>;
pub type SlackTeamId = Id<SlackTeam>;
pub type SlackUserId = Id<SlackUser>;
pub type DeliveryId = Id<DeliveryKind>;

impl<K: IdKind> Id<K> {
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            kind: PhantomData,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn into_string(self) -> String {
        self.value
    }

    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

// Written out rather than derived: a derive would ask `K` itself to be Clone, Eq, ….
impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            kind: PhantomData,
        }
    }
}

impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<K> Eq for Id<K> {}

impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl<K> Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // The same hash as the `str` it borrows as, so a map keyed by ids finds a `&str`.
        self.value.hash(state)
    }
}

impl<K> Default for Id<K> {
    fn default() -> Self {
        Self {
            value: String::new(),
            kind: PhantomData,
        }
    }
}

impl<K> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.value, f)
    }
}

impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl<K> AsRef<str> for Id<K> {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

impl<K> Borrow<str> for Id<K> {
    fn borrow(&self) -> &str {
        &self.value
    }
}

impl<K: IdKind> From<String> for Id<K> {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl<K: IdKind> From<&str> for Id<K> {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl<K> From<Id<K>> for String {
    fn from(id: Id<K>) -> Self {
        id.value
    }
}

impl<K> PartialEq<str> for Id<K> {
    fn eq(&self, other: &str) -> bool {
        self.value == other
    }
}

impl<K> PartialEq<&str> for Id<K> {
    fn eq(&self, other: &&str) -> bool {
        self.value == *other
    }
}

impl<K> serde::Serialize for Id<K> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.value)
    }
}

impl<'de, K: IdKind> serde::Deserialize<'de> for Id<K> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_map_keyed_by_ids_is_searched_with_a_str() {
        let mut by_user: HashMap<UserId, u32> = HashMap::new();
        by_user.insert(UserId::new("u-1"), 7);
        assert_eq!(by_user.get("u-1"), Some(&7));
        assert_eq!(by_user.get("u-2"), None);
    }

    #[test]
    fn shows_as_its_string() {
        let org = OrgId::new("org-1");
        assert_eq!(org.to_string(), "org-1");
        assert_eq!(format!("{org:?}"), "\"org-1\"");
        assert_eq!(org, "org-1");
    }
}
