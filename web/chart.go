package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// barChart is a bar chart of a series (one bar a day, say), drawn on the
// server as SVG: no script, no network. Screen readers get its <title> and
// <desc>, and everyone the figures as a table beside it (Figure).
type barChart struct {
	ID     string   // unique on the page: prefixes the ids of the title and description
	Title  string   // "Volume per day, USD"
	Desc   string   // one sentence: what it shows and its total
	Labels []string // one per bar ("Mar 1")
	Values []int64  // one per bar, ≥ 0
	// Format writes a value as a reader reads it ("$1,234.50"); nil:
	// the number.
	Format func(int64) string
	// Every labels every n-th bar on the x axis (the last bar always);
	// 0: about six labels.
	Every int
}

// The chart's geometry, in SVG user units; the SVG scales to its box.
const (
	chartW, chartH         = 720, 260
	chartLeft, chartRight  = 84, 12
	chartTop, chartBottom  = 12, 36
	chartGridLines         = 4
	chartPlotW, chartPlotH = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
)

func (c barChart) format(v int64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	return groupInt(v)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so that the
// grid lines fall on round values; at least 1.
func niceCeil(v int64) int64 {
	if v <= 1 {
		return 1
	}
	p := int64(math.Pow10(int(math.Floor(math.Log10(float64(v))))))
	for _, m := range []int64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// SVG draws the chart.
func (c barChart) SVG() template.HTML {
	esc := template.HTMLEscapeString
	var maxV int64
	for _, v := range c.Values {
		maxV = max(maxV, v)
	}
	// A top the grid lines divide evenly.
	top := niceCeil(maxV)
	if r := top % chartGridLines; r != 0 {
		top += chartGridLines - r
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart-svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, esc(c.ID), esc(c.ID))
	fmt.Fprintf(&b, "\n<title id=\"%s-title\">%s</title>\n<desc id=\"%s-desc\">%s</desc>\n", esc(c.ID), esc(c.Title), esc(c.ID), esc(c.Desc))
	// Grid lines and the y axis's labels.
	b.WriteString(`<g class="chart-grid" aria-hidden="true">` + "\n")
	for i := 0; i <= chartGridLines; i++ {
		y := chartTop + chartPlotH - chartPlotH*i/chartGridLines
		v := top * int64(i) / chartGridLines
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d"/><text x="%d" y="%d" text-anchor="end">%s</text>`+"\n",
			chartLeft, y, chartW-chartRight, y, chartLeft-6, y+4, esc(c.format(v)))
	}
	b.WriteString("</g>\n")
	// Bars, each with its own title (a tooltip; screen readers have the table).
	n := len(c.Values)
	every := c.Every
	if every <= 0 {
		every = max(1, (n+5)/6)
	}
	b.WriteString(`<g class="chart-bars">` + "\n")
	for i, v := range c.Values {
		slot := float64(chartPlotW) / float64(max(n, 1))
		x := float64(chartLeft) + slot*float64(i) + slot*0.15
		h := float64(chartPlotH) * float64(v) / float64(top)
		y := float64(chartTop+chartPlotH) - h
		label := ""
		if i < len(c.Labels) {
			label = c.Labels[i]
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`+"\n",
			x, y, slot*0.7, h, esc(label), esc(c.format(v)))
	}
	b.WriteString("</g>\n")
	// The x axis and its labels.
	fmt.Fprintf(&b, `<g class="chart-axis" aria-hidden="true"><line x1="%d" y1="%d" x2="%d" y2="%d"/>`+"\n",
		chartLeft, chartTop+chartPlotH, chartW-chartRight, chartTop+chartPlotH)
	for i := range n {
		if i%every != 0 && i != n-1 || i >= len(c.Labels) {
			continue
		}
		if i != n-1 && n-1-i < every/2 { // too close to the last label
			continue
		}
		slot := float64(chartPlotW) / float64(n)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			float64(chartLeft)+slot*(float64(i)+0.5), chartH-chartBottom+20, esc(c.Labels[i]))
	}
	b.WriteString("</g>\n</svg>")
	return template.HTML(b.String())
}

// Table is the chart's figures as a table, for screen readers and anyone
// who wants the numbers.
func (c barChart) Table() template.HTML {
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, "<table class=\"chart-table\">\n<caption>%s</caption>\n<thead><tr><th scope=\"col\">Day</th><th scope=\"col\" class=\"num\">Value</th></tr></thead>\n<tbody>\n", esc(c.Title))
	for i, v := range c.Values {
		label := ""
		if i < len(c.Labels) {
			label = c.Labels[i]
		}
		fmt.Fprintf(&b, "<tr><th scope=\"row\">%s</th><td class=\"num\">%s</td></tr>\n", esc(label), esc(c.format(v)))
	}
	b.WriteString("</tbody>\n</table>")
	return template.HTML(b.String())
}

// Figure is the chart with its table folded away beneath it.
func (c barChart) Figure() template.HTML {
	return template.HTML(`<figure class="chart">` + "\n" + string(c.SVG()) +
		"\n<details class=\"chart-data\"><summary>" + template.HTMLEscapeString(c.Title) + ": the figures</summary>\n" +
		string(c.Table()) + "\n</details>\n</figure>")
}
