//! The hand-written cases, one module per area. Each case is named after the behaviour it
//! checks and reads set-up, act, assert.

use engine_traits::KvEngine;

use crate::Case;

/// Declares a module's case list: `name` or `name needs [Capability, ...]`.
macro_rules! cases {
    ($group:literal: $( $name:ident $( needs [ $($cap:ident),* ] )? ),* $(,)?) => {
        /// This module's cases.
        pub fn cases<E: engine_traits::KvEngine>() -> Vec<$crate::Case<E>> {
            vec![$(
                $crate::Case {
                    name: stringify!($name),
                    group: $group,
                    needs: &[$($(engine_traits::Capability::$cap),*)?],
                    run: $name::<E>,
                }
            ),*]
        }
    };
}

pub mod basic;
pub mod batch;
pub mod capability;
pub mod cf;
pub mod concurrent;
pub mod iter;
pub mod persistence;
pub mod range;
pub mod snapshot;

/// Every hand-written case, in report order.
pub fn all<E: KvEngine>() -> Vec<Case<E>> {
    let mut all = Vec::new();
    all.extend(basic::cases::<E>());
    all.extend(cf::cases::<E>());
    all.extend(batch::cases::<E>());
    all.extend(range::cases::<E>());
    all.extend(iter::cases::<E>());
    all.extend(snapshot::cases::<E>());
    all.extend(concurrent::cases::<E>());
    all.extend(persistence::cases::<E>());
    all.extend(capability::cases::<E>());
    all
}
