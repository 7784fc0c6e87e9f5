package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/skeptic-dev/skeptic/history"
)

// maxPoints bounds the points of each outcome's series in the latency plot, so that a run of 100,000 operations
// still gives a plot of a few hundred kB: beyond it, every n-th operation is drawn (the page says so).
const maxPoints = 2500

// outcome colours, as in Jepsen's perf graphs: ok blue, fail red... but green reads as "fine" at a glance.
var outcomeColors = map[history.Type]color.Color{
	history.Ok:   color.RGBA{R: 0x2b, G: 0x8a, B: 0x3e, A: 0xff},
	history.Fail: color.RGBA{R: 0xd6, G: 0x28, B: 0x28, A: 0xff},
	history.Info: color.RGBA{R: 0xf0, G: 0x8c, B: 0x00, A: 0xff},
}

func hexColor(s string) color.Color {
	var r, g, b uint8
	fmt.Sscanf(strings.TrimPrefix(s, "#"), "%02x%02x%02x", &r, &g, &b)
	return color.NRGBA{R: r, G: g, B: b, A: 0x66}
}

// faultShade is a plotter that shades the fault intervals across the whole height of a plot, as Jepsen's perf
// graphs do; one shade per fault kind, so that the legend names each kind once.
type faultShade struct {
	kind  string
	spans [][2]float64 // seconds
	color color.Color
}

// Plot shades each span of the kind.
func (f *faultShade) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, _ := plt.Transforms(&c)
	for _, s := range f.spans {
		x0, x1 := trX(math.Max(s[0], plt.X.Min)), trX(math.Min(s[1], plt.X.Max))
		if x1 <= x0 {
			continue
		}
		c.FillPolygon(f.color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
	}
}

// Thumbnail draws the legend's swatch.
func (f *faultShade) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(f.color, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// shades groups fault windows by kind, in a fixed order.
func shades(faults []Fault) []*faultShade {
	byKind := map[string]*faultShade{}
	var out []*faultShade
	for _, f := range faults {
		s, ok := byKind[f.Kind]
		if !ok {
			s = &faultShade{kind: f.Kind, color: hexColor(faultColor(f.Kind))}
			byKind[f.Kind] = s
			out = append(out, s)
		}
		s.spans = append(s.spans, [2]float64{float64(f.Start) / 1e9, float64(f.End) / 1e9})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].kind < out[j].kind })
	return out
}

// newPlot makes a plot with the report's common look and the fault shades underneath.
func newPlot(title, ylabel string, faults []Fault) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for _, s := range shades(faults) {
		p.Add(s)
		p.Legend.Add(s.kind, s)
	}
	return p
}

// svgOf renders p as an SVG document of the given size in points.
func svgOf(p *plot.Plot, w, h vg.Length) (string, error) {
	c := vgsvg.NewWith(vgsvg.UseWH(w, h))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", err
	}
	s := buf.String()
	// The page embeds the SVG inline: drop the XML prolog, which only a standalone file may have.
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return s, nil
}

// latencyPlot draws each operation's latency at its invocation time, coloured by outcome, on a log scale.
// Operations that never completed have no latency and are not drawn. It returns the SVG and how many points
// of how many operations were drawn.
func latencyPlot(ops []clientOp, faults []Fault, xmax float64) (string, int, int, error) {
	p := newPlot("Latency of each operation", "latency (ms, log scale)", faults)
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	series := map[history.Type]plotter.XYs{}
	for _, o := range ops {
		if o.End < 0 {
			continue
		}
		ms := math.Max(float64(o.End-o.Invoke)/1e6, 0.01)
		series[o.Type] = append(series[o.Type], plotter.XY{X: float64(o.Invoke) / 1e9, Y: ms})
	}
	total, drawn := 0, 0
	for _, t := range []history.Type{history.Ok, history.Fail, history.Info} {
		xys := series[t]
		total += len(xys)
		if len(xys) == 0 {
			continue
		}
		if len(xys) > maxPoints {
			step := float64(len(xys)) / maxPoints
			var sample plotter.XYs
			for i := 0.0; int(i) < len(xys); i += step {
				sample = append(sample, xys[int(i)])
			}
			xys = sample
		}
		drawn += len(xys)
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return "", 0, 0, err
		}
		s.GlyphStyle.Color = outcomeColors[t]
		s.GlyphStyle.Radius = vg.Points(1.3)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add(string(t), s)
	}
	if total == 0 {
		p.Y.Scale, p.Y.Tick.Marker = plot.LinearScale{}, plot.DefaultTicks{}
	}
	p.X.Min, p.X.Max = 0, xmax
	svg, err := svgOf(p, 760, 300)
	return svg, drawn, total, err
}

