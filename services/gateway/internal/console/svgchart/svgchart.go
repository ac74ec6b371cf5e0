// Package svgchart draws small bar and line charts as inline SVG on the
// server, for the console: no script, no external resource. Every chart is
// an accessible image (role="img" with <title> and <desc>) followed by a
// data table holding the same numbers as its text alternative.
package svgchart

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Kind is how a chart draws its series.
type Kind int

const (
	// Bars stacks the series of each label in one bar.
	Bars Kind = iota
	// Lines draws each series as a line with a dot at every point.
	Lines
)

// Series is one named set of values, one per label of the chart.
type Series struct {
	Name   string
	Values []float64
}

// Chart is a chart with its labels (the x axis) and series.
type Chart struct {
	ID    string // element id prefix, unique in the page
	Title string
	Desc  string // one sentence saying what the chart shows
	Kind  Kind
	Unit  string // shown after values in the table and on the y axis ("", "%", "ms")
	// LabelHeader heads the table's label column; "" means "Hour".
	LabelHeader string
	Labels      []string
	Series      []Series
	Width       int // viewBox size; 0 means 640 by 220
	Height      int
	// Max fixes the top of the y axis (100 for percentages); 0 means from the data.
	Max float64
}

// Palette holds the series colours: each has at least 3:1 contrast on white
// (WCAG 1.4.11) and they differ in lightness as well as hue.
var Palette = []string{"#1f5fbf", "#b42318", "#17803d", "#8a5a00", "#6b3fa0", "#4a5263", "#0e7490"}

// Color is the colour of series i.
func Color(i int) string { return Palette[i%len(Palette)] }

const (
	padLeft, padRight, padTop, padBottom = 44.0, 8.0, 10.0, 26.0
)

// Empty reports whether the chart has no value above zero.
func (c Chart) Empty() bool {
	for _, s := range c.Series {
		for _, v := range s.Values {
			if v > 0 {
				return false
			}
		}
	}
	return true
}

// top is the y axis maximum: Max, else the highest bar (stacked) or point,
// rounded up to a nice number; at least 1.
func (c Chart) top() float64 {
	if c.Max > 0 {
		return c.Max
	}
	m := 0.0
	for i := range c.Labels {
		sum := 0.0
		for _, s := range c.Series {
			v := value(s, i)
			if c.Kind == Bars {
				sum += v
			} else {
				m = math.Max(m, v)
			}
		}
		m = math.Max(m, sum)
	}
	return Nice(m)
}

