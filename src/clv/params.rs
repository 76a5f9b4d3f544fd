//! The parameter struct shared in shape by the four-parameter purchase models (BG/NBD, MBG/NBD,
//! Pareto/NBD), written once as a macro so each model states only its names and docs.

/// Declares a model's parameters.
///
/// At module level, `pub struct Name { field: f64, .. } serde NameRepr;` gives the struct
/// (private fields, plus the [`Period`](crate::rfm::Period) its time parameters are in), its
/// [`PurchaseModel`](super::PurchaseModel) accessors, and, under `serde`, a private mirror
/// with the same field names through which deserialization runs `new`, so invalid parameters
/// cannot be read in. Format version 2 stores the period; version 1 stored none, so it reads
/// only through [`Version1`](super::Version1), which asks for the period.
///
/// Inside `impl Name`, `pub fn new(field, ..) -> Name;` and `pub fn field;` per getter give a
/// `new` that checks each argument is finite and positive, in order, and the getters, each with
/// the docs written above it. They expand in the model's own impl block so rustdoc lists them
/// with the model's methods. `new` takes the fields in the struct's order, then the period,
/// which deserialization relies on.
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
            period: $crate::rfm::Period,
        }

        impl $crate::clv::PurchaseModel for $name {
            fn parameters(&self) -> [f64; 4] {
                [$(self.$field),*]
            }

            fn parameter_names(&self) -> [&'static str; 4] {
                [$(stringify!($field)),*]
            }

            fn period(&self) -> $crate::rfm::Period {
                self.period
            }
        }

        #[cfg(feature = "serde")]
        impl $name {
            /// The model at `parameters` (in the order of [`PurchaseModel::parameters`]) in
            /// `period`.
            ///
            /// [`PurchaseModel::parameters`]: $crate::clv::PurchaseModel::parameters
            pub(crate) fn from_parameters(
                [$($field),*]: [f64; 4],
                period: $crate::rfm::Period,
            ) -> $crate::error::Result<$name> {
                $name::new($($field,)* period)
            }
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
            // Absent in version 1.
            #[serde(default)]
            period: Option<$crate::rfm::Period>,
        }

        #[cfg(feature = "serde")]
        impl TryFrom<$repr> for $name {
            type Error = $crate::error::Error;
            fn try_from(v: $repr) -> $crate::error::Result<$name> {
                $crate::version::check(stringify!($name), v.version, 2)?;
                match (v.version, v.period) {
                    (2, Some(period)) => $name::new($(v.$field,)* period),
                    (2, None) => Err($crate::error::Error::invalid(
                        "period",
                        "none",
                        "version 2 stores the period the parameters are in",
                    )),
                    _ => Err($crate::error::Error::invalid(
                        "period",
                        "none",
                        concat!(
                            "version 1 stored no period: read it as Version1<",
                            stringify!($name),
                            "> and give the period of the data it was fitted on"
                        ),
                    )),
                }
            }
        }

        #[cfg(feature = "serde")]
        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                $repr { version: 2, $($field: v.$field,)* period: Some(v.period) }
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $crate::clv::Version1<$name> {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> ::core::result::Result<Self, D::Error> {
                use serde::de::Error as _;
                let v = $repr::deserialize(d)?;
                if v.version != 1 || v.period.is_some() {
                    return Err(D::Error::custom(concat!(
                        "not a version 1 ",
                        stringify!($name),
                        ": read it as ",
                        stringify!($name)
                    )));
                }
                // Checked now, so that `in_period` fails only on the period.
                $name::new($(v.$field,)* $crate::rfm::Period::DAY).map_err(D::Error::custom)?;
                Ok($crate::clv::Version1::new([$(v.$field),*]))
            }
        }

        #[cfg(feature = "serde")]
        impl $crate::clv::Version1<$name> {
            /// The model, its parameters read as being in `period`: the period of the summary
            /// the stored model was fitted on, which version 1 did not record.
            ///
            /// # Errors
            ///
            /// None in practice (the parameters were checked when read); as the model's `new`.
            pub fn in_period(self, period: $crate::rfm::Period) -> $crate::error::Result<$name> {
                $name::from_parameters(self.parameters(), period)
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
        pub fn new($($arg: f64,)* period: $crate::rfm::Period) -> $crate::error::Result<$name> {
            $($crate::clv::check_param(stringify!($arg), $arg)?;)*
            Ok($name { $($arg,)* period })
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
