package http_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/client"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// startBarrier holds each node's first look at the data keys until every
// node has had it: all of them find the fresh database without a key, as
// nodes started together do, and all try to make the first one.
type startBarrier struct {
	mu    sync.Mutex
	n     int
	calls int
	all   chan struct{}
}

func newStartBarrier(n int) *startBarrier { return &startBarrier{n: n, all: make(chan struct{})} }

func (b *startBarrier) wrap(ks paygate.KeyStore) paygate.KeyStore { return &barrierKeys{ks, b} }

type barrierKeys struct {
	paygate.KeyStore
	b *startBarrier
}

func (k *barrierKeys) DataKeys(ctx context.Context) ([]paygate.WrappedKey, error) {
	keys, err := k.KeyStore.DataKeys(ctx)
	k.b.mu.Lock()
	if k.b.calls++; k.b.calls == k.b.n {
		close(k.b.all)
	}
	k.b.mu.Unlock()
	select {
	case <-k.b.all:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(time.Minute):
		// A node that failed to open never comes: fail, do not hang.
		return nil, errors.New("start barrier: not every node reached it")
	}
	return keys, err
}

// TestNodesStartTogether starts four nodes at once on one fresh database:
// one data key is made, and every operation on a card taken on one node
// works on every other (capture, void and refund open the card number
// again, to send it to the acquirer).
func TestNodesStartTogether(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		const n = 4
		nodes := gatewaytest.MustOpenNodes(t, n, gatewaytest.Options{Postgres: pg, KeyStore: newStartBarrier(n).wrap})
		const pan = "4242424242424242"
		e, err := nodes[0].Vault.Seal(pan)
		if err != nil {
			t.Fatal(err)
		}
		for i, node := range nodes {
			got, err := node.Vault.Seal(pan)
			if err != nil {
				t.Fatal(err)
			}
			if got.KeyID != e.KeyID {
				t.Errorf("node %d seals with data key %s, node 0 with %s: want one key", i, got.KeyID, e.KeyID)
			}
		}

		clients := make([]*client.Client, n)
		for i, node := range nodes {
			clients[i] = node.Client()
		}
		ctx := t.Context()
		auth := func(c *client.Client, capture bool) *client.Payment {
			t.Helper()
			p, err := c.CreatePayment(ctx, client.PaymentParams{Amount: 2500, Currency: "USD", Card: card(pan, "123"), Capture: &capture})
			if err != nil {
				t.Fatalf("create payment: %v", err)
			}
			return p
		}
		for a := range n {
			stored, err := clients[a].CreateCard(ctx, client.CardParams{Number: pan, ExpMonth: 12, ExpYear: 2031, CVC: "123"})
			if err != nil {
				t.Fatalf("node %d: store card: %v", a, err)
			}
			for b := range n {
				if a == b {
					continue
				}
				on := fmt.Sprintf("taken on node %d, on node %d", a, b)
				if _, err := clients[b].Capture(ctx, auth(clients[a], false).ID, client.CaptureParams{}); err != nil {
					t.Errorf("capture %s: %v", on, err)
				}
				if _, err := clients[b].Void(ctx, auth(clients[a], false).ID); err != nil {
					t.Errorf("void %s: %v", on, err)
				}
				amount := int64(1000)
				if _, err := clients[b].Refund(ctx, auth(clients[a], true).ID, client.RefundParams{Amount: &amount}); err != nil {
					t.Errorf("refund %s: %v", on, err)
				}
				if _, err := clients[b].CreatePayment(ctx, client.PaymentParams{Amount: 700, Currency: "USD", CardID: stored.ID}); err != nil {
					t.Errorf("charge a card stored on node %d, on node %d: %v", a, b, err)
				}
			}
		}
	})
}

// TestRotateOnOneNode rotates the data key on one node: the cards it seals
// afterwards are captured, voided and refunded on another node, which
// loads the new key from the database when it first meets it.
func TestRotateOnOneNode(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		nodes := gatewaytest.MustOpenNodes(t, 2, gatewaytest.Options{Postgres: pg})
		a, b := nodes[0].Client(), nodes[1].Client()
		before, err := nodes[1].Vault.Seal("4242424242424242")
		if err != nil {
			t.Fatal(err)
		}
		if err := nodes[0].Vault.Rotate(t.Context()); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		ctx := t.Context()
		pay := func(capture bool) string {
			t.Helper()
			p, err := a.CreatePayment(ctx, client.PaymentParams{Amount: 2500, Currency: "USD", Card: card("4242424242424242", "123"), Capture: &capture})
			if err != nil {
				t.Fatalf("create payment on node 0: %v", err)
			}
			return p.ID
		}
		if _, err := b.Capture(ctx, pay(false), client.CaptureParams{}); err != nil {
			t.Errorf("capture on node 1: %v", err)
		}
		if _, err := b.Void(ctx, pay(false)); err != nil {
			t.Errorf("void on node 1: %v", err)
		}
		if _, err := b.Refund(ctx, pay(true), client.RefundParams{}); err != nil {
			t.Errorf("refund on node 1: %v", err)
		}
		// Node 1 now seals with the new key too.
		after, err := nodes[1].Vault.Seal("4242424242424242")
		if err != nil {
			t.Fatal(err)
		}
		if after.KeyID <= before.KeyID {
			t.Errorf("node 1 seals with %s after the rotation, %s before: want the new key", after.KeyID, before.KeyID)
		}
	})
}