// Nice is the top of an axis of four equal steps holding v: four times the
// smallest step of 1, 2, 2.5 or 5 times a power of ten (at least 1) that
// reaches v, so that every gridline is a round number.
func Nice(v float64) float64 {
	step := v / 4
	if step <= 1 {
		return 4
	}
	p := math.Pow(10, math.Floor(math.Log10(step)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if step <= f*p+1e-9 {
			return 4 * f * p
		}
	}
	return 40 * p
}

func value(s Series, i int) float64 {
	if i < len(s.Values) && !math.IsNaN(s.Values[i]) && s.Values[i] > 0 {
		return s.Values[i]
	}
	return 0
}

// Format shows v with at most one decimal.
func Format(v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func esc(s string) string { return html.EscapeString(s) }

// SVG is the chart alone: an <svg role="img"> with its title, description,
// axes, gridlines, the bars or lines and a legend line below.
func (c Chart) SVG() template.HTML {
	w, h := float64(c.Width), float64(c.Height)
	if w == 0 || h == 0 {
		w, h = 640, 220
	}
	var b strings.Builder
	id := esc(c.ID)
	fmt.Fprintf(&b, `<svg class="chart" id="%s" role="img" aria-labelledby="%s-title %s-desc" viewBox="0 0 %g %g" preserveAspectRatio="xMidYMid meet" width="100%%" data-kind="%s">`,
		id, id, id, w, h, map[Kind]string{Bars: "bars", Lines: "lines"}[c.Kind])
	fmt.Fprintf(&b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, id, esc(c.Title), id, esc(c.Desc))
	top := c.top()
	pw, ph := w-padLeft-padRight, h-padTop-padBottom
	y := func(v float64) float64 { return padTop + ph - v/top*ph }
	// gridlines and y labels at 0, ¼, ½, ¾ and the top
	for k := 0; k <= 4; k++ {
		v := top * float64(k) / 4
		fmt.Fprintf(&b, `<line class="grid" x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#d5d9e2" stroke-width="1"/>`, padLeft, w-padRight, y(v), y(v))
		fmt.Fprintf(&b, `<text class="axis" x="%g" y="%.1f" text-anchor="end" font-size="11" fill="#4a5263">%s%s</text>`, padLeft-4, y(v)+4, Format(v), esc(unitSuffix(c.Unit)))
	}
	n := len(c.Labels)
	if n > 0 {
		step := pw / float64(n)
		every := max(1, (n+7)/8) // at most about 8 x labels
		for i, l := range c.Labels {
			if i%every != 0 {
				continue
			}
			fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%g" text-anchor="middle" font-size="11" fill="#4a5263">%s</text>`, padLeft+step*(float64(i)+0.5), h-padBottom+15, esc(l))
		}
		switch c.Kind {
		case Bars:
			bw := math.Max(step*0.7, 1)
			for i := range c.Labels {
				base := 0.0
				for si, s := range c.Series {
					v := value(s, i)
					if v == 0 {
						continue
					}
					x := padLeft + step*float64(i) + (step-bw)/2
					fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s%s</title></rect>`,
						x, y(base+v), bw, y(base)-y(base+v), Color(si), esc(c.Labels[i]), esc(s.Name), Format(v), esc(unitSuffix(c.Unit)))
					base += v
				}
			}
		case Lines:
			for si, s := range c.Series {
				// a missing value (NaN) breaks the line: one polyline per run of points
				var runs [][]string
				var pts []string
				for i := range c.Labels {
					if i >= len(s.Values) || math.IsNaN(s.Values[i]) {
						if len(pts) > 0 {
							runs, pts = append(runs, pts), nil
						}
						continue
					}
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", padLeft+step*(float64(i)+0.5), y(value(s, i))))
				}
				if len(pts) > 0 {
					runs = append(runs, pts)
				}
				total := 0
				for _, r := range runs {
					total += len(r)
					fmt.Fprintf(&b, `<polyline class="line" points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(r, " "), Color(si))
				}
				if total > 60 { // dense lines: no dots
					continue
				}
				for _, r := range runs {
					for _, p := range r {
						xy := strings.SplitN(p, ",", 2)
						fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`, xy[0], xy[1], Color(si))
					}
				}
			}
		}
	}
	fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#4a5263" stroke-width="1"/>`, padLeft, w-padRight, y(0), y(0))
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text above is escaped
}

func unitSuffix(u string) string {
	switch u {
	case "":
		return ""
	case "%":
		return "%"
	}
	return " " + u
}

// Legend lists the series with their colours (HTML, not part of the image).
func (c Chart) Legend() template.HTML {
	var b strings.Builder
	b.WriteString(`<ul class="legend">`)
	for i, s := range c.Series {
		fmt.Fprintf(&b, `<li><svg class="swatch" width="12" height="12" aria-hidden="true" focusable="false"><rect width="12" height="12" rx="2" fill="%s"/></svg>%s</li>`, Color(i), esc(s.Name))
	}
	b.WriteString(`</ul>`)
	return template.HTML(b.String()) //nolint:gosec // escaped
}

// Table is the text alternative: a table with a row per label and a column per series.
func (c Chart) Table() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<table class="list chart-data" id="%s-table"><caption>%s</caption><thead><tr><th scope="col">%s</th>`, esc(c.ID), esc(c.Title), esc(cmpOr(c.LabelHeader, "Hour")))
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<th scope="col">%s</th>`, esc(s.Name))
	}
	b.WriteString(`</tr></thead><tbody>`)
	for i, l := range c.Labels {
		fmt.Fprintf(&b, `<tr><th scope="row">%s</th>`, esc(l))
		for _, s := range c.Series {
			cell := "—"
			if i < len(s.Values) && !math.IsNaN(s.Values[i]) {
				cell = Format(s.Values[i]) + unitSuffix(c.Unit)
			}
			fmt.Fprintf(&b, `<td class="num">%s</td>`, esc(cell))
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table>`)
	return template.HTML(b.String()) //nolint:gosec // escaped
}

// HTML is the whole figure: the image, its legend and the data table in a
// <details> the reader may open.
func (c Chart) HTML() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart-figure" id="%s-figure" data-empty="%t"><figcaption>%s</figcaption>`, esc(c.ID), c.Empty(), esc(c.Title))
	b.WriteString(`<div class="chart-scroll">`)
	b.WriteString(string(c.SVG()))
	b.WriteString(`</div>`)
	b.WriteString(string(c.Legend()))
	b.WriteString(`<details><summary>Data table</summary><div class="scroll">`)
	b.WriteString(string(c.Table()))
	b.WriteString(`</div></details></figure>`)
	return template.HTML(b.String()) //nolint:gosec // escaped
}

func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}
