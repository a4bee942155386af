package http

import (
	"context"
	"crypto/hmac"
	"errors"
	"net/http"

	"github.com/paygate/paygate"
)

// A payment made by POST /v1/payments with an Idempotency-Key is its own
// idempotency record (migration 0014): the payment row carries the keyed
// hash of the key and of the request, and its key is unique per merchant.
// A keyed sale writes the payment twice (recorded pending before the
// network, then its outcome) and nothing else for its key: no claim in
// idempotency_keys, no stored response. A retry finds the payment and gets
// its answer rebuilt from it: the payment as it is now (as GET returns it),
// or the decline the first request got. Other POST endpoints keep the
// generic records (idempotent).

// requestHashKey is the context key of a keyed payment request's hash.
type requestHashKeyType struct{}

var requestHashKey requestHashKeyType

// requestHashOf returns the hash of a keyed payment request that makes its
// payment its own idempotency record, or "".
func requestHashOf(r *http.Request) string {
	v, _ := r.Context().Value(requestHashKey).(string)
	return v
}

// keyedPayment serves POST /v1/payments with an Idempotency-Key.
//
// It does not look the key up first: the payment's insert, before anything
// goes to the network, is the lookup. A taken key fails it (ErrDuplicate)
// and the payment recorded under the key is replayed; a key that names a
// payment made before payments were their own records, or whose record
// expired, fails it too (ErrKeyRecorded, nothing written) and the key's
// generic record decides. So a new key costs no read, and a retry a read
// after its failed insert.
func (s *Server) keyedPayment(w http.ResponseWriter, r *http.Request, m *paygate.Merchant, body []byte, key string) {
	if err := checkKey(key); err != nil {
		s.writeError(w, r, err)
		return
	}
	hashed, hash := s.keyHash(key), s.requestHash(r, body)
	plain := r
	r = r.WithContext(context.WithValue(context.WithValue(r.Context(), idempotencyKey, hashed), requestHashKey, hash))
	v, err := s.createPayment(r, m, body)
	switch {
	case errors.Is(err, paygate.ErrKeyRecorded):
		s.idempotent(w, plain, s.createPayment, m, body, key)
		return
	case errors.Is(err, paygate.ErrDuplicate):
		// A payment was recorded under the key first.
		if p, lerr := s.Gateway.PaymentByIdempotencyKey(r.Context(), m, hashed); lerr == nil && p.RequestHash != "" {
			s.replayPayment(w, r, m, body, p, key, hash)
			return
		}
	}
	s.observeIdempotency(paygate.IdemNew)
	writeAnswer(w, s.respond(r, func(*http.Request, *paygate.Merchant, []byte) (any, error) { return v, err }, m, body))
}

// replayPayment answers a keyed payment request whose key found p.
func (s *Server) replayPayment(w http.ResponseWriter, r *http.Request, m *paygate.Merchant, body []byte, p *paygate.Payment, key, hash string) {
	switch {
	case !hmac.Equal([]byte(p.RequestHash), []byte(hash)):
		s.observeIdempotency(paygate.IdemMismatch)
		s.writeError(w, r, errKeyReused(key))
		return
	case p.Status == paygate.StatusPending && !p.UpdatedAt.Before(s.Gateway.Clock.Now().Add(-s.IdempotencyLease)):
		// Its request is still running (or its node died not long ago).
		s.observeIdempotency(paygate.IdemBusy)
		w.Header().Set("Retry-After", "1")
		s.writeError(w, r, errKeyBusy)
		return
	}
	replayed := p.Status != paygate.StatusPending
	if replayed {
		s.observeIdempotency(paygate.IdemReplayed)
	}
	a := s.respond(r, func(*http.Request, *paygate.Merchant, []byte) (any, error) {
		// Pending past the lease: in doubt until recovery settles it.
		p, err := paygate.ReplayPayment(p)
		if err != nil {
			if p != nil {
				return nil, &recordedError{paymentID: p.ID, err: err}
			}
			return nil, err
		}
		return newPaymentJSON(p), nil
	}, m, body)
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeAnswer(w, a)
}
