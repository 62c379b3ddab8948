package results

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Drawing: the heatmaps of R and the line plots with their ticks and
// 95% bands, written as PNG.

// grid presents a matrix (rows of R, columns tasks) as a heat map grid,
// row 0 at the top.
type grid struct{ m [][]float64 }

func (g grid) Dims() (c, r int)   { return len(g.m[0]), len(g.m) }
func (g grid) Z(c, r int) float64 { return 100 * g.m[len(g.m)-1-r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// heatmap draws m (fractions) in %, its colours spanning m's own range
// so that a matrix of 3–6% is not one colour.
func heatmap(m [][]float64, tasks, rows []string, title string) (*plot.Plot, error) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range m {
		for _, v := range row {
			lo, hi = math.Min(lo, 100*v), math.Max(hi, 100*v)
		}
	}
	if !(hi > lo) {
		lo, hi = lo-0.5, hi+0.5
	}
	cm := moreland.SmoothBlueRed()
	cm.SetMin(lo)
	cm.SetMax(hi)
	hm := plotter.NewHeatMap(grid{m}, cm.Palette(101))
	hm.Min, hm.Max = lo, hi
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s\ncolours from blue %.1f%% to red %.1f%%", title, lo, hi)
	p.Add(hm)

	var xys plotter.XYs
	var labels []string
	for i, row := range m {
		for j, v := range row {
			xys = append(xys, plotter.XY{X: float64(j), Y: float64(len(m) - 1 - i)})
			labels = append(labels, fmt.Sprintf("%.1f", 100*v))
		}
	}
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].XAlign = -0.5
		lab.TextStyle[i].YAlign = -0.5
		lab.TextStyle[i].Color = color.Black
	}
	p.Add(lab)

	p.NominalX(tasks...)
	rev := make([]string, len(rows))
	for i, r := range rows {
		rev[len(rows)-1-i] = r
	}
	p.NominalY(rev...)
	p.X.Label.Text = "task evaluated"
	p.Y.Label.Text = "after"
	return p, nil
}

// lineSpec describes a line plot: nominal x labels (at 0, 1, …) when
// xNames is set, else integer ticks from the series' x.
type lineSpec struct {
	title, xLabel, yLabel string
	xNames                []string
	series                []series
	zero                  bool // keep 0 on the y axis and mark it
	// bounds are the values the quantity can take; bands are clipped to
	// them, as a Student-t interval of a few runs can reach past them
	// (accuracy below 0%).
	bounds [2]float64
}

// Bounds of the quantities plotted.
var (
	accBounds  = [2]float64{0, 100}
	lossBounds = [2]float64{0, math.Inf(1)}
	noBounds   = [2]float64{math.Inf(-1), math.Inf(1)}
)

// figure is a plot with its legend drawn to the right of it.
type figure struct {
	p      *plot.Plot
	legend *plot.Legend
	w, h   vg.Length // of the plot; the legend widens the image
}

// bandSegments returns the interval around a series as polygons, one per
// run of consecutive points that have an interval (N ≥ 2): the upper
// edge left to right, then the lower edge back, each end clipped to
// [floor, ceil], the values the quantity can take.
func bandSegments(s series, floor, ceil float64) []plotter.XYs {
	var out []plotter.XYs
	var seg []int
	flush := func() {
		if len(seg) >= 2 {
			poly := make(plotter.XYs, 0, 2*len(seg))
			for _, k := range seg {
				poly = append(poly, plotter.XY{X: s.x[k], Y: math.Min(s.stats[k].Mean+s.stats[k].CI, ceil)})
			}
			for i := len(seg) - 1; i >= 0; i-- {
				k := seg[i]
				poly = append(poly, plotter.XY{X: s.x[k], Y: math.Max(s.stats[k].Mean-s.stats[k].CI, floor)})
			}
			out = append(out, poly)
		}
		seg = seg[:0]
	}
	for k, st := range s.stats {
		if st.N >= 2 && !math.IsNaN(st.CI) && !math.IsInf(st.CI, 0) {
			seg = append(seg, k)
			continue
		}
		flush()
	}
	flush()
	return out
}

// dataRange is the smallest and largest of the series' means and
// interval ends, the ends clipped to [floor, ceil] as the bands are; ok
// is false when no point has a mean.
func dataRange(ss []series, floor, ceil float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range ss {
		for _, st := range s.stats {
			if !st.Defined() {
				continue
			}
			lo, hi = math.Min(lo, st.Mean), math.Max(hi, st.Mean)
			if st.N >= 2 && !math.IsNaN(st.CI) {
				lo = math.Min(lo, math.Max(st.Mean-st.CI, floor))
				hi = math.Max(hi, math.Min(st.Mean+st.CI, ceil))
			}
		}
	}
	return lo, hi, hi >= lo
}

// paddedRange widens [lo, hi] by frac of its span on each side, without
// crossing below 0 when the data are not negative. A flat range (hi =
// lo) is first widened to 10% of max(|lo|, 1), centred.
func paddedRange(lo, hi, frac float64) (float64, float64) {
	nonNegative := lo >= 0
	if !(hi > lo) {
		half := 0.05 * math.Max(math.Abs(lo), 1)
		lo, hi = lo-half, hi+half
	}
	pad := frac * (hi - lo)
	min, max := lo-pad, hi+pad
	if nonNegative && min < 0 {
		min = 0
	}
	return min, max
}

