package web

import (
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paygate/paygate"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestBarChartGolden(t *testing.T) {
	usd := func(v int64) string { return formatMoney(v, mustCurrency(t, "USD")).Text() }
	days := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, "Mar "+itoa(i+1))
		}
		return out
	}
	tests := []struct {
		name string
		c    barChart
	}{
		{"chart-volume", barChart{ID: "vol", Title: "Volume per day, USD", Desc: "Approved volume for the last 7 days: $1,004.99 in all.",
			Labels: days(7), Values: []int64{10000, 0, 25050, 9999, 0, 55450, 0}, Format: usd}},
		{"chart-empty", barChart{ID: "none", Title: "Payments per day", Desc: "No payments in the last 3 days.",
			Labels: days(3), Values: []int64{0, 0, 0}}},
		{"chart-escape", barChart{ID: "esc", Title: `<script>"&"</script>`, Desc: "a < b",
			Labels: []string{"<b>", "&amp;"}, Values: []int64{3, 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.c.Figure())
			// Well-formed XML, whatever the labels hold.
			dec := xml.NewDecoder(strings.NewReader(got))
			for {
				_, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed: %v\n%s", err, got)
				}
			}
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("chart\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// The bars' heights are proportional to their values, against a top the
// grid lines divide evenly.
func TestBarChartScale(t *testing.T) {
	for _, tt := range []struct{ in, want int64 }{{0, 1}, {1, 1}, {7, 10}, {10, 10}, {11, 20}, {55450, 100000}, {201, 500}} {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
	c := barChart{ID: "x", Values: []int64{50, 100, 0}, Labels: []string{"a", "b", "c"}}
	svg := string(c.SVG())
	full := `height="` + itoa(chartPlotH) + `.0"`
	half := `height="` + itoa(chartPlotH/2) + `.0"`
	if !strings.Contains(svg, full) || !strings.Contains(svg, half) {
		t.Errorf("bars of 100 and 50 against a top of 100: want heights %s and %s in\n%s", full, half, svg)
	}
}

func mustCurrency(t *testing.T, code string) paygate.Currency {
	t.Helper()
	c, ok := paygate.LookupCurrency(code)
	if !ok {
		t.Fatalf("currency %s", code)
	}
	return c
}
