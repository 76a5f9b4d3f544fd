//! Amounts as integer mantissas at one scale shared by a pass: summing `i128`s is several
//! times faster than summing `Decimal`s, and exact.

use rust_decimal::Decimal;

use crate::error::{Error, Result};

/// `10^k` for the scale differences of `Decimal` (at most 28).
pub(super) const POW10: [i128; 29] = {
    let mut t = [1i128; 29];
    let mut k = 1;
    while k < 29 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// Amounts as `i128` mantissas at one scale shared by the whole pass (the largest scale seen
/// so far). Adding `Decimal`s directly is several times slower: each addition goes through
/// 32-bit limbs and a scale check, and this runs once per transaction.
pub(super) struct Scale {
    pub(super) scale: u32,
}

impl Scale {
    /// The mantissa of `d` at the shared scale, or `None` when `d` has a finer scale (the
    /// caller then rescales every running sum with [`Scale::widen`]).
    #[inline]
    pub(super) fn mantissa(&self, d: Decimal) -> Option<Result<i128>> {
        let s = d.scale();
        if s == self.scale {
            Some(Ok(d.mantissa()))
        } else if s < self.scale {
            let f = POW10[(self.scale - s) as usize];
            Some(d.mantissa().checked_mul(f).ok_or_else(|| Error::overflow("spend sum")))
        } else {
            None
        }
    }

    /// Moves to the finer scale of `d`, returning the factor running sums must be multiplied
    /// by.
    pub(super) fn widen(&mut self, d: Decimal) -> i128 {
        let f = POW10[(d.scale() - self.scale) as usize];
        self.scale = d.scale();
        f
    }

    /// The `Decimal` of mantissa `m` at the shared scale (at most 28: the largest scale of a
    /// `Decimal` seen), for `m` below 2^96 in magnitude (a larger one loses its high bits;
    /// callers check the range first). Built from its parts: the generic conversion's call
    /// and checks were most of the cost of building a row.
    #[inline(always)]
    pub(super) fn decimal(&self, m: i128) -> Decimal {
        let abs = m.unsigned_abs();
        // The three 32-bit words of the mantissa.
        let (lo, mid, hi) = (abs as u32, (abs >> 32) as u32, (abs >> 64) as u32);
        Decimal::from_parts(lo, mid, hi, m < 0, self.scale)
    }
}

/// An `i128` stored as two words, so that it needs only 8-byte alignment: [`Acc`] then takes
/// 56 bytes and an entry keyed by a `u64` 64, where 16-byte alignment would pad it to 80.
#[derive(Clone, Copy)]
pub(super) struct Wide([u64; 2]);

impl Wide {
    #[inline]
    pub(super) fn get(self) -> i128 {
        ((u128::from(self.0[1]) << 64) | u128::from(self.0[0])) as i128
    }

    #[inline]
    pub(super) fn set(&mut self, v: i128) {
        self.0 = [v as u64, ((v as u128) >> 64) as u64];
    }

    #[inline]
    pub(super) fn of(v: i128) -> Wide {
        let mut w = Wide([0; 2]);
        w.set(v);
        w
    }
}

/// A running sum of amount mantissas: exact in 128 bits ([`Wide`]) in general, an `i64` in
/// the direct table of [`direct`](super::direct), where a smaller slot means fewer cache lines
/// per transaction.
pub(super) trait Sum: Copy {
    /// The amount a transaction adds (its default is zero).
    type Amount: Copy + Default;
    fn start(amount: Self::Amount) -> Self;
    /// `None` on overflow.
    fn plus(self, amount: Self::Amount) -> Option<Self>;
}

impl Sum for Wide {
    type Amount = i128;

    #[inline]
    fn start(amount: i128) -> Wide {
        Wide::of(amount)
    }

    #[inline]
    fn plus(self, amount: i128) -> Option<Wide> {
        self.get().checked_add(amount).map(Wide::of)
    }
}

impl Sum for i64 {
    type Amount = i64;

    #[inline]
    fn start(amount: i64) -> i64 {
        amount
    }

    #[inline]
    fn plus(self, amount: i64) -> Option<i64> {
        self.checked_add(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::super::acc::Acc;
    use super::*;

    #[test]
    fn wide_round_trips_extremes() {
        for v in [0i128, 1, -1, i128::MAX, i128::MIN, 79_228_162_514_264_337_593_543_950_335] {
            assert_eq!(Wide::of(v).get(), v);
        }
        assert_eq!(std::mem::size_of::<Acc>(), 56);
    }

    #[test]
    fn shared_scale_widens_and_converts_back() {
        let mut scale = Scale { scale: 0 };
        assert_eq!(scale.mantissa(Decimal::new(7, 0)).unwrap().unwrap(), 7);
        // 1.25 has a finer scale: the caller must rescale, by 100.
        assert!(scale.mantissa(Decimal::new(125, 2)).is_none());
        assert_eq!(scale.widen(Decimal::new(125, 2)), 100);
        assert_eq!(scale.mantissa(Decimal::new(3, 1)).unwrap().unwrap(), 30);
        assert_eq!(scale.decimal(700 + 125 + 30), Decimal::new(855, 2));
        assert_eq!(scale.decimal(-(1 << 95)), Decimal::from_i128_with_scale(-(1 << 95), 2));
    }
}