// niceStep is the smallest step of the form {1, 2, 5} × 10^k, at least
// minStep, that puts at most maxTicks ticks (multiples of the step) in
// [lo, hi].
func niceStep(lo, hi float64, maxTicks int, minStep float64) float64 {
	if !(hi > lo) || maxTicks < 1 {
		return math.Max(minStep, 1)
	}
	k := math.Floor(math.Log10((hi - lo) / float64(maxTicks)))
	for ; ; k++ {
		for _, m := range []float64{1, 2, 5} {
			s := m * math.Pow(10, k)
			if s < minStep {
				continue
			}
			if tickCount(lo, hi, s) <= maxTicks {
				return s
			}
		}
	}
}

// tickCount counts the multiples of step in [lo, hi], allowing for
// rounding at the ends.
func tickCount(lo, hi, step float64) int {
	return int(math.Floor(hi/step+1e-9)-math.Ceil(lo/step-1e-9)) + 1
}

// ticks labels the multiples of step in [lo, hi] with as many decimals
// as the step needs.
func ticks(lo, hi, step float64) []plot.Tick {
	dec := max(0, int(math.Ceil(-math.Log10(step)-1e-9)))
	first := math.Ceil(lo/step - 1e-9)
	var out []plot.Tick
	for i := range tickCount(lo, hi, step) {
		v := (first + float64(i)) * step
		if math.Abs(v) < step*1e-9 {
			v = 0 // no "-0.0"
		}
		out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', dec, 64)})
	}
	return out
}

// linePlot draws each series as a line with points over its interval
// band, with both axes scaled to the data.
func linePlot(spec lineSpec) (figure, error) {
	p := plot.New()
	p.Title.Text = spec.title
	p.X.Label.Text = spec.xLabel
	p.Y.Label.Text = spec.yLabel
	leg := plot.NewLegend()
	leg.Top, leg.Left = true, true
	leg.Padding = vg.Points(3)

	gridLines := plotter.NewGrid()
	gridLines.Vertical.Color = nil
	gridLines.Horizontal.Color = color.Gray{Y: 225}
	p.Add(gridLines)

	// Bands first, so every line is drawn over every band.
	bands := make([]bool, len(spec.series))
	for i, s := range spec.series {
		for _, seg := range bandSegments(s, spec.bounds[0], spec.bounds[1]) {
			poly, err := plotter.NewPolygon(seg)
			if err != nil {
				return figure{}, err
			}
			poly.Color = translucent(plotutil.Color(i), 0x38)
			poly.LineStyle.Width = 0
			p.Add(poly)
			bands[i] = true
		}
	}
	for i, s := range spec.series {
		var xys plotter.XYs
		for k, st := range s.stats {
			if st.Defined() {
				xys = append(xys, plotter.XY{X: s.x[k], Y: st.Mean})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return figure{}, err
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		points.Color = plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		thumbs := []plot.Thumbnailer{line, points}
		if bands[i] {
			sw := &plotter.Polygon{Color: translucent(plotutil.Color(i), 0x38)}
			thumbs = append([]plot.Thumbnailer{sw}, thumbs...)
		}
		leg.Add(s.label, thumbs...)
	}

	// X: nominal stages, or integer days.
	if spec.xNames != nil {
		p.NominalX(spec.xNames...)
		p.X.Min, p.X.Max = -0.3, float64(len(spec.xNames))-0.7
	} else {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range spec.series {
			for _, x := range s.x {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
		if hi >= lo {
			step := niceStep(lo, hi, 8, 1)
			p.X.Tick.Marker = plot.ConstantTicks(ticks(lo, hi, step))
			pad := math.Max(0.03*(hi-lo), 0.3)
			p.X.Min, p.X.Max = lo-pad, hi+pad
		}
	}

	// Y: the data with 7% padding, 0 included when asked.
	lo, hi, ok := dataRange(spec.series, spec.bounds[0], spec.bounds[1])
	if !ok {
		lo, hi = 0, 1
	}
	if spec.zero {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
		zl, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 0}, {X: p.X.Max, Y: 0}})
		if err != nil {
			return figure{}, err
		}
		zl.Color = color.Gray{Y: 110}
		zl.Width = vg.Points(1)
		p.Add(zl)
	}
	p.Y.Min, p.Y.Max = paddedRange(lo, hi, 0.07)
	p.Y.Tick.Marker = plot.ConstantTicks(ticks(p.Y.Min, p.Y.Max, niceStep(p.Y.Min, p.Y.Max, 8, 0)))
	return figure{p: p, legend: &leg, w: 7 * vg.Inch, h: 4.5 * vg.Inch}, nil
}

// translucent returns c with alpha a, for bands.
func translucent(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

// png renders the figure: the plot on the left, its legend (if any) in a
// column to the right of it, level with the top of the plot area, so
// that it never hides a line.
func (f figure) png() ([]byte, error) {
	var legW vg.Length
	if f.legend != nil {
		probe := draw.New(vgimg.New(f.w, f.h))
		r := f.legend.Rectangle(probe)
		if r.Max.X > r.Min.X {
			legW = r.Max.X - r.Min.X + 0.25*vg.Inch
		}
	}
	img := vgimg.New(f.w+legW, f.h)
	dc := draw.New(img)
	f.p.Draw(draw.Crop(dc, 0, -legW, 0, 0))
	if legW > 0 {
		lc := draw.Crop(dc, f.w, 0, 0, 0)
		if f.p.Title.Text != "" {
			f.legend.YOffs = -(f.p.Title.TextStyle.Height(f.p.Title.Text) + f.p.Title.Padding + 0.1*vg.Inch)
		}
		f.legend.Draw(lc)
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
