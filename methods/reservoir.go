package methods

import "math/rand/v2"

// Reservoir keeps a uniform random sample of at most Cap items from a
// stream of unknown length: Vitter's Algorithm R. After n items have been
// offered, each of them is in the sample with probability min(1, Cap/n).
//
// Offer and Put are split so that a caller can decide which items are
// kept before paying to build them (AISP scores a row's loss only when
// the row enters the buffer). Puts must follow their Offers in stream
// order; a later item may take the slot of an earlier one of the same
// batch, as in the sequential algorithm.
type Reservoir[T any] struct {
	capacity int
	seen     int64
	items    []T
}

// NewReservoir returns an empty reservoir holding at most capacity items.
func NewReservoir[T any](capacity int) *Reservoir[T] {
	return &Reservoir[T]{capacity: capacity, items: make([]T, 0, capacity)}
}

// Offer counts the next item of the stream and says where it goes: a
// slot in [0, Len()] (Len() means append) and whether it is kept at all.
func (r *Reservoir[T]) Offer(rng *rand.Rand) (slot int, keep bool) {
	n := r.seen // items before this one
	r.seen++
	if r.capacity <= 0 {
		return 0, false
	}
	if n < int64(r.capacity) {
		return int(n), true
	}
	j := rng.Int64N(n + 1) // uniform over the n+1 items seen
	if j < int64(r.capacity) {
		return int(j), true
	}
	return 0, false
}

// Put stores item in a slot returned by Offer.
func (r *Reservoir[T]) Put(slot int, item T) {
	if slot == len(r.items) {
		r.items = append(r.items, item)
		return
	}
	r.items[slot] = item
}

// Add offers item and stores it if kept.
func (r *Reservoir[T]) Add(rng *rand.Rand, item T) (slot int, kept bool) {
	slot, kept = r.Offer(rng)
	if kept {
		r.Put(slot, item)
	}
	return slot, kept
}

// Items is the current sample (a view; do not append to it).
func (r *Reservoir[T]) Items() []T { return r.items }

// Len is the number of items held.
func (r *Reservoir[T]) Len() int { return len(r.items) }

// Cap is the capacity.
func (r *Reservoir[T]) Cap() int { return r.capacity }

// Seen is the number of items offered so far.
func (r *Reservoir[T]) Seen() int64 { return r.seen }
