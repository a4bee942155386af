package http

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// apiFunc handles an authenticated API request whose body has been read.
type apiFunc func(r *http.Request, m *paygate.Merchant, body []byte) (any, error)

// paymentError carries the id of a payment that was recorded although the
// request failed (a decline), so the error body can name it.
type paymentError struct {
	paymentID string
	err       error
}

func (e *paymentError) Error() string { return e.err.Error() }
func (e *paymentError) Unwrap() error { return e.err }

// api wraps a handler with authentication, body limits and idempotency.
func (s *Server) api(h apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, err := s.authenticate(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		var body []byte
		if r.Method == http.MethodPost {
			if body, err = readBody(w, r); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		key := r.Header.Get("Idempotency-Key")
		if key == "" || r.Method != http.MethodPost {
			status, b := s.respond(r, h, m, body)
			writeRaw(w, status, b)
			return
		}
		if len(key) > paygate.MaxIdempotencyKey {
			s.writeError(w, r, paygate.ParamErrorf(paygate.EINVALID, "Idempotency-Key", "Idempotency-Key must be at most %d characters.", paygate.MaxIdempotencyKey))
			return
		}
		// Only a keyed hash of the key is stored: merchants put all sorts
		// of things in keys, card numbers included.
		hashed := s.keyHash(key)
		r = r.WithContext(context.WithValue(r.Context(), idempotencyKey, hashed))
		now := time.Now().UTC()
		rec := &paygate.IdempotencyRecord{MerchantID: m.ID, Key: hashed, RequestHash: s.requestHash(r, body), CreatedAt: now, LockedAt: now}
		existing, err := s.Idempotency.BeginIdempotent(r.Context(), rec, now.Add(-s.IdempotencyLease))
		if err != nil {
			s.writeError(w, r, fmt.Errorf("begin idempotent request: %w", err))
			return
		}
		if existing != nil {
			switch {
			case !hmac.Equal([]byte(existing.RequestHash), []byte(rec.RequestHash)):
				s.writeError(w, r, paygate.Errorf(paygate.EIDEMPOTENCY, "Idempotency-Key %q was already used with different parameters; use a new key for a new request.", paygate.RedactPANs(key)))
			case !existing.Done:
				w.Header().Set("Retry-After", "1")
				s.writeError(w, r, paygate.Errorf(paygate.EIDEMPOTENCYBUSY, "A request with this Idempotency-Key is still being processed; retry shortly."))
			default:
				w.Header().Set("Idempotent-Replayed", "true")
				writeRaw(w, existing.Status, existing.Body)
			}
			return
		}
		if rec.Recovered {
			// An earlier attempt held the key and never answered (its node
			// died): the handler looks for what it did before acting.
			r = r.WithContext(context.WithValue(r.Context(), recoveredKey, true))
		}
		status, b := s.respond(r, h, m, body)
		// Store the outcome whatever happens to the merchant's connection.
		ctx := context.WithoutCancel(r.Context())
		if bytes.Contains(b, []byte(`"code":"`+paygate.EIDEMPOTENCYBUSY+`"`)) {
			// The earlier attempt's work is still in doubt: keep the claim.
			writeRaw(w, status, b)
			return
		}
		if status >= 400 && status < 500 && !recorded(b) {
			// A validation failure changed nothing: let the key be reused.
			err = s.Idempotency.ReleaseIdempotent(ctx, m.ID, rec.Key)
		} else {
			rec.Status, rec.Body = status, b
			err = s.Idempotency.CompleteIdempotent(ctx, rec)
		}
		if err != nil {
			s.Logger.Error("store idempotent response", paygate.LogRequestID, requestID(r.Context()), paygate.LogError, err)
		}
		writeRaw(w, status, b)
	}
}

// recorded reports whether an error body names a payment that was recorded
// (a decline): such an outcome is kept for replay; other 4xx errors changed
// nothing and free the key.
func recorded(b []byte) bool { return bytes.Contains(b, []byte(`"payment_id":"`)) }

// respond runs the handler and renders its result.
func (s *Server) respond(r *http.Request, h apiFunc, m *paygate.Merchant, body []byte) (int, []byte) {
	v, err := h(r, m, body)
	status := http.StatusOK
	if err != nil {
		var pe *paymentError
		pid := ""
		if errors.As(err, &pe) {
			pid = pe.paymentID
		}
		status, v = s.renderError(r, err, pid)
	}
	b, merr := json.Marshal(v)
	if merr != nil {
		status, v = s.renderError(r, fmt.Errorf("encode response: %w", merr), "")
		b, _ = json.Marshal(v)
	}
	return status, append(b, '\n')
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

// requestHash is a keyed hash of the request: it may contain a card number,
// so a plain hash would not do (PCI DSS 3.5.1.1).
func (s *Server) requestHash(r *http.Request, body []byte) string {
	h := hmac.New(sha256.New, s.IdempotencySecret)
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// authenticate finds the merchant of the secret key in the Authorization
// header and takes a token from the key's rate limit (see limit).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*paygate.Merchant, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, paygate.Errorf(paygate.EUNAUTHORIZED, "No API key provided. Send your secret key as 'Authorization: Bearer sk_...'.")
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		if user, _, basic := r.BasicAuth(); basic {
			token, ok = user, true
		}
	}
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return nil, paygate.Errorf(paygate.EUNAUTHORIZED, "Malformed Authorization header. Send 'Authorization: Bearer sk_...'.")
	}
	hash := paygate.HashAPIKey(token)
	now := time.Now()
	e, ok := s.auth.get(hash, now)
	if !ok {
		k, err := s.Merchants.APIKeyByHash(r.Context(), hash)
		if paygate.ErrorCode(err) == paygate.ENOTFOUND {
			return nil, paygate.Errorf(paygate.EUNAUTHORIZED, "Invalid API key provided.")
		}
		if err != nil {
			return nil, err
		}
		e = authEntry{key: k, expires: now.Add(authTTL)}
		if !k.Revoked() {
			if e.merchant, err = s.Merchants.Merchant(r.Context(), k.MerchantID); err != nil {
				return nil, err
			}
		}
		s.auth.put(hash, e)
	}
	if e.key.Revoked() {
		return nil, paygate.Errorf(paygate.EUNAUTHORIZED, "This API key (%s…) has been revoked.", e.key.Prefix)
	}
	if e.key.Kind != paygate.KeySecret {
		return nil, paygate.Errorf(paygate.EFORBIDDEN, "Publishable keys cannot be used for this request; use a secret key.")
	}
	if err := s.limit(w, e.key.ID, e.merchant); err != nil {
		return nil, err
	}
	return e.merchant, nil
}

