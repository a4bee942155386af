package loadgen

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power of two of
// microseconds is cut into 2^subBits buckets, so a percentile is off by at
// most 1/2^subBits (under 1.6%).
const subBits = 6

// maxExp bounds the latencies counted apart: 2^maxExp µs is 12 days; any
// longer goes in the last bucket.
const maxExp = 40

// histogram counts latencies in log-linear buckets of microseconds (the
// HdrHistogram layout): fixed size, no allocation per sample, mergeable.
// Not safe for concurrent use: each worker keeps its own.
type histogram struct {
	counts [(maxExp - subBits + 1) << subBits]uint64
	n      uint64
	max    time.Duration
}

// bucket returns the index of a latency of us microseconds.
func bucket(us uint64) int {
	if us < 1<<subBits {
		return int(us)
	}
	exp := bits.Len64(us) - 1 - subBits // ≥ 0
	return (exp+1)<<subBits + int(us>>uint(exp)) - 1<<subBits
}

// upper returns the largest latency (µs) that falls in bucket i.
func upper(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	exp := i>>subBits - 1
	mant := uint64(i&(1<<subBits-1)) + 1<<subBits
	return (mant+1)<<uint(exp) - 1
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucket(min(uint64(d/time.Microsecond), 1<<maxExp-1))]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency below which a fraction q of the samples
// fall (the bucket's upper bound, capped by the largest sample).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return min(time.Duration(upper(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}
