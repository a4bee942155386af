package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/paygate/paygate"
)

// What a request carries is read strictly: a body up to MaxBodyBytes, one
// JSON object decoded into exactly the fields it names, and only the query
// parameters and headers a route takes, each once.

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
