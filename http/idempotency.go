package http

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/paygate/paygate"
)

// outcome is what a request did, and so what becomes of its
// Idempotency-Key.
type outcome int

const (
	// outcomeRecorded: the request did what it asked, or its failure was
	// recorded (a declined payment, a failed refund). The answer is final:
	// it is kept under the key and replayed to every retry.
	outcomeRecorded outcome = iota
	// outcomeUnchanged: refused before anything changed (a validation
	// failure, a conflict): the key is released for reuse.
	outcomeUnchanged
	// outcomeUnknown: failed part-way (a 5xx). Whatever the request did
	// before it failed is recorded under the key (or nothing is): the key
	// is unlocked, unanswered, and the next request with it takes it over
	// at once and looks for that work.
	outcomeUnknown
	// outcomeInDoubt: the work of an earlier attempt with the key is still
	// in doubt: the claim is kept, and retries wait for it.
	outcomeInDoubt
)

// outcomeOf tells what a request that failed with err, answered with
// status, did.
func outcomeOf(err error, status int) outcome {
	var rec *recordedError
	switch {
	case errors.Is(err, paygate.ErrInDoubt):
		return outcomeInDoubt
	case status >= 500:
		return outcomeUnknown
	case errors.As(err, &rec):
		return outcomeRecorded
	}
	return outcomeUnchanged
}

// idempotent serves a POST that carries an Idempotency-Key: the first
// request with the key claims it and runs, a retry gets the first one's
// answer replayed (or waits while it runs), and what the request did
// (its outcome) decides whether the answer is kept.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, h apiFunc, m *paygate.Merchant, body []byte, key string) {
	if err := checkKey(key); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Only a keyed hash of the key is stored: merchants put all sorts
	// of things in keys, card numbers included.
	hashed := s.keyHash(key)
	r = r.WithContext(context.WithValue(r.Context(), idempotencyKey, hashed))
	now := time.Now().UTC().Truncate(paygate.TimePrecision)
	rec := &paygate.IdempotencyRecord{MerchantID: m.ID, Key: hashed, RequestHash: s.requestHash(r, body), CreatedAt: now, LockedAt: now}
	existing, err := s.Idempotency.BeginIdempotent(r.Context(), rec, now.Add(-s.IdempotencyLease))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("begin idempotent request: %w", err))
		return
	}
	if existing != nil {
		switch {
		case !hmac.Equal([]byte(existing.RequestHash), []byte(rec.RequestHash)):
			s.observeIdempotency(paygate.IdemMismatch)
			s.writeError(w, r, errKeyReused(key))
		case !existing.Done:
			s.observeIdempotency(paygate.IdemBusy)
			w.Header().Set("Retry-After", "1")
			s.writeError(w, r, errKeyBusy)
		default:
			s.observeIdempotency(paygate.IdemReplayed)
			w.Header().Set("Idempotent-Replayed", "true")
			writeRaw(w, existing.Status, existing.Body)
		}
		return
	}
	s.observeIdempotency(paygate.IdemNew)
	if rec.Recovered {
		// An earlier attempt held the key and never answered (its node
		// died): the handler resumes it, looking for what it did before
		// acting.
		r = r.WithContext(context.WithValue(r.Context(), recoveredKey, true))
	}
	a := s.respond(r, h, m, body)
	// Store the outcome whatever happens to the merchant's connection.
	ctx := context.WithoutCancel(r.Context())
	switch a.outcome {
	case outcomeInDoubt:
		// Keep the claim.
	case outcomeUnknown:
		err = s.Idempotency.UnlockIdempotent(ctx, rec)
	case outcomeUnchanged:
		err = s.Idempotency.ReleaseIdempotent(ctx, m.ID, rec.Key)
	default:
		rec.Status, rec.Body = a.status, a.body
		err = s.Idempotency.CompleteIdempotent(ctx, rec)
	}
	if err != nil {
		s.Logger.Error("store idempotent response", paygate.LogRequestID, requestID(r.Context()), paygate.LogError, err)
	}
	writeAnswer(w, a)
}

// errKeyReused answers a request whose Idempotency-Key was used for
// another request.
func errKeyReused(key string) error {
	return paygate.Errorf(paygate.EIDEMPOTENCY, "Idempotency-Key %q was already used with different parameters; use a new key for a new request.", paygate.RedactPANs(key))
}

// errKeyBusy answers a request whose Idempotency-Key an earlier request
// holds while it runs.
var errKeyBusy = paygate.Errorf(paygate.EIDEMPOTENCYBUSY, "A request with this Idempotency-Key is still being processed; retry shortly.")

// checkKey refuses an Idempotency-Key too long, or that holds a card
// number.
func checkKey(key string) error {
	if len(key) > paygate.MaxIdempotencyKey {
		return paygate.ParamErrorf(paygate.EINVALID, "Idempotency-Key", "Idempotency-Key must be at most %d characters.", paygate.MaxIdempotencyKey)
	}
	return checkKeyText(key)
}

// checkKeyText refuses an Idempotency-Key that holds a card number, as
// free text is refused, except a random hex token such as a UUID or the Go
// client's 32 hex characters (hex digits and dashes only, at least 16 of
// them with an a-f letter among them, or at least 32): measured, about 1
// random UUID in 4,500 and 1 hex key in 1,350 holds a card number by
// chance (a Luhn-valid run of a brand's length), and refusing those would
// fail payments at random. Nobody writes a card number into a key in hex;
// and the key is only ever stored as a keyed hash.
func checkKeyText(key string) error {
	digits, letters := 0, 0
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F':
			letters++
		case c == '-':
		default:
			return paygate.CheckFreeText("Idempotency-Key", key)
		}
	}
	if letters > 0 && digits+letters >= 16 || digits+letters >= 32 {
		return nil
	}
	return paygate.CheckFreeText("Idempotency-Key", key)
}

// keyHash is how an Idempotency-Key is stored and looked up.
func (s *Server) keyHash(key string) string {
	h := hmac.New(sha256.New, s.IdempotencySecret)
	h.Write([]byte("Idempotency-Key\n" + key))
	return "ik_" + hex.EncodeToString(h.Sum(nil)[:20])
}

// hashedKey returns the stored form of the request's Idempotency-Key, or "".
func hashedKey(r *http.Request) string {
	v, _ := r.Context().Value(idempotencyKey).(string)
	return v
}

// recovered reports whether the request took over the Idempotency-Key of an
// earlier attempt that never answered: its handler resumes that attempt
// (the Gateway's Resume methods) rather than acting afresh.
func recovered(r *http.Request) bool {
	v, _ := r.Context().Value(recoveredKey).(bool)
	return v
}

// requestHash is a keyed hash of the request: it may contain a card number,
// so a plain hash would not do (PCI DSS 3.5.1.1).
func (s *Server) requestHash(r *http.Request, body []byte) string {
	h := hmac.New(sha256.New, s.IdempotencySecret)
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) observeIdempotency(r paygate.IdempotencyResult) {
	if s.Observer != nil {
		s.Observer.Idempotency(r)
	}
}
