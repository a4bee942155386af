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
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
// query lists the query parameters the route takes; any other is refused.
func (s *Server) api(h apiFunc, query ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			// Refused before a byte of the body is read; the connection
			// is closed rather than drained.
			w.Header().Set("Connection", "close")
			s.writeError(w, r, errTooLarge)
			return
		}
		m, err := s.authenticate(w, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := checkRequest(r, query); err != nil {
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
			writeAnswer(w, status, b)
			return
		}
		if len(key) > paygate.MaxIdempotencyKey {
			s.writeError(w, r, paygate.ParamErrorf(paygate.EINVALID, "Idempotency-Key", "Idempotency-Key must be at most %d characters.", paygate.MaxIdempotencyKey))
			return
		}
		if err := checkKeyText(key); err != nil {
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
		if status == http.StatusConflict && hasCode(b, paygate.EIDEMPOTENCYBUSY) {
			// The earlier attempt's work is still in doubt: keep the claim.
			writeAnswer(w, status, b)
			return
		}
		switch {
		case status >= 500:
			// Not a final outcome: whatever the request did before it
			// failed is recorded under the key (or nothing is). The key
			// stays claimed, unanswered, and the next request with it
			// takes it over at once and looks for that work.
			err = s.Idempotency.UnlockIdempotent(ctx, rec)
		case status >= 400 && !recorded(b):
			// A validation failure, or a conflict (EBUSY), changed
			// nothing: let the key be reused.
			err = s.Idempotency.ReleaseIdempotent(ctx, m.ID, rec.Key)
		default:
			rec.Status, rec.Body = status, b
			err = s.Idempotency.CompleteIdempotent(ctx, rec)
		}
		if err != nil {
			s.Logger.Error("store idempotent response", paygate.LogRequestID, requestID(r.Context()), paygate.LogError, err)
		}
		writeAnswer(w, status, b)
	}
}

// hasCode reports whether a rendered error body has the given code (only
// meaningful for an error status: a payment's metadata could hold the text).
func hasCode(b []byte, code string) bool { return bytes.Contains(b, []byte(`"code":"`+code+`"`)) }

// writeAnswer writes a handler's answer; one that asks to be retried
// (a request still in flight, a conflict) says when.
func writeAnswer(w http.ResponseWriter, status int, b []byte) {
	if status == http.StatusConflict && (hasCode(b, paygate.EIDEMPOTENCYBUSY) || hasCode(b, paygate.EBUSY)) {
		w.Header().Set("Retry-After", "1")
	}
	writeRaw(w, status, b)
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
	if n := len(r.Header.Values("Authorization")); n > 1 {
		return nil, paygate.ParamErrorf(paygate.EMALFORMED, "Authorization", "Send one Authorization header, not %d.", n)
	}
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
		return nil, paygate.Errorf(paygate.EFORBIDDEN, "Publishable keys are no longer used; use a secret key.")
	}
	if err := s.limit(w, e.key.ID, e.merchant); err != nil {
		return nil, err
	}
	return e.merchant, nil
}

var errTooLarge = paygate.Errorf(paygate.ETOOLARGE, "Request body is larger than %d bytes.", MaxBodyBytes)

// readBody reads a request body up to MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errTooLarge
	}
	if err != nil {
		return nil, paygate.Errorf(paygate.EMALFORMED, "Request body could not be read.")
	}
	return b, nil
}