// readBody reads a request body up to MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, paygate.Errorf(paygate.ETOOLARGE, "Request body is larger than %d bytes.", MaxBodyBytes)
	}
	if err != nil {
		return nil, paygate.Errorf(paygate.EMALFORMED, "Request body could not be read.")
	}
	return b, nil
}

// decode parses a JSON object into v, refusing unknown fields, trailing data
// and wrong types. Its errors never echo the values sent (they may be card
// numbers). An empty body is an empty object when allowEmpty.
func decode(body []byte, v any, allowEmpty bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if allowEmpty {
			return nil
		}
		return paygate.Errorf(paygate.EMALFORMED, "Request body must be a JSON object.")
	}
	if err := checkDuplicateKeys(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return paygate.Errorf(paygate.EMALFORMED, "Request body must hold a single JSON object.")
		}
		return nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return paygate.Errorf(paygate.EMALFORMED, "Request body is not valid JSON (error at byte %d).", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return paygate.Errorf(paygate.EMALFORMED, "Request body is not valid JSON (it ends too early).")
	case errors.As(err, &te):
		if te.Field == "" {
			return paygate.Errorf(paygate.EMALFORMED, "Request body must be a JSON object.")
		}
		param := paramName(te.Field)
		if strings.HasPrefix(param, "metadata") {
			return paygate.ParamErrorf(paygate.EINVALID, "metadata", "Metadata must be an object whose values are strings.")
		}
		what := kindName(te.Type.Kind().String())
		if param == "amount" {
			what += " of minor units (1050 for 10.50)"
		}
		return paygate.ParamErrorf(paygate.EINVALID, param, "Parameter %q must be %s.", param, what)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		name = paygate.RedactPANs(sanitizePath(keyPath(body, name)))
		return paygate.ParamErrorf(paygate.EMALFORMED, name, "Unknown parameter %q.", name)
	}
	return paygate.Errorf(paygate.EMALFORMED, "Request body is not valid JSON.")
}

// paramName turns "card.exp_month" into "card[exp_month]".
func paramName(field string) string {
	parts := strings.Split(field, ".")
	out := parts[0]
	for _, p := range parts[1:] {
		out += "[" + p + "]"
	}
	return out
}

func kindName(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "uint64":
		return "an integer"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "map", "struct":
		return "an object"
	}
	return "of type " + kind
}

// recovered reports whether the request took over the Idempotency-Key of an
// earlier attempt that never answered.
func recovered(r *http.Request) bool {
	v, _ := r.Context().Value(recoveredKey).(bool)
	return v
}

// errStillInDoubt answers a retry whose earlier attempt is still in doubt.
var errStillInDoubt = paygate.Errorf(paygate.EIDEMPOTENCYBUSY, "An earlier attempt with this Idempotency-Key is still being resolved; retry in a minute.")

// checkDuplicateKeys refuses an object that names a key twice: which one
// wins would be a guess (encoding/json takes the last), and an amount is no
// place for guesses.
func checkDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		keys  map[string]bool
		isObj bool
		want  bool // next token in an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // syntax errors are reported by the real decode
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.isObj && top.want {
			if key, ok := tok.(string); ok {
				if top.keys[key] {
					name := paygate.RedactPANs(sanitizePath(key))
					return paygate.ParamErrorf(paygate.EMALFORMED, name, "Parameter %q appears more than once.", name)
				}
				top.keys[key] = true
				top.want = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, isObj: true, want: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: in an object the next token is a key again.
		if len(stack) > 0 && stack[len(stack)-1].isObj {
			stack[len(stack)-1].want = true
		}
		if len(stack) == 0 {
			return nil
		}
	}
}

// keyPath finds where key first appears in a JSON body and names it the way
// errors name parameters: "card[cvv]" for a key inside "card".
func keyPath(body []byte, key string) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		name  string // the key this container is the value of
		isObj bool
		want  bool
	}
	var stack []*frame
	pending := "" // the last key read, naming the next value
	for {
		tok, err := dec.Token()
		if err != nil {
			return key
		}
		if n := len(stack); n > 0 && stack[n-1].isObj && stack[n-1].want {
			if k, ok := tok.(string); ok {
				if k == key {
					var parts []string
					for _, f := range stack[1:] {
						parts = append(parts, f.name)
					}
					return paramName(strings.Join(append(parts, k), "."))
				}
				stack[n-1].want, pending = false, k
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, &frame{name: pending, isObj: tok == json.Delim('{'), want: tok == json.Delim('{')})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if n := len(stack); n > 0 && stack[n-1].isObj {
			stack[n-1].want = true
		}
	}
}
