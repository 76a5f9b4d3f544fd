//! The stored form of a [`PolicySet`]: an object with a format version and the policies.
//!
//! Version 1 was the bare list of policies (a JSON array), written before policy sets
//! carried a version; it still reads. Version 2 is `{"version": 2, "policies": [...]}`.
//! Binary formats, which cannot tell a list from an object on their own, read the object
//! form only.

use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::policy::{Policy, PolicySet};

/// The newest format version of a stored [`PolicySet`] (see [`crate::version`]).
const POLICY_SET_VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Versioned {
    version: u32,
    policies: Vec<Policy>,
}

impl Serialize for PolicySet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let policies: Vec<Policy> = self.clone().into();
        Versioned { version: POLICY_SET_VERSION, policies }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PolicySet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PolicySet, D::Error> {
        struct SetVisitor;

        impl<'de> Visitor<'de> for SetVisitor {
            type Value = (u32, Vec<Policy>);

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a policy set: an object with a version and policies, or a list")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Ok((1, Vec::deserialize(SeqAccessDeserializer::new(seq))?))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let v = Versioned::deserialize(MapAccessDeserializer::new(map))?;
                Ok((v.version, v.policies))
            }
        }

        let (version, policies) = if d.is_human_readable() {
            d.deserialize_any(SetVisitor)?
        } else {
            let v = Versioned::deserialize(d)?;
            (v.version, v.policies)
        };
        crate::version::check("sla policy set", version, POLICY_SET_VERSION)
            .and_then(|_| PolicySet::try_from(policies))
            .map_err(serde::de::Error::custom)
    }
}