// checkRequest refuses what a request carries besides its body that would
// otherwise be silently ignored or guessed at: a second Idempotency-Key
// header (which one counts?), a malformed query string, query parameters
// the route does not take (query lists those it does), and a parameter
// given twice.
func checkRequest(r *http.Request, query []string) error {
	if n := len(r.Header.Values("Idempotency-Key")); n > 1 {
		return paygate.ParamErrorf(paygate.EMALFORMED, "Idempotency-Key", "Send one Idempotency-Key header, not %d.", n)
	}
	if r.URL.RawQuery == "" {
		return nil
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || strings.Contains(part, ";") {
			return paygate.Errorf(paygate.EMALFORMED, "The query string is malformed: write it as name=value pairs joined by '&', escaped.")
		}
		quoted := sanitizePath(name)
		switch {
		case !slices.Contains(query, name):
			if len(query) == 0 {
				return paygate.ParamErrorf(paygate.EMALFORMED, quoted, "Unknown parameter %q: this request takes no query parameters.", quoted)
			}
			return paygate.ParamErrorf(paygate.EMALFORMED, quoted, "Unknown parameter %q.", quoted)
		case seen[name]:
			return paygate.ParamErrorf(paygate.EMALFORMED, quoted, "Parameter %q appears more than once.", quoted)
		}
		seen[name] = true
	}
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		return paygate.Errorf(paygate.EMALFORMED, "The query string is malformed: write it as name=value pairs joined by '&', escaped.")
	}
	return nil
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
	if !utf8.Valid(body) {
		return paygate.Errorf(paygate.EMALFORMED, "Request body is not valid UTF-8.")
	}
	if err := checkKeys(body, reflect.TypeOf(v)); err != nil {
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
		// checkKeys found every unknown key first; this is a safety net.
		return paygate.Errorf(paygate.EMALFORMED, "Request body has an unknown parameter.")
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

// checkKeys walks a JSON body against the type it is decoded into, and
// refuses a key that is not exactly one of the type's field names, and an
// object that names a key twice. encoding/json matches field names
// case-insensitively and lets the last of two keys win: {"amount":1,
// "AMOUNT":2500} would charge 2500. Which spelling or which key wins would
// be a guess, and an amount is no place for guesses. Map keys (metadata)
// may be anything. Syntax errors are left to the decoder, which names them
// better; of other problems, the first in the body is reported.
func checkKeys(body []byte, t reflect.Type) error {
	c := keyChecker{dec: json.NewDecoder(bytes.NewReader(body))}
	c.dec.UseNumber() // numbers are the decoder's business
	if c.value(t, nil) != nil {
		return nil // not JSON: the decoder says why
	}
	return c.problem
}

type keyChecker struct {
	dec     *json.Decoder
	problem error // the first unknown or repeated key
}

// value reads one JSON value that is to be decoded into a t (nil: into
// something whose keys are not checked). path names where it is.
func (c *keyChecker) value(t reflect.Type, path []string) error {
	tok, err := c.dec.Token()
	if err != nil {
		return err
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch tok {
	case json.Delim('{'):
		fields := jsonFields(t)
		seen := map[string]bool{}
		for c.dec.More() {
			tok, err := c.dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			var vt reflect.Type
			switch {
			case seen[key]:
				c.note(paygate.ParamErrorf(paygate.EMALFORMED, sanitizePath(key), "Parameter %q appears more than once.", sanitizePath(key)))
			case fields != nil:
				var ok bool
				if vt, ok = fields[key]; !ok {
					name := sanitizePath(bracketPath(append(path, key)))
					c.note(paygate.ParamErrorf(paygate.EMALFORMED, name, "Unknown parameter %q.", name))
				}
			case t != nil && t.Kind() == reflect.Map:
				vt = t.Elem()
			}
			seen[key] = true
			if err := c.value(vt, append(path, key)); err != nil {
				return err
			}
		}
		_, err = c.dec.Token() // '}'
		return err
	case json.Delim('['):
		var et reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			et = t.Elem()
		}
		for c.dec.More() {
			if err := c.value(et, path); err != nil {
				return err
			}
		}
		_, err = c.dec.Token() // ']'
		return err
	}
	return nil
}

func (c *keyChecker) note(err error) {
	if c.problem == nil {
		c.problem = err
	}
}

// bracketPath names a nested parameter the way errors do: "card[cvv]".
func bracketPath(path []string) string {
	out := path[0]
	for _, p := range path[1:] {
		out += "[" + p + "]"
	}
	return out
}

var (
	fieldCache      sync.Map // reflect.Type → map[string]reflect.Type
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// jsonFields returns the exact JSON names of a struct type's fields and
// their types, as encoding/json names them (the json tag's name, else the
// Go name; fields of embedded structs promoted, shallower ones winning), or
// nil if t is not a struct whose keys can be checked.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if t == nil || t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	addFields(fields, t, map[reflect.Type]bool{})
	fieldCache.Store(t, fields)
	return fields
}

func addFields(fields map[string]reflect.Type, t reflect.Type, visited map[reflect.Type]bool) {
	if visited[t] {
		return
	}
	visited[t] = true
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := fields[name]; !taken {
			fields[name] = f.Type
		}
	}
	for _, et := range embedded {
		addFields(fields, et, visited)
	}
}
