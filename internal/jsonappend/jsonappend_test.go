package jsonappend

import (
	"encoding/json"
	"testing"
	"time"
)

var samples = []string{"", "plain", `q"uote\back`, "<b>&amp;</b>", "tab\tnl\ncr\rbs\bff\f", "\x00\x01\x1f\x7f",
	"é ü 漢字 🙂", "\u2028\u2029", "bad \xff\xfe utf8", "\xc3", "a\xe2\x80"}

func TestStringIsEncodingJSONs(t *testing.T) {
	for _, s := range samples {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzString(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := String(nil, s); string(got) != string(want) {
			t.Errorf("String(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestTimeIsMarshalJSONs(t *testing.T) {
	for _, tm := range []time.Time{
		{}, time.Date(2026, 12, 1, 20, 8, 34, 53832000, time.UTC), time.Date(2026, 12, 1, 20, 8, 34, 0, time.FixedZone("", 5*3600+1800)),
		time.Unix(1796155714, 1).UTC(),
	} {
		want, _ := json.Marshal(tm)
		got, err := Time(nil, tm)
		if err != nil || string(got) != string(want) {
			t.Errorf("Time(%v) = %s, %v; want %s", tm, got, err, want)
		}
	}
	if _, err := Time(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("Time of the year 10000: no error, as json.Marshal has")
	}
}

func TestOptional(t *testing.T) {
	if got := string(OptionalString([]byte("{"), `"a":`, "")); got != "{" {
		t.Errorf("empty string written: %s", got)
	}
	if got := string(OptionalString([]byte("{"), `"a":`, "x")); got != `{"a":"x"` {
		t.Errorf("OptionalString = %s", got)
	}
	if got := string(OptionalInt([]byte("{"), `"n":`, 0)); got != "{" {
		t.Errorf("zero written: %s", got)
	}
	if got := string(OptionalInt([]byte("{"), `"n":`, -42)); got != `{"n":-42` {
		t.Errorf("OptionalInt = %s", got)
	}
}
