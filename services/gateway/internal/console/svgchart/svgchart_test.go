package svgchart

import (
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

func wellFormed(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, s)
		}
	}
}

func TestBarsStackAndAreAccessible(t *testing.T) {
	c := Chart{ID: "done", Title: "Jobs finished <per hour>", Desc: "Succeeded & failed", Kind: Bars,
		Labels: []string{"10:00", "11:00", "12:00"},
		Series: []Series{{Name: "succeeded", Values: []float64{3, 0, 5}}, {Name: "failed", Values: []float64{1, 2, 0}}}}
	svg := string(c.SVG())
	wellFormed(t, svg)
	for _, want := range []string{`role="img"`, `aria-labelledby="done-title done-desc"`, `<title id="done-title">Jobs finished &lt;per hour&gt;</title>`,
		`<desc id="done-desc">Succeeded &amp; failed</desc>`, `data-kind="bars"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("svg lacks %s", want)
		}
	}
	if n := strings.Count(svg, `class="bar"`); n != 4 { // zeros draw nothing
		t.Errorf("%d bars, want 4", n)
	}
	// stacked: the top is the highest sum (5), rounded up to four round steps: 8
	if !strings.Contains(svg, `>8</text>`) || !strings.Contains(svg, `>2</text>`) {
		t.Errorf("y axis does not reach 8 in steps of 2: %s", svg)
	}
	if c.Empty() {
		t.Error("Empty() on a chart with values")
	}
	tab := string(c.Table())
	wellFormed(t, tab)
	for _, want := range []string{`<th scope="row">11:00</th><td class="num">0</td><td class="num">2</td>`, `<th scope="col">Hour</th>`, `<caption>`} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %s: %s", want, tab)
		}
	}
	wellFormed(t, string(c.HTML()))
}

func TestLinesSkipMissingPoints(t *testing.T) {
	c := Chart{ID: "cpu", Title: "CPU", Kind: Lines, Unit: "%", Max: 100, Labels: []string{"a", "b", "c"},
		Series: []Series{{Name: "cpu", Values: []float64{10, math.NaN(), 30}}}}
	svg := string(c.SVG())
	wellFormed(t, svg)
	if n := strings.Count(svg, "<circle"); n != 2 {
		t.Errorf("%d points, want 2", n)
	}
	if n := strings.Count(svg, "<polyline"); n != 2 { // the gap breaks the line
		t.Errorf("%d polylines, want 2", n)
	}
	if !strings.Contains(svg, ">100%</text>") {
		t.Errorf("axis top is not 100%%: %s", svg)
	}
	if !strings.Contains(string(c.Table()), `<td class="num">—</td>`) {
		t.Error("a missing value is not shown as —")
	}
}

func TestLegendNeedsNoInlineStyle(t *testing.T) {
	l := string(Chart{Series: []Series{{Name: "a"}, {Name: "b"}}}.Legend())
	wellFormed(t, l)
	if strings.Contains(l, "style=") || strings.Count(l, `fill="`) != 2 || !strings.Contains(l, Palette[1]) {
		t.Errorf("legend: %s", l)
	}
}

func TestEmptyChart(t *testing.T) {
	c := Chart{ID: "e", Title: "Nothing", Kind: Bars}
	wellFormed(t, string(c.HTML()))
	if !c.Empty() || !strings.Contains(string(c.HTML()), `data-empty="true"`) {
		t.Error("an empty chart does not say so")
	}
}

func TestNice(t *testing.T) {
	for in, want := range map[float64]float64{0: 4, 0.3: 4, 3: 4, 7: 8, 12: 20, 21: 40, 90: 100, 240: 400, 1000: 1000, 1001: 2000} {
		if got := Nice(in); got != want {
			t.Errorf("Nice(%g) = %g, want %g", in, got, want)
		}
	}
}

func TestFormat(t *testing.T) {
	if Format(3) != "3" || Format(2.25) != "2.2" && Format(2.25) != "2.3" || Format(0.5) != "0.5" {
		t.Errorf("Format: %s %s %s", Format(3), Format(2.25), Format(0.5))
	}
}
