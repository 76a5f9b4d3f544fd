//! The parameter struct shared in shape by the four-parameter purchase models (BG/NBD, MBG/NBD,
//! Pareto/NBD), written once as a macro so each model states only its names and docs.

/// Declares a model's parameters.
///
/// At module level, `pub struct Name { field: f64, .. } serde NameRepr;` gives the struct
/// (private fields) and, under `serde`, a private mirror with the same field names through which
/// deserialization runs `new`, so invalid parameters cannot be read in.
///
/// Inside `impl Name`, `pub fn new(field, ..) -> Name;` and `pub fn field;` per getter give a
/// `new` that checks each argument is finite and positive, in order, and the getters, each with
/// the docs written above it. They expand in the model's own impl block so rustdoc lists them
/// with the model's methods. `new` takes the fields in the struct's order, which deserialization
/// relies on.
macro_rules! model_params {
    (
        $(#[$attr:meta])*
        pub struct $name:ident {
            $($field:ident: f64,)*
        }
        serde $repr:ident;
    ) => {
        $(#[$attr])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[cfg_attr(
            feature = "serde",
            derive(serde::Serialize, serde::Deserialize),
            serde(try_from = "Repr", into = "Repr")
        )]
        pub struct $name {
            $($field: f64,)*
        }

        // serde names the mirror by a string, which a macro cannot build from `$repr`; and the
        // mirror keeps its own name because serde quotes it ("expected struct BgNbdRepr").
        #[cfg(feature = "serde")]
        type Repr = $repr;

        #[cfg(feature = "serde")]
        #[derive(serde::Serialize, serde::Deserialize)]
        struct $repr {
            #[serde(default = "crate::version::v1")]
            version: u32,
            $($field: f64,)*
        }

        #[cfg(feature = "serde")]
        impl TryFrom<$repr> for $name {
            type Error = $crate::error::Error;
            fn try_from(v: $repr) -> $crate::error::Result<$name> {
                $crate::version::check(stringify!($name), v.version, 1)?;
                $name::new($(v.$field),*)
            }
        }

        #[cfg(feature = "serde")]
        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                $repr { version: 1, $($field: v.$field),* }
            }
        }
    };

    (
        $(#[$new_doc:meta])*
        pub fn new($($arg:ident),*) -> $name:ident;
        $(
            $(#[$doc:meta])*
            pub fn $getter:ident;
        )*
    ) => {
        $(#[$new_doc])*
        pub fn new($($arg: f64),*) -> $crate::error::Result<$name> {
            $($crate::clv::check_param(stringify!($arg), $arg)?;)*
            Ok($name { $($arg),* })
        }

        $(
            $(#[$doc])*
            #[must_use]
            pub fn $getter(&self) -> f64 {
                self.$getter
            }
        )*
    };
}

pub(crate) use model_params;
