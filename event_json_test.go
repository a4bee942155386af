package paygate

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// fill sets every field of the struct v points to: strings to s, numbers
// to n (an unhandled kind fails the test, for a field added later).
func fill(t *testing.T, v any, s string, n int64) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	for i := range rv.NumField() {
		f := rv.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(s)
		case reflect.Int, reflect.Int64:
			f.SetInt(n)
		case reflect.Struct:
			if f.Type() != reflect.TypeFor[time.Time]() {
				t.Fatalf("field %s: a struct the test does not fill", rv.Type().Field(i).Name)
			}
			f.Set(reflect.ValueOf(time.Date(2026, 12, 1, 20, 8, 34, int(n%1e9+1e9)%1e9, time.UTC)))
		default:
			t.Fatalf("field %s of kind %s: the test does not fill it", rv.Type().Field(i).Name, f.Kind())
		}
	}
}

var jsonSamples = []struct {
	s string
	n int64
}{{"", 0}, {"x", 1}, {`q"<&>\` + "\n\u2028\xff é", -7}, {"pay_01m8skjafn2dnj0e3tq2fmtk1s", 1796155714}}

// Each field set, then none, then odd strings: what marshalEventBody
// writes is json.Marshal's.
func TestMarshalEventBodyIsEncodingJSONs(t *testing.T) {
	for _, sm := range jsonSamples {
		var d EventData
		fill(t, &d, sm.s, sm.n)
		body := EventBody{ID: "evt_" + sm.s, Type: "payment.captured", Timestamp: time.Date(2026, 12, 1, 20, 8, 33, 995240000, time.UTC), Data: d}
		want, _ := json.Marshal(body)
		got, err := marshalEventBody(body)
		if err != nil || string(got) != string(want) {
			t.Errorf("marshalEventBody:\n got %s, %v\nwant %s", got, err, want)
		}
	}
	// One field at a time: the commas between the fields left out.
	rt := reflect.TypeFor[EventData]()
	for i := range rt.NumField() {
		var d EventData
		f := reflect.ValueOf(&d).Elem().Field(i)
		if f.Kind() == reflect.String {
			f.SetString("v")
		} else {
			f.SetInt(3)
		}
		body := EventBody{ID: "evt_1", Type: "t", Data: d}
		want, _ := json.Marshal(body)
		if got, _ := marshalEventBody(body); string(got) != string(want) {
			t.Errorf("only %s set:\n got %s\nwant %s", rt.Field(i).Name, got, want)
		}
	}
	if _, err := marshalEventBody(EventBody{Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("a time past 9999: no error, as json.Marshal has")
	}
}

func TestMarshalTraceIsEncodingJSONs(t *testing.T) {
	for _, tr := range [][]TraceEntry{nil, {}} {
		want, _ := json.Marshal(tr)
		if got, err := MarshalTrace(tr); err != nil || string(got) != string(want) {
			t.Errorf("MarshalTrace(%#v) = %s, %v; want %s", tr, got, err, want)
		}
	}
	var trace []TraceEntry
	for _, sm := range jsonSamples {
		var e TraceEntry
		fill(t, &e, sm.s, sm.n)
		trace = append(trace, e)
		want, _ := json.Marshal(trace)
		got, err := MarshalTrace(trace)
		if err != nil || string(got) != string(want) {
			t.Errorf("MarshalTrace:\n got %s, %v\nwant %s", got, err, want)
		}
	}
	if _, err := MarshalTrace([]TraceEntry{{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}); err == nil {
		t.Error("a time past 9999: no error, as json.Marshal has")
	}
}

func FuzzMarshalEventBody(f *testing.F) {
	for _, sm := range jsonSamples {
		f.Add(sm.s, sm.n)
	}
	f.Fuzz(func(t *testing.T, s string, n int64) {
		var d EventData
		fill(t, &d, s, n)
		body := EventBody{ID: s, Type: s, Timestamp: time.Unix(n%1e10, n%1e9), Data: d}
		want, werr := json.Marshal(body)
		got, err := marshalEventBody(body)
		if (werr == nil) != (err == nil) || werr == nil && string(got) != string(want) {
			t.Errorf("marshalEventBody:\n got %s, %v\nwant %s, %v", got, err, want, werr)
		}
		e := TraceEntry{At: body.Timestamp, Event: s, Kind: s, MTI: s, STAN: s, RRN: s, Card: s, Amount: n, Currency: s,
			ResponseCode: s, AuthCode: s, Detail: s, Millis: n}
		want, werr = json.Marshal([]TraceEntry{e, e})
		got, err = MarshalTrace([]TraceEntry{e, e})
		if (werr == nil) != (err == nil) || werr == nil && string(got) != string(want) {
			t.Errorf("MarshalTrace:\n got %s, %v\nwant %s, %v", got, err, want, werr)
		}
	})
}
