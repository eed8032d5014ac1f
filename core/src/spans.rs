//! Where a head's fields lie in its bytes, kept without a heap allocation
//! for the usual number of fields.

/// Where one field's name and value lie in the head's bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FieldSpan {
    pub(crate) name: (u32, u32),
    pub(crate) value: (u32, u32),
}

impl FieldSpan {
    pub(crate) fn name(&self) -> std::ops::Range<usize> {
        self.name.0 as usize..self.name.1 as usize
    }

    pub(crate) fn value(&self) -> std::ops::Range<usize> {
        self.value.0 as usize..self.value.1 as usize
    }
}

/// Fields held inline. Most API clients and load generators send fewer than
/// 8 (a browser sends 15 to 20 and spills to the heap). More inline would
/// make every move of a head a larger copy.
const INLINE: usize = 8;

/// The spans of one head's fields: inline up to `INLINE`, then on the heap.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "inline is the point: the common head is parsed without allocating"
)]
pub(crate) enum FieldSpans {
    Inline { len: u8, spans: [FieldSpan; INLINE] },
    Heap(Vec<FieldSpan>),
}

impl Default for FieldSpans {
    fn default() -> Self {
        FieldSpans::Inline {
            len: 0,
            spans: [FieldSpan::default(); INLINE],
        }
    }
}

impl FieldSpans {
    /// Room for `count` spans, on the heap only if they cannot fit inline.
    pub(crate) fn with_capacity(count: usize) -> Self {
        if count <= INLINE {
            FieldSpans::default()
        } else {
            FieldSpans::Heap(Vec::with_capacity(count))
        }
    }

    pub(crate) fn push(&mut self, span: FieldSpan) {
        match self {
            FieldSpans::Inline { len, spans } if usize::from(*len) < INLINE => {
                spans[usize::from(*len)] = span;
                *len += 1;
            }
            FieldSpans::Inline { spans, .. } => {
                let mut heap = spans.to_vec();
                heap.push(span);
                *self = FieldSpans::Heap(heap);
            }
            FieldSpans::Heap(heap) => heap.push(span),
        }
    }

    pub(crate) fn as_slice(&self) -> &[FieldSpan] {
        match self {
            FieldSpans::Inline { len, spans } => &spans[..usize::from(*len)],
            FieldSpans::Heap(heap) => heap,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.as_slice().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_to_the_heap_in_order() {
        let mut spans = FieldSpans::with_capacity(2);
        for i in 0..INLINE as u32 + 3 {
            spans.push(FieldSpan {
                name: (i, i + 1),
                value: (i + 2, i + 3),
            });
        }
        assert!(matches!(spans, FieldSpans::Heap(_)));
        assert_eq!(spans.len(), INLINE + 3);
        assert!(spans
            .as_slice()
            .iter()
            .enumerate()
            .all(|(i, s)| s.name.0 == i as u32));
    }
}
