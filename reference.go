package paygate

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// numberBlock is this process's reserved block of reference numbers.
type numberBlock struct {
	mu        sync.Mutex
	next, end int64
	local     atomic.Int64
}

// numberBlockSize is how many reference numbers a process reserves at once.
const numberBlockSize = 1000

// nextNumber returns the next reference number: unique across restarts and
// across gateway nodes, because blocks of them are reserved in the database.
func (g *Gateway) nextNumber(ctx context.Context) (int64, error) {
	b := &g.numbers
	if g.Sequences == nil {
		return b.local.Add(1), nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.next == b.end {
		first, err := g.Sequences.Reserve(ctx, "rrn", numberBlockSize)
		if err != nil {
			return 0, fmt.Errorf("reserve reference numbers: %w", err)
		}
		b.next, b.end = first, first+numberBlockSize
	}
	n := b.next
	b.next++
	return n, nil
}

// nextSTANAndRRN returns a fresh STAN (DE11, 6 digits, never 000000) and RRN
// (DE37, 12 digits); package iso8583 checks both against its spec when it
// packs them. The RRN is unique for 10^12 messages; the STAN, its last six
// digits, for a million.
func (g *Gateway) nextSTANAndRRN(ctx context.Context) (stan, rrn string, err error) {
	for {
		n, err := g.nextNumber(ctx)
		if err != nil {
			return "", "", err
		}
		if n%1_000_000 == 0 {
			continue
		}
		rrn = fmt.Sprintf("%012d", n%1_000_000_000_000)
		return rrn[6:], rrn, nil
	}
}
