package bank

// What tests of settlement use: how many RRNs the accounts remember, and
// faults to inject into the acquirer's records (a transaction forgotten, an
// amount changed), or clearing without the gateway.

import "time"

// Remembered returns how many RRNs the accounts remember, for tests of
// pruning.
func (b *Bank) Remembered() int {
	n := 0
	for _, a := range b.accounts {
		a.mu.Lock()
		n += len(a.txns)
		a.mu.Unlock()
	}
	return n
}

// find runs f on the account that remembers r, under its lock, and
// reports whether there was one.
func (b *Bank) find(r string, f func(a *account, k rrn, t txn)) bool {
	k := rrnKey(r)
	for _, a := range b.accounts {
		a.mu.Lock()
		t, ok := a.txns[k]
		if ok {
			f(a, k, t)
		}
		a.mu.Unlock()
		if ok {
			return true
		}
	}
	return false
}

// LoseTransaction makes the acquirer forget the transaction of an RRN, as
// if it had never approved it (fault injection): its hold is released and
// it is in no reconciliation. It reports whether the RRN was known.
func (b *Bank) LoseTransaction(r string) bool {
	var w *entry
	found := b.find(r, func(a *account, k rrn, t txn) {
		a.held -= t.held
		a.available += t.held
		delete(a.txns, k)
		if a.journal != nil {
			w = a.entry(k, t, true)
			a.journal.enqueue(w)
			a.last = w
		}
	})
	w.wait()
	return found
}

// ChangeAmount changes the amount the acquirer will clear for an RRN (a
// sale, capture or refund not cleared yet; fault injection). It reports
// whether there was such a transaction.
func (b *Bank) ChangeAmount(r string, amount int64) bool {
	var w *entry
	changed := false
	b.find(r, func(a *account, k rrn, t txn) {
		switch {
		case t.posted > 0:
			t.posted = amount
		case t.credited > 0:
			t.credited = amount
		default:
			return
		}
		changed = true
		a.txns[k] = t
		w = a.record(k, t)
	})
	w.wait()
	return changed
}

// ClearAll clears every transaction the acquirer has recorded, of every
// merchant, as in-balance reconciliations would, with no fees and no
// funding recorded: for tests that look at the cardholders' postings
// without settling through the gateway.
func (b *Bank) ClearAll() {
	s := &b.settle
	s.mu.Lock()
	defer s.mu.Unlock()
	var last *entry
	for _, led := range s.ledgers {
		if e := b.clear(led, b.items(led, time.Time{})); e != nil {
			last = e
		}
	}
	last.wait()
}