// throughputPlot draws completions per second over time, one line per outcome, in about 100 buckets.
func throughputPlot(ops []clientOp, faults []Fault, xmax float64) (string, error) {
	p := newPlot("Throughput", "completions per second", faults)
	bucket := math.Max(xmax/100, 0.1)
	n := int(math.Ceil(xmax/bucket)) + 1
	counts := map[history.Type][]float64{}
	for _, o := range ops {
		if o.End < 0 {
			continue
		}
		if counts[o.Type] == nil {
			counts[o.Type] = make([]float64, n)
		}
		i := min(int(float64(o.End)/1e9/bucket), n-1)
		counts[o.Type][i]++
	}
	for _, t := range []history.Type{history.Ok, history.Fail, history.Info} {
		c := counts[t]
		if c == nil {
			continue
		}
		xys := make(plotter.XYs, n)
		for i := range c {
			xys[i] = plotter.XY{X: (float64(i) + 0.5) * bucket, Y: c[i] / bucket}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return "", err
		}
		l.LineStyle.Color = outcomeColors[t]
		l.LineStyle.Width = vg.Points(1.2)
		p.Add(l)
		p.Legend.Add(string(t), l)
	}
	p.X.Min, p.X.Max = 0, xmax
	p.Y.Min = 0
	return svgOf(p, 760, 260)
}

// clockPlot draws each node's clock offset over time, as the nemesis recorded it; "" when no clock fault ran.
func clockPlot(samples []ClockSample, faults []Fault, xmax float64) (string, error) {
	if len(samples) == 0 {
		return "", nil
	}
	p := newPlot("Clock offsets", "offset (s)", faults)
	byNode := map[string]plotter.XYs{}
	for _, s := range samples {
		xys := byNode[s.Node]
		if len(xys) == 0 {
			xys = append(xys, plotter.XY{X: 0, Y: 0})
		}
		byNode[s.Node] = append(xys, plotter.XY{X: float64(s.Time) / 1e9, Y: float64(s.Offset) / 1e9})
	}
	palette := []color.Color{
		color.RGBA{0x1f, 0x77, 0xb4, 0xff}, color.RGBA{0xff, 0x7f, 0x0e, 0xff}, color.RGBA{0x2c, 0xa0, 0x2c, 0xff},
		color.RGBA{0xd6, 0x27, 0x28, 0xff}, color.RGBA{0x94, 0x67, 0xbd, 0xff}, color.RGBA{0x8c, 0x56, 0x4b, 0xff},
		color.RGBA{0xe3, 0x77, 0xc2, 0xff}, color.RGBA{0x7f, 0x7f, 0x7f, 0xff}, color.RGBA{0xbc, 0xbd, 0x22, 0xff},
	}
	for i, node := range sortedKeys(byNode) {
		xys := append(byNode[node], plotter.XY{X: xmax, Y: byNode[node][len(byNode[node])-1].Y})
		l, err := plotter.NewLine(xys)
		if err != nil {
			return "", err
		}
		l.StepStyle = plotter.PostStep
		l.LineStyle.Color = palette[i%len(palette)]
		l.LineStyle.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(node, l)
	}
	p.X.Min, p.X.Max = 0, xmax
	return svgOf(p, 760, 220)
}
